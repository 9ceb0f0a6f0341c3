//! The typed gRPC clients of the internal services, each carrying the trace context. A leaf: [`crate::state`] holds
//! one of each, and the webhook intake and the WebSocket take the ones they call.

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use devopstrack_platform::grpc::TracePropagation;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

pub type AuthClient = AuthServiceClient<InterceptedService<Channel, TracePropagation>>;
pub type ProjectsClient = ProjectServiceClient<InterceptedService<Channel, TracePropagation>>;
pub type TasksClient = TaskServiceClient<InterceptedService<Channel, TracePropagation>>;
pub type MetricsClient = MetricsServiceClient<InterceptedService<Channel, TracePropagation>>;
