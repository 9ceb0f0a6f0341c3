//! The typed gRPC clients of the services: each on a lazy channel with the caller's deadline (see
//! [`ClientSettings`]), propagating the W3C trace context on every call; and the `authorization` metadata a call
//! carries (the caller's token, or this service's own from [`crate::ServiceTokens`]).

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use devopstrack_platform::grpc::{ClientSettings, TracePropagation, lazy_channel};
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

/// A channel whose calls carry `traceparent`.
pub type Traced = InterceptedService<Channel, TracePropagation>;
pub type AuthClient = AuthServiceClient<Traced>;
pub type ProjectsClient = ProjectServiceClient<Traced>;
pub type TasksClient = TaskServiceClient<Traced>;
pub type MetricsClient = MetricsServiceClient<Traced>;

/// A client of auth at `settings.url` (connects on first use; an invalid URL is the only error).
pub fn auth(settings: &ClientSettings) -> anyhow::Result<AuthClient> {
    Ok(AuthServiceClient::with_interceptor(
        lazy_channel(settings)?,
        TracePropagation,
    ))
}

/// A client of projects at `settings.url`.
pub fn projects(settings: &ClientSettings) -> anyhow::Result<ProjectsClient> {
    Ok(ProjectServiceClient::with_interceptor(
        lazy_channel(settings)?,
        TracePropagation,
    ))
}

/// A client of tasks at `settings.url`.
pub fn tasks(settings: &ClientSettings) -> anyhow::Result<TasksClient> {
    Ok(TaskServiceClient::with_interceptor(
        lazy_channel(settings)?,
        TracePropagation,
    ))
}

/// A client of metrics at `settings.url`.
pub fn metrics(settings: &ClientSettings) -> anyhow::Result<MetricsClient> {
    Ok(MetricsServiceClient::with_interceptor(
        lazy_channel(settings)?,
        TracePropagation,
    ))
}

/// A bearer token that cannot be sent as metadata (not visible ASCII).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token is not valid metadata")]
pub struct InvalidToken;

/// `Bearer <token>`, the value of the `authorization` metadata.
pub fn bearer(token: &str) -> Result<MetadataValue<Ascii>, InvalidToken> {
    MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| InvalidToken)
}

/// `message` carrying `authorization: Bearer <token>`.
pub fn with_bearer<T>(message: T, token: &str) -> Result<tonic::Request<T>, InvalidToken> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", bearer(token)?);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_the_bearer_token_and_a_token_that_is_not_metadata_is_refused() {
        let request = with_bearer((), "abc.def.ghi").unwrap();

        assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer abc.def.ghi");
        assert_eq!(bearer("line\nbreak").unwrap_err(), InvalidToken);
    }

    #[tokio::test]
    async fn clients_are_built_lazily_and_an_invalid_url_is_an_error() {
        let settings = ClientSettings::new("http://127.0.0.1:9");
        assert!(auth(&settings).is_ok() && projects(&settings).is_ok());
        assert!(tasks(&settings).is_ok() && metrics(&settings).is_ok());

        let error = auth(&ClientSettings::new("not a url")).unwrap_err().to_string();

        assert!(error.contains("not a url"), "{error}");
    }
}
