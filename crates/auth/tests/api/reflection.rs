//! What every service carries besides its own API: server reflection (v1 and v1alpha), gRPC health, and the admin
//! HTTP port (`/healthz`, `/metrics`).

use prost::Message;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1 as reflection;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1alpha as reflection_alpha;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, spawn_app};

const AUTH_SERVICE: &str = "devopstrack.auth.v1.AuthService";
const LOGIN: &str = r#"rpc_system="grpc",rpc_service="devopstrack.auth.v1.AuthService",rpc_method="Login""#;

/// One request on the v1 reflection stream, and its one answer.
async fn ask(channel: &Channel, request: MessageRequest) -> MessageResponse {
    let request = reflection::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut client = ServerReflectionClient::new(channel.clone());
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("a reflection answer")
        .expect("one message");
    response.message_response.expect("a message_response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_services_and_health_checks_serving() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let listed = ask(&app.channel, MessageRequest::ListServices(String::new())).await;
    let channel = Channel::from_shared(app.grpc_url.clone())
        .unwrap()
        .connect()
        .await
        .expect("connect to grpc_url");
    let mut health = HealthClient::new(channel);
    let overall = health
        .check(HealthCheckRequest { service: String::new() })
        .await
        .expect("overall health");
    let auth = health
        .check(HealthCheckRequest {
            service: AUTH_SERVICE.into(),
        })
        .await
        .expect("auth health");
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await;

    // Assert
    let MessageResponse::ListServicesResponse(listed) = listed else {
        panic!("not a service list: {listed:?}")
    };
    let names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        AUTH_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.contains(&expected), "{expected} is missing from {names:?}");
    }
    assert_eq!(overall.into_inner().status, ServingStatus::Serving as i32);
    assert_eq!(auth.into_inner().status, ServingStatus::Serving as i32);
    assert_eq!(unknown.expect_err("an unknown service").code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_describes_the_auth_service() {
    let app = spawn_app().await;

    let answer = ask(&app.channel, MessageRequest::FileContainingSymbol(AUTH_SERVICE.into())).await;

    let MessageResponse::FileDescriptorResponse(files) = answer else {
        panic!("not a descriptor: {answer:?}")
    };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("a FileDescriptorProto"))
        .collect();
    let auth = files
        .iter()
        .find(|f| f.name() == "devopstrack/auth/v1/auth.proto")
        .unwrap_or_else(|| {
            panic!(
                "auth.proto is missing from {:?}",
                files.iter().map(|f| f.name()).collect::<Vec<_>>()
            )
        });
    assert_eq!(auth.package(), "devopstrack.auth.v1");
    let service = auth
        .service
        .iter()
        .find(|s| s.name() == "AuthService")
        .expect("the AuthService");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    for expected in [
        "Login",
        "Refresh",
        "Logout",
        "WhoAmI",
        "GetJwks",
        "CreateUser",
        "LookupUsers",
        "ExchangeApiToken",
    ] {
        assert!(methods.contains(&expected), "{expected} is missing from {methods:?}");
    }
    // LookupUsers is open to every role, so what it answers about a user must stay the id and the name.
    let user_name = auth
        .message_type
        .iter()
        .find(|m| m.name() == "UserName")
        .expect("the UserName message");
    let fields: Vec<&str> = user_name.field.iter().map(|f| f.name()).collect();
    assert_eq!(
        fields,
        ["id", "name"],
        "UserName must not carry more than the id and the name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1alpha_reflection_client_works_too() {
    use reflection_alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use reflection_alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use reflection_alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let app = spawn_app().await;
    let request = reflection_alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };

    let mut client = AlphaClient::new(app.channel.clone());
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("v1alpha")
        .into_inner();
    let response = responses.message().await.expect("an answer").expect("one message");

    let Some(AlphaResponse::ListServicesResponse(listed)) = response.message_response else {
        panic!("not a service list: {response:?}")
    };
    let names: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&AUTH_SERVICE), "{names:?}");
    assert!(names.contains(&"grpc.reflection.v1alpha.ServerReflection"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_reports_health_readiness_and_grpc_metrics() {
    // Arrange: one failed call
    let app = spawn_app().await;
    app.create_admin().await;
    app.login(ADMIN_EMAIL, "wrong password!")
        .await
        .expect_err("wrong password");

    // Act
    let (healthz, healthz_body) = app.admin_get("/healthz").await;
    let (readyz, _) = app.admin_get("/readyz").await;
    let (metrics, metrics_body) = app.admin_get("/metrics").await;

    // Assert
    assert_eq!(healthz, 200, "{healthz_body}");
    assert!(healthz_body.contains(r#""status":"ok""#), "{healthz_body}");
    assert_eq!(readyz, 200);
    assert_eq!(metrics, 200);
    let series =
        format!(r#"rpc_server_call_duration_seconds_count{{{LOGIN},rpc_grpc_status_code="Unauthenticated"}} 1"#);
    assert!(
        metrics_body.contains(&series),
        "{series} is missing from:\n{metrics_body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_calls_are_counted_with_the_grpc_code_ok() {
    // The label values are the canonical gRPC code names (go-grpc-prometheus; the platform's own metrics test): "OK".
    let app = spawn_app().await;
    app.create_admin().await;
    app.login(ADMIN_EMAIL, PASSWORD).await.expect("login");

    let (_, metrics_body) = app.admin_get("/metrics").await;

    let series = format!(r#"rpc_server_call_duration_seconds_count{{{LOGIN},rpc_grpc_status_code="OK"}} 1"#);
    assert!(
        metrics_body.contains(&series),
        "{series} is missing from:\n{metrics_body}"
    );
}
