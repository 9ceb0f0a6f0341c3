//! Binding listeners with errors that say what to change, and the two ports of a gRPC service.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminState, ReadinessCheck};
use crate::config::env_var;
use crate::grpc::GrpcServer;
use crate::metrics::MetricsRegistry;

/// Binds `addr`; on failure the error names the address and the variable that sets it.
pub async fn bind(addr: SocketAddr, variable: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({e}); set {variable} to another address"))
}

/// A gRPC service's two listeners, bound before anything runs (bind first, run second) so that the real ports are
/// known at once (tests bind port 0): its gRPC port and its admin HTTP port (`/metrics`, `/healthz`, `/readyz`).
#[derive(Debug)]
pub struct ServicePorts {
    service: &'static str,
    grpc: TcpListener,
    admin: TcpListener,
}

impl ServicePorts {
    /// Binds both; an address in use names the variable that sets it (`DEVOPSTRACK_<SERVICE>__GRPC_ADDR`,
    /// `…__ADMIN_ADDR`).
    pub async fn bind(service: &'static str, grpc_addr: SocketAddr, admin_addr: SocketAddr) -> anyhow::Result<Self> {
        let grpc = bind(grpc_addr, &env_var(service, "grpc_addr")).await?;
        let admin = bind(admin_addr, &env_var(service, "admin_addr")).await?;
        Ok(Self { service, grpc, admin })
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn admin_port(&self) -> u16 {
        self.admin.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves `grpc` on the gRPC port and the admin endpoints (`/readyz` asking `readiness`) on the other until
    /// `shutdown` is cancelled and gRPC has drained; then cancels `shutdown` itself (so the admin server also stops
    /// when gRPC ends on an error) and waits for the admin server.
    pub async fn serve(
        self,
        grpc: GrpcServer,
        metrics: &MetricsRegistry,
        readiness: ReadinessCheck,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let admin_state = AdminState {
            metrics: metrics.clone(),
            readiness,
            shutdown: shutdown.clone(),
        };
        let admin = tokio::spawn(admin::serve(self.admin, admin_state));
        tracing::info!(grpc = %self.grpc.local_addr()?, "{} service listening", self.service);
        let served = grpc.serve(self.grpc, shutdown.clone()).await;
        shutdown.cancel();
        admin.await??;
        served
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_taken_port_names_the_variable() {
        let first = super::bind("127.0.0.1:0".parse().unwrap(), "X").await.unwrap();
        let taken = first.local_addr().unwrap();
        let err = super::bind(taken, "DEVOPSTRACK_AUTH__GRPC_ADDR")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DEVOPSTRACK_AUTH__GRPC_ADDR") && err.contains(&taken.to_string()),
            "{err}"
        );
    }
}
