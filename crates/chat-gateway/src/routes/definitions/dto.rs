//! JSON shapes of `/api/v1/projects/{slug}/definitions/**`, `/runs` and `/environments/{env}/rollback`, and their
//! conversions. A definition's `stages` take the same JSON as `POST /api/v1/pipelines` (camelCase), sent to projects
//! as the shared pipeline spec (`devopstrack-pipeline-spec`), which validates them with CreatePipeline's rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use devopstrack_pipeline_spec::spec::{
    JobInput as SpecJob, PipelineInput, RetryInput as SpecRetry, StageInput as SpecStage,
};
use devopstrack_proto::projects::v1 as pb;

use crate::error::ApiError;
use crate::routes::dto::{proto_enum, time};
use crate::routes::pipelines::dto::{Executor, PipelineBody, RetryPolicyBody, StageInput};

proto_enum!(DefinitionKind, DefinitionKind, "lowercase", {
    /// Builds and tests; run without an environment.
    Ci,
    /// Deploys a version to an environment; job params may use `${environment}`, `${version}`, `${commit}`.
    Deploy,
});

/// `POST /api/v1/projects/{slug}/definitions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateDefinitionRequest, example = json!({
    "name": "deploy-eu", "kind": "deploy", "description": "Deploy through the hook",
    "stages": [{"name": "deploy", "jobs": [{"name": "rollout", "executor": "http",
        "params": {"url": "https://deploy.example/hook?env=${environment}&version=${version}"}}]}]
}))]
pub struct CreateDefinitionBody {
    /// `^[a-z0-9][a-z0-9-]{0,31}$`, unique in the project.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    pub name: String,
    pub kind: DefinitionKind,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// A deploy may run a version that has no release in the project. Default false.
    #[serde(default)]
    pub allow_unreleased: bool,
    /// As in `POST /api/v1/pipelines`: 1–20 stages, at most 50 jobs per stage and 200 in all.
    #[schema(min_items = 1, max_items = 20)]
    pub stages: Vec<StageInput>,
}

/// `PUT /api/v1/projects/{slug}/definitions/{name}`: replaces the definition if `expectedVersion` is current.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateDefinitionRequest)]
pub struct UpdateDefinitionBody {
    /// The `version` of the definition you read.
    #[schema(minimum = 1)]
    pub expected_version: i64,
    pub kind: DefinitionKind,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[serde(default)]
    pub allow_unreleased: bool,
    #[schema(min_items = 1, max_items = 20)]
    pub stages: Vec<StageInput>,
}

/// `DELETE /api/v1/projects/{slug}/definitions/{name}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteDefinitionQuery {
    /// Delete only if this is the definition's version (409 otherwise); omitted: whatever it is.
    #[param(minimum = 1)]
    pub expected_version: Option<i64>,
}

/// A pipeline definition.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Definition)]
pub struct DefinitionBody {
    pub project_id: String,
    /// The project's slug.
    pub project: String,
    pub name: String,
    pub kind: Option<DefinitionKind>,
    pub description: String,
    pub allow_unreleased: bool,
    /// Optimistic-concurrency counter: pass it back as `expectedVersion`.
    #[schema(minimum = 1)]
    pub version: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The stages as stored (placeholders unfilled), in the shape `POST /api/v1/pipelines` takes.
    #[schema(value_type = Vec<Object>)]
    pub stages: Vec<Value>,
}

/// `{"items": […]}`: every definition of the project, by name.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DefinitionList)]
pub struct DefinitionsBody {
    pub items: Vec<DefinitionBody>,
}

/// `POST /api/v1/projects/{slug}/runs`: a run of one of the project's definitions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateRunRequest, example = json!({
    "definition": "deploy", "environment": "staging", "version": "2.5.0", "idempotencyKey": "deploy-2.5.0-staging"
}))]
pub struct CreateRunBody {
    /// The definition's name (`ci`, `deploy`, …).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    pub definition: String,
    /// Required for a deploy definition, refused for a ci one.
    #[schema(value_type = Option<crate::openapi::contract::EnvFilter>)]
    pub environment: Option<String>,
    /// Required for a deploy definition: a version with a release in the project, unless the definition allows
    /// unreleased versions.
    #[schema(value_type = Option<crate::openapi::contract::PipelineVersion>)]
    pub version: Option<String>,
    /// The commit (7–64 hex digits), filled into `${commit}`.
    #[schema(value_type = Option<crate::openapi::contract::CommitSha>)]
    pub commit: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::IdempotencyKey>)]
    pub idempotency_key: Option<String>,
}

/// `POST /api/v1/projects/{slug}/environments/{env}/rollback`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RollbackRequest, example = json!({"to": "2.4.1"}))]
pub struct RollbackBody {
    /// The version to go back to: one deployed there with success before the current one and never rolled back.
    /// Omitted: the newest such version.
    #[schema(value_type = Option<crate::openapi::contract::PipelineVersion>)]
    pub to: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::IdempotencyKey>)]
    pub idempotency_key: Option<String>,
}

/// A rollback started: the run, and from which version to which.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Rollback)]
pub struct RolledBackBody {
    pub pipeline: PipelineBody,
    /// What the environment ran when the rollback was asked.
    pub from_version: String,
    pub to_version: String,
}

/// The stages as the shared pipeline spec's JSON, which projects stores (`spec_json`). `0` means the default, as in
/// `POST /api/v1/pipelines`.
pub fn spec_json(stages: Vec<StageInput>) -> Result<String, ApiError> {
    let nonzero = |n: u64| (n != 0).then(|| i64::try_from(n).unwrap_or(i64::MAX));
    let input = PipelineInput {
        stages: stages
            .into_iter()
            .map(|stage| SpecStage {
                name: stage.name,
                jobs: stage
                    .jobs
                    .into_iter()
                    .map(|job| SpecJob {
                        name: job.name,
                        executor: job.executor.map(executor_name).unwrap_or_default().to_owned(),
                        params: job.params.map_or(Value::Null, Value::Object),
                        timeout_s: job.timeout_s.and_then(|t| nonzero(t.into())),
                        retry: job.retry.map(|r| SpecRetry {
                            max_attempts: nonzero(r.max_attempts.into()),
                            initial_backoff_ms: nonzero(r.initial_backoff_ms),
                            max_backoff_ms: nonzero(r.max_backoff_ms),
                        }),
                        allow_failure: job.allow_failure,
                        requires_approval: job.requires_approval,
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string(&input).map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("encoding stages")))
}

fn executor_name(executor: Executor) -> &'static str {
    match executor {
        Executor::Simulate => "simulate",
        Executor::Http => "http",
    }
}

/// A stored spec back in the shape `POST /api/v1/pipelines` takes (camelCase; defaults left out).
fn stages_json(spec_json: &str) -> Vec<Value> {
    let Ok(input) = serde_json::from_str::<PipelineInput>(spec_json) else {
        return Vec::new();
    };
    input
        .stages
        .into_iter()
        .map(|stage| {
            let jobs: Vec<Value> = stage
                .jobs
                .into_iter()
                .map(|job| {
                    let mut out = Map::new();
                    out.insert("name".into(), job.name.into());
                    let executor = if job.executor.is_empty() {
                        "simulate".to_owned()
                    } else {
                        job.executor
                    };
                    out.insert("executor".into(), executor.into());
                    if !job.params.is_null() {
                        out.insert("params".into(), job.params);
                    }
                    if let Some(t) = job.timeout_s {
                        out.insert("timeoutS".into(), t.into());
                    }
                    if let Some(r) = job.retry {
                        let retry = RetryPolicyBody {
                            max_attempts: r.max_attempts.map_or(0, |n| u32::try_from(n).unwrap_or(0)),
                            initial_backoff_ms: r.initial_backoff_ms.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
                            max_backoff_ms: r.max_backoff_ms.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
                        };
                        out.insert("retry".into(), serde_json::to_value(retry).unwrap_or(Value::Null));
                    }
                    out.insert("allowFailure".into(), job.allow_failure.into());
                    out.insert("requiresApproval".into(), job.requires_approval.into());
                    Value::Object(out)
                })
                .collect();
            serde_json::json!({"name": stage.name, "jobs": jobs})
        })
        .collect()
}

impl From<pb::Definition> for DefinitionBody {
    fn from(d: pb::Definition) -> Self {
        Self {
            stages: stages_json(&d.spec_json),
            project_id: d.project_id,
            project: d.project_slug,
            name: d.name,
            kind: DefinitionKind::from_proto(d.kind),
            description: d.description,
            allow_unreleased: d.allow_unreleased,
            version: d.version,
            created_at: time(d.created_at),
            updated_at: time(d.updated_at),
        }
    }
}

impl CreateDefinitionBody {
    pub fn into_proto(self, project: String) -> Result<pb::CreateDefinitionRequest, ApiError> {
        Ok(pb::CreateDefinitionRequest {
            project,
            name: self.name,
            kind: self.kind.to_proto() as i32,
            description: self.description.unwrap_or_default(),
            spec_json: spec_json(self.stages)?,
            allow_unreleased: self.allow_unreleased,
        })
    }
}

impl UpdateDefinitionBody {
    pub fn into_proto(self, project: String, name: String) -> Result<pb::UpdateDefinitionRequest, ApiError> {
        Ok(pb::UpdateDefinitionRequest {
            project,
            name,
            expected_version: self.expected_version,
            kind: self.kind.to_proto() as i32,
            description: self.description.unwrap_or_default(),
            spec_json: spec_json(self.stages)?,
            allow_unreleased: self.allow_unreleased,
        })
    }
}
