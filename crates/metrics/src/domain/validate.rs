//! Field rules for incoming events. Each check answers the problem without the field name; the transport prefixes
//! the field path (`runs[3].finished_at: must not be before started_at`).

use chrono::{DateTime, TimeDelta, Utc};

/// The earliest time an event may carry (older is a unit mistake, e.g. seconds sent as milliseconds).
pub const EARLIEST: DateTime<Utc> = DateTime::from_timestamp_nanos(946_684_800_000_000_000); // 2000-01-01
/// How far in the future a time may be (clock skew between the sender and us).
pub const MAX_SKEW: TimeDelta = TimeDelta::days(1);

/// An idempotency key (or any opaque id): 1..=`max` characters, no control characters or spaces at the ends.
pub fn id(raw: &str, max: usize) -> Result<(), String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    text(raw, max)?;
    if raw.trim() != raw {
        return Err("must not start or end with whitespace".into());
    }
    Ok(())
}

/// Free text: at most `max` characters, no control characters.
pub fn text(raw: &str, max: usize) -> Result<(), String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// A project slug, as the projects service defines it: `^[a-z0-9][a-z0-9-]{1,62}$`.
pub fn project(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    if slug_shaped(raw, 2..=63) {
        Ok(())
    } else {
        Err("must be a project slug matching ^[a-z0-9][a-z0-9-]{1,62}$".into())
    }
}

/// An environment name, as the projects service defines it: `^[a-z0-9][a-z0-9-]{0,31}$`; empty only if `optional`.
pub fn environment(raw: &str, optional: bool) -> Result<(), String> {
    if raw.is_empty() {
        return if optional { Ok(()) } else { Err("is required".into()) };
    }
    if slug_shaped(raw, 1..=32) {
        Ok(())
    } else {
        Err("must be an environment name matching ^[a-z0-9][a-z0-9-]{0,31}$".into())
    }
}

/// `^[a-z0-9][a-z0-9-]*$` with a length in `lengths`: how project slugs and environment names are spelled.
fn slug_shaped(raw: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A commit sha by the platform's rule (`devopstrack_platform::commit`: 7..=64 hex digits; lower-cased by the
/// caller). Empty only if `optional`.
pub fn sha(raw: &str, optional: bool) -> Result<(), String> {
    if raw.is_empty() {
        return if optional { Ok(()) } else { Err("is required".into()) };
    }
    devopstrack_platform::commit::CommitSha::parse(raw)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A time an event carries: not before 2000, not more than a day ahead of `now`.
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if at < EARLIEST {
        return Err("must not be before 2000-01-01".into());
    }
    if at > now + MAX_SKEW {
        return Err("must not be more than a day in the future".into());
    }
    Ok(())
}

/// `later` must not be before `earlier` (named `earlier_name` in the message).
pub fn not_before(later: DateTime<Utc>, earlier: DateTime<Utc>, earlier_name: &str) -> Result<(), String> {
    if later < earlier {
        Err(format!("must not be before {earlier_name}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Check = fn(&str) -> Result<(), String>;

    #[test]
    fn identifiers_follow_their_rules() {
        let cases: [(&str, Check, bool); 14] = [
            ("api", project, true),
            ("a", project, false),
            ("Api", project, false),
            ("-api", project, false),
            ("", project, false),
            ("production", |s| environment(s, false), true),
            ("", |s| environment(s, false), false),
            ("", |s| environment(s, true), true),
            ("prod env", |s| environment(s, true), false),
            ("abc1234", |s| sha(s, false), true),
            ("abc123", |s| sha(s, false), false),
            ("xyz1234", |s| sha(s, false), false),
            ("evt-1", |s| id(s, 128), true),
            (" evt-1", |s| id(s, 128), false),
        ];
        for (raw, check, ok) in cases {
            assert_eq!(check(raw).is_ok(), ok, "{raw:?}: {:?}", check(raw));
        }
        assert!(id(&"x".repeat(129), 128).is_err());
        assert!(text("line\nbreak", 10).is_err());
    }

    #[test]
    fn times_must_be_plausible() {
        let now = Utc::now();
        assert!(time(now, now).is_ok());
        assert!(time(now + TimeDelta::hours(25), now).is_err());
        assert!(time(DateTime::from_timestamp(0, 0).unwrap(), now).is_err());
        assert!(not_before(now, now - TimeDelta::seconds(1), "started_at").is_ok());
        assert_eq!(
            not_before(now, now + TimeDelta::seconds(1), "started_at").unwrap_err(),
            "must not be before started_at"
        );
    }
}
