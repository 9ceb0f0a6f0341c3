//! Releases: a version of a project (unique per project), optionally pinned to a commit.

use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::{ProjectsApp, require, store_err};
use crate::domain::{CommitSha, ProjectRecord, ReleaseRecord, TimeCursor, VersionLabel};
use crate::error::Error;
use crate::pagination::{decode_time_token, encode_time_token, page_size};
use crate::store::StoreError;

const MAX_NOTES_CHARS: usize = 10_000;

/// CreateRelease as received. An empty commit means none.
#[derive(Debug, Clone, Default)]
pub struct NewRelease {
    pub version: String,
    pub commit_sha: String,
    pub notes: String,
}

#[derive(Debug)]
pub struct ReleasePage {
    pub releases: Vec<ReleaseRecord>,
    pub next_page_token: Option<String>,
}

/// An optional commit: empty means none.
pub(super) fn parse_optional_sha(field: &str, raw: &str) -> Result<Option<CommitSha>, Error> {
    match raw {
        "" => Ok(None),
        raw => CommitSha::parse(raw).map(Some).map_err(|e| Error::invalid(field, e)),
    }
}

/// Archived projects take no new releases or deployments.
pub(super) fn ensure_active(field: &str, project: &ProjectRecord) -> Result<(), Error> {
    match project.archived_at {
        Some(_) => Err(Error::FailedPrecondition(format!(
            "{field}: project {} is archived",
            project.slug
        ))),
        None => Ok(()),
    }
}

impl ProjectsApp {
    #[tracing::instrument(skip_all, fields(project = %project, version = %new.version))]
    pub async fn create_release(
        &self,
        principal: &Principal,
        project: &str,
        new: NewRelease,
    ) -> Result<ReleaseRecord, Error> {
        require(principal, Role::Operator)?;
        let version = VersionLabel::parse(&new.version).map_err(|e| Error::invalid("version", e))?;
        let commit_sha = parse_optional_sha("commitSha", &new.commit_sha)?;
        if new.notes.chars().count() > MAX_NOTES_CHARS {
            return Err(Error::invalid(
                "notes",
                format!("must be at most {MAX_NOTES_CHARS} characters"),
            ));
        }
        if new
            .notes
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(Error::invalid("notes", "must not contain control characters"));
        }
        let project = self.project("project", project).await?;
        ensure_active("project", &project)?;
        let release = ReleaseRecord {
            id: Uuid::now_v7(),
            project_id: project.id,
            version,
            commit_sha,
            notes: new.notes,
            created_by: principal.subject.clone(),
            created_at: self.now(),
        };
        self.store.insert_release(&release).await.map_err(|e| match e {
            StoreError::Conflict(_) => Error::Conflict(format!(
                "version: release {} of project {} already exists",
                release.version, project.slug
            )),
            other => store_err("creating a release")(other),
        })?;
        tracing::info!(release_id = %release.id, "release created");
        Ok(release)
    }

    /// The release `version` of the project (viewer): NOT_FOUND naming `version` when there is none.
    pub async fn get_release(
        &self,
        principal: &Principal,
        project: &str,
        version: &str,
    ) -> Result<ReleaseRecord, Error> {
        require(principal, Role::Viewer)?;
        let label = VersionLabel::parse(version).map_err(|e| Error::invalid("version", e))?;
        let project = self.project("project", project).await?;
        self.store
            .release_by_version(project.id, label.as_str())
            .await
            .map_err(store_err("loading a release"))?
            .ok_or_else(|| Error::NotFound(format!("version: project {} has no release {label}", project.slug)))
    }

    /// Newest first.
    pub async fn list_releases(
        &self,
        principal: &Principal,
        project: &str,
        size: i32,
        token: &str,
    ) -> Result<ReleasePage, Error> {
        require(principal, Role::Viewer)?;
        let limit = page_size(size)?;
        let project = self.project("project", project).await?;
        let scope = format!("releases:{}", project.id);
        let after = decode_time_token(token, &scope)?;
        let mut releases = self
            .store
            .list_releases(project.id, after.as_ref(), limit + 1)
            .await
            .map_err(store_err("listing releases"))?;
        let next_page_token = if releases.len() > limit as usize {
            releases.truncate(limit as usize);
            releases.last().map(|r| {
                encode_time_token(
                    &scope,
                    &TimeCursor {
                        at: r.created_at,
                        id: r.id.to_string(),
                    },
                )
            })
        } else {
            None
        };
        Ok(ReleasePage {
            releases,
            next_page_token,
        })
    }
}
