//! Deployments on SQLite: table `deployments` (idempotent by id, listed newest first by `(finished_at, id)`) and the
//! environment states derived from it. It implements [`DeploymentRecords`].

use async_trait::async_trait;
use std::collections::HashMap;

use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col, uuid_col};

use super::SqliteStore;
use crate::domain::{
    CommitSha, DeploymentRecord, DeploymentStatus, EnvName, EnvironmentState, TimeCursor, VersionLabel,
};
use crate::store::{DeploymentRecords, StoreError, StoreResult};

macro_rules! deployment_columns {
    () => {
        "id, project_id, environment, version, commit_sha, status, started_at, finished_at, triggered_by, pipeline_id, \
         rollback"
    };
}

impl SqliteStore {
    async fn latest_deployment(
        &self,
        project_id: Uuid,
        environment: &EnvName,
        succeeded_only: bool,
    ) -> StoreResult<Option<DeploymentRecord>> {
        let sql = if succeeded_only {
            concat!(
                "SELECT ",
                deployment_columns!(),
                " FROM deployments WHERE project_id = ?1 AND environment = ?2 AND status = 'succeeded'",
                " ORDER BY finished_at DESC, id DESC LIMIT 1"
            )
        } else {
            concat!(
                "SELECT ",
                deployment_columns!(),
                " FROM deployments WHERE project_id = ?1 AND environment = ?2",
                " ORDER BY finished_at DESC, id DESC LIMIT 1"
            )
        };
        let row = sqlx::query(sql)
            .bind(project_id.to_string())
            .bind(environment.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(deployment_from_row).transpose()
    }
}

#[async_trait]
impl DeploymentRecords for SqliteStore {
    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO deployments (",
            deployment_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING"
        ))
        .bind(&deployment.id)
        .bind(deployment.project_id.to_string())
        .bind(deployment.environment.as_str())
        .bind(deployment.version.as_str())
        .bind(deployment.commit_sha.as_ref().map(CommitSha::as_str))
        .bind(deployment.status.as_str())
        .bind(micros(deployment.started_at))
        .bind(micros(deployment.finished_at))
        .bind(&deployment.triggered_by)
        .bind(&deployment.pipeline_id)
        .bind(deployment.rollback)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() > 0 {
            return Ok((deployment.clone(), true));
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            deployment_columns!(),
            " FROM deployments WHERE id = ?1"
        ))
        .bind(&deployment.id)
        .fetch_one(&self.pool)
        .await?;
        Ok((deployment_from_row(&row)?, false))
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            deployment_columns!(),
            " FROM deployments WHERE project_id = "
        ));
        query.push_bind(project_id.to_string());
        if let Some(environment) = environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.as_str().to_owned());
        }
        if let Some(cursor) = after {
            query
                .push(" AND (finished_at, id) < (")
                .push_bind(micros(cursor.at))
                .push(", ")
                .push_bind(cursor.id.clone())
                .push(")");
        }
        query
            .push(" ORDER BY finished_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(deployment_from_row).collect()
    }

    #[tracing::instrument(name = "store.environment_states", skip_all, fields(db.system = "sqlite"))]
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

    /// See `environment_states_many` in `sqlite.rs`: two queries for the whole page.
    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        if projects.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; projects.len()].join(",");
        let mut latest: [HashMap<(Uuid, String), DeploymentRecord>; 2] = [HashMap::new(), HashMap::new()];
        for (succeeded_only, found) in [true, false].into_iter().zip(latest.iter_mut()) {
            let sql = format!(
                "SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY project_id, environment \
                 ORDER BY finished_at DESC, id DESC) AS rn FROM deployments WHERE project_id IN ({placeholders}){only}) \
                 WHERE rn = 1",
                columns = deployment_columns!(),
                only = if succeeded_only {
                    " AND status = 'succeeded'"
                } else {
                    ""
                },
            );
            // Safe: constant column list and `?` placeholders only; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (project_id, _) in projects {
                query = query.bind(project_id.to_string());
            }
            for row in query.fetch_all(&self.pool).await? {
                let deployment = deployment_from_row(&row)?;
                found.insert(
                    (deployment.project_id, deployment.environment.as_str().to_owned()),
                    deployment,
                );
            }
        }
        let [mut current, mut last] = latest;
        Ok(projects
            .iter()
            .map(|(project_id, environments)| {
                environments
                    .iter()
                    .map(|environment| {
                        let key = (*project_id, environment.as_str().to_owned());
                        EnvironmentState {
                            environment: environment.clone(),
                            current: current.remove(&key),
                            last: last.remove(&key),
                        }
                    })
                    .collect()
            })
            .collect())
    }
}

fn deployment_from_row(row: &SqliteRow) -> StoreResult<DeploymentRecord> {
    let status: String = row.try_get("status")?;
    Ok(DeploymentRecord {
        id: row.try_get("id")?,
        project_id: uuid_col(row, "project_id")?,
        environment: EnvName::from_trusted(row.try_get("environment")?),
        version: VersionLabel::from_trusted(row.try_get("version")?),
        commit_sha: row
            .try_get::<Option<String>, _>("commit_sha")?
            .map(CommitSha::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status: {status:?} is not a deployment status")))?,
        started_at: time_col(row, "started_at")?,
        finished_at: time_col(row, "finished_at")?,
        triggered_by: row.try_get("triggered_by")?,
        pipeline_id: row.try_get("pipeline_id")?,
        rollback: row.try_get("rollback")?,
    })
}
