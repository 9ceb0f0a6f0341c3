//! Who and what a pipeline run is for: ids, its project and deploy target, how it was triggered, and the actor calling
//! a transition. The app fills [`PipelineMeta`] from the request and the projects service (environment tier and
//! `protected` flag), after checking the project and environment exist.

use std::fmt;

use devopstrack_platform::auth::{Principal, Role};
use uuid::Uuid;

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
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Chat => "chat",
            Trigger::Webhook => "webhook",
            Trigger::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Trigger::Manual, Trigger::Chat, Trigger::Webhook, Trigger::Api]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
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
