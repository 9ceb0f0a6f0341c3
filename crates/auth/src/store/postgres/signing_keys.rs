//! Signing keys on PostgreSQL: the `signing_keys` table, newest first. The trait methods in `postgres.rs` delegate
//! here.

use sqlx::Row;
use sqlx::postgres::PgPool;

use super::conflict_on_unique;
use crate::domain::SigningKeyRecord;
use crate::store::StoreResult;

pub(super) async fn insert(pool: &PgPool, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query("INSERT INTO signing_keys (kid, private_key_pem, created_at) VALUES ($1, $2, $3)")
        .bind(&key.kid)
        .bind(&key.private_key_pem)
        .bind(key.created_at)
        .execute(pool)
        .await
        .map_err(conflict_on_unique("kid"))?;
    Ok(())
}

pub(super) async fn all(pool: &PgPool) -> StoreResult<Vec<SigningKeyRecord>> {
    let rows =
        sqlx::query("SELECT kid, private_key_pem, created_at FROM signing_keys ORDER BY created_at DESC, kid DESC")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            Ok(SigningKeyRecord {
                kid: row.try_get("kid")?,
                private_key_pem: row.try_get("private_key_pem")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
