//! What the service carries besides its API: reflection, gRPC health, and the admin port.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1 as reflection;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::helpers::spawn_app;

const PROJECT_SERVICE: &str = "devopstrack.projects.v1.ProjectService";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_project_service_and_health_and_readiness_answer() {
    // Arrange
    let app = spawn_app().await;
    let request = reflection::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    // Act
    let mut answers = ServerReflectionClient::new(app.channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection")
        .into_inner();
    let listed = answers
        .message()
        .await
        .expect("an answer")
        .expect("one message")
        .message_response;
    let health = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: PROJECT_SERVICE.into(),
        })
        .await
        .expect("health")
        .into_inner();
    let (ready, body) = app.admin_get("/readyz").await;

    // Assert
    let Some(MessageResponse::ListServicesResponse(listed)) = listed else {
        panic!("not a service list: {listed:?}")
    };
    let names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        PROJECT_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.contains(&expected), "{expected} is missing from {names:?}");
    }
    assert_eq!(health.status, ServingStatus::Serving as i32);
    assert_eq!(ready, 200, "{body}");
    assert!(app.grpc_url.starts_with("http://127.0.0.1:"));
}
