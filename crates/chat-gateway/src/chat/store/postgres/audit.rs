//! The audit trail on PostgreSQL. Appends lock the chain's head row (`SELECT … FOR UPDATE`), so concurrent appends
//! from any replica queue there and the chain never forks; a trigger refuses UPDATE, DELETE and TRUNCATE on the log.

use sqlx::{PgConnection, Postgres};

use crate::chat::store::audit::RawAuditRow;
use crate::chat::store::shared::append_audit;
use crate::chat::store::{NewAuditRecord, StoreResult};

/// Appends `record` at the end of the chain, in the caller's transaction.
pub(super) async fn append(conn: &mut PgConnection, record: NewAuditRecord) -> StoreResult<RawAuditRow> {
    append_audit::<Postgres>(conn, record).await
}
