//! Which addresses are not on the public internet, by the IANA special-purpose registries (IPv4 and IPv6), and CIDR
//! blocks for the allowlist. IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `0.0.0.0/8`, `::`: connecting to it reaches this host. Never allowed.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`, `255.255.255.255`: not one host. Never allowed.
    Multicast,
    Broadcast,
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`: where cloud metadata services answer.
    LinkLocal,
    /// RFC 1918, `fc00::/7` (ULA), `64:ff9b:1::/48` (local NAT64).
    Private,
    /// `100.64.0.0/10`.
    SharedCgnat,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Anything else set aside: benchmarking, protocol assignments, relays, discard, `240.0.0.0/4`, the unallocated
    /// IPv6 space outside `2000::/3`.
    Reserved,
}

impl Special {
    /// Whether no allowlist entry can make the address reachable (it is not one remote host).
    pub fn never_allowed(self) -> bool {
        matches!(self, Special::Unspecified | Special::Multicast | Special::Broadcast)
    }
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Special::Unspecified => "unspecified",
            Special::Multicast => "multicast",
            Special::Broadcast => "broadcast",
            Special::Loopback => "loopback",
            Special::LinkLocal => "link-local",
            Special::Private => "private",
            Special::SharedCgnat => "shared (CGNAT)",
            Special::Documentation => "documentation",
            Special::Reserved => "reserved",
        })
    }
}

/// The address as the connection will see it: an IPv4-mapped IPv6 address is its IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `None` for a public address, else why it is not one.
pub fn special(ip: IpAddr) -> Option<Special> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

const V4: &[([u8; 4], u8, Special)] = &[
    ([0, 0, 0, 0], 8, Special::Unspecified),
    ([10, 0, 0, 0], 8, Special::Private),
    ([100, 64, 0, 0], 10, Special::SharedCgnat),
    ([127, 0, 0, 0], 8, Special::Loopback),
    ([169, 254, 0, 0], 16, Special::LinkLocal),
    ([172, 16, 0, 0], 12, Special::Private),
    ([192, 0, 0, 0], 24, Special::Reserved),
    ([192, 0, 2, 0], 24, Special::Documentation),
    ([192, 88, 99, 0], 24, Special::Reserved),
    ([192, 168, 0, 0], 16, Special::Private),
    ([198, 18, 0, 0], 15, Special::Reserved),
    ([198, 51, 100, 0], 24, Special::Documentation),
    ([203, 0, 113, 0], 24, Special::Documentation),
    ([224, 0, 0, 0], 4, Special::Multicast),
    ([255, 255, 255, 255], 32, Special::Broadcast),
    ([240, 0, 0, 0], 4, Special::Reserved),
];

fn special_v4(ip: Ipv4Addr) -> Option<Special> {
    V4.iter()
        .find(|(net, len, _)| Cidr::v4(Ipv4Addr::from(*net), *len).contains(IpAddr::V4(ip)))
        .map(|(_, _, kind)| *kind)
}

fn special_v6(ip: Ipv6Addr) -> Option<Special> {
    let s = ip.segments();
    let in_net = |net: [u16; 8], len: u8| Cidr::v6(Ipv6Addr::from(net), len).contains(IpAddr::V6(ip));
    let embedded = |hi: u16, lo: u16| special_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if ip.is_unspecified() {
        Some(Special::Unspecified)
    } else if ip.is_loopback() {
        Some(Special::Loopback)
    } else if s[0] == 0 {
        // `::/16` beyond those two (and the mapped form, already an IPv4 address): IPv4-compatible and translated forms.
        Some(Special::Reserved)
    } else if in_net([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        embedded(s[6], s[7])
    } else if in_net([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48) {
        Some(Special::Private)
    } else if in_net([0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        embedded(s[1], s[2])
    } else if in_net([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32) || in_net([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20) {
        Some(Special::Documentation)
    } else if in_net([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7) {
        Some(Special::Private)
    } else if in_net([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10) {
        Some(Special::LinkLocal)
    } else if in_net([0xff00, 0, 0, 0, 0, 0, 0, 0], 8) {
        Some(Special::Multicast)
    } else if in_net([0x2001, 0, 0, 0, 0, 0, 0, 0], 23) || !in_net([0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        // IETF protocol assignments (Teredo among them), and everything outside global unicast (discard `100::/64`,
        // SRv6 `5f00::/16`, site-local `fec0::/10`, unallocated space).
        Some(Special::Reserved)
    } else {
        None
    }
}

/// A block of addresses, `10.0.0.0/8` or `fd00::/8`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

impl Cidr {
    fn v4(net: Ipv4Addr, len: u8) -> Self {
        Self {
            net: IpAddr::V4(net),
            len,
        }
    }

    fn v6(net: Ipv6Addr, len: u8) -> Self {
        Self {
            net: IpAddr::V6(net),
            len,
        }
    }

    /// `a.b.c.d/n`, `x::y/n` or a bare address (IPv4-mapped IPv6 forms are their IPv4 address).
    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, len) = match raw.split_once('/') {
            Some((addr, len)) => (addr, Some(len.parse::<u8>().ok()?)),
            None => (raw, None),
        };
        let ip: IpAddr = addr.trim_matches(['[', ']']).parse().ok()?;
        let (ip, len) = match (ip, canonical(ip), len) {
            // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
            (IpAddr::V6(_), IpAddr::V4(v4), Some(len)) => (IpAddr::V4(v4), len.checked_sub(96)?),
            (_, ip, len) => (ip, len.unwrap_or(if ip.is_ipv4() { 32 } else { 128 })),
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(Self { net: ip, len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.len,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(u128::from(net), u128::from(ip), self.len),
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    a & mask == b & mask
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(raw: &str) -> Option<Special> {
        special(raw.parse().expect("an address"))
    }

    #[test]
    fn every_special_purpose_range_is_classified_in_both_families_and_mapped_forms() {
        use Special::*;
        let cases = [
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("::", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("::1", Some(Loopback)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("10.1.2.3", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("64:ff9b:1::1", Some(Private)),
            ("100.64.0.1", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("192.0.2.7", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.7", Some(Documentation)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("ff02::1", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("240.0.0.1", Some(Reserved)),
            ("192.0.0.170", Some(Reserved)),
            ("198.18.0.1", Some(Reserved)),
            ("192.88.99.1", Some(Reserved)),
            ("::127.0.0.1", Some(Reserved)),
            ("::ffff:0:7f00:1", Some(Reserved)),
            ("2001::1", Some(Reserved)),
            ("100::1", Some(Reserved)),
            ("fec0::1", Some(Reserved)),
            ("5f00::1", Some(Reserved)),
            // Embedded IPv4: NAT64 and 6to4 carry the address they reach.
            ("64:ff9b::7f00:1", Some(Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("2002:a00:1::1", Some(Private)),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            // Public.
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("169.255.0.1", None),
            ("::ffff:1.1.1.1", None),
            ("2606:4700:4700::1111", None),
        ];
        for (ip, want) in cases {
            assert_eq!(kind(ip), want, "{ip}");
        }
    }

    #[test]
    fn only_unspecified_multicast_and_broadcast_are_never_allowed() {
        let never: Vec<_> = ["0.0.0.0", "224.0.0.1", "255.255.255.255", "127.0.0.1", "10.0.0.1"]
            .into_iter()
            .filter(|ip| kind(ip).is_some_and(Special::never_allowed))
            .collect();
        assert_eq!(never, ["0.0.0.0", "224.0.0.1", "255.255.255.255"]);
    }

    #[test]
    fn cidrs_parse_and_contain_their_addresses_only() {
        let cases = [
            ("10.0.0.0/8", "10.255.0.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.1.2.3/8", "10.9.9.9", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.0/8", "::ffff:127.0.0.9", true),
            ("::ffff:10.0.0.0/104", "10.3.0.1", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fc00::1", false),
            ("[::1]", "::1", true),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("::/0", "8.8.8.8", false),
        ];
        for (cidr, ip, inside) in cases {
            let block = Cidr::parse(cidr).unwrap_or_else(|| panic!("{cidr} parses"));
            assert_eq!(block.contains(ip.parse().unwrap()), inside, "{cidr} ∋ {ip}");
        }
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "hooks.internal",
            "10.0.0.0/x",
            "",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
