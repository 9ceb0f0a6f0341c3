//! The services of one `devopstrack up` talking to each other: a deployment recorded over gRPC, seen over REST.

use super::{Rest, Up};

#[tokio::test]
async fn a_deployment_recorded_over_grpc_moves_the_environment_seen_over_rest() {
    use devopstrack_proto::auth::v1::{IssueServiceTokenRequest, auth_service_client::AuthServiceClient};
    use devopstrack_proto::projects::v1::{
        Deployment, DeploymentStatus, RecordDeploymentRequest, project_service_client::ProjectServiceClient,
    };

    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password")]);
    let auth_addr = up.grpc_addr("auth gRPC");
    let projects_addr = up.grpc_addr("projects gRPC");
    let base = up.base_url();
    let admin = Rest::login(&base, "admin@localhost", "a long admin password").await;

    // REST: a project with two environments.
    admin
        .create_project(serde_json::json!({
            "slug": "api", "name": "API",
            "repositories": [{"url": "https://github.com/acme/api"}],
            "environments": [{"name": "staging", "tier": "staging"},
                             {"name": "production", "tier": "production", "protected": true}]
        }))
        .await;
    let project = admin.get("/api/v1/projects/api").await;
    let project_id = project["id"].as_str().unwrap().to_owned();

    // gRPC, as a script would with grpcurl: a service token from the secret in the data dir, then RecordDeployment.
    let secret = std::fs::read_to_string(dir.path().join("service-client-tasks")).expect("tasks' service secret file");
    let mut auth = AuthServiceClient::connect(format!("http://{auth_addr}")).await.unwrap();
    let service = auth
        .issue_service_token(IssueServiceTokenRequest {
            client_id: "tasks".into(),
            client_secret: secret,
        })
        .await
        .unwrap()
        .into_inner()
        .access_token;
    let mut projects = ProjectServiceClient::connect(format!("http://{projects_addr}"))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut request = tonic::Request::new(RecordDeploymentRequest {
        deployment: Some(Deployment {
            id: "deploy-1".into(),
            project_id: project_id.clone(),
            environment: "staging".into(),
            version: "1.4.0".into(),
            status: DeploymentStatus::Succeeded as i32,
            started_at: Some(prost_types_timestamp(now - 60)),
            finished_at: Some(prost_types_timestamp(now)),
            ..Default::default()
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {service}").parse().unwrap());
    let recorded = projects.record_deployment(request).await.unwrap().into_inner();
    assert!(recorded.created);

    // REST again: staging now runs 1.4.0, production nothing.
    let staging = admin.get("/api/v1/projects/api/environments/staging").await;
    assert_eq!(staging["currentVersion"], "1.4.0", "{staging}");
    let production = admin.get("/api/v1/projects/api/environments/production").await;
    assert!(
        production["currentVersion"].is_null() || production["currentVersion"] == "",
        "{production}"
    );

    let docs = admin.http.get(format!("{base}/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}

fn prost_types_timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}
