use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::Resolve;

use super::*;

fn ip(raw: &str) -> IpAddr {
    raw.parse().expect("an address")
}

fn policy(allow: &[&str], deny: &[&str]) -> OutboundPolicy {
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    OutboundPolicy::parse(&owned(allow), &owned(deny)).expect("valid entries")
}

#[test]
fn by_default_only_public_addresses_are_permitted() {
    let p = OutboundPolicy::default();
    for public in ["93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
        assert_eq!(p.check(None, ip(public), 443), Ok(()), "{public}");
    }
    for refused in [
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "fe80::1",
        "10.0.0.1",
        "172.20.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "fd00::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "64:ff9b::a9fe:a9fe",
    ] {
        let why = p.check(Some("hooks.example"), ip(refused), 80).unwrap_err();
        assert!(!why.is_empty(), "{refused}");
    }
}

#[test]
fn the_allowlist_opens_blocks_addresses_and_host_names_but_never_unspecified_or_multicast() {
    let p = policy(&["10.0.0.0/8", "127.0.0.1", "hooks.internal", "*.corp.example"], &[]);

    assert_eq!(p.check(None, ip("10.2.3.4"), 8443), Ok(()));
    assert_eq!(p.check(None, ip("::ffff:10.2.3.4"), 8443), Ok(()));
    assert_eq!(p.check(None, ip("127.0.0.1"), 80), Ok(()));
    assert!(p.check(None, ip("127.0.0.2"), 80).is_err());
    assert_eq!(p.check(Some("HOOKS.internal."), ip("192.168.7.7"), 80), Ok(()));
    assert_eq!(p.check(Some("deploy.corp.example"), ip("172.16.0.9"), 80), Ok(()));
    assert!(
        p.check(Some("corp.example"), ip("172.16.0.9"), 80).is_err(),
        "*. is subdomains only"
    );
    assert!(p.check(Some("evil-corp.example"), ip("172.16.0.9"), 80).is_err());
    assert!(
        p.check(None, ip("192.168.7.7"), 80).is_err(),
        "a host entry needs that host"
    );
    let everything = policy(&["0.0.0.0/0", "::/0", "hooks.internal"], &[]);
    for never in ["0.0.0.0", "224.0.0.1", "255.255.255.255", "ff02::1", "::"] {
        assert!(
            everything.check(Some("hooks.internal"), ip(never), 80).is_err(),
            "{never}"
        );
    }
}

#[test]
fn platform_listeners_are_refused_even_when_the_allowlist_covers_them() {
    let p = policy(&["127.0.0.0/8", "10.0.0.0/8"], &["127.0.0.1:9101", "10.9.0.0/16"])
        .deny_listener(SocketAddr::from(([127, 0, 0, 1], 50053)))
        .deny_listener(SocketAddr::from(([0, 0, 0, 0], 9103)))
        .deny_peer("http://127.0.0.1:50052")
        .deny_peer("http://auth:50051")
        .deny_peer("not a url");

    for (addr, port) in [
        ("127.0.0.1", 9101),
        ("127.0.0.1", 50053),
        ("::ffff:127.0.0.1", 50053),
        ("127.0.0.1", 9103),
        ("10.1.2.3", 9103),
        ("127.0.0.1", 50052),
        ("10.1.2.3", 50051),
        ("10.9.1.1", 443),
    ] {
        assert!(p.check(None, ip(addr), port).is_err(), "{addr}:{port}");
    }
    assert_eq!(
        p.check(None, ip("127.0.0.1"), 8000),
        Ok(()),
        "other loopback ports stay allowed"
    );
    assert_eq!(p.check(None, ip("10.1.2.3"), 443), Ok(()));
    assert_eq!(
        p.check(None, ip("93.184.215.14"), 9103),
        Ok(()),
        "a listener on every address is ours only on non-public ones"
    );
}

#[test]
fn bad_entries_are_refused_naming_them() {
    let bad_allow = OutboundPolicy::parse(&["10.0.0.0/40".into()], &[]).unwrap_err();
    assert!(bad_allow.contains("10.0.0.0/40"), "{bad_allow}");
    for bad in ["http://hooks", "hooks_internal", "-a.example", "*.", "a b"] {
        assert!(OutboundPolicy::parse(&[bad.into()], &[]).is_err(), "{bad}");
    }
    let bad_deny = OutboundPolicy::parse(&[], &["hooks.internal".into()]).unwrap_err();
    assert!(bad_deny.contains("hooks.internal"), "{bad_deny}");
}

#[test]
fn literal_urls_are_checked_and_named_hosts_left_to_the_resolver() {
    let p = OutboundPolicy::default();
    let url = |raw: &str| Url::parse(raw).unwrap();

    assert!(p.check_literal(&url("http://127.0.0.1:9101/metrics")).is_err());
    assert!(p.check_literal(&url("http://[::ffff:169.254.169.254]/latest")).is_err());
    assert!(p.check_literal(&url("http://[::1]:8080/")).is_err());
    assert!(
        p.check_literal(&url("http://2130706433/")).is_err(),
        "127.0.0.1 as a number"
    );
    assert!(p.check_literal(&url("http://0x7f.1/")).is_err(), "127.0.0.1 in hex");
    assert_eq!(p.check_literal(&url("https://93.184.215.14/hook")), Ok(()));
    assert_eq!(p.check_literal(&url("https://localhost/hook")), Ok(()), "a name");
}

#[tokio::test]
async fn the_resolver_hands_out_only_permitted_addresses() {
    let refusing = PolicyResolver {
        policy: Arc::new(OutboundPolicy::default()),
        port: 80,
    };
    let allowing = PolicyResolver {
        policy: Arc::new(policy(&["127.0.0.0/8", "::1"], &[])),
        port: 80,
    };
    let name = || "localhost".parse().expect("a name");

    let refused = refusing.resolve(name()).await.err().expect("loopback is refused");
    let unknown = refusing
        .resolve("no-such-host.invalid".parse().expect("a name"))
        .await
        .err()
        .expect("does not resolve");
    let allowed: Vec<SocketAddr> = allowing.resolve(name()).await.expect("allowed").collect();

    assert_eq!(refused.to_string(), UNREACHABLE);
    assert_eq!(unknown.to_string(), UNREACHABLE, "the same answer: no name oracle");
    assert!(
        !allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback()),
        "{allowed:?}"
    );
}
