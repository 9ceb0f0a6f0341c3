//! Where the `http` executor may connect: the destination policy for deploy hooks, status URLs and their redirects.
//!
//! By default only public addresses are reachable: loopback, link-local (the cloud metadata service at
//! 169.254.169.254), private (RFC 1918, CGNAT, ULA), documentation and reserved ranges are refused, in IPv4, IPv6 and
//! every IPv6 form that embeds an IPv4 address ([`ranges`]). Unspecified, multicast and broadcast addresses are always
//! refused. The platform's own listeners (this service's ports, its peers', and those the settings add) are refused
//! even when an allowlist entry covers them, so a hook can never read an admin port.
//!
//! The allowlist (`DEVOPSTRACK_TASKS__OUTBOUND_ALLOW`) opens non-public destinations for on-premises hooks: CIDR blocks
//! (`10.0.0.0/8`), addresses, and host names (`hooks.internal`, or `*.corp.example` for its subdomains) whose resolved
//! addresses are then trusted.
//!
//! The check runs on the address actually connected to: names are resolved by [`PolicyResolver`], which hands the
//! connector only permitted addresses (so a name that resolves to a public address once and to 127.0.0.1 the next time
//! gains nothing), and a URL whose host is an address literal is checked the same way before any request. Every way a
//! destination is refused or cannot be reached reads the same to the job's viewers ([`UNREACHABLE`]); the precise
//! reason goes to the service's own log only.

mod ranges;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use ranges::{Cidr, Special};

/// What a job's log and reason say when a destination is refused, times out, does not resolve or refuses the
/// connection: one text for all, so the executor cannot be used to map a network.
pub const UNREACHABLE: &str = "destination not allowed by policy or not reachable";

/// Where outbound hook requests may go. Cheap to share (`Arc`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow: Vec<Allowed>,
    deny: Vec<Denied>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Block(Cidr),
    /// A lower-case host name, or a suffix (`.corp.example`) standing for its subdomains.
    Host(String),
    Suffix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Denied {
    Block(Cidr),
    /// A listener: one port on one address, or (`None`) on every non-public address, for one bound to all of them
    /// or known only by a name.
    Listener(Option<IpAddr>, u16),
}

impl OutboundPolicy {
    /// From the settings' lists. `allow`: CIDR blocks, addresses, host names or `*.suffix`; `deny`: `ip:port`
    /// listeners (`0.0.0.0:port`: that port on every non-public address), CIDR blocks or addresses. An entry that is
    /// none of those is an error naming it.
    pub fn parse(allow: &[String], deny: &[String]) -> Result<Self, String> {
        let mut policy = Self::default();
        for raw in allow {
            policy.allow.push(
                parse_allowed(raw.trim())
                    .ok_or_else(|| format!("{raw:?} is not a CIDR block, an IP address, a host name or *.domain"))?,
            );
        }
        for raw in deny {
            let raw = raw.trim();
            let denied = match raw.parse::<SocketAddr>() {
                Ok(addr) => Some(listener(addr.ip(), addr.port())),
                Err(_) => Cidr::parse(raw).map(Denied::Block),
            };
            policy
                .deny
                .push(denied.ok_or_else(|| format!("{raw:?} is not an ip:port, a CIDR block or an IP address"))?);
        }
        Ok(policy)
    }

    /// Also refuses the platform listener `addr` (an unspecified address: its port on every non-public address).
    pub fn deny_listener(mut self, addr: SocketAddr) -> Self {
        self.deny.push(listener(addr.ip(), addr.port()));
        self
    }

    /// Also refuses the listener a peer's URL names: its address and port, or (a name) its port on every non-public
    /// address. A URL that does not parse adds nothing.
    pub fn deny_peer(mut self, url: &str) -> Self {
        let Ok(url) = Url::parse(url) else { return self };
        let Some(port) = url.port_or_known_default() else {
            return self;
        };
        match literal(&url) {
            Some(ip) => self.deny.push(listener(ip, port)),
            None if url.host_str().is_some() => self.deny.push(Denied::Listener(None, port)),
            None => {}
        }
        self
    }

    /// Whether a connection to `ip:port` is permitted. `host`: the URL's host name, when it had one (not an address).
    /// `Err` says why not, for the service's log.
    pub fn check(&self, host: Option<&str>, ip: IpAddr, port: u16) -> Result<(), String> {
        let ip = ranges::canonical(ip);
        let kind = ranges::special(ip);
        if let Some(kind) = kind.filter(|k| k.never_allowed()) {
            return Err(format!("{ip} is {kind}"));
        }
        let listener = |at: &Option<IpAddr>, p: u16| p == port && at.map_or(kind.is_some(), |at| at == ip);
        for denied in &self.deny {
            let hit = match denied {
                Denied::Block(block) => block.contains(ip),
                Denied::Listener(at, p) => listener(at, *p),
            };
            if hit {
                return Err(format!(
                    "{ip}:{port} is one of the platform's own listeners or denied addresses"
                ));
            }
        }
        let Some(kind) = kind else { return Ok(()) };
        let host = host.map(|h| h.trim_end_matches('.').to_ascii_lowercase());
        let allowed = self.allow.iter().any(|a| match (a, host.as_deref()) {
            (Allowed::Block(block), _) => block.contains(ip),
            (Allowed::Host(name), Some(host)) => name == host,
            (Allowed::Suffix(suffix), Some(host)) => host.ends_with(suffix.as_str()),
            (Allowed::Host(_) | Allowed::Suffix(_), None) => false,
        });
        if allowed {
            Ok(())
        } else {
            Err(format!("{ip} is {kind} and not in the outbound allowlist"))
        }
    }

    /// Checks a URL whose host is an address literal (names are checked when resolved, by [`PolicyResolver`]).
    pub fn check_literal(&self, url: &Url) -> Result<(), String> {
        let port = url.port_or_known_default().unwrap_or(0);
        match (literal(url), url.host_str()) {
            (Some(ip), _) => self.check(None, ip, port),
            (None, Some(_)) => Ok(()),
            (None, None) => Err("the URL has no host".to_owned()),
        }
    }
}

/// The URL's host when it is an address (`[::1]` included), not a name.
pub fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

fn listener(ip: IpAddr, port: u16) -> Denied {
    let ip = ranges::canonical(ip);
    Denied::Listener((!ip.is_unspecified()).then_some(ip), port)
}

fn parse_allowed(raw: &str) -> Option<Allowed> {
    if let Some(block) = Cidr::parse(raw) {
        return Some(Allowed::Block(block));
    }
    let name = raw.trim_end_matches('.').to_ascii_lowercase();
    let (suffix, name) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest.to_owned()),
        None => (false, name),
    };
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let valid = (1..=253).contains(&name.len()) && name.split('.').all(label_ok);
    match (valid, suffix) {
        (false, _) => None,
        (true, true) => Some(Allowed::Suffix(format!(".{name}"))),
        (true, false) => Some(Allowed::Host(name)),
    }
}

/// Resolves host names for one port, keeping only the addresses the policy permits there. Used by the clients of
/// the `http` executor (one per destination port, see `http/clients.rs`). A name with no permitted address fails to
/// resolve, and so does one that does not resolve at all, with the same error.
pub struct PolicyResolver {
    pub policy: Arc<OutboundPolicy>,
    pub port: u16,
}

/// Why a name resolved to nothing usable: [`UNREACHABLE`], whatever the reason.
#[derive(Debug, thiserror::Error)]
#[error("{UNREACHABLE}")]
pub struct NotPermitted;

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (policy, port) = (self.policy.clone(), self.port);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| {
                tracing::info!(%host, error = %e, "outbound: host name does not resolve");
                NotPermitted
            })?;
            let permitted: Vec<SocketAddr> = found
                .filter(|addr| match policy.check(Some(&host), addr.ip(), port) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(%host, port, %why, "outbound: destination refused by policy");
                        false
                    }
                })
                .collect();
            if permitted.is_empty() {
                return Err(NotPermitted.into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
