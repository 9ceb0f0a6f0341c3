//! Rate windows on SQLite ([`crate::chat::store::limits`]): read, decide and write in one `BEGIN IMMEDIATE`
//! transaction of the single writer, so no other store on the file interleaves.

use devopstrack_platform::sqlite::micros;
use sqlx::Row;

use super::SqliteStore;
use crate::chat::store::StoreResult;
use crate::chat::store::limits::{Admission, SlotRequest, take};

pub(super) async fn take_slot(store: &SqliteStore, request: &SlotRequest<'_>) -> StoreResult<Admission> {
    let mut tx = store.begin_write().await?;
    let stored: Option<String> = sqlx::query("SELECT hits FROM rate_windows WHERE bucket = ?1 AND subject = ?2")
        .bind(request.bucket)
        .bind(request.subject)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("hits"))
        .transpose()?;
    let (admission, hits) = take(stored.as_deref().unwrap_or_default(), request);
    if admission == Admission::Admitted {
        sqlx::query(
            "INSERT INTO rate_windows (bucket, subject, hits, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (bucket, subject) DO UPDATE SET hits = excluded.hits, updated_at = excluded.updated_at",
        )
        .bind(request.bucket)
        .bind(request.subject)
        .bind(hits)
        .bind(micros(request.now))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(admission)
}
