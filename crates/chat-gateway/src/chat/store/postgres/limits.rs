//! Rate windows on PostgreSQL ([`crate::chat::store::limits`]): the (bucket, subject) row is created if missing and
//! locked `FOR UPDATE` before it is read, so replicas taking a slot at once queue on it and each sees the others' hits.

use sqlx::Row;

use super::PostgresStore;
use crate::chat::store::StoreResult;
use crate::chat::store::limits::{Admission, SlotRequest, take};

pub(super) async fn take_slot(store: &PostgresStore, request: &SlotRequest<'_>) -> StoreResult<Admission> {
    let mut tx = store.pool.begin().await?;
    sqlx::query(
        "INSERT INTO rate_windows (bucket, subject, hits, updated_at) VALUES ($1, $2, '', $3) \
         ON CONFLICT (bucket, subject) DO NOTHING",
    )
    .bind(request.bucket)
    .bind(request.subject)
    .bind(crate::chat::store::micros(request.now))
    .execute(&mut *tx)
    .await?;
    let stored: String = sqlx::query("SELECT hits FROM rate_windows WHERE bucket = $1 AND subject = $2 FOR UPDATE")
        .bind(request.bucket)
        .bind(request.subject)
        .fetch_one(&mut *tx)
        .await?
        .try_get("hits")?;
    let (admission, hits) = take(&stored, request);
    if admission == Admission::Admitted {
        sqlx::query("UPDATE rate_windows SET hits = $3, updated_at = $4 WHERE bucket = $1 AND subject = $2")
            .bind(request.bucket)
            .bind(request.subject)
            .bind(hits)
            .bind(crate::chat::store::micros(request.now))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(admission)
}
