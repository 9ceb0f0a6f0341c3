//! A git commit as every service takes it (a pipeline's, a deployment's, a change's): its object name and when it
//! was made. One rule for all, so a commit one service accepts is never refused by the next one it is passed to.
//! Callers name their own field in the error (`commit.sha`, `commitSha`, `deployments[0].commit_sha`).

use chrono::{DateTime, TimeDelta, Utc};

/// How far ahead of our clock a commit time may be: the committer's clock may run a little fast.
pub const MAX_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// What is wrong with a commit; the caller names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCommit {
    #[error("must be 7 to 64 hex digits")]
    Sha,
    #[error("must not be before 2000-01-01T00:00:00Z")]
    TooOld,
    #[error("must not be more than 5 minutes in the future")]
    Ahead,
}

/// A commit's object name: 7 (the shortest abbreviation git prints) to 64 (a SHA-256 repository) hex digits, kept
/// lowercase so that one commit has one spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSha(String);

impl CommitSha {
    pub fn parse(sha: &str) -> Result<Self, InvalidCommit> {
        if (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(sha.to_ascii_lowercase()))
        } else {
            Err(InvalidCommit::Sha)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// When a commit was made: from 2000 on (earlier is a broken clock, and would make a lead time of decades), and at
/// most [`MAX_AHEAD`] past `now` (a lead time cannot be negative by more than clock skew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitTime(DateTime<Utc>);

impl CommitTime {
    pub fn parse(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, InvalidCommit> {
        if at < earliest() {
            Err(InvalidCommit::TooOld)
        } else if at > now + MAX_AHEAD {
            Err(InvalidCommit::Ahead)
        } else {
            Ok(Self(at))
        }
    }

    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
}

fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC) // 2000-01-01T00:00:00Z
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    #[test]
    fn shas_of_7_to_64_hex_digits_are_kept_lowercase() {
        for (sha, kept) in [
            ("3484a3f", "3484a3f"),
            (
                "3484A3FB816E0859FD6E1CEA078D76385FF50625",
                "3484a3fb816e0859fd6e1cea078d76385ff50625",
            ),
            (&"a".repeat(64), &"a".repeat(64)),
        ] {
            assert_eq!(CommitSha::parse(sha).map(CommitSha::into_inner), Ok(kept.to_owned()));
        }
    }

    #[test]
    fn shas_too_short_too_long_or_not_hex_are_refused() {
        for sha in [
            "",
            "3484a3",
            &"a".repeat(65),
            "3484a3g",
            " 3484a3fb",
            "3484a3fb\n",
            "main",
            "v1.2.3-rc",
            "٣٤٨٤a3fb",
        ] {
            assert_eq!(CommitSha::parse(sha), Err(InvalidCommit::Sha), "{sha:?}");
        }
    }

    #[test]
    fn times_from_2000_up_to_five_minutes_ahead_are_accepted() {
        let now = at("2026-03-01T12:00:00Z");
        for ok in [
            "2000-01-01T00:00:00Z",
            "2020-10-05T16:32:07Z",
            "2026-03-01T12:05:00Z",
            "2026-03-01T13:04:59+01:00",
        ] {
            let time = CommitTime::parse(at(ok), now).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(time.at(), at(ok), "{ok}");
        }
        assert_eq!(
            CommitTime::parse(at("1999-12-31T23:59:59Z"), now),
            Err(InvalidCommit::TooOld)
        );
        assert_eq!(
            CommitTime::parse(at("2026-03-01T12:05:01Z"), now),
            Err(InvalidCommit::Ahead)
        );
        assert_eq!(
            CommitTime::parse(at("1970-01-01T00:00:00Z"), now),
            Err(InvalidCommit::TooOld)
        );
    }
}
