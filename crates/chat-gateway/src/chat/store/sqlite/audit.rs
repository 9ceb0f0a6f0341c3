//! The audit trail on SQLite. Appends run on the single writer inside `BEGIN IMMEDIATE`, so they are serialised and
//! the chain never forks; triggers refuse UPDATE and DELETE on the log.

use devopstrack_platform::sqlite::micros;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::chat::store::audit::{ChainWalk, KindFilter, PageKey, QueryPlan, RawAuditRow};
use crate::chat::store::rows::raw_audit_row;
use crate::chat::store::statements::{self as sql, AUDIT_COLUMNS, audit_texts};
use crate::chat::store::{AuditPage, AuditQuery, ChainReport, NewAuditRecord, StoreResult};

/// Rows read per round trip while verifying.
const VERIFY_BATCH: i64 = 500;

/// Appends `record` at the end of the chain, in the caller's transaction.
pub(super) async fn append(conn: &mut SqliteConnection, record: NewAuditRecord) -> StoreResult<RawAuditRow> {
    let head = sqlx::query(sql::SELECT_AUDIT_HEAD).fetch_one(&mut *conn).await?;
    let row = record.into_row(head.try_get("seq")?, &head.try_get::<String, _>("hash")?)?;
    let mut insert = sqlx::query(sql::insert_audit()).bind(row.seq).bind(row.at_micros);
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

pub(super) async fn page(pool: &SqlitePool, query: &AuditQuery, key: &PageKey) -> StoreResult<AuditPage> {
    let plan = QueryPlan::new(query, key)?;
    let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE TRUE"));
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
            sql.push(" AND substr(kind, 1, ")
                .push_bind(i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX))
                .push(") = ")
                .push_bind(prefix.clone());
        }
        None => {}
    }
    if let Some(from) = plan.from {
        sql.push(" AND at >= ").push_bind(micros(from));
    }
    if let Some(to) = plan.to {
        sql.push(" AND at < ").push_bind(micros(to));
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

pub(super) async fn verify(pool: &SqlitePool) -> StoreResult<ChainReport> {
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
