//! MongoDB as the projects store, on a private server (`devopstrack_testkit::mongodb_private`) stopped and started
//! again while projects keeps running: during the outage calls answer UNAVAILABLE quickly and `/readyz` says not
//! ready; once MongoDB is back, the same projects process answers again without being restarted.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::helpers::spawn_app_with;

/// Server selection gives up after 3 s (the store's default); a call must be answered well within this.
const OUTAGE_ANSWER_WITHIN: Duration = Duration::from_secs(10);
const RECOVERY_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_outage_answers_unavailable_quickly_and_projects_recovers_on_its_own() {
    let Some(mut mongodb) = devopstrack_testkit::mongodb_private().await else {
        return;
    };
    let url = mongodb.url().replace("/?", "/outage?");
    // No read cache: every read below goes to the store.
    let app = spawn_app_with(move |s| {
        s.database_url = url;
        s.read_cache_ms = 0;
    })
    .await;
    app.create_sample("before").await;

    mongodb.stop().await.expect("stop MongoDB");
    let started = Instant::now();
    let read = app.get_project(&app.viewer, "before").await;
    let read_took = started.elapsed();
    let (ready_during, _) = app.admin_get("/readyz").await;

    assert_eq!(read.unwrap_err().code(), Code::Unavailable);
    assert!(read_took < OUTAGE_ANSWER_WITHIN, "the read took {read_took:?}");
    assert_eq!(ready_during, 503);

    mongodb.start().await.expect("start MongoDB again");
    let deadline = Instant::now() + RECOVERY_WITHIN;
    loop {
        match app.get_project(&app.viewer, "before").await {
            Ok(project) => {
                assert_eq!(project.slug, "before", "kept across the restart");
                break;
            }
            Err(status) => assert!(
                Instant::now() < deadline,
                "projects did not recover within {RECOVERY_WITHIN:?}: {status:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.create_sample("after").await;
    assert_eq!(app.admin_get("/readyz").await.0, 200);
}
