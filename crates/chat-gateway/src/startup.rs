//! Bind first, run second: [`Application::build`] binds the HTTP port (reporting the real one) and prepares the
//! upstream clients; [`Application::run_until_stopped`] serves until the token is cancelled, then drains.

use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use devopstrack_platform::config::env_var;

use crate::config::Settings;
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    workers: usize,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.http_addr).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} ({e}); set {}",
                settings.http_addr,
                env_var("gateway", "http_addr")
            )
        })?;
        let state = AppState::new(settings)?;
        // Fetch the keys now when auth is already up; otherwise the first request will (start-up order is free).
        if let Err(error) = state.verifier.refresh(true).await {
            tracing::warn!(%error, "auth not reachable yet; keys will be fetched on first use");
        }
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Ok(Self {
            listener,
            state,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = web::Data::new(self.state);
        let addr = self.listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(crate::middleware::observe))
                .configure(crate::routes::configure)
                .default_service(web::to(crate::routes::not_found))
        })
        .workers(self.workers)
        .disable_signals()
        .shutdown_timeout(10)
        .listen(self.listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.stop(true).await;
        });
        tracing::info!(%addr, "gateway listening");
        server.await?;
        Ok(())
    }
}
