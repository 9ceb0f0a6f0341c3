//! Run numbers: each project numbers its pipelines 1, 2, 3… in the create itself, with no gap and no reuse under
//! concurrency; an idempotent replay answers the first pipeline's number and uses none; lookup by number; the events
//! a create writes carry the number.

use std::sync::Arc;
use std::time::Instant;

use devopstrack_proto::tasks::v1 as pb;
use devopstrack_tasks::domain::Pipeline;
use devopstrack_tasks::store::{Created, NewEvent, PipelineFilter, TaskStore, number_stamp};
use prost::Message;

use super::{now, pipeline, pipeline_with_key};

conformance!(
    five_hundred_concurrent_creates_are_numbered_1_to_500,
    an_idempotent_replay_answers_the_first_number_and_uses_none,
    a_run_is_found_by_its_project_and_number,
    reads_and_lists_carry_the_number,
    the_events_of_a_create_carry_its_number,
);

async fn created_number(store: &Arc<dyn TaskStore>, p: &Pipeline) -> u64 {
    match store.create_pipeline(p, &Default::default()).await.expect("create") {
        Created::Created { number } => number,
        Created::Existing(stored) => panic!("pipeline {} already held the key", stored.pipeline.id),
    }
}

async fn five_hundred_concurrent_creates_are_numbered_1_to_500(store: Arc<dyn TaskStore>) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let store = store.clone();
            let (p, w) = pipeline("api", 1, 1, now());
            tokio::spawn(async move {
                let created = store.create_pipeline(&p, &w).await.expect("create");
                (p.id, created)
            })
        })
        .collect();
    let mut numbered = Vec::new();
    for task in tasks {
        match task.await.expect("the create task") {
            (id, Created::Created { number }) => numbered.push((number, id)),
            (id, other) => panic!("pipeline {id}: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    eprintln!("500 concurrent creates took {elapsed:?}");

    numbered.sort();
    let numbers: Vec<u64> = numbered.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=500).collect::<Vec<u64>>(), "no gap, no duplicate");
    for (number, id) in [numbered[0], numbered[249], numbered[499]] {
        let stored = store.pipeline(id).await.unwrap().expect("stored");
        assert_eq!(stored.pipeline.number, number);
        let found = store
            .pipeline_by_number("api", number)
            .await
            .unwrap()
            .expect("found by number");
        assert_eq!(found.pipeline.id, id);
    }
    let (other, _) = pipeline("web", 1, 1, now());
    assert_eq!(
        created_number(&store, &other).await,
        1,
        "each project counts on its own"
    );
    let (next, _) = pipeline("api", 1, 1, now());
    assert_eq!(created_number(&store, &next).await, 501);
}

async fn an_idempotent_replay_answers_the_first_number_and_uses_none(store: Arc<dyn TaskStore>) {
    let (first, _) = pipeline_with_key("api", 1, 1, Some("deploy-7"), now());
    let (between, _) = pipeline("api", 1, 1, now());
    let (again, _) = pipeline_with_key("api", 1, 1, Some("deploy-7"), now());
    let (after, _) = pipeline("api", 1, 1, now());

    assert_eq!(created_number(&store, &first).await, 1);
    assert_eq!(created_number(&store, &between).await, 2);
    let replay = store.create_pipeline(&again, &Default::default()).await.unwrap();
    let after_number = created_number(&store, &after).await;

    match replay {
        Created::Existing(stored) => {
            assert_eq!((stored.pipeline.id, stored.pipeline.number), (first.id, 1));
        }
        other => panic!("a replay must answer the first pipeline, got {other:?}"),
    }
    assert_eq!(after_number, 3, "the replay used no number");
}

async fn a_run_is_found_by_its_project_and_number(store: Arc<dyn TaskStore>) {
    let (one, _) = pipeline("api", 1, 1, now());
    let (two, _) = pipeline("api", 1, 1, now());
    let (web, _) = pipeline("web", 1, 1, now());
    created_number(&store, &one).await;
    created_number(&store, &two).await;
    created_number(&store, &web).await;

    let found = store.pipeline_by_number("api", 2).await.unwrap().expect("api#2");

    assert_eq!(
        (found.pipeline.id, found.pipeline.number, found.version),
        (two.id, 2, 1)
    );
    let web_one = store.pipeline_by_number("web", 1).await.unwrap().expect("web#1");
    assert_eq!(web_one.pipeline.id, web.id);
    assert_eq!(store.pipeline_by_number("api", 3).await.unwrap(), None);
    assert_eq!(store.pipeline_by_number("web", 2).await.unwrap(), None);
    assert_eq!(store.pipeline_by_number("nope", 1).await.unwrap(), None);
    assert_eq!(store.pipeline_by_number("api", 0).await.unwrap(), None);
    assert_eq!(store.pipeline_by_number("api", u64::MAX).await.unwrap(), None);
}

async fn reads_and_lists_carry_the_number(store: Arc<dyn TaskStore>) {
    let (one, _) = pipeline("api", 1, 1, now());
    let (two, _) = pipeline("api", 1, 1, now());
    created_number(&store, &one).await;
    created_number(&store, &two).await;
    // An update stores a new document: the number stays.
    let mut changed = store.pipeline(one.id).await.unwrap().expect("stored").pipeline;
    changed.cancelled_by = Some("someone".to_owned());
    assert!(store.update_pipeline(&changed, 1, &Default::default()).await.unwrap());

    let listed = store
        .list_pipelines(&PipelineFilter::default(), None, 10)
        .await
        .unwrap();

    let numbers: Vec<_> = listed.iter().map(|p| (p.id, p.number)).collect();
    assert_eq!(numbers, [(two.id, 2), (one.id, 1)], "newest first");
    let updated = store.pipeline(one.id).await.unwrap().expect("stored");
    assert_eq!((updated.version, updated.pipeline.number), (2, 1));
}

async fn the_events_of_a_create_carry_its_number(store: Arc<dyn TaskStore>) {
    let (first, _) = pipeline("api", 1, 1, now());
    created_number(&store, &first).await;
    let (p, mut writes) = pipeline("api", 1, 1, now());
    let event = pb::Event {
        r#type: pb::EventType::PipelineUpdated.into(),
        pipeline: Some(pb::Pipeline {
            id: p.id.to_string(),
            project: "api".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    };
    writes.events = vec![NewEvent {
        project: "api".to_owned(),
        pipeline: p.id,
        payload: event.encode_to_vec(),
    }];

    store.create_pipeline(&p, &writes).await.expect("create");

    let events = store.read_events(None, 10, std::time::Duration::ZERO).await.unwrap();
    let [stored] = events.as_slice() else {
        panic!("one event, got {events:?}")
    };
    let decoded = pb::Event::decode(stored.payload.as_slice()).expect("still an Event");
    let pipeline = decoded.pipeline.expect("with its pipeline");
    assert_eq!((pipeline.id, pipeline.number), (p.id.to_string(), 2));
    assert_eq!(decoded.r#type, i32::from(pb::EventType::PipelineUpdated));
    let mut expected = event.encode_to_vec();
    expected.extend(number_stamp(2));
    assert_eq!(stored.payload, expected, "the stamp is appended, nothing else changes");
}
