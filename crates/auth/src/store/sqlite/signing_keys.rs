//! Signing keys on SQLite: the `signing_keys` table, newest first. The trait methods in `sqlite.rs` delegate here.

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use devopstrack_platform::sqlite::{micros, time_col};

use crate::domain::SigningKeyRecord;
use crate::store::StoreResult;
use crate::store::conflict_on_unique;

pub(super) async fn insert(pool: &SqlitePool, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query("INSERT INTO signing_keys (kid, private_key, created_at) VALUES (?1, ?2, ?3)")
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(micros(key.created_at))
        .execute(pool)
        .await
        .map_err(conflict_on_unique("kid"))?;
    Ok(())
}

pub(super) async fn all(pool: &SqlitePool) -> StoreResult<Vec<SigningKeyRecord>> {
    let rows = sqlx::query("SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at DESC, kid DESC")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SigningKeyRecord {
                kid: row.try_get("kid")?,
                private_key: row.try_get("private_key")?,
                created_at: time_col(row, "created_at")?,
            })
        })
        .collect()
}

pub(super) async fn update(pool: &SqlitePool, kid: &str, private_key: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE signing_keys SET private_key = ?2 WHERE kid = ?1")
        .bind(kid)
        .bind(private_key)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete(pool: &SqlitePool, kid: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM signing_keys WHERE kid = ?1")
        .bind(kid)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
