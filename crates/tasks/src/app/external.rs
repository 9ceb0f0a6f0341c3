//! TrackExternalRun: the gateway's GitHub webhook intake (role `service`) or an admin reports a GitHub Actions run;
//! it becomes a tracked pipeline (see [`crate::domain::external`]) created on its first delivery and merged with
//! every later one.
//!
//! The run is found by its idempotency key `gh:<external id>` (hashed when the id does not fit the key's alphabet or
//! length), so the first delivery is an idempotent create and the others a compare-and-set merge with retries, which
//! emits the same events as any transition: the dashboards show GitHub runs live.

use sha2::{Digest, Sha256};

use devopstrack_platform::auth::{Principal, Role};

use super::{TasksApp, writes};
use crate::domain::external::{ExternalRun, TrackExternalRun};
use crate::domain::{CommitRef, DeployTarget, Pipeline, PipelineMeta, Source, TRACKED_KEY_PREFIX, Trigger};
use crate::error::Error;
use crate::store::Created;

const MAX_TRIGGERED_BY_CHARS: usize = 100;

/// The `service` role (the webhook intake) or an admin; checked before anything is decoded.
pub fn require_tracker(principal: &Principal) -> Result<(), Error> {
    match principal.role {
        Role::Service | Role::Admin => Ok(()),
        Role::Viewer | Role::Operator => Err(Error::PermissionDenied(format!(
            "tracking an external run needs the service or admin role; you are {}",
            principal.role
        ))),
    }
}

impl TasksApp {
    /// Creates or updates the tracked run and returns it as stored. `bearer` is the caller's token, used to look the
    /// project (and environment) up in the projects service as the caller.
    #[tracing::instrument(skip_all, fields(project = %request.project, external_id = %request.run.external_id))]
    pub async fn track_external_run(
        &self,
        principal: &Principal,
        bearer: &str,
        request: TrackExternalRun,
    ) -> Result<Pipeline, Error> {
        require_tracker(principal)?;
        if request.project.is_empty() || request.project.len() > 100 {
            return Err(Error::invalid(
                "project",
                "is required (a project slug, at most 100 characters)",
            ));
        }
        let deploy = deploy(&request.environment, &request.version)?;
        let triggered_by = triggered_by(&request.triggered_by)?;
        let commit = CommitRef::parse(&request.commit_sha, request.commit_time, self.now())?;
        let mut run = ExternalRun::parse(&request.run)?;
        run.commit = commit;

        let info = self
            .projects
            .lookup(bearer, &request.project, deploy.as_ref().map(|(env, _)| env.as_str()))
            .await
            .map_err(|e| match e {
                Error::PermissionDenied(why) => Error::PermissionDenied(format!(
                    "project: the projects service does not let this caller ({}) read project {:?}: {why}",
                    principal.role, request.project
                )),
                other => other,
            })?;
        let target = match (deploy, info.environment) {
            (Some((environment, version)), Some((tier, _))) => Some(DeployTarget {
                environment,
                version,
                tier,
                // Nothing is gated here: GitHub runs the deploy.
                protected: false,
            }),
            _ => None,
        };
        let meta = PipelineMeta {
            project: info.slug,
            target,
            trigger: Trigger::Webhook,
            triggered_by,
            idempotency_key: Some(idempotency_key(&run.external_id)),
            source: Source::Github {
                external_url: run.external_url.clone(),
                external_id: run.external_id.clone(),
            },
            commit: run.commit.clone(),
        };
        let now = self.now();
        let (mut pipeline, effects) = Pipeline::track(&run, meta, now)?;
        let writes = writes::for_effects(&pipeline, &effects, now);
        let existing = match self.store.create_pipeline(&pipeline, &writes).await? {
            Created::Created { number } => {
                pipeline.number = number;
                self.counters.observe(&pipeline, &effects);
                tracing::info!(pipeline_id = %pipeline.id, "tracked run created");
                return Ok(pipeline);
            }
            Created::Existing(stored) => stored.pipeline,
        };
        match &existing.meta.source {
            Source::Github { external_id, .. } if *external_id == run.external_id => {}
            _ => {
                return Err(Error::FailedPrecondition(format!(
                    "externalId: the idempotency key of this run is held by pipeline {}, which is not tracked from \
                     GitHub run {}",
                    existing.id, run.external_id
                )));
            }
        }
        let (pipeline, _) = self
            .transition(existing.id, |p, now| p.merge_external(&run, now))
            .await?;
        Ok(pipeline)
    }
}

/// `gh:<id>` when the id fits a key (at most 64 characters of `[A-Za-z0-9._:-]`), else `gh:#<sha-256 of the id>`
/// (first 60 hex digits).
pub fn idempotency_key(external_id: &str) -> String {
    let fits = external_id.len() <= 64 - TRACKED_KEY_PREFIX.len()
        && external_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if fits {
        format!("{TRACKED_KEY_PREFIX}{external_id}")
    } else {
        let digest = hex::encode(Sha256::digest(external_id.as_bytes()));
        format!("{TRACKED_KEY_PREFIX}#{}", &digest[..60])
    }
}

fn deploy(environment: &str, version: &str) -> Result<Option<(String, String)>, Error> {
    match (environment.is_empty(), version.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => {
            if version.chars().count() > 64 || version.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid(
                    "version",
                    "at most 64 characters, no spaces or control characters",
                ));
            }
            Ok(Some((environment.to_owned(), version.to_owned())))
        }
        (true, false) => Err(Error::invalid("environment", "is required with version (a deploy)")),
        (false, true) => Err(Error::invalid("version", "is required with environment (a deploy)")),
    }
}

fn triggered_by(raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_TRIGGERED_BY_CHARS || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "triggeredBy",
            format!("at most {MAX_TRIGGERED_BY_CHARS} characters, no spaces or control characters"),
        ));
    }
    Ok(if raw.is_empty() {
        "github".to_owned()
    } else {
        format!("github:{raw}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_id_when_it_fits_and_a_digest_otherwise() {
        assert_eq!(idempotency_key("1234567890"), "gh:1234567890");
        let odd = idempotency_key("run/with spaces");
        let long = idempotency_key(&"9".repeat(128));
        for key in [&odd, &long] {
            assert!(key.starts_with("gh:#") && key.len() == 64, "{key}");
        }
        assert_ne!(odd, long);
        assert_eq!(idempotency_key(&"9".repeat(128)), long, "stable");
    }

    #[test]
    fn only_the_service_role_and_admins_track_runs() {
        let p = |role| Principal {
            subject: "s".into(),
            role,
            name: String::new(),
            token_id: String::new(),
            expires_at: 0,
        };
        assert!(require_tracker(&p(Role::Service)).is_ok());
        assert!(require_tracker(&p(Role::Admin)).is_ok());
        for role in [Role::Viewer, Role::Operator] {
            assert!(matches!(require_tracker(&p(role)), Err(Error::PermissionDenied(_))));
        }
    }

    #[test]
    fn side_fields_are_checked_naming_them() {
        assert_eq!(triggered_by("octocat").unwrap(), "github:octocat");
        assert_eq!(triggered_by("").unwrap(), "github");
        assert!(triggered_by("a b").unwrap_err().to_string().starts_with("triggeredBy:"));
        assert!(deploy("staging", "").unwrap_err().to_string().starts_with("version:"));
        assert!(deploy("", "1.0").unwrap_err().to_string().starts_with("environment:"));
    }
}
