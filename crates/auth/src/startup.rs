//! Bind first, run second: [`Application::build`] connects the store, loads the keys and binds both ports (reporting
//! the real ones, so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled,
//! with the maintenance round (keys, throttle records) on a timer beside it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use devopstrack_platform::admin;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::ServicePorts;

use crate::app::{AuthApp, Policy, UserAdmin};
use crate::config::Settings;
use crate::domain::ThrottlePolicy;
use crate::grpc::AuthGrpc;
use crate::keys::{KeyPolicy, KeyRing};
use crate::passwords::{HashCost, PasswordHasher};
use crate::service_clients::ServiceClients;

/// The use-cases over the configured store, without any listener: for `Application::build` and for admin commands
/// (`devopstrack auth rotate-keys`). Needs the key-encryption key.
pub async fn build_app(settings: &Settings) -> anyhow::Result<Arc<AuthApp>> {
    let kek = settings.kek()?;
    let store = connect(settings).await?;
    let clock = AuthApp::system_clock();
    let access_ttl = chrono::Duration::seconds(settings.access_token_ttl_secs as i64);
    let maintenance = chrono::Duration::seconds(settings.key_maintenance_interval_secs as i64);
    let key_policy = KeyPolicy {
        rotation: (settings.signing_key_rotation_days > 0)
            .then(|| chrono::Duration::days(i64::from(settings.signing_key_rotation_days))),
        // Tokens a rotated-out key signed live `access_ttl`; replicas may sign with it for one more maintenance
        // interval; and verifiers allow 30 s of clock skew.
        grace: access_ttl + maintenance + chrono::Duration::seconds(60),
    };
    let keys = KeyRing::load(
        store.clone(),
        kek,
        settings.signing_key_pem.as_ref(),
        key_policy,
        clock(),
    )
    .await?;
    let policy = Policy {
        issuer: settings.issuer.clone(),
        audience: settings.audience.clone(),
        access_ttl,
        refresh_ttl: chrono::Duration::seconds(settings.refresh_token_ttl_secs as i64),
        throttle: ThrottlePolicy {
            free_failures: settings.login_free_failures,
            window: chrono::Duration::seconds(settings.login_failure_window_secs as i64),
            max_delay: chrono::Duration::seconds(settings.login_max_delay_secs as i64),
        },
        rotate_keys: settings.signing_key_pem.is_none(),
    };
    Ok(Arc::new(AuthApp::new(
        store,
        keys,
        hasher(settings)?,
        policy,
        ServiceClients::new(&settings.service_clients),
        clock,
    )))
}

/// Creating users only (`devopstrack user create`): the store and the hasher, no signing keys and so no KEK.
pub async fn build_user_admin(settings: &Settings) -> anyhow::Result<UserAdmin> {
    let store = connect(settings).await?;
    Ok(UserAdmin::new(store, hasher(settings)?, AuthApp::system_clock()))
}

async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn crate::store::AuthStore>> {
    crate::store::connect(&settings.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("auth store {}: {e}", crate::store::redact(&settings.database_url)))
}

fn hasher(settings: &Settings) -> anyhow::Result<PasswordHasher> {
    PasswordHasher::new(HashCost {
        memory_kib: settings.argon2_memory_kib,
        iterations: settings.argon2_iterations,
        parallelism: settings.argon2_parallelism,
        memory_budget_kib: u64::from(settings.argon2_memory_budget_mib) * 1024,
        queue_timeout: Duration::from_millis(settings.argon2_queue_timeout_ms),
    })
}

pub struct Application {
    ports: ServicePorts,
    app: Arc<AuthApp>,
    metrics: MetricsRegistry,
    maintenance_interval: Duration,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let app = build_app(settings).await?;
        let ports = ServicePorts::bind("auth", settings.grpc_addr, settings.admin_addr).await?;
        Ok(Self {
            ports,
            app,
            metrics: MetricsRegistry::new(),
            maintenance_interval: Duration::from_secs(settings.key_maintenance_interval_secs),
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.ports.grpc_port()
    }

    pub fn admin_port(&self) -> u16 {
        self.ports.admin_port()
    }

    /// The use-cases, for in-process callers (`devopstrack up` bootstrapping the first admin).
    pub fn app(&self) -> Arc<AuthApp> {
        self.app.clone()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let maintenance = tokio::spawn(maintain(self.app.clone(), self.maintenance_interval, shutdown.clone()));
        let readiness = admin::readiness_of(self.app.clone(), |app| Box::pin(app.ready()));
        let grpc = GrpcServer::new(&self.metrics)
            .add_service(AuthGrpc::new(self.app).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET);
        let served = self.ports.serve(grpc, &self.metrics, readiness, shutdown).await;
        maintenance.await?;
        served
    }
}

/// The maintenance round every `interval` until shutdown; a failed round is logged and tried again next time.
async fn maintain(app: Arc<AuthApp>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {
                if let Err(error) = app.maintain().await {
                    tracing::warn!(error = format!("{error:#}"), "auth maintenance failed; trying again next round");
                }
            }
        }
    }
}
