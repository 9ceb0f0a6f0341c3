//! The typed gRPC clients of the internal services (see `devopstrack_peers::clients`), under the names the gateway's
//! modules import. A leaf: [`crate::state`] holds one of each, and the webhook intake and the WebSocket take the ones
//! they call.

pub use devopstrack_peers::clients::{AuthClient, MetricsClient, ProjectsClient, TasksClient};
