//! The backlog gauges' sample ([`TaskStore::backlog`](crate::store::TaskStore::backlog)): two aggregate reads.

use chrono::Utc;
use sqlx::SqlitePool;

use devopstrack_platform::sqlite::micros;

use crate::store::{Backlog, StoreResult};

pub(super) async fn sample(pool: &SqlitePool) -> StoreResult<Backlog> {
    let (oldest, outbox): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT min(available_at) FROM queue WHERE leased_by IS NULL AND available_at <= ?1), \
                (SELECT count(*) FROM outbox)",
    )
    .bind(micros(Utc::now()))
    .fetch_one(pool)
    .await?;
    Ok(Backlog {
        oldest_ready_at: oldest.and_then(chrono::DateTime::from_timestamp_micros),
        outbox: u64::try_from(outbox).unwrap_or_default(),
    })
}
