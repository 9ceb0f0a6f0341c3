//! JSON shapes of `/api/v1/projects/**` (camelCase, enums as lowercase strings, times as RFC 3339) and their
//! conversions to and from the projects gRPC messages. Inputs refuse unknown fields; an unknown enum string is a 400
//! naming the field (`environments[1].tier: unknown variant …`) through [`crate::extract::Json`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::projects::v1 as pb;

use super::dto::time;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Development,
    Staging,
    Production,
}

impl Tier {
    fn to_proto(self) -> pb::Tier {
        match self {
            Tier::Development => pb::Tier::Development,
            Tier::Staging => pb::Tier::Staging,
            Tier::Production => pb::Tier::Production,
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::Tier::try_from(value).ok()? {
            pb::Tier::Development => Some(Tier::Development),
            pb::Tier::Staging => Some(Tier::Staging),
            pb::Tier::Production => Some(Tier::Production),
            pb::Tier::Unspecified => None,
        }
    }
}

/// Where a repository is hosted; omitted on input: inferred from the URL's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Github,
    Gitlab,
    Other,
}

impl Provider {
    fn to_proto(self) -> pb::Provider {
        match self {
            Provider::Github => pb::Provider::Github,
            Provider::Gitlab => pb::Provider::Gitlab,
            Provider::Other => pb::Provider::Other,
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::Provider::try_from(value).ok()? {
            pb::Provider::Github => Some(Provider::Github),
            pb::Provider::Gitlab => Some(Provider::Gitlab),
            pb::Provider::Other => Some(Provider::Other),
            pb::Provider::Unspecified => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Succeeded,
    Failed,
    RolledBack,
}

impl DeploymentStatus {
    fn to_proto(self) -> pb::DeploymentStatus {
        match self {
            DeploymentStatus::Succeeded => pb::DeploymentStatus::Succeeded,
            DeploymentStatus::Failed => pb::DeploymentStatus::Failed,
            DeploymentStatus::RolledBack => pb::DeploymentStatus::RolledBack,
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::DeploymentStatus::try_from(value).ok()? {
            pb::DeploymentStatus::Succeeded => Some(DeploymentStatus::Succeeded),
            pb::DeploymentStatus::Failed => Some(DeploymentStatus::Failed),
            pb::DeploymentStatus::RolledBack => Some(DeploymentStatus::RolledBack),
            pb::DeploymentStatus::Unspecified => None,
        }
    }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Empty proto strings become absent (`null`) values.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---- answers ----

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Project)]
pub struct ProjectBody {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner: String,
    pub repositories: Vec<RepositoryBody>,
    pub environments: Vec<EnvironmentBody>,
    /// Optimistic-concurrency counter: send it back as `expectedVersion` to change the project.
    pub version: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Set once archived (archived projects are read-only and hidden from lists unless `includeArchived=true`).
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<pb::Project> for ProjectBody {
    fn from(p: pb::Project) -> Self {
        Self {
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            tags: p.tags,
            owner: p.owner,
            repositories: p.repositories.into_iter().map(RepositoryBody::from).collect(),
            environments: p.environments.into_iter().map(EnvironmentBody::from).collect(),
            version: p.version,
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
            archived_at: time(p.archived_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Repository)]
pub struct RepositoryBody {
    pub url: String,
    pub provider: Option<Provider>,
    pub default_branch: String,
}

impl From<pb::Repository> for RepositoryBody {
    fn from(r: pb::Repository) -> Self {
        Self {
            url: r.url,
            provider: Provider::from_proto(r.provider),
            default_branch: r.default_branch,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Environment)]
pub struct EnvironmentBody {
    pub name: String,
    pub tier: Option<Tier>,
    pub url: Option<String>,
    /// Deploys need approval.
    pub protected: bool,
    /// The version of the latest succeeded deployment; `null` before the first.
    pub current_version: Option<String>,
    pub last_deployment: Option<DeploymentBody>,
}

impl From<pb::Environment> for EnvironmentBody {
    fn from(e: pb::Environment) -> Self {
        Self {
            name: e.name,
            tier: Tier::from_proto(e.tier),
            url: non_empty(e.url),
            protected: e.protected,
            current_version: non_empty(e.current_version),
            last_deployment: e.last_deployment.map(DeploymentBody::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Release)]
pub struct ReleaseBody {
    pub id: String,
    pub project_id: String,
    pub version: String,
    pub commit_sha: Option<String>,
    pub notes: String,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<pb::Release> for ReleaseBody {
    fn from(r: pb::Release) -> Self {
        Self {
            id: r.id,
            project_id: r.project_id,
            version: r.version,
            commit_sha: non_empty(r.commit_sha),
            notes: r.notes,
            created_by: r.created_by,
            created_at: time(r.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Deployment)]
pub struct DeploymentBody {
    /// The idempotency key chosen by the recorder.
    pub id: String,
    pub project_id: String,
    pub environment: String,
    pub version: String,
    pub commit_sha: Option<String>,
    pub status: Option<DeploymentStatus>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub triggered_by: String,
    pub pipeline_id: Option<String>,
}

impl From<pb::Deployment> for DeploymentBody {
    fn from(d: pb::Deployment) -> Self {
        Self {
            id: d.id,
            project_id: d.project_id,
            environment: d.environment,
            version: d.version,
            commit_sha: non_empty(d.commit_sha),
            status: DeploymentStatus::from_proto(d.status),
            started_at: time(d.started_at),
            finished_at: time(d.finished_at),
            triggered_by: d.triggered_by,
            pipeline_id: non_empty(d.pipeline_id),
        }
    }
}

// ---- inputs ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateProjectRequest, example = json!({
    "slug": "api", "name": "API", "repositories": [{"url": "https://github.com/acme/api"}],
    "environments": [{"name": "staging", "tier": "staging"},
                     {"name": "production", "tier": "production", "protected": true}]
}))]
pub struct CreateProjectBody {
    /// Lowercase letters, digits and dashes; unique; used in URLs.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Omitted: you.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub repositories: Vec<RepositoryInput>,
    #[serde(default)]
    pub environments: Vec<EnvironmentInput>,
}

impl From<CreateProjectBody> for pb::CreateProjectRequest {
    fn from(b: CreateProjectBody) -> Self {
        Self {
            slug: b.slug,
            name: b.name,
            description: b.description,
            tags: b.tags,
            owner: b.owner,
            repositories: b.repositories.into_iter().map(pb::Repository::from).collect(),
            environments: b.environments.into_iter().map(pb::Environment::from).collect(),
        }
    }
}

/// A repository to attach (`POST /api/v1/projects/{slug}/repositories`, or in a new project).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryInput {
    /// `https://…` or `git@host:owner/name(.git)`.
    pub url: String,
    pub provider: Option<Provider>,
    /// Omitted: `main`.
    pub default_branch: Option<String>,
}

impl From<RepositoryInput> for pb::Repository {
    fn from(r: RepositoryInput) -> Self {
        Self {
            url: r.url,
            provider: r.provider.map_or(pb::Provider::Unspecified, Provider::to_proto) as i32,
            default_branch: r.default_branch.unwrap_or_default(),
        }
    }
}

/// An environment of a new project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentInput {
    pub name: String,
    pub tier: Option<Tier>,
    pub url: Option<String>,
    #[serde(default)]
    pub protected: bool,
}

impl From<EnvironmentInput> for pb::Environment {
    fn from(e: EnvironmentInput) -> Self {
        // Not `#[serde(flatten)]` of the settings: serde cannot combine it with `deny_unknown_fields`.
        EnvironmentSettings {
            tier: e.tier,
            url: e.url,
            protected: e.protected,
        }
        .into_proto(e.name)
    }
}

/// An environment's settings (`PUT /api/v1/projects/{slug}/environments/{env}`: the name comes from the path).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSettings {
    pub tier: Option<Tier>,
    /// Where the environment is reachable.
    pub url: Option<String>,
    /// Deploys need approval; default false.
    #[serde(default)]
    pub protected: bool,
}

impl EnvironmentSettings {
    pub fn into_proto(self, name: String) -> pb::Environment {
        pb::Environment {
            name,
            tier: self.tier.map_or(pb::Tier::Unspecified, Tier::to_proto) as i32,
            url: self.url.unwrap_or_default(),
            protected: self.protected,
            current_version: String::new(),
            last_deployment: None,
        }
    }
}

/// Changes the fields present, and only those (`null` clears one), if `expectedVersion` is still the project's version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateProjectRequest, example = json!({"expectedVersion": 3, "description": "The public API"}))]
pub struct UpdateProjectBody {
    /// The `version` you read; a stale one answers 409.
    pub expected_version: i64,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub owner: Option<Option<String>>,
}

/// `Some(value)` for a field that is present, even as `null` (serde's `default` gives `None` when it is absent).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl UpdateProjectBody {
    /// UpdateProject with a field mask of exactly the fields present.
    pub fn into_proto(self, project: String) -> Result<pb::UpdateProjectRequest, ApiError> {
        let mut paths = Vec::new();
        let mut field = |name: &str, present: bool| {
            if present {
                paths.push(name.to_owned());
            }
        };
        field("name", self.name.is_some());
        field("description", self.description.is_some());
        field("tags", self.tags.is_some());
        field("owner", self.owner.is_some());
        if paths.is_empty() {
            return Err(ApiError::invalid(
                "nothing to change: send at least one of name, description, tags, owner",
            ));
        }
        Ok(pb::UpdateProjectRequest {
            project,
            expected_version: self.expected_version,
            update_mask: Some(prost_types::FieldMask { paths }),
            name: self.name.flatten().unwrap_or_default(),
            description: self.description.flatten().unwrap_or_default(),
            tags: self.tags.flatten().unwrap_or_default(),
            owner: self.owner.flatten().unwrap_or_default(),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateReleaseRequest, example = json!({"version": "2.5.0", "commitSha": "3f2a9c1"}))]
pub struct CreateReleaseBody {
    /// Unique per project.
    pub version: String,
    pub commit_sha: Option<String>,
    pub notes: Option<String>,
}

impl CreateReleaseBody {
    pub fn into_proto(self, project: String) -> pb::CreateReleaseRequest {
        pb::CreateReleaseRequest {
            project,
            version: self.version,
            commit_sha: self.commit_sha.unwrap_or_default(),
            notes: self.notes.unwrap_or_default(),
        }
    }
}

/// A finished deployment, recorded idempotently by `id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RecordDeploymentRequest, example = json!({
    "id": "gh-run-8812", "environment": "production", "version": "2.5.0", "status": "succeeded",
    "startedAt": "2025-06-01T10:00:00Z", "finishedAt": "2025-06-01T10:04:30Z"
}))]
pub struct RecordDeploymentBody {
    /// The idempotency key: 1–64 characters of `[A-Za-z0-9._:-]`.
    pub id: String,
    pub environment: String,
    pub version: String,
    pub commit_sha: Option<String>,
    pub status: DeploymentStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Omitted: you.
    pub triggered_by: Option<String>,
    pub pipeline_id: Option<String>,
}

impl RecordDeploymentBody {
    pub fn into_proto(self, project: String) -> pb::RecordDeploymentRequest {
        pb::RecordDeploymentRequest {
            deployment: Some(pb::Deployment {
                id: self.id,
                project_id: project,
                environment: self.environment,
                version: self.version,
                commit_sha: self.commit_sha.unwrap_or_default(),
                status: self.status.to_proto() as i32,
                started_at: Some(timestamp(self.started_at)),
                finished_at: Some(timestamp(self.finished_at)),
                triggered_by: self.triggered_by.unwrap_or_default(),
                pipeline_id: self.pipeline_id.unwrap_or_default(),
            }),
        }
    }
}

// ---- queries ----

/// `GET /api/v1/projects`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProjectsQuery {
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    /// Case-insensitive substring of slug, name or description.
    pub q: Option<String>,
    /// Only projects carrying this tag.
    pub tag: Option<String>,
    /// Also archived projects; default false.
    pub include_archived: Option<bool>,
    /// `slug` (default), `name`, `created_at`, `updated_at`; prefix `-` for descending.
    pub order_by: Option<String>,
}

/// `GET /api/v1/projects/{slug}/releases`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReleasesQuery {
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// `GET /api/v1/projects/{slug}/deployments`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    /// Only this environment; omitted: all.
    pub environment: Option<String>,
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// `DELETE /api/v1/projects/{slug}/repositories?url=…`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RepositoryQuery {
    /// The repository's URL, as listed in the project.
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
