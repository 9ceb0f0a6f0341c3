//! A project's releases and deployments: the answers, the bodies that create a release or record a deployment, and
//! their list queries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::projects::v1 as pb;

use super::non_empty;
use crate::routes::dto::{proto_enum, time, timestamp};

proto_enum!(DeploymentStatus, DeploymentStatus, "snake_case", { Succeeded, Failed, RolledBack });

// ---- answers ----

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
    /// This deployment was a rollback (`POST …/environments/{env}/rollback`): the version deployed before it is the
    /// one rolled back. DORA counts it as remediation.
    pub rollback: bool,
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
            rollback: d.rollback,
        }
    }
}

// ---- inputs ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateReleaseRequest, example = json!({"version": "2.5.0", "commitSha": "3f2a9c1"}))]
pub struct CreateReleaseBody {
    /// Unique per project.
    #[schema(value_type = crate::openapi::contract::VersionLabel)]
    pub version: String,
    #[schema(value_type = Option<crate::openapi::contract::OptionalCommitSha>)]
    pub commit_sha: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::ReleaseNotes>)]
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
    #[schema(value_type = crate::openapi::contract::DeploymentId)]
    pub id: String,
    #[schema(value_type = crate::openapi::contract::EnvName)]
    pub environment: String,
    #[schema(value_type = crate::openapi::contract::VersionLabel)]
    pub version: String,
    #[schema(value_type = Option<crate::openapi::contract::OptionalCommitSha>)]
    pub commit_sha: Option<String>,
    pub status: DeploymentStatus,
    pub started_at: DateTime<Utc>,
    /// Not before `startedAt`.
    pub finished_at: DateTime<Utc>,
    /// Omitted: you.
    #[schema(value_type = Option<crate::openapi::contract::ShortText>)]
    pub triggered_by: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::PipelineRef>)]
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
                // Rollbacks are recorded by tasks, which knows a run was one.
                rollback: false,
            }),
        }
    }
}

// ---- queries ----

/// `GET /api/v1/projects/{slug}/releases`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReleasesQuery {
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// `GET /api/v1/projects/{slug}/deployments`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    /// Only this environment; omitted: all.
    #[param(value_type = Option<crate::openapi::contract::EnvFilter>)]
    pub environment: Option<String>,
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}
