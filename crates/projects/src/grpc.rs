//! The gRPC transport: authenticate (every call, against auth's JWKS), translate, call one use-case, translate back.
//! Generated types stop here; the translations live in [`convert`].

mod convert;
mod definitions;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use devopstrack_platform::auth::{
    GITHUB_WEBHOOK_CLIENTS, JwtVerifier, Principal, RECORD_DEPLOYMENT_CLIENTS, require_client,
};
use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::project_service_server::ProjectService;

use crate::app::{NewRelease, ProjectPatch, ProjectQuery, ProjectsApp, WebhookDelivery};
use crate::error::Error;
use convert::{
    deployment, environment_input, github_integration, new_deployment, new_project, project, release, repository_input,
    webhook_verification,
};

pub use devopstrack_proto::projects::v1::project_service_server::ProjectServiceServer;

/// Largest request accepted: a VerifyGithubWebhook carries a whole webhook payload (the gateway caps those at 5 MiB),
/// over tonic's default of 4 MiB. A ClaimStaleGithubDeliveries answer is about 4 MiB of payload, or one delivery
/// alone, so up to this much too: its caller must accept answers that large.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

pub struct ProjectsGrpc {
    app: Arc<ProjectsApp>,
    verifier: Arc<JwtVerifier>,
}

impl ProjectsGrpc {
    pub fn new(app: Arc<ProjectsApp>, verifier: Arc<JwtVerifier>) -> Self {
        Self { app, verifier }
    }

    pub fn into_server(self) -> ProjectServiceServer<Self> {
        ProjectServiceServer::new(self).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        devopstrack_peers::authenticate(&self.verifier, request.metadata()).await
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ProjectService for ProjectsGrpc {
    async fn create_project(&self, request: Request<pb::CreateProjectRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let new = new_project(request.into_inner())?;
        Ok(Response::new(project(self.app.create_project(&principal, new).await?)))
    }

    async fn get_project(&self, request: Request<pb::GetProjectRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let view = self.app.get_project(&principal, &request.into_inner().project).await?;
        Ok(Response::new(project(view)))
    }

    async fn list_projects(&self, request: Request<pb::ListProjectsRequest>) -> Answer<pb::ListProjectsResponse> {
        let principal = self.principal(&request).await?;
        let pb::ListProjectsRequest {
            page_size,
            page_token,
            query,
            tag,
            include_archived,
            order_by,
        } = request.into_inner();
        let query = ProjectQuery {
            page_size,
            page_token,
            query,
            tag,
            include_archived,
            order_by,
        };
        let page = self.app.list_projects(&principal, query).await?;
        Ok(Response::new(pb::ListProjectsResponse {
            projects: page.projects.into_iter().map(project).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn update_project(&self, request: Request<pb::UpdateProjectRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let pb::UpdateProjectRequest {
            project: target,
            expected_version,
            update_mask,
            name,
            description,
            tags,
            owner,
        } = request.into_inner();
        let paths = update_mask.map(|m| m.paths).unwrap_or_default();
        let patch = ProjectPatch {
            expected_version,
            paths,
            name,
            description,
            tags,
            owner,
        };
        Ok(Response::new(project(
            self.app.update_project(&principal, &target, patch).await?,
        )))
    }

    async fn archive_project(&self, request: Request<pb::ArchiveProjectRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let view = self
            .app
            .archive_project(&principal, &request.into_inner().project)
            .await?;
        Ok(Response::new(project(view)))
    }

    async fn delete_project(&self, request: Request<pb::DeleteProjectRequest>) -> Answer<pb::DeleteProjectResponse> {
        let principal = self.principal(&request).await?;
        self.app
            .delete_project(&principal, &request.into_inner().project)
            .await?;
        Ok(Response::new(pb::DeleteProjectResponse {}))
    }

    async fn add_repository(&self, request: Request<pb::AddRepositoryRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let pb::AddRepositoryRequest {
            project: target,
            repository,
        } = request.into_inner();
        let repository = repository.ok_or_else(|| Error::invalid("repository", "is required"))?;
        let input = repository_input("repository", repository)?;
        Ok(Response::new(project(
            self.app.add_repository(&principal, &target, input).await?,
        )))
    }

    async fn remove_repository(&self, request: Request<pb::RemoveRepositoryRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let pb::RemoveRepositoryRequest { project: target, url } = request.into_inner();
        Ok(Response::new(project(
            self.app.remove_repository(&principal, &target, &url).await?,
        )))
    }

    async fn upsert_environment(&self, request: Request<pb::UpsertEnvironmentRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let pb::UpsertEnvironmentRequest {
            project: target,
            environment,
        } = request.into_inner();
        let environment = environment.ok_or_else(|| Error::invalid("environment", "is required"))?;
        let input = environment_input("environment", environment)?;
        Ok(Response::new(project(
            self.app.upsert_environment(&principal, &target, input).await?,
        )))
    }

    async fn delete_environment(&self, request: Request<pb::DeleteEnvironmentRequest>) -> Answer<pb::Project> {
        let principal = self.principal(&request).await?;
        let pb::DeleteEnvironmentRequest { project: target, name } = request.into_inner();
        Ok(Response::new(project(
            self.app.delete_environment(&principal, &target, &name).await?,
        )))
    }

    async fn create_release(&self, request: Request<pb::CreateReleaseRequest>) -> Answer<pb::Release> {
        let principal = self.principal(&request).await?;
        let pb::CreateReleaseRequest {
            project: target,
            version,
            commit_sha,
            notes,
        } = request.into_inner();
        let new = NewRelease {
            version,
            commit_sha,
            notes,
        };
        Ok(Response::new(release(
            self.app.create_release(&principal, &target, new).await?,
        )))
    }

    async fn list_releases(&self, request: Request<pb::ListReleasesRequest>) -> Answer<pb::ListReleasesResponse> {
        let principal = self.principal(&request).await?;
        let pb::ListReleasesRequest {
            project: target,
            page_size,
            page_token,
        } = request.into_inner();
        let page = self
            .app
            .list_releases(&principal, &target, page_size, &page_token)
            .await?;
        Ok(Response::new(pb::ListReleasesResponse {
            releases: page.releases.into_iter().map(release).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn record_deployment(
        &self,
        request: Request<pb::RecordDeploymentRequest>,
    ) -> Answer<pb::RecordDeploymentResponse> {
        let principal = self.principal(&request).await?;
        require_client(&principal, RECORD_DEPLOYMENT_CLIENTS, "RecordDeployment")?;
        let received = request
            .into_inner()
            .deployment
            .ok_or_else(|| Error::invalid("deployment", "is required"))?;
        let new = new_deployment(received)?;
        let (stored, created) = self.app.record_deployment(&principal, new).await?;
        Ok(Response::new(pb::RecordDeploymentResponse {
            deployment: Some(deployment(stored)),
            created,
        }))
    }

    async fn list_deployments(
        &self,
        request: Request<pb::ListDeploymentsRequest>,
    ) -> Answer<pb::ListDeploymentsResponse> {
        let principal = self.principal(&request).await?;
        let pb::ListDeploymentsRequest {
            project: target,
            environment,
            page_size,
            page_token,
        } = request.into_inner();
        let page = self
            .app
            .list_deployments(&principal, &target, &environment, page_size, &page_token)
            .await?;
        Ok(Response::new(pb::ListDeploymentsResponse {
            deployments: page.deployments.into_iter().map(deployment).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn get_environment_states(
        &self,
        request: Request<pb::GetEnvironmentStatesRequest>,
    ) -> Answer<pb::GetEnvironmentStatesResponse> {
        let principal = self.principal(&request).await?;
        let view = self
            .app
            .environment_states(&principal, &request.into_inner().project)
            .await?;
        Ok(Response::new(pb::GetEnvironmentStatesResponse {
            environments: project(view).environments,
        }))
    }

    async fn set_github_integration(
        &self,
        request: Request<pb::SetGithubIntegrationRequest>,
    ) -> Answer<pb::GithubIntegration> {
        let principal = self.principal(&request).await?;
        let pb::SetGithubIntegrationRequest {
            project: target,
            webhook_secret,
        } = request.into_inner();
        let webhook_secret = secrecy::SecretString::from(webhook_secret);
        let view = self
            .app
            .set_github_integration(&principal, &target, &webhook_secret)
            .await?;
        Ok(Response::new(github_integration(view)))
    }

    async fn get_github_integration(
        &self,
        request: Request<pb::GetGithubIntegrationRequest>,
    ) -> Answer<pb::GithubIntegration> {
        let principal = self.principal(&request).await?;
        let view = self
            .app
            .github_integration(&principal, &request.into_inner().project)
            .await?;
        Ok(Response::new(github_integration(view)))
    }

    async fn verify_github_webhook(
        &self,
        request: Request<pb::VerifyGithubWebhookRequest>,
    ) -> Answer<pb::VerifyGithubWebhookResponse> {
        let principal = self.principal(&request).await?;
        require_client(&principal, GITHUB_WEBHOOK_CLIENTS, "VerifyGithubWebhook")?;
        let pb::VerifyGithubWebhookRequest {
            project: target,
            delivery_id,
            signature_header,
            payload,
            event,
        } = request.into_inner();
        let delivery = WebhookDelivery {
            project: &target,
            delivery_id: &delivery_id,
            signature_header: &signature_header,
            payload: &payload,
            event: &event,
        };
        let verification = self.app.verify_github_webhook(&principal, delivery).await?;
        Ok(Response::new(webhook_verification(verification)))
    }

    async fn create_definition(&self, request: Request<pb::CreateDefinitionRequest>) -> Answer<pb::Definition> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::create(&self.app, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_definition(&self, request: Request<pb::GetDefinitionRequest>) -> Answer<pb::Definition> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::get(&self.app, &principal, request.into_inner()).await?,
        ))
    }

    async fn list_definitions(
        &self,
        request: Request<pb::ListDefinitionsRequest>,
    ) -> Answer<pb::ListDefinitionsResponse> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::list(&self.app, &principal, request.into_inner()).await?,
        ))
    }

    async fn update_definition(&self, request: Request<pb::UpdateDefinitionRequest>) -> Answer<pb::Definition> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::update(&self.app, &principal, request.into_inner()).await?,
        ))
    }

    async fn delete_definition(
        &self,
        request: Request<pb::DeleteDefinitionRequest>,
    ) -> Answer<pb::DeleteDefinitionResponse> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::delete(&self.app, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_release(&self, request: Request<pb::GetReleaseRequest>) -> Answer<pb::Release> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            definitions::get_release(&self.app, &principal, request.into_inner()).await?,
        ))
    }
}
