//! PostgreSQL as the auth store, on a private server (`devopstrack_testkit::postgres_private`) stopped and started
//! again while auth keeps running: during the outage calls answer UNAVAILABLE quickly (within the pool's 5 s acquire
//! timeout) and `/readyz` says not ready; once PostgreSQL is back, the same auth process answers again without being
//! restarted.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::helpers::{PASSWORD, start};

/// The pool gives up acquiring a connection after 5 s; a call must be answered well within this.
const OUTAGE_ANSWER_WITHIN: Duration = Duration::from_secs(12);
const RECOVERY_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_unavailable_quickly_and_auth_recovers_on_its_own() {
    let Some(mut postgres) = devopstrack_testkit::postgres_private().await else {
        return;
    };
    let database = devopstrack_testkit::postgres_database_on(postgres.url())
        .await
        .expect("a database on the private server");
    let app = start(&database.url, |_| {}).await;
    let admin = app.create_admin().await;
    app.login(&admin.email, PASSWORD)
        .await
        .expect("log in while PostgreSQL is up");

    postgres.stop().await.expect("stop PostgreSQL");
    let started = Instant::now();
    let login = app.login(&admin.email, PASSWORD).await;
    let login_took = started.elapsed();
    let (ready_during, _) = app.admin_get("/readyz").await;

    assert_eq!(login.unwrap_err().code(), Code::Unavailable);
    assert!(login_took < OUTAGE_ANSWER_WITHIN, "the login took {login_took:?}");
    assert_eq!(ready_during, 503);

    postgres.start().await.expect("start PostgreSQL again");
    let deadline = Instant::now() + RECOVERY_WITHIN;
    while let Err(status) = app.login(&admin.email, PASSWORD).await {
        assert!(
            Instant::now() < deadline,
            "auth did not recover within {RECOVERY_WITHIN:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.admin_get("/readyz").await.0, 200);
}
