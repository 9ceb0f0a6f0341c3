//! The approval fields of a job: who approved it and when, in the answer and in the OpenAPI document.

use serde_json::json;

use super::super::*;

#[test]
fn an_approved_job_is_answered_with_who_approved_it_and_when_and_the_document_says_so() {
    let job = pb::Job {
        id: "j-1".into(),
        status: pb::JobStatus::Queued as i32,
        approved_by: "user-2".into(),
        approved_at: Some(prost_types::Timestamp {
            seconds: 1_748_772_000,
            nanos: 0,
        }),
        ..Default::default()
    };

    let json = serde_json::to_value(JobBody::from(job)).unwrap();
    let unapproved = serde_json::to_value(JobBody::from(pb::Job::default())).unwrap();

    assert_eq!(
        (&json["approvedBy"], &json["approvedAt"]),
        (&json!("user-2"), &json!("2025-06-01T10:00:00Z"))
    );
    assert!(unapproved["approvedBy"].is_null() && unapproved["approvedAt"].is_null());
    let doc = serde_json::to_value(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let field = &doc["components"]["schemas"]["Job"]["properties"]["approvedAt"];
    assert!(
        field.to_string().contains("date-time"),
        "the Job schema documents approvedAt as a time: {field}"
    );
}
