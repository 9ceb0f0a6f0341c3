//! Risk levels, computed on the server from the intent and what the platform says about its target: never taken from
//! the client or from a model.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Intent;

/// How much confirmation an intent needs. `read` answers at once; `medium` and `high` need the asker's confirmation;
/// `critical` also needs an approval by a different person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatRisk)]
pub enum Risk {
    Read,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Read => "read",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }

    /// A second person must approve after the asker confirms.
    pub fn needs_approval(self) -> bool {
        self == Risk::Critical
    }
}

/// What the platform says about an environment, as far as risk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvironmentFacts {
    /// Its tier is `production`.
    pub production_tier: bool,
    /// Marked protected in projects (four eyes on every deploy).
    pub protected: bool,
}

impl EnvironmentFacts {
    /// What an environment nobody could look up counts as: the worst case, so an unknown target never lowers a risk.
    pub const UNKNOWN: EnvironmentFacts = EnvironmentFacts {
        production_tier: true,
        protected: true,
    };

    pub fn is_production_like(self) -> bool {
        self.production_tier || self.protected
    }
}

/// What the platform says about the run a retry or cancel targets, or the definition a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFacts {
    /// The run deploys (or the definition is of kind `deploy`) to this environment; `None` for a CI run.
    pub deploys_to: Option<EnvironmentFacts>,
}

/// The risk of an intent on its target.
///
/// - `medium`: running a CI definition, retrying or cancelling outside production;
/// - `high`: deploy or rollback outside production, a retry or cancel of a production deploy run, approving a gate
///   outside production;
/// - `critical`: deploy, rollback or approval in a production-tier or protected environment.
///
/// `environment` is the target environment of a deploy, rollback or approval; `run` the run a retry or cancel
/// targets, or what a `run_pipeline` starts. Missing facts count as [`EnvironmentFacts::UNKNOWN`] (the worst case).
pub fn risk_of(intent: Intent, environment: Option<EnvironmentFacts>, run: Option<RunFacts>) -> Risk {
    let env = environment.unwrap_or(EnvironmentFacts::UNKNOWN);
    match intent {
        Intent::StatusOverview
        | Intent::ProjectStatus
        | Intent::FailingPipelines
        | Intent::JobFailureReason
        | Intent::DoraSummary
        | Intent::WhoDeployed
        | Intent::Help
        | Intent::None => Risk::Read,
        Intent::Deploy | Intent::Rollback | Intent::Approve if env.is_production_like() => Risk::Critical,
        Intent::Deploy | Intent::Rollback | Intent::Approve => Risk::High,
        Intent::RunPipeline => match run.map(|r| r.deploys_to) {
            Some(None) => Risk::Medium,
            Some(Some(target)) if !target.is_production_like() => Risk::High,
            _ => Risk::Critical,
        },
        Intent::Retry | Intent::Cancel => match run.map(|r| r.deploys_to) {
            Some(None) => Risk::Medium,
            Some(Some(target)) if !target.is_production_like() => Risk::Medium,
            _ => Risk::High,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGING: EnvironmentFacts = EnvironmentFacts {
        production_tier: false,
        protected: false,
    };
    const PROD: EnvironmentFacts = EnvironmentFacts {
        production_tier: true,
        protected: false,
    };
    const PROTECTED_STAGING: EnvironmentFacts = EnvironmentFacts {
        production_tier: false,
        protected: true,
    };

    fn ci() -> Option<RunFacts> {
        Some(RunFacts { deploys_to: None })
    }

    fn deploy_run(to: EnvironmentFacts) -> Option<RunFacts> {
        Some(RunFacts { deploys_to: Some(to) })
    }

    #[test]
    fn the_issue_table_of_risks_holds() {
        let table = [
            (Intent::RunPipeline, None, ci(), Risk::Medium),
            (Intent::Retry, None, ci(), Risk::Medium),
            (Intent::Cancel, None, deploy_run(STAGING), Risk::Medium),
            (Intent::Deploy, Some(STAGING), None, Risk::High),
            (Intent::Rollback, Some(STAGING), None, Risk::High),
            (Intent::Retry, None, deploy_run(PROD), Risk::High),
            (Intent::Cancel, None, deploy_run(PROTECTED_STAGING), Risk::High),
            (Intent::Deploy, Some(PROD), None, Risk::Critical),
            (Intent::Rollback, Some(PROTECTED_STAGING), None, Risk::Critical),
            (Intent::Approve, Some(PROD), None, Risk::Critical),
            (Intent::Approve, Some(STAGING), None, Risk::High),
            (Intent::RunPipeline, None, deploy_run(PROD), Risk::Critical),
            (Intent::DoraSummary, None, None, Risk::Read),
            (Intent::None, Some(PROD), None, Risk::Read),
        ];
        for (intent, env, run, want) in table {
            assert_eq!(risk_of(intent, env, run), want, "{intent:?} {env:?} {run:?}");
        }
    }

    #[test]
    fn unknown_targets_count_as_the_worst_case() {
        assert_eq!(risk_of(Intent::Deploy, None, None), Risk::Critical);
        assert_eq!(risk_of(Intent::Retry, None, None), Risk::High);
        assert_eq!(risk_of(Intent::RunPipeline, None, None), Risk::Critical);
        assert!(Risk::Critical.needs_approval() && !Risk::High.needs_approval());
    }
}
