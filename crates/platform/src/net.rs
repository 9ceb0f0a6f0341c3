//! Binding listeners with errors that say what to change.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Binds `addr`; on failure the error names the address and the variable that sets it.
pub async fn bind(addr: SocketAddr, variable: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({e}); set {variable} to another address"))
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
