//! Unit tests of the Redis store's parsing and of what only a hand-edited keyspace can produce.

use std::time::Duration;

use super::pipelines::idempotency_field;
use super::queue::RawDelivery;
use super::*;
use crate::store::test_support::{assert_numbered_per_project_in_id_order, one_job_pipeline};
use crate::store::{NewEvent, StoreError};

#[test]
fn stream_ids_parse_only_in_their_one_form() {
    assert_eq!(EntryId::parse("0-0"), Some(EntryId { ms: 0, seq: 0 }));
    assert_eq!(
        EntryId::parse("1700000000000-12"),
        Some(EntryId {
            ms: 1_700_000_000_000,
            seq: 12
        })
    );
    for bad in [
        "",
        "-",
        "1-",
        "-1",
        "1",
        "1-2-3",
        "a-1",
        "1-b",
        "+1-2",
        " 1-2",
        "1-2 ",
        "99999999999999999999-0",
    ] {
        assert_eq!(EntryId::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn stream_ids_order_numerically_not_as_text() {
    let parse = |s| EntryId::parse(s).expect("a valid id");
    assert!(parse("10-0") > parse("9-5"));
    assert!(parse("5-10") > parse("5-9"));
    assert_eq!(parse("7-3").to_string(), "7-3");
}

#[test]
fn idempotency_fields_do_not_collide_across_projects() {
    assert_ne!(idempotency_field("ab", "c"), idempotency_field("a", "bc"));
    assert_eq!(idempotency_field("web", "k1"), "3:webk1");
}

#[test]
fn malformed_queue_entries_are_reported_not_parsed() {
    let raw = RawDelivery {
        entry: "1700000000123-0".into(),
        pipeline: PipelineId::new().to_string(),
        job: JobId::new().to_string(),
        attempt: "2".into(),
        deliveries: "1".into(),
    };
    let d = raw.parse().expect("a valid entry");
    assert_eq!((d.attempt, d.deliveries), (2, 1));
    assert_eq!(
        d.queued_at.map(|t| t.timestamp_millis()),
        Some(1_700_000_000_123),
        "an entry became ready when it was added: its id's time"
    );
    let bad = RawDelivery {
        attempt: "x".into(),
        ..raw
    };
    assert!(bad.parse().unwrap_err().contains("attempt"));
}

/// A store on the test Redis under a fresh prefix, or `None` (skipped) when there is none.
async fn store() -> Option<RedisStore> {
    let redis = devopstrack_testkit::redis().await?;
    Some(
        RedisStore::connect(&redis.url, &redis.prefix)
            .await
            .expect("connect to the test Redis"),
    )
}

async fn raw_enqueue(store: &RedisStore, job: &str) {
    ::redis::cmd("XADD")
        .arg(store.keys.queue())
        .arg("*")
        .arg("pipeline")
        .arg(PipelineId::new().to_string())
        .arg("job")
        .arg(job)
        .arg("attempt")
        .arg(1)
        .arg("deliveries")
        .arg(1)
        .query_async::<String>(&mut store.conn())
        .await
        .expect("XADD");
}

#[tokio::test]
async fn a_lost_consumer_group_is_recreated_by_the_next_lease() {
    let Some(store) = store().await else { return };
    ::redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(store.keys.queue())
        .arg(GROUP)
        .query_async::<i64>(&mut store.conn())
        .await
        .expect("XGROUP DESTROY");
    let job = JobId::new();
    raw_enqueue(&store, &job.to_string()).await;

    let got = store
        .lease("w1", 1, Duration::from_secs(60), Duration::ZERO)
        .await
        .expect("lease");

    assert_eq!(got.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
}

#[tokio::test]
async fn malformed_queue_entries_are_dropped_instead_of_wedging_the_queue() {
    let Some(store) = store().await else { return };
    raw_enqueue(&store, "not-a-job-id").await;
    let job = JobId::new();
    raw_enqueue(&store, &job.to_string()).await;

    let got = store
        .lease("w1", 10, Duration::from_secs(60), Duration::ZERO)
        .await
        .expect("lease");

    assert_eq!(got.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
    let depth = store.queue_depth().await.expect("depth");
    assert_eq!((depth.ready, depth.leased), (0, 1), "the malformed entry is gone");
}

#[tokio::test]
async fn malformed_stored_values_are_reported_as_corrupt() {
    let Some(store) = store().await else { return };
    let id = PipelineId::new();
    ::redis::cmd("HSET")
        .arg(store.keys.pipeline(&id.to_string()))
        .arg("doc")
        .arg("{")
        .arg("version")
        .arg(1)
        .query_async::<i64>(&mut store.conn())
        .await
        .expect("HSET");
    ::redis::cmd("XADD")
        .arg(store.keys.events())
        .arg("*")
        .arg("project")
        .arg("web")
        .arg("pipeline")
        .arg("not-a-pipeline-id")
        .arg("payload")
        .arg("x")
        .query_async::<String>(&mut store.conn())
        .await
        .expect("XADD");

    let pipeline = store.pipeline(id).await;
    let events = store.read_events(None, 10, Duration::ZERO).await;

    assert!(matches!(pipeline, Err(StoreError::Corrupt(_))), "{pipeline:?}");
    assert!(matches!(events, Err(StoreError::Corrupt(_))), "{events:?}");
}

#[tokio::test]
async fn an_event_id_newer_than_any_issued_is_refused() {
    let Some(store) = store().await else { return };
    let none_yet = store.read_events(Some("5-0"), 10, Duration::ZERO).await;
    store
        .append_events(&[NewEvent {
            project: "web".into(),
            pipeline: PipelineId::new(),
            payload: b"a".to_vec(),
        }])
        .await
        .expect("append");
    let last = store.last_event_id().await.expect("last id").expect("an event");
    let newest = EntryId::parse(&last).expect("a stream id");
    let future = EntryId {
        ms: newest.ms + 1,
        seq: 0,
    }
    .to_string();

    let refused = store.read_events(Some(&future), 10, Duration::ZERO).await;
    let from_start = store.read_events(Some("0-0"), 10, Duration::ZERO).await;

    assert!(matches!(none_yet, Err(StoreError::BadEventId(_))), "{none_yet:?}");
    assert!(matches!(refused, Err(StoreError::BadEventId(_))), "{refused:?}");
    assert_eq!(from_start.expect("0-0 is the start").len(), 1);
}

#[tokio::test]
async fn pipelines_stored_before_run_numbers_are_numbered_at_connect_in_creation_order() {
    let Some(redis) = devopstrack_testkit::redis().await else {
        return;
    };
    let store = RedisStore::connect(&redis.url, &redis.prefix).await.expect("connect");
    let mut created = Vec::new();
    for project in ["api", "web", "api", "api", "web"] {
        let p = one_job_pipeline(project);
        store.create_pipeline(&p, &Writes::default()).await.expect("create");
        created.push(p);
    }
    // What a keyspace written before run numbers looks like: no number field, counter, number index or marker.
    let mut unnumber = ::redis::pipe();
    for p in &created {
        unnumber
            .cmd("HDEL")
            .arg(store.keys.pipeline(&p.id.to_string()))
            .arg("number");
    }
    unnumber
        .cmd("DEL")
        .arg(store.keys.run_counters())
        .arg(store.keys.by_number("api"))
        .arg(store.keys.by_number("web"))
        .arg(store.keys.numbers_backfilled());
    unnumber.query_async::<()>(&mut store.conn()).await.expect("unnumber");
    assert_eq!(store.pipeline(created[0].id).await.unwrap().unwrap().pipeline.number, 0);

    let upgraded = RedisStore::connect(&redis.url, &redis.prefix)
        .await
        .expect("connect again");

    assert_numbered_per_project_in_id_order(&upgraded, &created).await;
    let next = one_job_pipeline("api");
    let answer = upgraded.create_pipeline(&next, &Writes::default()).await.unwrap();
    assert_eq!(
        answer,
        Created::Created { number: 4 },
        "the counter continues after them"
    );
    // The marker makes a later connect skip the backfill: a pipeline left unnumbered stays so.
    ::redis::cmd("HDEL")
        .arg(store.keys.pipeline(&created[1].id.to_string()))
        .arg("number")
        .query_async::<()>(&mut store.conn())
        .await
        .unwrap();
    let again = RedisStore::connect(&redis.url, &redis.prefix)
        .await
        .expect("connect a third time");
    assert_eq!(again.pipeline(created[1].id).await.unwrap().unwrap().pipeline.number, 0);
}
