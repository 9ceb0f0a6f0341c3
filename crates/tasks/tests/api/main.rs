//! The tasks crate's single integration-test binary.

/// Declares the two `#[tokio::test]`s `$sqlite` and `$redis`, which run the test body `$body(backend)` on each store
/// (the Redis one skips without a Redis, unless `DEVOPSTRACK_REQUIRE_BACKENDS=1`).
macro_rules! on_both_backends {
    ($body:ident => $sqlite:ident, $redis:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $body($crate::helpers::Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $redis() {
            $body($crate::helpers::Backend::Redis).await;
        }
    };
}

mod business_metrics;
mod commits;
mod crash;
mod executors;
mod external_runs;
mod four_eyes;
mod grpc_pipelines;
mod helpers;
mod intake;
mod metrics_delivery;
mod outbox_recovery;
mod redis_outage;
mod runs;
mod store;
mod worker_kill;
mod worker_lease;
