//! Password-guessing throttle: progressive delays per (account, source address), never a lock of the account from
//! everywhere.
//!
//! Each attempt is counted *before* the password is checked (so a burst of parallel guesses is counted as it arrives)
//! and the count is cleared when the password was right. The first [`ThrottlePolicy::free_failures`] attempts go
//! through at once; after that each one must wait twice as long as the one before (1 s, 2 s, 4 s, … up to
//! `max_delay`) after the previous attempt. A pair that stays quiet for `window` after its last delay ran out is
//! forgotten. Keys are hashed ([`throttle_key`]), so the store keeps neither emails nor addresses; an unknown email
//! is throttled exactly like a known one, so the answers do not reveal which accounts exist.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// What the store keeps per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Attempts since the count was last cleared or forgotten (the password was not right, or is being checked).
    pub failures: u32,
    pub last_at: DateTime<Utc>,
}

/// Whether an attempt may go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; the count is now `failures` (this attempt included).
    Admitted { failures: u32 },
    /// Too soon: not before `until` (nothing is counted).
    Wait { until: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts allowed without delay.
    pub free_failures: u32,
    /// How long a quiet pair is remembered after its last delay ran out.
    pub window: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl ThrottlePolicy {
    /// How long the next attempt must wait after the last one, once `failures` attempts were counted.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::zero();
        }
        let doublings = (failures - self.free_failures).min(30);
        Duration::seconds(1i64 << doublings).min(self.max_delay)
    }

    /// Decides on an attempt at `now`, given what the store has for its key.
    pub fn admit(&self, record: Option<&AttemptRecord>, now: DateTime<Utc>) -> Admission {
        let Some(record) = record.filter(|r| r.failures > 0) else {
            return Admission::Admitted { failures: 1 };
        };
        let open_at = record.last_at + self.delay_after(record.failures);
        if now >= open_at + self.window {
            Admission::Admitted { failures: 1 }
        } else if now < open_at {
            Admission::Wait { until: open_at }
        } else {
            Admission::Admitted {
                failures: record.failures.saturating_add(1),
            }
        }
    }

    /// Records last touched before this are forgotten whatever their count: the store may delete them.
    pub fn forgotten_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.max_delay - self.window
    }
}

/// The store key of `subject` (an email, a client id, a user id) in `scope` (`login`, `service`, `password`) tried
/// from `source`: a SHA-256, hex. IPv6 sources count per /64 (one host usually holds a whole /64); IPv4-mapped IPv6
/// addresses count as their IPv4 address.
pub fn throttle_key(scope: &str, subject: &str, source: Option<IpAddr>) -> String {
    let source = match source.map(canonical) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    };
    super::sha256_hex(&format!("{scope}\n{subject}\n{source}"))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            window: Duration::minutes(15),
            max_delay: Duration::seconds(10),
        }
    }

    #[test]
    fn delays_start_after_the_free_attempts_double_and_stop_at_the_maximum() {
        let delays: Vec<i64> = (0..9).map(|n| policy().delay_after(n).num_seconds()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 10, 10]);
        assert_eq!(policy().delay_after(u32::MAX), Duration::seconds(10));
    }

    #[test]
    fn attempts_are_admitted_waited_or_forgotten() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |secs: i64| t0 + Duration::seconds(secs);
        let record = |failures, last: i64| AttemptRecord {
            failures,
            last_at: at(last),
        };
        let cases = [
            ("first attempt", None, 0, Admission::Admitted { failures: 1 }),
            ("cleared", Some(record(0, 0)), 0, Admission::Admitted { failures: 1 }),
            ("free", Some(record(2, 0)), 0, Admission::Admitted { failures: 3 }),
            ("too soon", Some(record(3, 0)), 0, Admission::Wait { until: at(1) }),
            (
                "after the delay",
                Some(record(3, 0)),
                1,
                Admission::Admitted { failures: 4 },
            ),
            ("longer delay", Some(record(5, 0)), 3, Admission::Wait { until: at(4) }),
            (
                "quiet for the window after the delay",
                Some(record(5, 0)),
                4 + 900,
                Admission::Admitted { failures: 1 },
            ),
            (
                "not quite quiet long enough",
                Some(record(5, 0)),
                4 + 899,
                Admission::Admitted { failures: 6 },
            ),
        ];
        for (what, stored, now, want) in cases {
            assert_eq!(policy().admit(stored.as_ref(), at(now)), want, "{what}");
        }
    }

    #[test]
    fn keys_separate_scopes_subjects_and_sources_but_not_hosts_of_one_ipv6_network() {
        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        let (a, b): (IpAddr, IpAddr) = (
            "2001:db8:1:2::1".parse().unwrap(),
            "2001:db8:1:2:ffff::9".parse().unwrap(),
        );
        let other_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let key = |scope, subject, source| throttle_key(scope, subject, source);

        assert_eq!(key("login", "a@x.io", Some(v4)), key("login", "a@x.io", Some(mapped)));
        assert_eq!(key("login", "a@x.io", Some(a)), key("login", "a@x.io", Some(b)));
        assert_ne!(key("login", "a@x.io", Some(a)), key("login", "a@x.io", Some(other_net)));
        assert_ne!(key("login", "a@x.io", Some(v4)), key("login", "b@x.io", Some(v4)));
        assert_ne!(key("login", "a@x.io", Some(v4)), key("service", "a@x.io", Some(v4)));
        assert_ne!(key("login", "a@x.io", Some(v4)), key("login", "a@x.io", None));
        assert_eq!(key("login", "a@x.io", None).len(), 64, "a hex SHA-256, not the email");
    }
}
