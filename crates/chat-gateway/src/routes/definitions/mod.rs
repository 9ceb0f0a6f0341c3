//! `/api/v1/projects/{slug}/definitions/**`: a project's pipeline definitions over the projects service (viewer reads,
//! admin writes; replaced and deleted compare-and-set on `expectedVersion`, a stale one is 409). The stages are
//! validated by projects with CreatePipeline's rules, so a 400 names the field as `POST /api/v1/pipelines` would.
//! What runs a definition (`POST …/runs`, `POST …/environments/{env}/rollback`) is in [`runs`]; the JSON shapes of
//! both in [`dto`].

mod dto;
pub(crate) mod runs;

use actix_web::{HttpResponse, web};

use devopstrack_proto::projects::v1 as pb;

use self::dto::{CreateDefinitionBody, DefinitionBody, DefinitionsBody, DeleteDefinitionQuery, UpdateDefinitionBody};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Query, Upstream, read_upstream, upstream};

pub fn configure(cfg: &mut web::ServiceConfig) {
    const ONE: &str = "/api/v1/projects/{slug}/definitions/{name}";
    cfg.route("/api/v1/projects/{slug}/definitions", web::get().to(list))
        .route("/api/v1/projects/{slug}/definitions", web::post().to(create))
        .route(ONE, web::get().to(get))
        .route(ONE, web::put().to(update))
        .route(ONE, web::delete().to(delete))
        .configure(runs::configure);
}

/// Every pipeline definition of the project, by name (viewer).
#[utoipa::path(get, path = "/api/v1/projects/{slug}/definitions", tag = "definitions",
    operation_id = "listDefinitions",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The definitions", body = DefinitionsBody),
        (status = 400, description = "Not a project slug or id", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
pub(crate) async fn list(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ListDefinitionsRequest {
        project: slug.into_inner(),
    };
    let answer = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.list_definitions(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(DefinitionsBody {
        items: answer.definitions.into_iter().map(DefinitionBody::from).collect(),
    }))
}

/// Creates a pipeline definition (admin).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/definitions", tag = "definitions",
    operation_id = "createDefinition",
    request_body = CreateDefinitionBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 201, description = "Created", body = DefinitionBody,
            headers(("location" = String, description = "`/api/v1/projects/{slug}/definitions/{name}`"))),
        (status = 400, description = "Invalid field (the message names it, e.g. `stages[0].jobs[1].name`)",
            body = ErrorBody),
        (status = 403, description = "Below admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project has a definition of that name, or is archived", body = ErrorBody),
    ))]
pub(crate) async fn create(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    Json(body): Json<CreateDefinitionBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.into_proto(slug.into_inner())?;
    let created = state
        .projects
        .clone()
        .create_definition(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Created()
        .insert_header((
            "location",
            format!("/api/v1/projects/{}/definitions/{}", created.project_slug, created.name),
        ))
        .json(DefinitionBody::from(created)))
}

/// One pipeline definition (viewer).
#[utoipa::path(get, path = "/api/v1/projects/{slug}/definitions/{name}", tag = "definitions",
    operation_id = "getDefinition",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("name" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{0,31}$", description = "Definition name")),
    responses(
        (status = 200, description = "The definition", body = DefinitionBody),
        (status = 400, description = "The name is not a definition name", body = ErrorBody),
        (status = 404, description = "No such project or definition", body = ErrorBody),
    ))]
pub(crate) async fn get(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (project, name) = path.into_inner();
    let message = pb::GetDefinitionRequest { project, name };
    let definition = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.get_definition(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(DefinitionBody::from(definition)))
}

/// Replaces a pipeline definition if `expectedVersion` is its version (admin).
#[utoipa::path(put, path = "/api/v1/projects/{slug}/definitions/{name}", tag = "definitions",
    operation_id = "updateDefinition",
    request_body = UpdateDefinitionBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("name" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{0,31}$", description = "Definition name")),
    responses(
        (status = 200, description = "The definition as replaced (version + 1)", body = DefinitionBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Below admin", body = ErrorBody),
        (status = 404, description = "No such project or definition", body = ErrorBody),
        (status = 409, description = "`expectedVersion` is stale (read it again), or the project is archived",
            body = ErrorBody),
    ))]
pub(crate) async fn update(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
    Json(body): Json<UpdateDefinitionBody>,
) -> Result<HttpResponse, ApiError> {
    let (project, name) = path.into_inner();
    let message = body.into_proto(project, name)?;
    let updated = state
        .projects
        .clone()
        .update_definition(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(DefinitionBody::from(updated)))
}

/// Deletes a pipeline definition (admin), only at `expectedVersion` when given.
#[utoipa::path(delete, path = "/api/v1/projects/{slug}/definitions/{name}", tag = "definitions",
    operation_id = "deleteDefinition",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("name" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{0,31}$", description = "Definition name"),
        DeleteDefinitionQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad name or query", body = ErrorBody),
        (status = 403, description = "Below admin", body = ErrorBody),
        (status = 404, description = "No such project or definition", body = ErrorBody),
        (status = 409, description = "`expectedVersion` is stale", body = ErrorBody),
    ))]
pub(crate) async fn delete(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
    query: Query<DeleteDefinitionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (project, name) = path.into_inner();
    let message = pb::DeleteDefinitionRequest {
        project,
        name,
        expected_version: query.into_inner().expected_version.unwrap_or(0),
    };
    state
        .projects
        .clone()
        .delete_definition(upstream(message, Some(&caller), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
