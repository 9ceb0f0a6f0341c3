//! Deployments on MongoDB: collection `deployments` (`_id` = the deployment's own id, so recording is idempotent on the
//! unique `_id`), listed newest first by `(finished_at_us, _id)`, and the environment states derived from it. It
//! implements [`DeploymentRecords`].

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use uuid::Uuid;

use super::fields::{date, opt_string, string, time, uuid};
use super::{MongoStore, after_key, and, is_duplicate_key};
use crate::domain::{
    CommitSha, DeploymentRecord, DeploymentStatus, EnvName, EnvironmentState, TimeCursor, VersionLabel,
};
use crate::store::{DeploymentRecords, StoreError, StoreResult};

impl MongoStore {
    async fn latest_deployment(
        &self,
        project_id: Uuid,
        environment: &EnvName,
        succeeded_only: bool,
    ) -> StoreResult<Option<DeploymentRecord>> {
        let mut filter = doc! { "project_id": project_id.to_string(), "environment": environment.as_str() };
        if succeeded_only {
            filter.insert("status", DeploymentStatus::Succeeded.as_str());
        }
        let found = self
            .deployments
            .find_one(filter)
            .sort(doc! { "finished_at_us": -1, "_id": -1 })
            .await?;
        found.as_ref().map(deployment_from_doc).transpose()
    }
}

#[async_trait]
impl DeploymentRecords for MongoStore {
    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let document = doc! {
            "_id": &deployment.id,
            "project_id": deployment.project_id.to_string(),
            "environment": deployment.environment.as_str(),
            "version": deployment.version.as_str(),
            "commit_sha": deployment.commit_sha.as_ref().map(CommitSha::as_str),
            "status": deployment.status.as_str(),
            "started_at": date(deployment.started_at),
            "started_at_us": deployment.started_at.timestamp_micros(),
            "finished_at": date(deployment.finished_at),
            "finished_at_us": deployment.finished_at.timestamp_micros(),
            "triggered_by": &deployment.triggered_by,
            "pipeline_id": &deployment.pipeline_id,
            "rollback": deployment.rollback,
        };
        match self.deployments.insert_one(document).await {
            Ok(_) => Ok((deployment.clone(), true)),
            Err(err) if is_duplicate_key(&err) => {
                let stored = self
                    .deployments
                    .find_one(doc! { "_id": &deployment.id })
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("deployment {:?}: duplicate key but not found", deployment.id))
                    })?;
                Ok((deployment_from_doc(&stored)?, false))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // see list_projects
        }
        let mut clauses = vec![doc! { "project_id": project_id.to_string() }];
        if let Some(environment) = environment {
            clauses.push(doc! { "environment": environment.as_str() });
        }
        if let Some(cursor) = after {
            clauses.push(after_key(
                "finished_at_us",
                Bson::Int64(cursor.at.timestamp_micros()),
                cursor.id.clone(),
                true,
            ));
        }
        let found: Vec<Document> = self
            .deployments
            .find(and(clauses))
            .sort(doc! { "finished_at_us": -1, "_id": -1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        found.iter().map(deployment_from_doc).collect()
    }

    #[tracing::instrument(name = "store.environment_states", skip_all, fields(db.system = "mongodb"))]
    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>> {
        let mut states = Vec::with_capacity(environments.len());
        for environment in environments {
            states.push(EnvironmentState {
                environment: environment.clone(),
                current: self.latest_deployment(project_id, environment, true).await?,
                last: self.latest_deployment(project_id, environment, false).await?,
            });
        }
        Ok(states)
    }
}

fn deployment_from_doc(d: &Document) -> StoreResult<DeploymentRecord> {
    let status = string(d, "status")?;
    Ok(DeploymentRecord {
        id: string(d, "_id")?,
        project_id: uuid(d, "project_id")?,
        environment: EnvName::from_trusted(string(d, "environment")?),
        version: VersionLabel::from_trusted(string(d, "version")?),
        commit_sha: opt_string(d, "commit_sha")?.map(CommitSha::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status: {status:?} is not a deployment status")))?,
        started_at: time(d, "started_at_us")?,
        finished_at: time(d, "finished_at_us")?,
        triggered_by: string(d, "triggered_by")?,
        pipeline_id: string(d, "pipeline_id")?,
        // Absent in deployments recorded before rollbacks existed: they were not.
        rollback: d.get_bool("rollback").unwrap_or(false),
    })
}
