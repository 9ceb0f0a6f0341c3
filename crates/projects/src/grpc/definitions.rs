//! The pipeline-definition RPCs (and GetRelease, which tasks checks a deploy's version with): translate, call the
//! use-case, translate back. `grpc.rs` authenticates and delegates here, so the service impl stays one line a call.

use devopstrack_platform::auth::Principal;
use devopstrack_proto::projects::v1 as pb;

use super::convert::{from_definition_kind, release, timestamp};
use crate::app::{DefinitionInput, DefinitionView, ProjectsApp};
use crate::domain::DefinitionKind;
use crate::error::Error;

pub fn definition(view: DefinitionView) -> Result<pb::Definition, Error> {
    let d = view.definition;
    let spec_json = serde_json::to_string(&d.spec)
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("encoding a definition's spec")))?;
    Ok(pb::Definition {
        project_id: d.project_id.to_string(),
        name: d.name.as_str().to_owned(),
        kind: match d.kind {
            DefinitionKind::Ci => pb::DefinitionKind::Ci,
            DefinitionKind::Deploy => pb::DefinitionKind::Deploy,
        } as i32,
        description: d.description,
        spec_json,
        allow_unreleased: d.allow_unreleased,
        version: d.version,
        created_at: Some(timestamp(d.created_at)),
        updated_at: Some(timestamp(d.updated_at)),
        project_slug: view.project_slug,
    })
}

pub async fn create(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::CreateDefinitionRequest,
) -> Result<pb::Definition, Error> {
    let input = DefinitionInput {
        kind: from_definition_kind(r.kind)?,
        description: r.description,
        spec_json: r.spec_json,
        allow_unreleased: r.allow_unreleased,
    };
    definition(app.create_definition(principal, &r.project, &r.name, input).await?)
}

pub async fn get(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::GetDefinitionRequest,
) -> Result<pb::Definition, Error> {
    definition(app.get_definition(principal, &r.project, &r.name).await?)
}

pub async fn list(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::ListDefinitionsRequest,
) -> Result<pb::ListDefinitionsResponse, Error> {
    let definitions = app
        .list_definitions(principal, &r.project)
        .await?
        .into_iter()
        .map(definition)
        .collect::<Result<_, _>>()?;
    Ok(pb::ListDefinitionsResponse { definitions })
}

pub async fn update(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::UpdateDefinitionRequest,
) -> Result<pb::Definition, Error> {
    let input = DefinitionInput {
        kind: from_definition_kind(r.kind)?,
        description: r.description,
        spec_json: r.spec_json,
        allow_unreleased: r.allow_unreleased,
    };
    definition(
        app.update_definition(principal, &r.project, &r.name, r.expected_version, input)
            .await?,
    )
}

pub async fn delete(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::DeleteDefinitionRequest,
) -> Result<pb::DeleteDefinitionResponse, Error> {
    app.delete_definition(principal, &r.project, &r.name, r.expected_version)
        .await?;
    Ok(pb::DeleteDefinitionResponse {})
}

pub async fn get_release(
    app: &ProjectsApp,
    principal: &Principal,
    r: pb::GetReleaseRequest,
) -> Result<pb::Release, Error> {
    Ok(release(app.get_release(principal, &r.project, &r.version).await?))
}
