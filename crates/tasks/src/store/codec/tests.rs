use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::domain::spec::{JobInput, RetryInput, StageInput};
use crate::domain::{DeployTarget, JobStatus, PipelineInput, PipelineMeta, PipelineSpec, Source, Tier, Trigger};

/// A pipeline with every optional field set somewhere: a deploy target, a GitHub source, both executors, retries,
/// flags, and jobs in several states with times, workers and reasons.
fn rich() -> Pipeline {
    let input = PipelineInput {
        stages: vec![
            StageInput {
                name: "build".into(),
                jobs: vec![
                    JobInput {
                        name: "compile".into(),
                        params: json!({"durationMs": 1500, "failRate": 0.25, "logLines": 7}),
                        timeout_s: Some(90),
                        retry: Some(RetryInput {
                            max_attempts: Some(3),
                            initial_backoff_ms: Some(200),
                            max_backoff_ms: Some(5_000),
                        }),
                        allow_failure: true,
                        ..JobInput::default()
                    },
                    JobInput {
                        name: "hook".into(),
                        executor: "http".into(),
                        params: json!({"url": "https://deploy.example.com/hook", "hmacSecretRef": "deploy"}),
                        requires_approval: true,
                        ..JobInput::default()
                    },
                ],
            },
            StageInput {
                name: "deploy.prod_1".into(),
                jobs: vec![JobInput {
                    name: "rollout".into(),
                    ..JobInput::default()
                }],
            },
        ],
    };
    let meta = PipelineMeta {
        project: "web-ü".into(),
        target: Some(DeployTarget {
            environment: "production".into(),
            version: "2.5.0".into(),
            tier: Tier::Production,
            protected: true,
        }),
        trigger: Trigger::Chat,
        triggered_by: "user-42".into(),
        idempotency_key: Some("k:1".into()),
        source: Source::Github {
            external_url: "https://github.com/o/r/actions/runs/1".into(),
            external_id: "1".into(),
        },
    };
    let created = Utc
        .timestamp_opt(1_700_000_000, 123_456_789)
        .single()
        .expect("a valid time");
    let (mut p, _) = Pipeline::new(PipelineSpec::parse(&input).expect("a valid spec"), meta, created);
    p.started_at = Some(created + TimeDelta::milliseconds(5));
    p.finished_at = Some(created + TimeDelta::seconds(9));
    p.cancelled_by = Some("user-7".into());
    let j = &mut p.stages[0].jobs[0];
    j.status = JobStatus::Running;
    j.attempt = 2;
    j.worker = Some("host-1-0".into());
    j.started_at = Some(created - TimeDelta::days(400));
    j.not_before = Some(created + TimeDelta::nanoseconds(1));
    j.exit_reason = Some("timed out after 90s".into());
    j.cancel_requested = true;
    j.lease_losses = 2;
    let j = &mut p.stages[0].jobs[1];
    j.approved_by = Some("admin-1".into());
    j.rejected_by = Some("admin-2".into());
    j.finished_at = Some(Utc.timestamp_opt(-5, 7).single().expect("before 1970"));
    p
}

#[test]
fn a_pipeline_round_trips_through_the_binary_form() {
    let p = rich();
    let bytes = encode_pipeline(&p);

    assert_eq!(&bytes[..3], &[MAGIC[0], MAGIC[1], BINARY_FORMAT]);
    assert_eq!(decode_pipeline(&bytes).expect("decodes"), p);
}

#[test]
fn pipelines_stored_as_json_are_still_read() {
    let p = rich();
    let json = json::encode(&p);
    assert_eq!(json.first(), Some(&b'{'));

    assert_eq!(decode_pipeline(&json).expect("decodes"), p);
}

#[test]
fn every_truncation_or_garbage_is_corrupt_never_a_panic() {
    let bytes = encode_pipeline(&rich());
    for end in 0..bytes.len() {
        let got = decode_pipeline(&bytes[..end]);
        assert!(matches!(got, Err(StoreError::Corrupt(_))), "{end}: {got:?}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(decode_pipeline(&trailing), Err(StoreError::Corrupt(_))));
    let mut newer = bytes.clone();
    newer[2] = BINARY_FORMAT + 1;
    assert!(matches!(decode_pipeline(&newer), Err(StoreError::Corrupt(_))));
    // Flipping any one byte either still decodes to a valid pipeline or is reported corrupt.
    for i in 3..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0xFF;
        let _ = decode_pipeline(&flipped);
    }
}

#[test]
fn out_of_range_values_are_corrupt() {
    let mut p = rich();
    p.stages[0].jobs[0].spec.timeout_s = 0;
    assert!(matches!(
        decode_pipeline(&encode_pipeline(&p)),
        Err(StoreError::Corrupt(_))
    ));
    let mut p = rich();
    p.active_stage = 2;
    assert!(matches!(
        decode_pipeline(&encode_pipeline(&p)),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn the_binary_form_is_much_smaller_than_the_json_one() {
    let p = rich();
    let (binary, json) = (encode_pipeline(&p).len(), json::encode(&p).len());
    assert!(binary * 2 < json, "binary {binary} bytes, JSON {json}");
}
