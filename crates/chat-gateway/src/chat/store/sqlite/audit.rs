//! The audit trail on SQLite. Appends run on the single writer inside `BEGIN IMMEDIATE`, so they are serialised and
//! the chain never forks; triggers refuse UPDATE and DELETE on the log.

use sqlx::{Sqlite, SqliteConnection};

use crate::chat::store::audit::RawAuditRow;
use crate::chat::store::shared::append_audit;
use crate::chat::store::{NewAuditRecord, StoreResult};

/// Appends `record` at the end of the chain, in the caller's transaction.
pub(super) async fn append(conn: &mut SqliteConnection, record: NewAuditRecord) -> StoreResult<RawAuditRow> {
    append_audit::<Sqlite>(conn, record).await
}
