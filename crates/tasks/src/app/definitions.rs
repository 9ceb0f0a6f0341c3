//! Runs from pipeline definitions (CreateRun): fetch the project's definition from projects as the caller, fill a
//! deploy definition's `${environment}`, `${version}` and `${commit}` (plain text, never evaluated: see
//! `devopstrack_pipeline_spec::template`), check the version has a release unless the definition allows unreleased
//! versions, and create the pipeline like CreatePipeline does, recording the definition's name and version on it.
//!
//! Roles, idempotency and every other check are CreatePipeline's: the run is created through
//! [`TasksApp::create_pipeline`].

use devopstrack_pipeline_spec::template::{self, Values};
use devopstrack_platform::auth::{Principal, Role};

use super::pipelines::CreatePipeline;
use super::{TasksApp, require};
use crate::domain::{DefinitionRef, Pipeline, Trigger};
use crate::error::Error;
use crate::projects::{RunDefinition, RunKind};

/// CreateRun as received.
#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    pub project: String,
    pub definition: String,
    pub environment: String,
    pub version: String,
    pub commit_sha: String,
    pub idempotency_key: String,
    /// `None`: api.
    pub trigger: Option<Trigger>,
    /// The chat's four eyes (see [`CreatePipeline::asked_by`]).
    pub asked_by: Option<String>,
}

impl TasksApp {
    /// Creates a run of the definition `new.definition` of `new.project`. `bearer` is the caller's token: the
    /// definition (and the release) are read from projects as the caller.
    #[tracing::instrument(skip_all, fields(project = %new.project, definition = %new.definition))]
    pub async fn create_run(
        &self,
        principal: &Principal,
        bearer: &str,
        new: CreateRun,
    ) -> Result<(Pipeline, bool), Error> {
        require(principal, Role::Operator, "creating a pipeline")?;
        if new.project.is_empty() {
            return Err(Error::invalid("project", "is required (a project slug)"));
        }
        if new.definition.is_empty() {
            return Err(Error::invalid(
                "definition",
                "is required (a definition name, e.g. ci or deploy)",
            ));
        }
        let definition = self.projects.definition(bearer, &new.project, &new.definition).await?;
        self.run_definition(principal, bearer, new, definition).await
    }

    /// The second half of [`Self::create_run`], for a definition already fetched (a rollback runs the deploy
    /// definition it looked up).
    pub(super) async fn run_definition(
        &self,
        principal: &Principal,
        bearer: &str,
        new: CreateRun,
        definition: RunDefinition,
    ) -> Result<(Pipeline, bool), Error> {
        let (environment, version) = match definition.kind {
            RunKind::Ci => {
                for (field, value) in [("environment", &new.environment), ("version", &new.version)] {
                    if !value.is_empty() {
                        return Err(Error::invalid(
                            field,
                            format!("{} is a ci definition: it takes no {field}", definition.name),
                        ));
                    }
                }
                (None, None)
            }
            RunKind::Deploy => {
                for (field, value) in [("environment", &new.environment), ("version", &new.version)] {
                    if value.is_empty() {
                        return Err(Error::invalid(
                            field,
                            format!("is required: {} is a deploy definition", definition.name),
                        ));
                    }
                }
                (Some(new.environment.as_str()), Some(new.version.as_str()))
            }
        };
        let values = Values {
            environment,
            version,
            commit: (!new.commit_sha.is_empty()).then_some(new.commit_sha.as_str()),
        };
        let input = template::fill(&definition.spec, &values);
        if let Some(version) = version
            && !definition.allow_unreleased
            && !self.projects.release_exists(bearer, &new.project, version).await?
        {
            return Err(Error::invalid(
                "version",
                format!(
                    "project {} has no release {version:?} (definition {} allows only released versions)",
                    new.project, definition.name
                ),
            ));
        }
        let create = CreatePipeline {
            project: new.project,
            environment: new.environment,
            version: new.version,
            trigger: new.trigger,
            input,
            idempotency_key: new.idempotency_key,
            commit_sha: new.commit_sha,
            commit_time: None,
            definition: Some(DefinitionRef {
                name: definition.name,
                version: definition.version,
            }),
            asked_by: new.asked_by,
        };
        self.create_pipeline(principal, bearer, create).await
    }
}
