//! The audit trail on PostgreSQL. Appends lock the chain's head row (`SELECT … FOR UPDATE`), so concurrent appends
//! from any replica queue there and the chain never forks; a trigger refuses UPDATE, DELETE and TRUNCATE on the log.

use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use crate::chat::store::audit::{ChainWalk, KindFilter, PageKey, QueryPlan, RawAuditRow};
use crate::chat::store::rows::raw_audit_row;
use crate::chat::store::statements::{self as sql, AUDIT_COLUMNS, SELECT_AUDIT_HEAD, audit_texts};
use crate::chat::store::{AuditPage, AuditQuery, ChainReport, NewAuditRecord, StoreResult};

/// Rows read per round trip while verifying.
const VERIFY_BATCH: i64 = 500;

/// Appends `record` at the end of the chain, in the caller's transaction.
pub(super) async fn append(conn: &mut PgConnection, record: NewAuditRecord) -> StoreResult<RawAuditRow> {
    let head = sqlx::query(sql!("{SELECT_AUDIT_HEAD} FOR UPDATE"))
        .fetch_one(&mut *conn)
        .await?;
    let row = record.into_row(head.try_get("seq")?, &head.try_get::<String, _>("hash")?)?;
    let mut insert = sqlx::query(sql::insert_audit()).bind(row.seq).bind(at(&row)?);
    for text in audit_texts(&row) {
        insert = insert.bind(text);
    }
    insert.execute(&mut *conn).await?;
    sqlx::query(sql::ADVANCE_AUDIT_HEAD)
        .bind(row.seq)
        .bind(&row.hash)
        .execute(&mut *conn)
        .await?;
    Ok(row)
}

fn at(row: &RawAuditRow) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(row.at_micros)
        .ok_or_else(|| crate::chat::store::StoreError::invalid("at", "out of range"))
}

pub(super) async fn page(pool: &PgPool, query: &AuditQuery, key: &PageKey) -> StoreResult<AuditPage> {
    let plan = QueryPlan::new(query, key)?;
    let mut sql = QueryBuilder::<Postgres>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE TRUE"));
    if let Some(before) = plan.before_seq {
        sql.push(" AND seq < ").push_bind(before);
    }
    if let Some(actor) = &plan.actor {
        sql.push(" AND actor_id = ").push_bind(actor.clone());
    }
    match &plan.kind {
        Some(KindFilter::Exact(kind)) => {
            sql.push(" AND kind = ").push_bind(kind.clone());
        }
        Some(KindFilter::Prefix(prefix)) => {
            sql.push(" AND starts_with(kind, ").push_bind(prefix.clone()).push(")");
        }
        None => {}
    }
    if let Some(from) = plan.from {
        sql.push(" AND at >= ").push_bind(from);
    }
    if let Some(to) = plan.to {
        sql.push(" AND at < ").push_bind(to);
    }
    // One more than the page: whether older records match decides the next token.
    sql.push(" ORDER BY seq DESC LIMIT ")
        .push_bind(i64::from(plan.limit) + 1);
    let rows = sql.build().fetch_all(pool).await?;
    let records = rows
        .iter()
        .map(|row| raw_audit_row(row)?.into_record())
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(plan.page(key, records))
}

pub(super) async fn verify(pool: &PgPool) -> StoreResult<ChainReport> {
    // The head first: records appended while the walk runs lie beyond it and are left for the next run.
    let head = sqlx::query(sql::SELECT_AUDIT_HEAD).fetch_one(pool).await?;
    let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let mut walk = ChainWalk::new();
    loop {
        let rows = sqlx::query(sql::verify_batch())
            .bind(walk.after())
            .bind(head_seq)
            .bind(VERIFY_BATCH)
            .fetch_all(pool)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Err(report) = walk.step(raw_audit_row(row)?) {
                return Ok(report);
            }
        }
    }
    Ok(walk.finish((head_seq, &head_hash)))
}
