//! The HTTP clients of the `http` executor: one per destination port, each resolving names through the
//! [`PolicyResolver`] of its port (reqwest's resolver sees only the name, and the platform-listener rule needs the
//! port too). None uses a proxy from the environment: a proxy would connect for us, out of the policy's sight.
//! Redirects stay on the first URL's origin and are checked like it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use reqwest::redirect::{Action, Attempt, Policy};

use super::answer::origin;
use super::{CONNECT_TIMEOUT, MAX_REDIRECTS, REQUEST_TIMEOUT, USER_AGENT};
use crate::executor::outbound::{OutboundPolicy, PolicyResolver};

/// Clients kept for reuse (their connection pools); beyond that many ports, a client is built per request.
const MAX_CACHED_PORTS: usize = 32;

pub(super) struct Clients {
    policy: Arc<OutboundPolicy>,
    by_port: Mutex<HashMap<u16, reqwest::Client>>,
}

impl Clients {
    /// Builds the client of port 443 once, so a TLS backend that cannot start fails here, at start-up.
    pub(super) fn new(policy: Arc<OutboundPolicy>) -> Result<Self, reqwest::Error> {
        let clients = Self {
            policy,
            by_port: Mutex::default(),
        };
        let first = clients.build(443)?;
        clients.cache().insert(443, first);
        Ok(clients)
    }

    /// The client for `url`, after checking an address-literal host against the policy (`Err`: why it is refused,
    /// for the service's log; nothing was sent).
    pub(super) fn for_url(&self, url: &Url) -> Result<reqwest::Client, String> {
        self.policy.check_literal(url)?;
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        if let Some(client) = self.cache().get(&port) {
            return Ok(client.clone());
        }
        let client = self
            .build(port)
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let mut cache = self.cache();
        if cache.len() < MAX_CACHED_PORTS {
            cache.insert(port, client.clone());
        }
        Ok(client)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<u16, reqwest::Client>> {
        // A panic while holding this lock leaves a valid map behind: keep using it.
        self.by_port.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn build(&self, port: u16) -> Result<reqwest::Client, reqwest::Error> {
        let resolver = PolicyResolver {
            policy: self.policy.clone(),
            port,
        };
        let policy = self.policy.clone();
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .redirect(Policy::custom(move |attempt| same_origin_redirects(&policy, attempt)))
            .build()
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only within the origin of the first URL: a redirect elsewhere is
/// answered as is (a 3xx, so the attempt fails with its code) rather than sending the payload to another host. A
/// redirect to an address the policy refuses is an error (its name, if any, is checked again when resolved).
fn same_origin_redirects(policy: &OutboundPolicy, attempt: Attempt) -> Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error("too many redirects")
    } else if origin(attempt.url()) != origin(first) {
        attempt.stop()
    } else if let Err(why) = policy.check_literal(attempt.url()) {
        attempt.error(why)
    } else {
        attempt.follow()
    }
}
