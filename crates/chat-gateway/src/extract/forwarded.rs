//! Who the client is behind proxies: the trusted proxies (CIDRs), the client address taken from `X-Forwarded-For`, and
//! whether the original request came over HTTPS (`X-Forwarded-Proto`).
//!
//! Proxies *append* to `X-Forwarded-For`: everything left of the entry our nearest trusted proxy wrote is what the
//! client (or an untrusted hop) claimed, and costs nothing to forge. So the client is the **rightmost entry that is not
//! a trusted proxy**, walking from the right; the header is read only when the direct peer is itself a trusted proxy.
//! An entry that is not an address stops the walk at the last hop a trusted proxy vouched for.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a CIDR such as 10.0.0.0/8 or fd00::/8");
        let (address, prefix) = match raw.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u8>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        if prefix > width {
            return Err(format!("{raw:?}: the prefix length is at most {width}"));
        }
        Ok(Self {
            network: mask(address, prefix),
            prefix,
        })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `address` with every bit past `prefix` cleared.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & kept))
        }
    }
}

/// Which peers may tell us about the client (`X-Forwarded-For`, `X-Forwarded-Proto`). Off, nobody may; on, exactly
/// the peers inside one of the CIDRs.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    enabled: bool,
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// `enabled` is `trust_forwarded_for`, `networks` is `trusted_proxies`: the list alone trusts nobody.
    pub fn new(enabled: bool, networks: Vec<Cidr>) -> Self {
        Self { enabled, networks }
    }

    /// Whether `address` is a proxy whose forwarding headers are read.
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.enabled && self.networks.iter().any(|n| n.contains(address))
    }

    /// The client's address: `peer`'s own unless `peer` is a trusted proxy, else the rightmost `X-Forwarded-For` entry
    /// that is not a trusted proxy. `headers` are the values of every `X-Forwarded-For` field, in order (several
    /// fields are one comma-separated list). When every entry is a trusted proxy the leftmost is the client; when an
    /// entry is not an address, the last hop vouched for (right of it) is.
    pub fn client_address<'a>(&self, peer: IpAddr, headers: impl IntoIterator<Item = &'a str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers.into_iter().flat_map(|h| h.split(',')).collect();
        let mut vouched = peer;
        for entry in entries.iter().rev() {
            let Some(hop) = parse_hop(entry) else {
                return vouched;
            };
            if !self.trusts(hop) {
                return hop;
            }
            vouched = hop;
        }
        vouched
    }

    /// What a trusted proxy says of the client's scheme: whether the rightmost `X-Forwarded-Proto` entry (the one our
    /// nearest proxy set) is `https`; `None` when `peer` is not a trusted proxy or sent no such header.
    pub fn forwarded_https<'a>(&self, peer: IpAddr, headers: impl IntoIterator<Item = &'a str>) -> Option<bool> {
        if !self.trusts(peer.to_canonical()) {
            return None;
        }
        let last = headers.into_iter().flat_map(|h| h.split(',')).last()?;
        Some(last.trim().eq_ignore_ascii_case("https"))
    }
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:4711`; anything else (`unknown`, an obfuscated id, garbage) is `None`.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let bracketed = entry.strip_prefix('[')?.strip_suffix(']')?;
    bracketed
        .parse::<Ipv6Addr>()
        .ok()
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn proxies(enabled: bool, cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::new(enabled, cidrs.iter().map(|c| Cidr::parse(c).unwrap()).collect())
    }

    #[test]
    fn cidrs_parse_and_contain_what_they_should() {
        let cases = [
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.1.2.3/8", "10.9.9.9", true), // host bits are ignored
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7", "192.168.1.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("fd00::/8", "fd12:3456::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::/0", "2001:db8::1", true),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true), // IPv4-mapped IPv6 is the IPv4 address
            ("2001:db8::/32", "2001:db8:ffff::1", true),
        ];
        for (cidr, address, want) in cases {
            assert_eq!(
                Cidr::parse(cidr).unwrap().contains(ip(address)),
                want,
                "{cidr} ∋ {address}"
            );
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "x/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }

    #[test]
    fn the_client_is_the_rightmost_forwarded_entry_that_is_not_a_trusted_proxy() {
        let trusted = proxies(true, &["10.0.0.0/8", "fd00::/8"]);
        // (peer, X-Forwarded-For fields, client)
        let cases: &[(&str, &[&str], &str)] = &[
            // The peer is not a proxy: its headers are ignored, spoofed or not.
            ("203.0.113.7", &["198.51.100.1"], "203.0.113.7"),
            ("203.0.113.7", &["10.0.0.9"], "203.0.113.7"),
            // A trusted peer without the header: the peer is the client.
            ("10.0.0.2", &[], "10.0.0.2"),
            // One proxy: it appended the real client.
            ("10.0.0.2", &["203.0.113.7"], "203.0.113.7"),
            // The client sent its own header: the spoofed leftmost entries are skipped.
            ("10.0.0.2", &["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
            ("10.0.0.2", &["6.6.6.6, 7.7.7.7, 203.0.113.7"], "203.0.113.7"),
            // A client cannot pose as a trusted proxy to get further left.
            ("10.0.0.2", &["6.6.6.6, 10.0.0.99, 203.0.113.7"], "203.0.113.7"),
            // Two proxies: the right one is trusted, so the entry before it is the client.
            ("10.0.0.2", &["6.6.6.6, 203.0.113.7, 10.0.0.3"], "203.0.113.7"),
            // Several header fields are one list, in order.
            ("10.0.0.2", &["6.6.6.6", "203.0.113.7, 10.0.0.3"], "203.0.113.7"),
            ("10.0.0.2", &["6.6.6.6, 203.0.113.7", "10.0.0.3"], "203.0.113.7"),
            // Every hop is a trusted proxy: the leftmost is the client (a request from inside).
            ("10.0.0.2", &["10.0.0.5, 10.0.0.3"], "10.0.0.5"),
            // Not an address: stop at the last hop a trusted proxy vouched for.
            ("10.0.0.2", &["203.0.113.7, unknown"], "10.0.0.2"),
            ("10.0.0.2", &["garbage"], "10.0.0.2"),
            ("10.0.0.2", &["6.6.6.6, nonsense, 10.0.0.3"], "10.0.0.3"),
            ("10.0.0.2", &["203.0.113.7,"], "10.0.0.2"),
            ("10.0.0.2", &[""], "10.0.0.2"),
            ("10.0.0.2", &["300.1.1.1"], "10.0.0.2"),
            // Ports and IPv6 forms.
            ("10.0.0.2", &["203.0.113.7:4711"], "203.0.113.7"),
            ("10.0.0.2", &["2001:db8::7"], "2001:db8::7"),
            ("10.0.0.2", &["[2001:db8::7]"], "2001:db8::7"),
            ("10.0.0.2", &["6.6.6.6, [2001:db8::7]:4711"], "2001:db8::7"),
            ("fd00::2", &["2001:db8::66, 2001:db8::7, fd00::3"], "2001:db8::7"),
            ("::ffff:10.0.0.2", &["::ffff:203.0.113.7"], "203.0.113.7"),
            // Spaces around entries are fine.
            ("10.0.0.2", &["  6.6.6.6 ,  203.0.113.7  "], "203.0.113.7"),
        ];
        for (peer, headers, want) in cases {
            let got = trusted.client_address(ip(peer), headers.iter().copied());
            assert_eq!(got, ip(want), "peer {peer}, X-Forwarded-For {headers:?}");
        }
    }

    #[test]
    fn without_the_switch_no_proxy_is_trusted_whatever_the_list() {
        for policy in [proxies(false, &["10.0.0.0/8"]), proxies(false, &[]), proxies(true, &[])] {
            let got = policy.client_address(ip("10.0.0.2"), ["203.0.113.7"]);

            assert_eq!(got, ip("10.0.0.2"), "{policy:?}");
            assert_eq!(policy.forwarded_https(ip("10.0.0.2"), ["https"]), None, "{policy:?}");
        }
    }

    #[test]
    fn https_is_believed_only_from_a_trusted_proxy_and_only_its_own_entry() {
        let trusted = proxies(true, &["10.0.0.0/8"]);
        let cases: &[(&str, &[&str], Option<bool>)] = &[
            ("10.0.0.2", &["https"], Some(true)),
            ("10.0.0.2", &["HTTPS"], Some(true)),
            ("10.0.0.2", &["http"], Some(false)),
            ("10.0.0.2", &[], None),
            ("10.0.0.2", &["https, http"], Some(false)),
            ("10.0.0.2", &["http", "https"], Some(true)),
            ("10.0.0.2", &["https,"], Some(false)),
            ("203.0.113.7", &["https"], None),
        ];
        for (peer, headers, want) in cases {
            let got = trusted.forwarded_https(ip(peer), headers.iter().copied());
            assert_eq!(got, *want, "peer {peer}, X-Forwarded-Proto {headers:?}");
        }
    }
}
