//! Job logs (offsets, re-appends, trimming) and the event stream (order, resuming, waiting, bad ids).

use std::sync::Arc;
use std::time::{Duration, Instant};

use devopstrack_tasks::domain::{JobId, PipelineId};
use devopstrack_tasks::store::{LogPage, MAX_LOG_LINES, NewEvent, StoreError, StoredEvent, TaskStore, Writes};

use super::{now, pipeline};

conformance!(
    log_lines_are_read_back_from_any_offset,
    appending_stored_offsets_again_changes_nothing,
    trimmed_logs_keep_their_offsets,
    logs_of_attempts_and_jobs_are_kept_apart,
    events_are_read_oldest_first_and_resume_after_an_id,
    pipeline_writes_append_their_events_to_the_same_stream,
    reading_events_waits_for_a_new_one,
    reading_events_with_nothing_new_returns_nothing_after_the_wait,
    last_event_id_names_the_newest_event,
    garbage_event_ids_are_rejected,
);

const NO_WAIT: Duration = Duration::ZERO;

fn lines(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

fn event(project: &str, payload: &[u8]) -> NewEvent {
    NewEvent {
        project: project.to_owned(),
        pipeline: PipelineId::new(),
        payload: payload.to_vec(),
    }
}

fn payloads(events: &[StoredEvent]) -> Vec<&[u8]> {
    events.iter().map(|e| e.payload.as_slice()).collect()
}

async fn log_lines_are_read_back_from_any_offset(store: Arc<dyn TaskStore>) {
    let job = JobId::new();
    store.append_log(job, 1, 0, &lines(0..3)).await.expect("append");
    store.append_log(job, 1, 3, &lines(3..5)).await.expect("append");

    let all = store.read_log(job, 1, 0, 100).await.expect("read");
    let middle = store.read_log(job, 1, 2, 2).await.expect("read");
    let past_the_end = store.read_log(job, 1, 5, 10).await.expect("read");

    assert_eq!(
        all,
        LogPage {
            first_offset: 0,
            lines: lines(0..5),
            total: 5
        }
    );
    assert_eq!(
        middle,
        LogPage {
            first_offset: 2,
            lines: lines(2..4),
            total: 5
        },
        "at most `limit` lines from the offset"
    );
    assert!(past_the_end.lines.is_empty());
    assert_eq!(past_the_end.total, 5);
}

async fn appending_stored_offsets_again_changes_nothing(store: Arc<dyn TaskStore>) {
    let job = JobId::new();
    store.append_log(job, 1, 0, &lines(0..2)).await.expect("append");

    // A retried batch overlapping what is stored, carrying one new line.
    let retried = vec!["other 0".to_owned(), "other 1".to_owned(), "line 2".to_owned()];
    store.append_log(job, 1, 0, &retried).await.expect("append");
    store.append_log(job, 1, 1, &lines(1..3)).await.expect("append");

    let page = store.read_log(job, 1, 0, 100).await.expect("read");
    assert_eq!(page.lines, lines(0..3), "stored lines are left as they are");
    assert_eq!(page.total, 3, "a re-appended line is not counted twice");
}

async fn trimmed_logs_keep_their_offsets(store: Arc<dyn TaskStore>) {
    let job = JobId::new();
    let extra = 50;
    let total = MAX_LOG_LINES + extra;
    store.append_log(job, 1, 0, &lines(0..total)).await.expect("append");

    let from_start = store.read_log(job, 1, 0, 3).await.expect("read");
    let last = store.read_log(job, 1, total - 1, 10).await.expect("read");

    assert_eq!(
        from_start,
        LogPage {
            first_offset: extra,
            lines: lines(extra..extra + 3),
            total
        },
        "a read from a trimmed offset starts at the oldest kept line"
    );
    assert_eq!(
        last,
        LogPage {
            first_offset: total - 1,
            lines: lines(total - 1..total),
            total
        }
    );

    store
        .append_log(job, 1, total, &lines(total..total + 1))
        .await
        .expect("append");
    let next = store.read_log(job, 1, total, 10).await.expect("read");
    assert_eq!(
        next.lines,
        lines(total..total + 1),
        "appending goes on at the next offset"
    );
    assert_eq!(next.total, total + 1);
    let oldest = store.read_log(job, 1, 0, 1).await.expect("read");
    assert_eq!(oldest.first_offset, extra + 1, "still the newest {MAX_LOG_LINES} lines");
}

async fn logs_of_attempts_and_jobs_are_kept_apart(store: Arc<dyn TaskStore>) {
    let (job, other) = (JobId::new(), JobId::new());
    store.append_log(job, 1, 0, &lines(0..2)).await.expect("append");
    store
        .append_log(job, 2, 0, &["retry".to_owned()])
        .await
        .expect("append");

    assert_eq!(store.read_log(job, 1, 0, 10).await.expect("read").lines, lines(0..2));
    assert_eq!(store.read_log(job, 2, 0, 10).await.expect("read").lines, ["retry"]);
    let nothing = store.read_log(other, 1, 0, 10).await.expect("read");
    assert_eq!(
        nothing,
        LogPage {
            first_offset: 0,
            lines: Vec::new(),
            total: 0
        },
        "a job that logged nothing"
    );
}

async fn events_are_read_oldest_first_and_resume_after_an_id(store: Arc<dyn TaskStore>) {
    let sent = [
        event("web", b"one"),
        event("api", b"two"),
        event("web", b"\x00three\xff"),
    ];
    store.append_events(&sent).await.expect("append events");

    let all = store.read_events(None, 10, NO_WAIT).await.expect("read events");
    let first_two = store.read_events(None, 2, NO_WAIT).await.expect("read events");
    let after_first = store
        .read_events(Some(&all[0].id), 10, NO_WAIT)
        .await
        .expect("read events");
    let after_last = store
        .read_events(Some(&all[2].id), 10, NO_WAIT)
        .await
        .expect("read events");

    assert_eq!(payloads(&all), [&b"one"[..], b"two", b"\x00three\xff"]);
    for (stored, sent) in all.iter().zip(&sent) {
        assert_eq!((&stored.project, stored.pipeline), (&sent.project, sent.pipeline));
    }
    assert_eq!(first_two, all[..2], "at most `limit`");
    assert_eq!(after_first, all[1..], "strictly after the given id");
    assert!(after_last.is_empty());
}

async fn pipeline_writes_append_their_events_to_the_same_stream(store: Arc<dyn TaskStore>) {
    let (p, mut writes) = pipeline("web", 1, 1, now());
    writes.events = vec![event("web", b"created")];
    store.create_pipeline(&p, &writes).await.expect("create");
    store
        .append_events(&[event("web", b"log batch")])
        .await
        .expect("append events");
    let update = Writes {
        events: vec![event("web", b"updated"), event("web", b"updated again")],
        ..Writes::default()
    };
    assert!(store.update_pipeline(&p, 1, &update).await.expect("update"));
    assert!(
        !store.update_pipeline(&p, 1, &update).await.expect("update"),
        "a stale version"
    );

    let all = store.read_events(None, 10, NO_WAIT).await.expect("read events");

    assert_eq!(
        payloads(&all),
        [&b"created"[..], b"log batch", b"updated", b"updated again"],
        "in write order; the lost compare-and-set appended nothing"
    );
}

async fn reading_events_waits_for_a_new_one(store: Arc<dyn TaskStore>) {
    store
        .append_events(&[event("web", b"old")])
        .await
        .expect("append events");
    let last = store.last_event_id().await.expect("last id").expect("an event");
    let writer = Arc::clone(&store);
    let append = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer
            .append_events(&[event("web", b"new")])
            .await
            .expect("append events");
    });

    let started = Instant::now();
    let got = store
        .read_events(Some(&last), 10, Duration::from_secs(5))
        .await
        .expect("read events");
    let waited = started.elapsed();
    append.await.expect("the append task");

    assert_eq!(payloads(&got), [b"new"]);
    assert!(
        waited >= Duration::from_millis(90),
        "it waited for the event: {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "it returned soon after the event: {waited:?}"
    );
}

async fn reading_events_with_nothing_new_returns_nothing_after_the_wait(store: Arc<dyn TaskStore>) {
    store
        .append_events(&[event("web", b"old")])
        .await
        .expect("append events");
    let last = store.last_event_id().await.expect("last id").expect("an event");

    let started = Instant::now();
    let got = store
        .read_events(Some(&last), 10, Duration::from_millis(300))
        .await
        .expect("read events");
    let waited = started.elapsed();

    assert!(got.is_empty(), "{got:?}");
    assert!(waited >= Duration::from_millis(250), "it waited: {waited:?}");
    assert!(waited < Duration::from_millis(1500), "and not much longer: {waited:?}");
}

async fn last_event_id_names_the_newest_event(store: Arc<dyn TaskStore>) {
    assert_eq!(store.last_event_id().await.expect("last id"), None, "no event yet");
    store
        .append_events(&[event("web", b"a"), event("web", b"b")])
        .await
        .expect("append events");

    let last = store.last_event_id().await.expect("last id");
    let all = store.read_events(None, 10, NO_WAIT).await.expect("read events");

    assert_eq!(last.as_deref(), Some(all[1].id.as_str()));
    assert!(
        store
            .read_events(last.as_deref(), 10, NO_WAIT)
            .await
            .expect("read events")
            .is_empty()
    );
}

async fn garbage_event_ids_are_rejected(store: Arc<dyn TaskStore>) {
    store.append_events(&[event("web", b"a")]).await.expect("append events");

    for bad in ["garbage", "", "1-x", "x-1", "12 "] {
        let err = store.read_events(Some(bad), 10, NO_WAIT).await.expect_err(bad);
        assert!(
            matches!(&err, StoreError::BadEventId(id) if id == bad),
            "{bad:?}: {err:?}"
        );
    }
}
