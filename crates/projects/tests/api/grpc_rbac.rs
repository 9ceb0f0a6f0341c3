//! Who may call what: every RPC × viewer, operator, admin, service and anonymous. A permitted call must succeed (the
//! calls are arranged to be valid), a forbidden one must be PERMISSION_DENIED, an anonymous one UNAUTHENTICATED.

use tonic::Code;

use devopstrack_proto::projects::v1 as pb;

use crate::helpers::{TestApp, deployment, environment, sample_project, spawn_app, with_token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    CreateProject,
    GetProject,
    ListProjects,
    UpdateProject,
    AddRepository,
    RemoveRepository,
    UpsertEnvironment,
    DeleteEnvironment,
    CreateRelease,
    ListReleases,
    RecordDeployment,
    ListDeployments,
    GetEnvironmentStates,
    ArchiveProject,
    DeleteProject,
}

/// In this order, so each call finds what the one before left (delete last).
const EVERY_RPC: [Rpc; 15] = [
    Rpc::CreateProject,
    Rpc::GetProject,
    Rpc::ListProjects,
    Rpc::UpdateProject,
    Rpc::AddRepository,
    Rpc::RemoveRepository,
    Rpc::UpsertEnvironment,
    Rpc::DeleteEnvironment,
    Rpc::CreateRelease,
    Rpc::ListReleases,
    Rpc::RecordDeployment,
    Rpc::ListDeployments,
    Rpc::GetEnvironmentStates,
    Rpc::ArchiveProject,
    Rpc::DeleteProject,
];

const READS: [Rpc; 5] = [
    Rpc::GetProject,
    Rpc::ListProjects,
    Rpc::ListReleases,
    Rpc::ListDeployments,
    Rpc::GetEnvironmentStates,
];

/// Calls `rpc` on project `slug` with `token` (empty: none) and answers the status code.
async fn call(app: &TestApp, rpc: Rpc, token: &str, slug: &str) -> Code {
    let mut client = app.client();
    let project = slug.to_owned();
    let repo = "https://github.com/acme/extra";
    let result = match rpc {
        Rpc::CreateProject => client
            .create_project(with_token(sample_project(&format!("new-{slug}")), token))
            .await
            .map(drop),
        Rpc::GetProject => client
            .get_project(with_token(pb::GetProjectRequest { project }, token))
            .await
            .map(drop),
        Rpc::ListProjects => client
            .list_projects(with_token(pb::ListProjectsRequest::default(), token))
            .await
            .map(drop),
        Rpc::UpdateProject => {
            let request = pb::UpdateProjectRequest {
                project,
                expected_version: 1,
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["description".into()],
                }),
                description: "changed".into(),
                ..Default::default()
            };
            client.update_project(with_token(request, token)).await.map(drop)
        }
        Rpc::AddRepository => {
            let repository = Some(pb::Repository {
                url: repo.into(),
                ..Default::default()
            });
            client
                .add_repository(with_token(pb::AddRepositoryRequest { project, repository }, token))
                .await
                .map(drop)
        }
        Rpc::RemoveRepository => {
            let request = pb::RemoveRepositoryRequest {
                project,
                url: repo.into(),
            };
            client.remove_repository(with_token(request, token)).await.map(drop)
        }
        Rpc::UpsertEnvironment => {
            let request = pb::UpsertEnvironmentRequest {
                project,
                environment: Some(environment("qa")),
            };
            client.upsert_environment(with_token(request, token)).await.map(drop)
        }
        Rpc::DeleteEnvironment => {
            let request = pb::DeleteEnvironmentRequest {
                project,
                name: "qa".into(),
            };
            client.delete_environment(with_token(request, token)).await.map(drop)
        }
        Rpc::CreateRelease => {
            let request = pb::CreateReleaseRequest {
                project,
                version: "1.0.0".into(),
                ..Default::default()
            };
            client.create_release(with_token(request, token)).await.map(drop)
        }
        Rpc::ListReleases => {
            let request = pb::ListReleasesRequest {
                project,
                ..Default::default()
            };
            client.list_releases(with_token(request, token)).await.map(drop)
        }
        Rpc::RecordDeployment => {
            let deployment = deployment(
                &format!("d-{slug}"),
                slug,
                "staging",
                "1.0.0",
                pb::DeploymentStatus::Succeeded,
                0,
            );
            let request = pb::RecordDeploymentRequest {
                deployment: Some(deployment),
            };
            client.record_deployment(with_token(request, token)).await.map(drop)
        }
        Rpc::ListDeployments => {
            let request = pb::ListDeploymentsRequest {
                project,
                ..Default::default()
            };
            client.list_deployments(with_token(request, token)).await.map(drop)
        }
        Rpc::GetEnvironmentStates => {
            let request = pb::GetEnvironmentStatesRequest { project };
            client
                .get_environment_states(with_token(request, token))
                .await
                .map(drop)
        }
        Rpc::ArchiveProject => client
            .archive_project(with_token(pb::ArchiveProjectRequest { project }, token))
            .await
            .map(drop),
        Rpc::DeleteProject => client
            .delete_project(with_token(pb::DeleteProjectRequest { project }, token))
            .await
            .map(drop),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_allows_exactly_the_roles_it_names() {
    // Arrange
    let app = spawn_app().await;
    let allowed = |role: &str, rpc: Rpc| match role {
        "admin" => true,
        "operator" => READS.contains(&rpc) || rpc == Rpc::CreateRelease,
        "viewer" => READS.contains(&rpc),
        "service" => rpc == Rpc::RecordDeployment || rpc == Rpc::GetProject,
        _ => false,
    };
    let principals = [
        ("admin", app.admin.clone()),
        ("operator", app.operator.clone()),
        ("viewer", app.viewer.clone()),
        ("service", app.service.clone()),
        ("anonymous", String::new()),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    for (role, _) in &principals {
        app.create_sample(&format!("rbac-{role}")).await;
    }

    // Act
    let mut outcomes = Vec::new();
    for (role, token) in &principals {
        for rpc in EVERY_RPC {
            outcomes.push((*role, rpc, call(&app, rpc, token, &format!("rbac-{role}")).await));
        }
    }

    // Assert
    let mut wrong = Vec::new();
    for (role, rpc, code) in outcomes {
        let expected = match role {
            "anonymous" | "garbage" => Code::Unauthenticated,
            _ if allowed(role, rpc) => Code::Ok,
            _ => Code::PermissionDenied,
        };
        if code != expected {
            wrong.push(format!("{role} {rpc:?}: {code:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
