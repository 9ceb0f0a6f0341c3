use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::domain::spec::{JobInput, RetryInput, StageInput};
use crate::domain::{
    CommitRef, DefinitionRef, DeployTarget, JobId, JobStatus, PipelineId, PipelineInput, PipelineMeta, PipelineSpec,
    PipelineStatus, Source, Tier, Trigger,
};

/// A pipeline with every optional field set somewhere: a deploy target, a GitHub source, a commit with its time, both
/// executors, retries, flags, and jobs in several states with times, workers and reasons.
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
        commit: None,
    };
    let created = Utc
        .timestamp_opt(1_700_000_000, 123_456_789)
        .single()
        .expect("a valid time");
    let meta = PipelineMeta {
        commit: CommitRef::parse(SHA, Some(created - TimeDelta::minutes(30)), created).expect("a valid commit"),
        ..meta
    };
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
    j.approved_at = Some(created + TimeDelta::milliseconds(1_500));
    j.rejected_by = Some("admin-2".into());
    j.finished_at = Some(Utc.timestamp_opt(-5, 7).single().expect("before 1970"));
    p.definition = Some(DefinitionRef {
        name: "deploy-eu".into(),
        version: 12,
    });
    p
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn a_pipeline_round_trips_through_the_binary_form() {
    let p = rich();
    let bytes = encode_pipeline(&p);

    assert_eq!(&bytes[..3], &[MAGIC[0], MAGIC[1], BINARY_FORMAT]);
    assert_eq!(BINARY_FORMAT, 5);
    assert_eq!(decode_pipeline(&bytes).expect("decodes"), p);
}

#[test]
fn a_pipeline_round_trips_with_a_bare_commit_and_with_none() {
    let mut bare = rich();
    bare.meta.commit = CommitRef::parse(SHA, None, bare.created_at).expect("a valid commit");
    let mut none = rich();
    none.meta.commit = None;

    for p in [bare, none] {
        assert_eq!(decode_pipeline(&encode_pipeline(&p)).expect("decodes"), p);
    }
}

#[test]
fn a_rollback_run_without_a_definition_round_trips() {
    let mut p = rich();
    p.definition = None;
    p.meta.trigger = Trigger::Rollback;
    assert_eq!(decode_pipeline(&encode_pipeline(&p)).expect("decodes"), p);
}

#[test]
fn documents_stored_in_format_4_are_still_read_without_a_definition() {
    // Format 4 is format 5 without the trailing definition: the current bytes of a run without one, minus its
    // final "none" byte.
    let mut p = rich();
    p.definition = None;
    let mut old = encode_pipeline(&p);
    assert_eq!(old.pop(), Some(0), "the absent definition is the last byte");
    old[2] = 4;

    let read = decode_pipeline(&old).expect("a format-4 document decodes");

    assert_eq!(read, p);
    let mut with_leftover = old.clone();
    with_leftover.push(0);
    assert!(
        decode_pipeline(&with_leftover).is_err(),
        "format 4 has nothing after the stages"
    );
}

/// [`fixed`] as the format-2 encoder (before commits) stored it, captured from that encoder.
const FORMAT_2_FIXED: &str = "d77a0201890a5dac96774bbcceb302099a805703617069010773746167696e6705312e302e3001000306757365\
722d3101026b3100030080c49fd50c050182c49fd50c050184c49fd50c050001066465706c6f790101890a5dac96774bbcceb302099a805807726f\
6c6c6f757400c801000000000000e03f02901c01e807e0d403000401000103772d310182c49fd50c050184c49fd50c0500000000";

#[test]
fn documents_stored_in_format_2_are_still_read_without_a_commit() {
    let old = hex::decode(FORMAT_2_FIXED).expect("hex");
    assert_eq!(old[2], 2);

    let p = decode_pipeline(&old).expect("a format-2 document decodes");

    assert_eq!(p, fixed());
    assert_eq!(p.meta.commit, None);
    let rewritten = encode_pipeline(&p);
    assert_eq!(rewritten[2], BINARY_FORMAT, "written back in the current format");
    assert_eq!(decode_pipeline(&rewritten).expect("decodes"), p);
}

/// [`fixed`] as the format-3 encoder (before approval times) stored it: the format-2 bytes with an empty commit.
const FORMAT_3_FIXED: &str = "d77a0301890a5dac96774bbcceb302099a805703617069010773746167696e6705312e302e3001000306757365\
722d3101026b3100030080c49fd50c050182c49fd50c050184c49fd50c05000001066465706c6f790101890a5dac96774bbcceb302099a805807\
726f6c6c6f757400c801000000000000e03f02901c01e807e0d403000401000103772d310182c49fd50c050184c49fd50c0500000000";

#[test]
fn documents_stored_in_format_3_are_still_read_without_an_approval_time() {
    let old = hex::decode(FORMAT_3_FIXED).expect("hex");
    assert_eq!(old[2], 3);

    let p = decode_pipeline(&old).expect("a format-3 document decodes");

    assert_eq!(p, fixed());
    let rewritten = encode_pipeline(&p);
    assert_eq!(rewritten[2], BINARY_FORMAT, "written back in the current format");
    assert_eq!(decode_pipeline(&rewritten).expect("decodes"), p);
}

#[test]
fn a_stored_commit_that_is_not_hex_is_corrupt() {
    let bytes = encode_pipeline(&rich());
    let at = bytes
        .windows(SHA.len())
        .position(|w| w == SHA.as_bytes())
        .expect("the sha is stored as text");
    let mut edited = bytes.clone();
    edited[at] = b'z';

    let got = decode_pipeline(&edited);

    assert!(
        matches!(&got, Err(StoreError::Corrupt(m)) if m.contains("commit")),
        "{got:?}"
    );
}

#[test]
fn pipelines_stored_as_json_are_still_read() {
    // The JSON form predates commits and definitions.
    let mut p = rich();
    p.meta.commit = None;
    p.definition = None;
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
    for format in [0, 1, BINARY_FORMAT + 1] {
        let mut unknown = bytes.clone();
        unknown[2] = format;
        assert!(
            matches!(decode_pipeline(&unknown), Err(StoreError::Corrupt(_))),
            "format {format}"
        );
    }
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

/// A small deploy with fixed ids and times, so its stored bytes are always the same.
fn fixed() -> Pipeline {
    let input = PipelineInput {
        stages: vec![StageInput {
            name: "deploy".into(),
            jobs: vec![JobInput {
                name: "rollout".into(),
                params: json!({"durationMs": 200, "failRate": 0.5, "logLines": 2}),
                ..JobInput::default()
            }],
        }],
    };
    let meta = PipelineMeta {
        project: "api".into(),
        target: Some(DeployTarget {
            environment: "staging".into(),
            version: "1.0.0".into(),
            tier: Tier::Staging,
            protected: false,
        }),
        trigger: Trigger::Api,
        triggered_by: "user-1".into(),
        idempotency_key: Some("k1".into()),
        source: Source::DevOpsTrack,
        commit: None,
    };
    let created = Utc.timestamp_opt(1_700_000_000, 5).single().expect("a valid time");
    let (mut p, _) = Pipeline::new(PipelineSpec::parse(&input).expect("a valid spec"), meta, created);
    p.id = PipelineId::parse("01890a5d-ac96-774b-bcce-b302099a8057").expect("a uuid");
    let j = &mut p.stages[0].jobs[0];
    j.id = JobId::parse("01890a5d-ac96-774b-bcce-b302099a8058").expect("a uuid");
    j.status = JobStatus::Succeeded;
    j.worker = Some("w-1".into());
    j.started_at = Some(created + TimeDelta::seconds(1));
    j.finished_at = Some(created + TimeDelta::seconds(2));
    p.status = PipelineStatus::Succeeded;
    p.started_at = j.started_at;
    p.finished_at = j.finished_at;
    p
}
