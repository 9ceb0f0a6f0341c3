//! Integration tests of the testkit against real servers: self-started ones, or those named by
//! `DEVOPSTRACK_TEST_POSTGRES_URL` / `DEVOPSTRACK_TEST_REDIS_URL`. A missing backend skips (or, with
//! `DEVOPSTRACK_REQUIRE_BACKENDS=1`, fails) exactly as it would for any other crate's tests.

mod postgres;
mod private;
mod redis;

/// A runtime of its own, for tests of what outlives the runtime that started it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
