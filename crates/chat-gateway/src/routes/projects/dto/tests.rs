//! Unit tests of the project DTOs: request bodies to projects requests, answers to JSON.

use devopstrack_proto::projects::v1 as pb;

use super::*;
use crate::error::ApiError;
use crate::extract::parse_json;

fn invalid_message<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
    match parse_json::<T>(body.as_bytes()) {
        Err(ApiError::InvalidInput { message, .. }) => message,
        other => panic!("expected a 400 for {body}, got {other:?}"),
    }
}

#[test]
fn the_documented_create_body_becomes_a_create_request() {
    let body = r#"{"slug":"api","name":"API","repositories":[{"url":"https://github.com/acme/api"}],
        "environments":[{"name":"staging","tier":"staging"},
                        {"name":"production","tier":"production","protected":true}]}"#;
    let request = pb::CreateProjectRequest::from(parse_json::<CreateProjectBody>(body.as_bytes()).unwrap());
    assert_eq!(
        (request.slug.as_str(), request.name.as_str(), request.owner.as_str()),
        ("api", "API", "")
    );
    assert_eq!(
        request.repositories[0].provider,
        pb::Provider::Unspecified as i32,
        "inferred by the service"
    );
    assert_eq!(request.repositories[0].default_branch, "");
    let tiers: Vec<_> = request
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.tier, e.protected))
        .collect();
    assert_eq!(
        tiers,
        [
            ("staging", pb::Tier::Staging as i32, false),
            ("production", pb::Tier::Production as i32, true)
        ]
    );
}

#[test]
fn unknown_enum_strings_and_fields_name_the_field() {
    let cases = [
        (
            invalid_message::<CreateProjectBody>(
                r#"{"slug":"a","name":"A","environments":[{"name":"x","tier":"prod"}]}"#,
            ),
            "environments[0]",
        ),
        (
            invalid_message::<RepositoryInput>(r#"{"url":"u","provider":"bitbucket"}"#),
            "provider: unknown variant",
        ),
        (
            invalid_message::<EnvironmentSettings>(r#"{"tier":"Staging"}"#),
            "tier: unknown variant",
        ),
        (
            invalid_message::<EnvironmentSettings>(r#"{"protect":true}"#),
            "unknown field `protect`",
        ),
        (
            invalid_message::<CreateProjectBody>(r#"{"slug":"a","name":"A","colour":"red"}"#),
            "unknown field `colour`",
        ),
    ];
    for (message, expected) in cases {
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
    }
}

#[test]
fn a_patch_masks_exactly_the_fields_present() {
    let cases: [(&str, &[&str]); 4] = [
        (r#"{"expectedVersion":3,"name":"API"}"#, &["name"]),
        (
            r#"{"expectedVersion":3,"description":null,"tags":["a"]}"#,
            &["description", "tags"],
        ),
        (
            r#"{"expectedVersion":3,"owner":"ops","name":"n","description":"d","tags":[]}"#,
            &["name", "description", "tags", "owner"],
        ),
        (r#"{"expectedVersion":3,"tags":null}"#, &["tags"]),
    ];
    for (body, mask) in cases {
        let request = parse_json::<UpdateProjectBody>(body.as_bytes())
            .unwrap()
            .into_proto("api".into())
            .unwrap();
        assert_eq!(request.update_mask.unwrap().paths, mask, "{body}");
        assert_eq!((request.project.as_str(), request.expected_version), ("api", 3));
    }
}

#[test]
fn a_patch_needs_expected_version_and_a_field() {
    assert!(invalid_message::<UpdateProjectBody>(r#"{"name":"API"}"#).contains("missing field `expectedVersion`"));
    let empty = parse_json::<UpdateProjectBody>(br#"{"expectedVersion":3}"#)
        .unwrap()
        .into_proto("api".into());
    assert!(matches!(empty, Err(ApiError::InvalidInput { .. })));
}

#[test]
fn deployments_take_rfc3339_times_and_snake_case_statuses() {
    let body = r#"{"id":"d-1","environment":"production","version":"2.5.0","status":"rolled_back",
        "startedAt":"2025-06-01T12:00:00+02:00","finishedAt":"2025-06-01T10:04:30.5Z"}"#;
    let request = parse_json::<RecordDeploymentBody>(body.as_bytes())
        .unwrap()
        .into_proto("api".into());
    let d = request.deployment.unwrap();
    assert_eq!(
        (d.project_id.as_str(), d.status),
        ("api", pb::DeploymentStatus::RolledBack as i32)
    );
    assert_eq!(d.started_at.unwrap().seconds, 1_748_772_000, "offsets are honoured");
    assert_eq!(d.finished_at.unwrap().nanos, 500_000_000);
    let bad_time = body.replace("2025-06-01T10:04:30.5Z", "yesterday");
    assert!(invalid_message::<RecordDeploymentBody>(&bad_time).contains("finishedAt"));
    let bad_status = body.replace("rolled_back", "rolledBack");
    assert!(invalid_message::<RecordDeploymentBody>(&bad_status).contains("status: unknown variant"));
}

#[test]
fn answers_are_camel_case_with_lowercase_enums_and_nulls_for_empty_strings() {
    let project = pb::Project {
        slug: "api".into(),
        repositories: vec![pb::Repository {
            url: "u".into(),
            provider: pb::Provider::Gitlab as i32,
            ..Default::default()
        }],
        environments: vec![pb::Environment {
            name: "production".into(),
            tier: pb::Tier::Production as i32,
            last_deployment: Some(pb::Deployment {
                status: pb::DeploymentStatus::RolledBack as i32,
                started_at: Some(prost_types::Timestamp {
                    seconds: 1_748_772_000,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }],
        version: 2,
        ..Default::default()
    };
    let json = serde_json::to_value(ProjectBody::from(project)).unwrap();
    assert_eq!(json["repositories"][0]["provider"], "gitlab");
    assert_eq!(json["repositories"][0]["defaultBranch"], "");
    let env = &json["environments"][0];
    assert_eq!(
        (
            env["tier"].as_str(),
            env["currentVersion"].is_null(),
            env["url"].is_null()
        ),
        (Some("production"), true, true)
    );
    assert_eq!(env["lastDeployment"]["status"], "rolled_back");
    assert_eq!(env["lastDeployment"]["startedAt"], "2025-06-01T10:00:00Z");
    assert_eq!(
        (json["version"].as_i64(), json["archivedAt"].is_null()),
        (Some(2), true)
    );
}
