//! Who and what a pipeline run is for: ids, its project and deploy target, how it was triggered, and the actor calling
//! a transition. The app fills [`PipelineMeta`] from the request and the projects service (environment tier and
//! `protected` flag), after checking the project and environment exist.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_platform::auth::{Principal, Role};
use devopstrack_platform::commit::{self, CommitSha, CommitTime};
use uuid::Uuid;

use super::field::FieldError;

macro_rules! uuid_id {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                Uuid::parse_str(raw)
                    .map(Self)
                    .map_err(|_| "must be a UUID".to_owned())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(PipelineId);
uuid_id!(JobId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    Manual,
    Chat,
    Webhook,
    Api,
    /// A run of the deploy definition back to an environment's previous good version (`app/rollback.rs`).
    Rollback,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Chat => "chat",
            Trigger::Webhook => "webhook",
            Trigger::Api => "api",
            Trigger::Rollback => "rollback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Trigger::Manual,
            Trigger::Chat,
            Trigger::Webhook,
            Trigger::Api,
            Trigger::Rollback,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// The pipeline definition a run was created from (projects' definitions): its name and the definition's version at
/// the time, so a later edit of the definition does not hide what this run ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRef {
    pub name: String,
    pub version: i64,
}

/// Where the run executes: on DevOpsTrack's workers, or on GitHub Actions and only tracked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    DevOpsTrack,
    Github { external_url: String, external_id: String },
}

/// An environment's tier, as the projects service reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Development,
    Staging,
    Production,
}

/// The environment a deploy goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployTarget {
    pub environment: String,
    pub version: String,
    pub tier: Tier,
    /// Deploys need an approval: see [`super::Pipeline::new`].
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineMeta {
    /// The project slug.
    pub project: String,
    /// `Some` makes the run a deploy.
    pub target: Option<DeployTarget>,
    pub trigger: Trigger,
    /// The subject of whoever triggered it.
    pub triggered_by: String,
    pub idempotency_key: Option<String>,
    pub source: Source,
    /// The commit the run builds or deploys, when the caller named one. A deploy's commit time is where the metrics
    /// service starts counting its DORA lead time.
    pub commit: Option<CommitRef>,
}

impl PipelineMeta {
    /// The environment a deploy targets; empty for a run that deploys nothing (as the API and the metrics events
    /// carry it).
    pub fn environment(&self) -> &str {
        self.target.as_ref().map_or("", |t| t.environment.as_str())
    }
}

/// A commit: its sha (7 to 64 lower-case hex digits: abbreviated, SHA-1 or SHA-256) and, when known, when it was
/// authored or pushed. Built only by [`CommitRef::parse`] (from a request) or [`CommitRef::restore`] (from the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRef {
    sha: String,
    time: Option<DateTime<Utc>>,
}

impl CommitRef {
    /// How far ahead of this service's clock a commit time may be (the committer's clock may run a little fast).
    pub const MAX_CLOCK_SKEW: TimeDelta = commit::MAX_AHEAD;

    /// The commit a request names, checked: `sha` empty and no `time` is no commit; `time` needs `sha`, and must lie
    /// between 2000-01-01 and `now` + [`Self::MAX_CLOCK_SKEW`] (a time outside would make lead times absurd). The sha
    /// is kept in lower case. Errors name the API fields, `commitSha` and `commitTime`.
    pub fn parse(sha: &str, time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Option<Self>, FieldError> {
        if sha.is_empty() {
            return match time {
                None => Ok(None),
                Some(_) => Err(FieldError::new(
                    "commitTime",
                    "needs commitSha (the commit it is the time of)",
                )),
            };
        }
        let sha = parse_sha(sha).map_err(|e| FieldError::new("commitSha", e))?;
        if let Some(t) = time {
            CommitTime::parse(t, now).map_err(|e| FieldError::new("commitTime", e.to_string()))?;
        }
        Ok(Some(Self { sha, time }))
    }

    /// A stored commit back: the sha checked again (a document edited by hand is refused), the time taken as it was
    /// accepted (its bounds depended on the clock when it was received).
    pub fn restore(sha: &str, time: Option<DateTime<Utc>>) -> Result<Self, String> {
        Ok(Self {
            sha: parse_sha(sha)?,
            time,
        })
    }

    pub fn sha(&self) -> &str {
        &self.sha
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time
    }

    /// Joins what another report says about the run's commit into this one, never losing what is known: the sha is
    /// kept (a run's commit does not change), and its time is filled in when this one has none and `other` names the
    /// same commit with one; of two times the earlier is kept, so the order of reports does not matter.
    pub fn merge(&mut self, other: &Self) {
        if other.sha == self.sha {
            self.time = match (self.time, other.time) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
}

/// The platform's commit rule (7 to 64 hex digits), lower-cased.
fn parse_sha(raw: &str) -> Result<String, String> {
    CommitSha::parse(raw)
        .map(CommitSha::into_inner)
        .map_err(|e| e.to_string())
}

/// Whoever asks for a transition that checks roles (approve, reject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub role: Role,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self {
            subject: p.subject.clone(),
            role: p.role,
        }
    }
}

/// Whether a run with this meta is a deploy whose environment gates its last stage (protected, or production tier).
pub(super) fn environment_gates(meta: &PipelineMeta) -> bool {
    meta.source == Source::DevOpsTrack
        && meta
            .target
            .as_ref()
            .is_some_and(|t| t.protected || t.tier == Tier::Production)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("a valid time")
    }

    /// A case: the sha and time sent, and the field the error names (`None`: accepted).
    type Case = (String, Option<DateTime<Utc>>, Option<&'static str>);

    #[test]
    fn commits_are_checked_naming_the_field() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).expect("a valid time").to_utc();
        let sha = "0123abc".to_owned();
        let cases: Vec<Case> = vec![
            (String::new(), None, None),
            (sha.clone(), None, None),
            ("F".repeat(64), Some(t("2000-01-01T00:00:00Z")), None),
            (sha.clone(), Some(now() + CommitRef::MAX_CLOCK_SKEW), None),
            ("012345".into(), None, Some("commitSha:")),
            ("a".repeat(65), None, Some("commitSha:")),
            ("xyz1234".into(), None, Some("commitSha:")),
            ("0123abc ".into(), None, Some("commitSha:")),
            (String::new(), Some(now()), Some("commitTime:")),
            (sha.clone(), Some(t("1999-12-31T23:59:59Z")), Some("commitTime:")),
            (
                sha,
                Some(now() + CommitRef::MAX_CLOCK_SKEW + TimeDelta::seconds(1)),
                Some("commitTime:"),
            ),
        ];
        for (sha, time, want) in cases {
            let got = CommitRef::parse(&sha, time, now());
            match (want, got) {
                (None, Ok(c)) => assert_eq!(c.is_some(), !sha.is_empty(), "{sha:?}"),
                (Some(field), Err(e)) => assert!(e.to_string().starts_with(field), "{sha:?} {time:?}: {e}"),
                (want, got) => panic!("{sha:?} {time:?}: want an error naming {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_sha_is_kept_in_lower_case() {
        let c = CommitRef::parse("ABCDEF0123", None, now()).unwrap().expect("a commit");
        assert_eq!(c.sha(), "abcdef0123");
        assert_eq!(CommitRef::restore("ABCDEF0123", None).unwrap(), c);
        assert!(CommitRef::restore("nothex!", None).is_err());
    }

    #[test]
    fn merging_keeps_the_known_sha_and_fills_its_time_in_any_order() {
        let early = now() - TimeDelta::hours(2);
        let bare = CommitRef::parse("0123abc", None, now()).unwrap().expect("a commit");
        let timed = CommitRef::parse("0123abc", Some(now()), now())
            .unwrap()
            .expect("a commit");
        let earlier = CommitRef::parse("0123abc", Some(early), now())
            .unwrap()
            .expect("a commit");
        let other = CommitRef::parse("fedcba9", Some(early), now())
            .unwrap()
            .expect("a commit");

        let mut c = bare.clone();
        c.merge(&timed);
        assert_eq!(c, timed, "the time is filled in");
        c.merge(&bare);
        assert_eq!(c, timed, "a report without the time erases nothing");
        c.merge(&other);
        assert_eq!(c, timed, "another sha does not replace the known one");
        let (mut a, mut b) = (timed.clone(), earlier.clone());
        a.merge(&earlier);
        b.merge(&timed);
        assert_eq!(
            (a.time(), b.time()),
            (Some(early), Some(early)),
            "the earlier time, whatever the order"
        );
    }
}
