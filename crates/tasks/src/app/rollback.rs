//! Rollback: run the project's `deploy` definition with an environment's previous good version, trigger `rollback`.
//!
//! The target comes from projects' deployment history of the environment (newest first, one page of
//! `HISTORY_PAGE` (200) entries, see `projects/catalog.rs`), read as the caller. The current version is the newest
//! succeeded deployment's. Versions never to go back to: the current one, any deployment whose status is
//! `rolled_back`, and every version a rollback moved away from (the succeeded deployment just before a rollback
//! deployment). The target is the newest succeeded deployment of any other version, or `to` when the caller names
//! one (it must be such a version). Nothing left: FAILED_PRECONDITION (HTTP 409), with what was looked at.
//!
//! Roles: operator for a development or staging environment; admin for a production or protected one (rolling back
//! production is an admin's call, as deploying there is).

use std::collections::HashSet;

use devopstrack_platform::auth::{Principal, Role};

use super::definitions::CreateRun;
use super::{TasksApp, require};
use crate::domain::{Pipeline, Tier, Trigger};
use crate::error::Error;
use crate::projects::{PastDeployment, RunKind};

/// The definition a rollback runs.
pub const DEPLOY_DEFINITION: &str = "deploy";

/// Rollback as received.
#[derive(Debug, Clone, Default)]
pub struct RollbackRun {
    pub project: String,
    pub environment: String,
    /// Empty: the previous good version.
    pub to: String,
    pub idempotency_key: String,
    /// The chat's four eyes (see [`super::CreatePipeline::asked_by`]).
    pub asked_by: Option<String>,
}

/// A rollback started (or found again by its idempotency key).
#[derive(Debug)]
pub struct RolledBack {
    pub pipeline: Pipeline,
    pub created: bool,
    /// What the environment ran when the rollback was asked.
    pub from_version: String,
    pub to_version: String,
}

/// From which version to which, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Go {
        from: String,
        to: String,
    },
    /// The environment never had a successful deployment.
    NothingDeployed,
    /// No earlier good version is left.
    NothingToRollBackTo {
        current: String,
    },
    /// `to` is not a version one may go back to.
    NotAGoodVersion {
        current: String,
    },
}

/// Picks the rollback target from `history` (newest first). See the module docs for the rules.
pub fn plan(history: &[PastDeployment], to: Option<&str>) -> Plan {
    let succeeded: Vec<&PastDeployment> = history.iter().filter(|d| d.succeeded).collect();
    let Some(current) = succeeded.first() else {
        return Plan::NothingDeployed;
    };
    let mut bad: HashSet<&str> = HashSet::from([current.version.as_str()]);
    bad.extend(history.iter().filter(|d| d.rolled_back).map(|d| d.version.as_str()));
    for pair in succeeded.windows(2) {
        if pair[0].rollback {
            bad.insert(pair[1].version.as_str());
        }
    }
    let mut good = succeeded.iter().skip(1).filter(|d| !bad.contains(d.version.as_str()));
    let current = current.version.clone();
    let target = match to {
        None => good.next(),
        Some(wanted) => match good.find(|d| d.version == wanted) {
            Some(found) => Some(found),
            None => return Plan::NotAGoodVersion { current },
        },
    };
    match target {
        Some(target) => Plan::Go {
            from: current,
            to: target.version.clone(),
        },
        None => Plan::NothingToRollBackTo { current },
    }
}

impl TasksApp {
    #[tracing::instrument(skip_all, fields(project = %new.project, environment = %new.environment))]
    pub async fn rollback(&self, principal: &Principal, bearer: &str, new: RollbackRun) -> Result<RolledBack, Error> {
        require(principal, Role::Operator, "rolling back")?;
        if new.project.is_empty() {
            return Err(Error::invalid("project", "is required (a project slug)"));
        }
        if new.environment.is_empty() {
            return Err(Error::invalid("environment", "is required"));
        }
        let info = self
            .projects
            .lookup(bearer, &new.project, Some(&new.environment))
            .await?;
        if let Some((tier, protected)) = info.environment
            && (tier == Tier::Production || protected)
        {
            require(
                principal,
                Role::Admin,
                "rolling back a production or protected environment",
            )?;
        }
        let history = self
            .projects
            .deployments(bearer, &new.project, &new.environment)
            .await?;
        let wanted = (!new.to.is_empty()).then_some(new.to.as_str());
        let env = &new.environment;
        let (from, to) = match plan(&history, wanted) {
            Plan::Go { from, to } => (from, to),
            Plan::NothingDeployed => {
                return Err(Error::FailedPrecondition(format!(
                    "nothing to roll back: {env} of {} has no successful deployment",
                    info.slug
                )));
            }
            Plan::NothingToRollBackTo { current } => {
                return Err(Error::FailedPrecondition(format!(
                    "nothing to roll back to: {env} of {} runs {current} and has no earlier successful deployment of \
                     another version that was not rolled back",
                    info.slug
                )));
            }
            Plan::NotAGoodVersion { current } => {
                return Err(Error::invalid(
                    "to",
                    format!(
                        "{:?} is not a version to roll back to: it must have been deployed to {env} with success \
                         before the current {current}, and never rolled back",
                        new.to
                    ),
                ));
            }
        };
        let definition = self
            .projects
            .definition(bearer, &info.slug, DEPLOY_DEFINITION)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => Error::FailedPrecondition(format!(
                    "project {} has no {DEPLOY_DEFINITION} definition to roll back with",
                    info.slug
                )),
                other => other,
            })?;
        if definition.kind != RunKind::Deploy {
            return Err(Error::FailedPrecondition(format!(
                "the {DEPLOY_DEFINITION} definition of {} is not a deploy definition",
                info.slug
            )));
        }
        let run = CreateRun {
            project: info.slug,
            definition: DEPLOY_DEFINITION.to_owned(),
            environment: new.environment,
            version: to.clone(),
            commit_sha: String::new(),
            idempotency_key: new.idempotency_key,
            trigger: Some(Trigger::Rollback),
            asked_by: new.asked_by,
        };
        let (pipeline, created) = self.run_definition(principal, bearer, run, definition).await?;
        if created {
            tracing::info!(pipeline_id = %pipeline.id, %from, %to, "rollback started");
        }
        Ok(RolledBack {
            pipeline,
            created,
            from_version: from,
            to_version: to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spec`: newest first, `version:flags` with flags among `ok` (succeeded), `fail`, `rb` (status rolled back),
    /// `rollback` (the deployment was a rollback).
    fn history(spec: &[&str]) -> Vec<PastDeployment> {
        spec.iter()
            .map(|entry| {
                let (version, flags) = entry.split_once(':').expect("version:flags");
                PastDeployment {
                    version: version.into(),
                    succeeded: flags.contains("ok"),
                    rolled_back: flags.split(',').any(|f| f == "rb"),
                    rollback: flags.contains("rollback"),
                }
            })
            .collect()
    }

    fn go(from: &str, to: &str) -> Plan {
        Plan::Go {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn the_previous_good_version_is_chosen() {
        let h = history(&["3.0:ok", "2.0:fail", "2.0:ok", "1.0:ok"]);
        assert_eq!(plan(&h, None), go("3.0", "2.0"));
    }

    #[test]
    fn failed_deployments_and_the_current_version_are_skipped() {
        let h = history(&["3.0:ok", "2.5:fail", "3.0:ok", "2.0:ok"]);
        assert_eq!(plan(&h, None), go("3.0", "2.0"));
    }

    #[test]
    fn versions_that_were_rolled_back_are_skipped() {
        // 3.0 was rolled back to 2.0; rolling back again goes past both, to 1.0.
        let h = history(&["2.0:ok,rollback", "3.0:ok", "2.0:ok", "1.0:ok"]);
        assert_eq!(plan(&h, None), go("2.0", "1.0"));
        // A deployment whose status says rolled back is never a target either.
        let h = history(&["3.0:ok", "2.0:rb", "2.0:ok", "1.0:ok"]);
        assert_eq!(plan(&h, None), go("3.0", "1.0"));
    }

    #[test]
    fn nothing_to_roll_back_to_is_said_so() {
        assert_eq!(plan(&[], None), Plan::NothingDeployed);
        assert_eq!(plan(&history(&["1.0:fail"]), None), Plan::NothingDeployed);
        let only = history(&["1.0:ok", "1.0:ok", "0.9:fail"]);
        assert_eq!(plan(&only, None), Plan::NothingToRollBackTo { current: "1.0".into() });
        let all_rolled_back = history(&["1.0:ok,rollback", "2.0:ok", "1.0:ok"]);
        assert_eq!(
            plan(&all_rolled_back, None),
            Plan::NothingToRollBackTo { current: "1.0".into() }
        );
    }

    #[test]
    fn to_must_be_a_previous_good_version() {
        let h = history(&["3.0:ok", "2.5:fail", "2.0:ok", "1.0:ok"]);
        assert_eq!(plan(&h, Some("1.0")), go("3.0", "1.0"));
        for bad in ["3.0", "2.5", "9.9"] {
            assert_eq!(
                plan(&h, Some(bad)),
                Plan::NotAGoodVersion { current: "3.0".into() },
                "{bad}"
            );
        }
    }
}
