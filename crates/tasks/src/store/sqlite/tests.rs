//! What only the SQLite store does: waking waiters without polling, trimming, and surviving hand-edited rows. The
//! semantics both stores share are the conformance suite's (`tests/api/store/`).

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use super::*;
use crate::store::test_support::{assert_numbered_per_project_in_id_order, one_job_pipeline};
use crate::store::{MAX_EVENTS, MAX_LOG_LINES, QueuedJob};

const LEASE: Duration = Duration::from_secs(60);

async fn store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/tasks.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("open the store");
    (store, dir)
}

/// A one-job pipeline for `project` and the write that queues its job.
fn pipeline(project: &str) -> (Pipeline, Writes) {
    let p = one_job_pipeline(project);
    let job = p.stages[0].jobs[0].id;
    let writes = Writes {
        enqueue: vec![QueuedJob {
            pipeline: p.id,
            job,
            attempt: 1,
            not_before: None,
        }],
        ..Writes::default()
    };
    (p, writes)
}

fn event(p: &Pipeline, payload: &str) -> NewEvent {
    NewEvent {
        project: p.meta.project.clone(),
        pipeline: p.id,
        payload: payload.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_waiting_lease_wakes_on_an_enqueue_not_at_its_deadline() {
    let (store, _dir) = store().await;
    let store = std::sync::Arc::new(store);
    let (p, w) = pipeline("proj-a");
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let got = store.lease("w", 1, LEASE, Duration::from_secs(30)).await;
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(
        store.create_pipeline(&p, &w).await.unwrap(),
        Created::Created { number: 1 }
    );

    let (got, took) = waiting.await.unwrap();
    let got = got.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].pipeline, got[0].deliveries), (p.id, 1));
    assert!(took < Duration::from_secs(5), "woken by the enqueue, after {took:?}");
}

#[tokio::test]
async fn a_waiting_lease_wakes_when_a_delayed_entry_comes_due() {
    let (store, _dir) = store().await;
    let (p, mut w) = pipeline("proj-a");
    w.enqueue[0].not_before = Some(Utc::now() + TimeDelta::milliseconds(400));
    store.create_pipeline(&p, &w).await.unwrap();

    let started = Instant::now();
    let got = store.lease("w", 1, LEASE, Duration::from_secs(30)).await.unwrap();

    let took = started.elapsed();
    assert_eq!(got.len(), 1);
    assert!(took >= Duration::from_millis(350), "not before it is due: {took:?}");
    assert!(took < Duration::from_secs(5), "woken at its due time, after {took:?}");
}

#[tokio::test]
async fn a_waiting_lease_gives_up_after_its_wait() {
    let (store, _dir) = store().await;

    let started = Instant::now();
    let got = store.lease("w", 4, LEASE, Duration::from_millis(300)).await.unwrap();

    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_waiting_reader_wakes_on_an_appended_event() {
    let (store, _dir) = store().await;
    let store = std::sync::Arc::new(store);
    let (p, _) = pipeline("proj-a");
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let got = store.read_events(None, 10, Duration::from_secs(30)).await;
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    store.append_events(&[event(&p, "hello")]).await.unwrap();

    let (got, took) = waiting.await.unwrap();
    assert_eq!(
        got.unwrap().iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
        [b"hello".to_vec()]
    );
    assert!(took < Duration::from_secs(5), "woken by the append, after {took:?}");
}

#[tokio::test]
async fn event_ids_this_store_never_issued_are_refused() {
    let (store, _dir) = store().await;
    let (p, _) = pipeline("proj-a");
    store.append_events(&[event(&p, "a"), event(&p, "b")]).await.unwrap();

    for bad in ["", "x", "-1", "1-0", "+1", " 1", "3", "99999999999999999999"] {
        let read = store.read_events(Some(bad), 10, Duration::ZERO).await;
        assert!(
            matches!(read, Err(StoreError::BadEventId(ref id)) if id == bad),
            "{bad:?}: {read:?}"
        );
    }
    assert_eq!(store.read_events(Some("0"), 10, Duration::ZERO).await.unwrap().len(), 2);
    assert_eq!(store.read_events(Some("2"), 10, Duration::ZERO).await.unwrap(), []);
}

#[tokio::test]
async fn the_event_stream_is_trimmed_to_max_events() {
    let (store, _dir) = store().await;
    let (p, _) = pipeline("proj-a");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO events (project, pipeline, payload) SELECT 'proj-a', ?2, x'00' FROM n",
    )
    .bind(i64::try_from(MAX_EVENTS).unwrap())
    .bind(p.id.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
    let batch: Vec<_> = (0..TRIM_EVERY).map(|i| event(&p, &i.to_string())).collect();

    store.append_events(&batch).await.unwrap();

    let (count, oldest): (i64, i64) = sqlx::query_as("SELECT count(*), min(id) FROM events")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(u64::try_from(count).unwrap(), MAX_EVENTS);
    let oldest_kept = i64::try_from(TRIM_EVERY).unwrap() + 1;
    assert_eq!(oldest, oldest_kept);
    // A reader behind the trim resumes at the oldest kept event.
    let resumed = store.read_events(Some("5"), 1, Duration::ZERO).await.unwrap();
    assert_eq!(resumed[0].id, oldest_kept.to_string());
}

#[tokio::test]
async fn log_lines_past_the_limit_are_trimmed_and_still_counted() {
    let (store, _dir) = store().await;
    let job = JobId::new();
    let lines: Vec<String> = (0..MAX_LOG_LINES + 10).map(|i| format!("line {i}")).collect();
    let split = usize::try_from(MAX_LOG_LINES).unwrap() - 5;
    store.append_log(job, 1, 0, &lines[..split]).await.unwrap();

    store.append_log(job, 1, split as u64, &lines[split..]).await.unwrap();
    // A retried batch changes nothing.
    store
        .append_log(job, 1, split as u64, &["changed".to_owned()])
        .await
        .unwrap();

    let page = store.read_log(job, 1, 0, 3).await.unwrap();
    assert_eq!(page.first_offset, 10, "the oldest kept line");
    assert_eq!(page.lines, ["line 10", "line 11", "line 12"]);
    assert_eq!(page.total, MAX_LOG_LINES + 10);
    let at_split = store.read_log(job, 1, split as u64, 1).await.unwrap();
    assert_eq!(at_split.lines, [lines[split].clone()]);
    let (kept,): (i64,) = sqlx::query_as("SELECT count(*) FROM log_lines")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(u64::try_from(kept).unwrap(), MAX_LOG_LINES);
}

#[tokio::test]
async fn a_corrupt_pipeline_document_is_reported_not_panicked_on() {
    let (store, _dir) = store().await;
    let (p, w) = pipeline("proj-a");
    store.create_pipeline(&p, &w).await.unwrap();
    let (other, other_w) = pipeline("proj-a");
    store.create_pipeline(&other, &other_w).await.unwrap();

    // Another pipeline's document under this id.
    sqlx::query("UPDATE pipelines SET doc = (SELECT doc FROM pipelines WHERE id = ?1) WHERE id = ?2")
        .bind(p.id.to_string())
        .bind(other.id.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE pipelines SET doc = x'7b7d' WHERE id = ?1")
        .bind(p.id.to_string())
        .execute(&store.pool)
        .await
        .unwrap();

    assert!(matches!(store.pipeline(p.id).await, Err(StoreError::Corrupt(_))));
    let moved = store.pipeline(other.id).await;
    assert!(
        matches!(&moved, Err(StoreError::Corrupt(m)) if m.contains(&p.id.to_string())),
        "{moved:?}"
    );
    assert!(matches!(
        store.list_pipelines(&PipelineFilter::default(), None, 10).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_corrupt_queue_entry_is_dropped_instead_of_stalling_the_queue() {
    let (store, _dir) = store().await;
    sqlx::query("INSERT INTO queue (pipeline, job, attempt, available_at) VALUES ('nope', 'nope', 1, 0)")
        .execute(&store.pool)
        .await
        .unwrap();
    let (p, w) = pipeline("proj-a");
    store.create_pipeline(&p, &w).await.unwrap();

    let got = store.lease("w", 10, LEASE, Duration::from_secs(5)).await.unwrap();

    assert_eq!(got.iter().map(|d| d.pipeline).collect::<Vec<_>>(), [p.id]);
    assert_eq!(
        store.queue_depth().await.unwrap().leased,
        1,
        "the corrupt entry is gone"
    );
}

#[tokio::test]
async fn stop_flags_are_forgotten_after_the_longest_timeout() {
    let (store, _dir) = store().await;
    let (old, recent) = (JobId::new(), JobId::new());
    let long_ago = micros(Utc::now()) - duration_micros(queue::STOP_FLAG_KEPT) - 1;
    for (job, at) in [(old, long_ago), (recent, micros(Utc::now()))] {
        sqlx::query("INSERT INTO stop_flags (job, attempt, requested_at) VALUES (?1, 1, ?2)")
            .bind(job.to_string())
            .bind(at)
            .execute(&store.pool)
            .await
            .unwrap();
    }

    maintain(&store.pool).await.unwrap();

    assert!(!store.stop_requested(old, 1).await.unwrap());
    assert!(store.stop_requested(recent, 1).await.unwrap());
}

#[tokio::test]
async fn queue_entry_ids_that_were_never_issued_are_entries_that_are_gone() {
    let (store, _dir) = store().await;
    let (p, w) = pipeline("proj-a");
    let bogus = Delivery {
        entry: "not-a-number".into(),
        pipeline: p.id,
        job: p.stages[0].jobs[0].id,
        attempt: 1,
        deliveries: 1,
        queued_at: None,
    };

    assert!(!store.renew("w", &bogus, LEASE).await.unwrap());
    store.release("w", &bogus).await.unwrap();
    store.ack(&bogus).await.unwrap();
    store.create_pipeline(&p, &w).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap().ready, 1);
}

#[tokio::test]
async fn a_write_larger_than_one_statement_keeps_every_row_in_order() {
    let (store, _dir) = store().await;
    let (p, mut writes) = pipeline("web");
    // Past the rows of one statement, and past the bound values of one query (three per event).
    writes.events = (0..6_000).map(|i| event(&p, &i.to_string())).collect();
    let job = writes.enqueue[0].job;
    writes.enqueue = (1..=300)
        .map(|attempt| QueuedJob {
            pipeline: p.id,
            job,
            attempt,
            not_before: None,
        })
        .collect();

    store.create_pipeline(&p, &writes).await.expect("create");

    let events = store.read_events(None, 10_000, Duration::ZERO).await.expect("read");
    let payloads: Vec<Vec<u8>> = events.iter().map(|e| e.payload.clone()).collect();
    // Each event of a create ends with the run number's stamp.
    let expected: Vec<Vec<u8>> = (0..6_000)
        .map(|i: i32| [i.to_string().into_bytes(), crate::store::number_stamp(1)].concat())
        .collect();
    assert_eq!(payloads, expected);
    let leased = store.lease("w", 1_000, LEASE, Duration::ZERO).await.expect("lease");
    let attempts: Vec<u32> = leased.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, (1..=300).collect::<Vec<_>>(), "every entry, in enqueue order");
}

#[tokio::test]
async fn pipelines_stored_before_run_numbers_are_numbered_by_the_migration_in_creation_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/tasks.db", dir.path().display());
    // A database as the version before run numbers left it: migrated up to 0002, with pipelines in it.
    let pool = devopstrack_platform::sqlite::open_pool(&url).await.expect("open");
    let mut before = sqlx::migrate!("./migrations/sqlite");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 3)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.expect("migrate to 0002");
    let mut created = Vec::new();
    for project in ["api", "web", "api", "api", "web"] {
        let (p, _) = pipeline(project);
        sqlx::query(
            "INSERT INTO pipelines (id, project, status, idempotency_key, version, doc, created_at) \
             VALUES (?1, ?2, 'queued', NULL, 1, ?3, 0)",
        )
        .bind(p.id.to_string())
        .bind(project)
        .bind(crate::store::encode_pipeline(&p))
        .execute(&pool)
        .await
        .expect("insert an old pipeline");
        created.push(p);
    }
    pool.close().await;

    let store = SqliteStore::connect(&url).await.expect("open and migrate");

    assert_numbered_per_project_in_id_order(&store, &created).await;
    let (next, w) = pipeline("api");
    assert_eq!(
        store.create_pipeline(&next, &w).await.unwrap(),
        Created::Created { number: 4 },
        "the counter continues after them"
    );
    let (first_web_run, w) = pipeline("new-project");
    assert_eq!(
        store.create_pipeline(&first_web_run, &w).await.unwrap(),
        Created::Created { number: 1 }
    );
}
