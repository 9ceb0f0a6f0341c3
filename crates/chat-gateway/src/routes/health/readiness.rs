//! Readiness of the gateway: every upstream (auth, projects, tasks, metrics) answers its gRPC health check
//! (`grpc.health.v1.Health/Check`, the whole server) SERVING within [`CHECK_DEADLINE`]. The answer is cached for
//! [`CACHE_FOR`], and concurrent probes wait for the one check in flight, so a flood of probes costs the upstreams one
//! check each per [`CACHE_FOR`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use devopstrack_platform::grpc::{ClientSettings, lazy_channel};

use crate::config::Settings;

/// How long one health check may take.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(1);
/// How long an answer is reused.
pub const CACHE_FOR: Duration = Duration::from_millis(1_500);

/// Every upstream's check: `"ok"`, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub checks: BTreeMap<&'static str, String>,
}

impl Report {
    pub fn ready(&self) -> bool {
        self.checks.values().all(|c| c == "ok")
    }
}

pub struct Upstreams {
    clients: Vec<(&'static str, HealthClient<Channel>)>,
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
}

impl Upstreams {
    /// Health clients of the upstreams `settings` names (channels of their own, connecting on first use).
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let upstreams = [
            ("auth", &settings.peers.auth_url),
            ("projects", &settings.projects_url),
            ("tasks", &settings.tasks_url),
            ("metrics", &settings.metrics_url),
        ];
        let mut clients = Vec::with_capacity(upstreams.len());
        for (name, url) in upstreams {
            let channel = lazy_channel(&ClientSettings {
                timeout: CHECK_DEADLINE,
                connect_timeout: CHECK_DEADLINE,
                ..ClientSettings::new(url.as_str())
            })?;
            clients.push((name, HealthClient::new(channel)));
        }
        Ok(Self {
            clients,
            last: tokio::sync::Mutex::new(None),
        })
    }

    /// The cached report, or a fresh one when it is older than [`CACHE_FOR`].
    pub async fn report(&self) -> Report {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return report.clone();
        }
        let checks = futures::future::join_all(
            self.clients
                .iter()
                .map(|(name, client)| async move { (*name, check(client.clone()).await) }),
        )
        .await;
        let report = Report {
            checks: checks.into_iter().collect(),
        };
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

/// `"ok"` when the server answers SERVING in time; else its status or the call's error.
async fn check(mut client: HealthClient<Channel>) -> String {
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    request.set_timeout(CHECK_DEADLINE);
    let answer = tokio::time::timeout(CHECK_DEADLINE + Duration::from_millis(200), client.check(request)).await;
    match answer {
        Ok(Ok(response)) => match response.into_inner().status() {
            ServingStatus::Serving => "ok".to_owned(),
            other => other.as_str_name().to_owned(),
        },
        Ok(Err(status)) => format!("{:?}: {}", status.code(), status.message()),
        Err(_) => format!("no answer within {CHECK_DEADLINE:?}"),
    }
}
