//! Pipeline definitions: create, read, list, replace (compare-and-set on `expected_version`, like projects) and
//! delete. Viewer reads; admin writes. The stages are checked by the shared pipeline-spec crate, so the messages are
//! CreatePipeline's (`stages[0].jobs[1].name: …`).

use devopstrack_pipeline_spec::PipelineInput;
use devopstrack_platform::auth::{Principal, Role};

use super::releases::ensure_active;
use super::{ProjectsApp, require, store_err};
use crate::domain::{DefinitionKind, DefinitionName, DefinitionRecord, ProjectRecord, validate_spec};
use crate::error::Error;
use crate::store::{Replace, StoreError};

const MAX_DESCRIPTION_CHARS: usize = 500;
/// The spec's JSON text, before it is parsed: 20 stages of 50 jobs with 16 KiB params each would be far larger, but
/// the job count limit (200) bounds a real spec well below this.
const MAX_SPEC_BYTES: usize = 1024 * 1024;

/// A definition's content as received: CreateDefinition and UpdateDefinition.
#[derive(Debug, Clone, Default)]
pub struct DefinitionInput {
    pub kind: Option<DefinitionKind>,
    pub description: String,
    /// `{"stages": […]}` as JSON text.
    pub spec_json: String,
    pub allow_unreleased: bool,
}

/// A definition with its project's slug, as every answer shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionView {
    pub definition: DefinitionRecord,
    pub project_slug: String,
}

/// The validated content.
struct Content {
    kind: DefinitionKind,
    description: String,
    spec: PipelineInput,
    allow_unreleased: bool,
}

fn parse_content(input: &DefinitionInput) -> Result<Content, Error> {
    let kind = input
        .kind
        .ok_or_else(|| Error::invalid("kind", "is required: ci or deploy"))?;
    let description = input.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if description.chars().any(char::is_control) {
        return Err(Error::invalid("description", "must not contain control characters"));
    }
    if input.spec_json.len() > MAX_SPEC_BYTES {
        return Err(Error::invalid(
            "stages",
            format!("the spec must be at most {MAX_SPEC_BYTES} bytes of JSON"),
        ));
    }
    let spec: PipelineInput = serde_json::from_str(&input.spec_json)
        .map_err(|e| Error::invalid("stages", format!("not a pipeline spec: {e}")))?;
    validate_spec(kind, &spec).map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(Content {
        kind,
        description: description.to_owned(),
        spec,
        allow_unreleased: input.allow_unreleased,
    })
}

fn parse_name(raw: &str) -> Result<DefinitionName, Error> {
    DefinitionName::parse(raw).map_err(|e| Error::invalid("name", e))
}

fn view(definition: DefinitionRecord, project: &ProjectRecord) -> DefinitionView {
    DefinitionView {
        definition,
        project_slug: project.slug.as_str().to_owned(),
    }
}

impl ProjectsApp {
    #[tracing::instrument(skip_all, fields(project = %project, name = %name))]
    pub async fn create_definition(
        &self,
        principal: &Principal,
        project: &str,
        name: &str,
        input: DefinitionInput,
    ) -> Result<DefinitionView, Error> {
        require(principal, Role::Admin)?;
        let name = parse_name(name)?;
        let content = parse_content(&input)?;
        let project = self.project("project", project).await?;
        ensure_active("project", &project)?;
        let now = self.now();
        let definition = DefinitionRecord {
            project_id: project.id,
            name,
            kind: content.kind,
            description: content.description,
            spec: content.spec,
            allow_unreleased: content.allow_unreleased,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_definition(&definition).await.map_err(|e| match e {
            StoreError::Conflict(_) => Error::Conflict(format!(
                "name: project {} already has a definition {}",
                project.slug, definition.name
            )),
            other => store_err("creating a pipeline definition")(other),
        })?;
        tracing::info!(kind = definition.kind.as_str(), "pipeline definition created");
        Ok(view(definition, &project))
    }

    pub async fn get_definition(
        &self,
        principal: &Principal,
        project: &str,
        name: &str,
    ) -> Result<DefinitionView, Error> {
        require(principal, Role::Viewer)?;
        let name = parse_name(name)?;
        let project = self.project("project", project).await?;
        let definition = self
            .store
            .definition(project.id, &name)
            .await
            .map_err(store_err("loading a pipeline definition"))?
            .ok_or_else(|| Error::NotFound(format!("name: project {} has no definition {name}", project.slug)))?;
        Ok(view(definition, &project))
    }

    pub async fn list_definitions(&self, principal: &Principal, project: &str) -> Result<Vec<DefinitionView>, Error> {
        require(principal, Role::Viewer)?;
        let project = self.project("project", project).await?;
        let definitions = self
            .store
            .list_definitions(project.id)
            .await
            .map_err(store_err("listing pipeline definitions"))?;
        Ok(definitions.into_iter().map(|d| view(d, &project)).collect())
    }

    /// Replaces the content if `expected_version` is the stored version (ABORTED otherwise: read again, retry).
    #[tracing::instrument(skip_all, fields(project = %project, name = %name))]
    pub async fn update_definition(
        &self,
        principal: &Principal,
        project: &str,
        name: &str,
        expected_version: i64,
        input: DefinitionInput,
    ) -> Result<DefinitionView, Error> {
        require(principal, Role::Admin)?;
        let name = parse_name(name)?;
        if expected_version <= 0 {
            return Err(Error::invalid(
                "expectedVersion",
                "is required: the version of the definition you read",
            ));
        }
        let content = parse_content(&input)?;
        let project = self.project("project", project).await?;
        ensure_active("project", &project)?;
        let current = self
            .store
            .definition(project.id, &name)
            .await
            .map_err(store_err("loading a pipeline definition"))?
            .ok_or_else(|| Error::NotFound(format!("name: project {} has no definition {name}", project.slug)))?;
        let next = DefinitionRecord {
            kind: content.kind,
            description: content.description,
            spec: content.spec,
            allow_unreleased: content.allow_unreleased,
            version: expected_version + 1,
            updated_at: self.now().max(current.updated_at),
            ..current
        };
        match self
            .store
            .replace_definition(&next, expected_version)
            .await
            .map_err(store_err("updating a pipeline definition"))?
        {
            Replace::Done => Ok(view(next, &project)),
            Replace::VersionMismatch { current } => Err(stale(current, expected_version)),
            Replace::NotFound => Err(Error::NotFound(format!(
                "name: project {} has no definition {name}",
                project.slug
            ))),
        }
    }

    /// Deletes the definition if `expected_version` is its version (any version when 0).
    #[tracing::instrument(skip_all, fields(project = %project, name = %name))]
    pub async fn delete_definition(
        &self,
        principal: &Principal,
        project: &str,
        name: &str,
        expected_version: i64,
    ) -> Result<(), Error> {
        require(principal, Role::Admin)?;
        let name = parse_name(name)?;
        if expected_version < 0 {
            return Err(Error::invalid("expectedVersion", "must not be negative"));
        }
        let project = self.project("project", project).await?;
        let expected = (expected_version > 0).then_some(expected_version);
        match self
            .store
            .delete_definition(project.id, &name, expected)
            .await
            .map_err(store_err("deleting a pipeline definition"))?
        {
            Replace::Done => Ok(()),
            Replace::VersionMismatch { current } => Err(stale(current, expected_version)),
            Replace::NotFound => Err(Error::NotFound(format!(
                "name: project {} has no definition {name}",
                project.slug
            ))),
        }
    }
}

fn stale(actual: i64, expected: i64) -> Error {
    Error::Aborted(format!(
        "expectedVersion: the definition's version is {actual}, expected {expected}; read it again and retry"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(spec_json: &str) -> DefinitionInput {
        DefinitionInput {
            kind: Some(DefinitionKind::Ci),
            spec_json: spec_json.into(),
            ..Default::default()
        }
    }

    #[test]
    fn content_errors_name_the_field() {
        let ok = r#"{"stages":[{"name":"build","jobs":[{"name":"compile"}]}]}"#;
        let cases = [
            (
                DefinitionInput {
                    kind: None,
                    ..input(ok)
                },
                "kind: ",
            ),
            (input("[1]"), "stages: not a pipeline spec"),
            (input(r#"{"stages":[]}"#), "stages: at least one stage is required"),
            (
                input(r#"{"stages":[{"name":"Build","jobs":[{"name":"compile"}]}]}"#),
                "stages[0].name: ",
            ),
            (
                DefinitionInput {
                    description: "a\u{7}b".into(),
                    ..input(ok)
                },
                "description: ",
            ),
        ];
        for (given, want) in cases {
            let Err(Error::InvalidInput(message)) = parse_content(&given) else {
                panic!("{given:?} should be refused");
            };
            assert!(message.starts_with(want), "{message:?} should start with {want:?}");
        }
        assert!(parse_content(&input(ok)).is_ok());
    }
}
