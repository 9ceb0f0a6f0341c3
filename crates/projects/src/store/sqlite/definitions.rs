//! Pipeline definitions on SQLite: table `pipeline_definitions` (primary key `(project_id, name)`, the spec as JSON
//! text), the compare-and-set replace and delete, and a new project inserted with its first definitions in one
//! transaction. It implements [`DefinitionRecords`].

use async_trait::async_trait;
use sqlx::Row;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col, uuid_col};

use super::projects::insert_project_with;
use super::{BEGIN_WRITE, SqliteStore, conflict_on_unique};
use crate::domain::{DefinitionKind, DefinitionName, DefinitionRecord, ProjectRecord};
use crate::store::{DefinitionRecords, Replace, StoreError, StoreResult};

macro_rules! definition_columns {
    () => {
        "project_id, name, kind, description, spec, allow_unreleased, version, created_at, updated_at"
    };
}

impl SqliteStore {
    /// After a compare-and-set matched nothing: which of the two reasons it was.
    async fn mismatch_or_missing(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Replace> {
        let current: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM pipeline_definitions WHERE project_id = ?1 AND name = ?2")
                .bind(project_id.to_string())
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(match current {
            Some((current,)) => Replace::VersionMismatch { current },
            None => Replace::NotFound,
        })
    }
}

#[async_trait]
impl DefinitionRecords for SqliteStore {
    async fn insert_project_with_definitions(
        &self,
        project: &ProjectRecord,
        definitions: &[DefinitionRecord],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        insert_project_with(&mut *tx, project).await?;
        for definition in definitions {
            insert_definition_with(&mut *tx, definition).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_definition(&self, definition: &DefinitionRecord) -> StoreResult<()> {
        insert_definition_with(&self.pool, definition).await
    }

    async fn definition(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Option<DefinitionRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            definition_columns!(),
            " FROM pipeline_definitions WHERE project_id = ?1 AND name = ?2"
        ))
        .bind(project_id.to_string())
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(definition_from_row).transpose()
    }

    async fn list_definitions(&self, project_id: Uuid) -> StoreResult<Vec<DefinitionRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            definition_columns!(),
            " FROM pipeline_definitions WHERE project_id = ?1 ORDER BY name"
        ))
        .bind(project_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(definition_from_row).collect()
    }

    async fn replace_definition(&self, definition: &DefinitionRecord, expected_version: i64) -> StoreResult<Replace> {
        let update = sqlx::query(
            "UPDATE pipeline_definitions SET kind = ?3, description = ?4, spec = ?5, allow_unreleased = ?6, \
             version = ?7, updated_at = ?8 WHERE project_id = ?1 AND name = ?2 AND version = ?9",
        );
        let updated = bind_definition(update, definition)?
            .bind(micros(definition.updated_at))
            .bind(expected_version)
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() > 0 {
            return Ok(Replace::Done);
        }
        self.mismatch_or_missing(definition.project_id, &definition.name).await
    }

    async fn delete_definition(
        &self,
        project_id: Uuid,
        name: &DefinitionName,
        expected_version: Option<i64>,
    ) -> StoreResult<Replace> {
        let deleted = sqlx::query(
            "DELETE FROM pipeline_definitions WHERE project_id = ?1 AND name = ?2 AND (?3 IS NULL OR version = ?3)",
        )
        .bind(project_id.to_string())
        .bind(name.as_str())
        .bind(expected_version)
        .execute(&self.pool)
        .await?;
        if deleted.rows_affected() > 0 {
            return Ok(Replace::Done);
        }
        self.mismatch_or_missing(project_id, name).await
    }
}

/// Binds `?1`..`?7`, what an insert and a replace both write: the key `(project_id, name)`, kind, description, spec,
/// `allow_unreleased` and version.
fn bind_definition<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    definition: &'q DefinitionRecord,
) -> StoreResult<Query<'q, Sqlite, SqliteArguments>> {
    Ok(query
        .bind(definition.project_id.to_string())
        .bind(definition.name.as_str())
        .bind(definition.kind.as_str())
        .bind(&definition.description)
        .bind(spec_json(definition)?)
        .bind(definition.allow_unreleased)
        .bind(definition.version))
}

async fn insert_definition_with<'e, E>(executor: E, definition: &DefinitionRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let insert = sqlx::query(concat!(
        "INSERT INTO pipeline_definitions (",
        definition_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ));
    bind_definition(insert, definition)?
        .bind(micros(definition.created_at))
        .bind(micros(definition.updated_at))
        .execute(executor)
        .await
        .map_err(conflict_on_unique("definition name"))?;
    Ok(())
}

fn spec_json(definition: &DefinitionRecord) -> StoreResult<String> {
    serde_json::to_string(&definition.spec).map_err(|e| StoreError::Corrupt(format!("definition spec: {e}")))
}

fn definition_from_row(row: &SqliteRow) -> StoreResult<DefinitionRecord> {
    let kind: String = row.try_get("kind")?;
    let spec: String = row.try_get("spec")?;
    Ok(DefinitionRecord {
        project_id: uuid_col(row, "project_id")?,
        name: DefinitionName::from_trusted(row.try_get("name")?),
        kind: DefinitionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("kind: {kind:?} is not a definition kind")))?,
        description: row.try_get("description")?,
        spec: serde_json::from_str(&spec).map_err(|e| StoreError::Corrupt(format!("definition spec: {e}")))?,
        allow_unreleased: row.try_get("allow_unreleased")?,
        version: row.try_get("version")?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
    })
}
