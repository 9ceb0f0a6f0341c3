//! Actions and decisions on PostgreSQL. Every state change is one transaction: a conditional UPDATE on the state
//! (the compare-and-set), the decision row, the audit record and the NOTIFY.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::{audit, notify};
use crate::chat::domain::ActionState;
use crate::chat::store::actions::{
    apply_decision, apply_outcome, apply_recovery, apply_run, expiry_record, found, lost, proposal_record,
    recovered_outcome, transition,
};
use crate::chat::store::rows::{ActionRow, Columns, params_json, proposed, room_kind};
use crate::chat::store::statements::{self as sql, action_texts, open_filter};
use crate::chat::store::{
    Action, ActionScope, ChangeNotice, CodeSource, Conflict, DecisionRequest, NewAction, NewAuditRecord, Outcome,
    RequestMeta, RunRef, SHORT_CODE_ATTEMPTS, ShortCode, StoreError, StoreResult, micros,
};

pub(super) async fn propose(pool: &PgPool, new: &NewAction, codes: &CodeSource) -> StoreResult<Action> {
    new.validate()?;
    let params = params_json(&new.params)?;
    for _ in 0..SHORT_CODE_ATTEMPTS {
        let action = proposed(new, Uuid::now_v7(), codes());
        let mut tx = pool.begin().await?;
        sqlx::query(sql::INSERT_ROOM)
            .bind(action.room.to_string())
            .bind(room_kind(&action.room))
            .bind(action.created_at)
            .execute(&mut *tx)
            .await?;
        let mut insert = sqlx::query(sql::insert_action()).bind(action.id);
        for text in action_texts(&action, &params) {
            insert = insert.bind(text);
        }
        let inserted = insert
            .bind(action.created_at)
            .bind(action.updated_at)
            .bind(action.confirm_by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            // The code is held by an open action: draw again.
            tx.rollback().await?;
            continue;
        }
        finish_change(&mut tx, &action, proposal_record(&action, &new.meta)).await?;
        tx.commit().await?;
        return Ok(action);
    }
    Err(Conflict::NoFreeShortCode.into())
}

pub(super) async fn load(conn: &mut PgConnection, id: Uuid) -> StoreResult<Option<Action>> {
    let row = sqlx::query(sql::select_action())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => with_decisions(conn, &row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn open(pool: &PgPool, code: Option<&ShortCode>, scope: &ActionScope) -> StoreResult<Vec<Action>> {
    let mut conn = pool.acquire().await?;
    let mut select = sqlx::query(sql::select_open());
    for value in open_filter(code, scope) {
        select = select.bind(value);
    }
    let rows = select.fetch_all(&mut *conn).await?;
    let mut actions = Vec::with_capacity(rows.len());
    for row in &rows {
        actions.push(with_decisions(&mut conn, row).await?);
    }
    Ok(actions)
}

pub(super) async fn decide(pool: &PgPool, request: &DecisionRequest) -> StoreResult<Action> {
    let at = micros(request.at);
    let mut tx = pool.begin().await?;
    let mut action = found(request.action_id, load(&mut tx, request.action_id).await?)?;
    let change = transition(&action, &DecisionRequest { at, ..request.clone() })?;
    let updated = sqlx::query(sql::DECIDE)
        .bind(change.to.as_str())
        .bind(change.approve_by)
        .bind(at)
        .bind(action.id)
        .bind(request.expected.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(lost(action.id, request.expected, load(&mut tx, action.id).await));
    }
    sqlx::query(sql::INSERT_DECISION)
        .bind(action.id)
        .bind(request.decision.as_str())
        .bind(request.by.id())
        .bind(request.by.name())
        .bind(request.by.role().as_str())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    let record = apply_decision(&mut action, request, change, at);
    finish_change(&mut tx, &action, record).await?;
    tx.commit().await?;
    Ok(action)
}

pub(super) async fn record_run(
    pool: &PgPool,
    id: Uuid,
    run: &RunRef,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> StoreResult<Action> {
    let at = micros(at);
    let mut tx = pool.begin().await?;
    let mut action = found(id, load(&mut tx, id).await?)?;
    let updated = sqlx::query(
        "UPDATE actions SET pipeline_id = $1, run_number = $2, updated_at = $3 \
         WHERE id = $4 AND state = 'executing' AND pipeline_id IS NULL",
    )
    .bind(run.pipeline_id())
    .bind(i64::try_from(run.run_number()).unwrap_or(i64::MAX))
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let current = load(&mut tx, id).await?.unwrap_or(action);
        return Err(Conflict::RunNotRecordable {
            current: current.state,
            already_recorded: current.run.is_some(),
        }
        .into());
    }
    let record = apply_run(&mut action, run, at, meta);
    finish_change(&mut tx, &action, record).await?;
    tx.commit().await?;
    Ok(action)
}

pub(super) async fn finish(
    pool: &PgPool,
    id: Uuid,
    outcome: &Outcome,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> StoreResult<Action> {
    outcome.validate()?;
    let at = micros(at);
    let mut tx = pool.begin().await?;
    let mut action = found(id, load(&mut tx, id).await?)?;
    let updated = sqlx::query(
        "UPDATE actions SET state = $1, outcome = $2, finished_at = $3, updated_at = $3 \
         WHERE id = $4 AND state = 'executing'",
    )
    .bind(outcome.state().as_str())
    .bind(&outcome.summary)
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(lost(id, ActionState::Executing, load(&mut tx, id).await));
    }
    let record = apply_outcome(&mut action, outcome, at, meta);
    finish_change(&mut tx, &action, record).await?;
    tx.commit().await?;
    Ok(action)
}

pub(super) async fn expire_overdue(pool: &PgPool, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
    let now = micros(now);
    let mut tx = pool.begin().await?;
    // Rows another transaction holds (a decision in flight) are skipped: that one decides, or the next sweep expires.
    let due = sqlx::query(
        "WITH due AS (SELECT id, state FROM actions \
           WHERE (state = 'awaiting_confirmation' AND confirm_by < $1) \
              OR (state = 'awaiting_approval' AND approve_by < $1) \
           ORDER BY created_at, id FOR UPDATE SKIP LOCKED) \
         UPDATE actions a SET state = 'expired', updated_at = $1 FROM due WHERE a.id = due.id \
         RETURNING a.id, due.state AS previous",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = Vec::with_capacity(due.len());
    for row in &due {
        let id: Uuid = row.try_get("id")?;
        let previous: String = row.try_get("previous")?;
        let previous =
            ActionState::parse(&previous).ok_or_else(|| StoreError::Corrupt(format!("actions.state: {previous}")))?;
        let action = found(id, load(&mut tx, id).await?)?;
        finish_change(&mut tx, &action, expiry_record(&action, previous, now)).await?;
        expired.push(action);
    }
    tx.commit().await?;
    expired.sort_by_key(|a| (a.created_at, a.id));
    Ok(expired)
}

pub(super) async fn recover_stuck(
    pool: &PgPool,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Action>> {
    let (before, now) = (micros(before), micros(now));
    let mut tx = pool.begin().await?;
    // A row another transaction holds (its execution finishing after all) is skipped: that one ends it.
    let stuck: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM actions WHERE state = 'executing' AND updated_at < $1 \
         ORDER BY created_at, id FOR UPDATE SKIP LOCKED",
    )
    .bind(before)
    .fetch_all(&mut *tx)
    .await?;
    let mut recovered = Vec::with_capacity(stuck.len());
    for id in stuck {
        let mut action = found(id, load(&mut tx, id).await?)?;
        let outcome = recovered_outcome(&action);
        sqlx::query("UPDATE actions SET state = $1, outcome = $2, finished_at = $3, updated_at = $3 WHERE id = $4")
            .bind(outcome.state().as_str())
            .bind(&outcome.summary)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let record = apply_recovery(&mut action, &outcome, now);
        finish_change(&mut tx, &action, record).await?;
        recovered.push(action);
    }
    tx.commit().await?;
    Ok(recovered)
}

/// Audits a change to `action` and queues its notice, in the caller's transaction.
async fn finish_change(conn: &mut PgConnection, action: &Action, record: NewAuditRecord) -> StoreResult<()> {
    audit::append(conn, record).await?;
    notify(conn, &ChangeNotice::of_action(action)).await
}

async fn with_decisions(conn: &mut PgConnection, row: &PgRow) -> StoreResult<Action> {
    let decisions = sqlx::query(sql::select_decisions())
        .bind(row.uuid("id")?)
        .fetch_all(&mut *conn)
        .await?;
    ActionRow::read(row, &decisions)
}
