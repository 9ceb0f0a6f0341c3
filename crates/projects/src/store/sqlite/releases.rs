//! Releases on SQLite: table `releases`, unique per `(project_id, version)`, listed newest first by `(created_at, id)`.
//! It implements [`ReleaseRecords`].

use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col, uuid_col};

use super::{SqliteStore, conflict_on_unique};
use crate::domain::{CommitSha, ReleaseRecord, TimeCursor, VersionLabel};
use crate::store::{ReleaseRecords, StoreResult};

macro_rules! release_columns {
    () => {
        "id, project_id, version, commit_sha, notes, created_by, created_at"
    };
}

#[async_trait]
impl ReleaseRecords for SqliteStore {
    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO releases (",
            release_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))
        .bind(release.id.to_string())
        .bind(release.project_id.to_string())
        .bind(release.version.as_str())
        .bind(release.commit_sha.as_ref().map(CommitSha::as_str))
        .bind(&release.notes)
        .bind(&release.created_by)
        .bind(micros(release.created_at))
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("release version"))?;
        Ok(())
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE project_id = ?1 AND version = ?2"
        ))
        .bind(project_id.to_string())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(release_from_row).transpose()
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE project_id = "
        ));
        query.push_bind(project_id.to_string());
        if let Some(cursor) = after {
            query
                .push(" AND (created_at, id) < (")
                .push_bind(micros(cursor.at))
                .push(", ")
                .push_bind(cursor.id.clone())
                .push(")");
        }
        query
            .push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(release_from_row).collect()
    }
}

fn release_from_row(row: &SqliteRow) -> StoreResult<ReleaseRecord> {
    Ok(ReleaseRecord {
        id: uuid_col(row, "id")?,
        project_id: uuid_col(row, "project_id")?,
        version: VersionLabel::from_trusted(row.try_get("version")?),
        commit_sha: row
            .try_get::<Option<String>, _>("commit_sha")?
            .map(CommitSha::from_trusted),
        notes: row.try_get("notes")?,
        created_by: row.try_get("created_by")?,
        created_at: time_col(row, "created_at")?,
    })
}
