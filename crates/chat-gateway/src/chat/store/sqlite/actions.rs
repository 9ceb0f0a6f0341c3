//! Actions and decisions on SQLite. Every state change is one write transaction: a conditional UPDATE on the state
//! (the compare-and-set), the decision row and the audit record; subscribers hear of it after the commit.

use chrono::{DateTime, Utc};
use devopstrack_platform::sqlite::micros as sql_micros;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::{SqliteStore, audit};
use crate::chat::domain::ActionState;
use crate::chat::store::actions::{
    apply_decision, apply_outcome, apply_recovery, apply_run, expiry_record, found, lost, proposal_record,
    recovered_outcome, transition,
};
use crate::chat::store::rows::{ActionRow, Columns, params_json, proposed, room_kind};
use crate::chat::store::statements::{self as sql, action_texts, open_filter};
use crate::chat::store::{
    Action, ActionScope, ChangeNotice, CodeSource, Conflict, DecisionRequest, NewAction, Outcome, RequestMeta, RunRef,
    SHORT_CODE_ATTEMPTS, ShortCode, StoreError, StoreResult, micros,
};

pub(super) async fn propose(store: &SqliteStore, new: &NewAction, codes: &CodeSource) -> StoreResult<Action> {
    new.validate()?;
    let params = params_json(&new.params)?;
    let mut tx = store.begin_write().await?;
    sqlx::query(sql::INSERT_ROOM)
        .bind(new.room.to_string())
        .bind(room_kind(&new.room))
        .bind(sql_micros(new.at))
        .execute(&mut *tx)
        .await?;
    for _ in 0..SHORT_CODE_ATTEMPTS {
        let action = proposed(new, Uuid::now_v7(), codes());
        let mut insert = sqlx::query(sql::insert_action()).bind(action.id.to_string());
        for text in action_texts(&action, &params) {
            insert = insert.bind(text);
        }
        let inserted = insert
            .bind(sql_micros(action.created_at))
            .bind(sql_micros(action.updated_at))
            .bind(sql_micros(action.confirm_by))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            // The code is held by an open action: draw again.
            continue;
        }
        audit::append(&mut tx, proposal_record(&action, &new.meta)).await?;
        store.commit(tx, vec![ChangeNotice::of_action(&action)]).await?;
        return Ok(action);
    }
    Err(Conflict::NoFreeShortCode.into())
}

pub(super) async fn load(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<Option<Action>> {
    let row = sqlx::query(sql::select_action())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => with_decisions(conn, &row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn open(pool: &SqlitePool, code: Option<&ShortCode>, scope: &ActionScope) -> StoreResult<Vec<Action>> {
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

pub(super) async fn decide(store: &SqliteStore, request: &DecisionRequest) -> StoreResult<Action> {
    let at = micros(request.at);
    let mut tx = store.begin_write().await?;
    let mut action = found(request.action_id, load(&mut tx, request.action_id).await?)?;
    let change = transition(&action, &DecisionRequest { at, ..request.clone() })?;
    let updated = sqlx::query(sql::DECIDE)
        .bind(change.to.as_str())
        .bind(change.approve_by.map(sql_micros))
        .bind(sql_micros(at))
        .bind(action.id.to_string())
        .bind(request.expected.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(lost(action.id, request.expected, load(&mut tx, action.id).await));
    }
    sqlx::query(sql::INSERT_DECISION)
        .bind(action.id.to_string())
        .bind(request.decision.as_str())
        .bind(request.by.id())
        .bind(request.by.name())
        .bind(request.by.role().as_str())
        .bind(sql_micros(at))
        .execute(&mut *tx)
        .await?;
    let record = apply_decision(&mut action, request, change, at);
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![ChangeNotice::of_action(&action)]).await?;
    Ok(action)
}

pub(super) async fn record_run(
    store: &SqliteStore,
    id: Uuid,
    run: &RunRef,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> StoreResult<Action> {
    let at = micros(at);
    let mut tx = store.begin_write().await?;
    let mut action = found(id, load(&mut tx, id).await?)?;
    if action.state != ActionState::Executing || action.run.is_some() {
        return Err(Conflict::RunNotRecordable {
            current: action.state,
            already_recorded: action.run.is_some(),
        }
        .into());
    }
    sqlx::query("UPDATE actions SET pipeline_id = $1, run_number = $2, updated_at = $3 WHERE id = $4")
        .bind(run.pipeline_id())
        .bind(i64::try_from(run.run_number()).unwrap_or(i64::MAX))
        .bind(sql_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    let record = apply_run(&mut action, run, at, meta);
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![ChangeNotice::of_action(&action)]).await?;
    Ok(action)
}

pub(super) async fn finish(
    store: &SqliteStore,
    id: Uuid,
    outcome: &Outcome,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> StoreResult<Action> {
    outcome.validate()?;
    let at = micros(at);
    let mut tx = store.begin_write().await?;
    let mut action = found(id, load(&mut tx, id).await?)?;
    if action.state != ActionState::Executing {
        return Err(lost(id, ActionState::Executing, Ok(Some(action))));
    }
    sqlx::query("UPDATE actions SET state = $1, outcome = $2, finished_at = $3, updated_at = $3 WHERE id = $4")
        .bind(outcome.state().as_str())
        .bind(&outcome.summary)
        .bind(sql_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    let record = apply_outcome(&mut action, outcome, at, meta);
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![ChangeNotice::of_action(&action)]).await?;
    Ok(action)
}

pub(super) async fn expire_overdue(store: &SqliteStore, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
    let now = micros(now);
    let mut tx = store.begin_write().await?;
    let due = sqlx::query(
        "SELECT id, state FROM actions \
         WHERE (state = 'awaiting_confirmation' AND confirm_by < $1) \
            OR (state = 'awaiting_approval' AND approve_by < $1) \
         ORDER BY created_at, id",
    )
    .bind(sql_micros(now))
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = Vec::with_capacity(due.len());
    let mut notices = Vec::with_capacity(due.len());
    for row in &due {
        let id = row.uuid("id")?;
        let previous: String = row.try_get("state")?;
        let previous =
            ActionState::parse(&previous).ok_or_else(|| StoreError::Corrupt(format!("actions.state: {previous}")))?;
        sqlx::query("UPDATE actions SET state = 'expired', updated_at = $1 WHERE id = $2")
            .bind(sql_micros(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let action = found(id, load(&mut tx, id).await?)?;
        audit::append(&mut tx, expiry_record(&action, previous, now)).await?;
        notices.push(ChangeNotice::of_action(&action));
        expired.push(action);
    }
    store.commit(tx, notices).await?;
    Ok(expired)
}

pub(super) async fn recover_stuck(
    store: &SqliteStore,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Action>> {
    let (before, now) = (micros(before), micros(now));
    let mut tx = store.begin_write().await?;
    let stuck =
        sqlx::query("SELECT id FROM actions WHERE state = 'executing' AND updated_at < $1 ORDER BY created_at, id")
            .bind(sql_micros(before))
            .fetch_all(&mut *tx)
            .await?;
    let mut recovered = Vec::with_capacity(stuck.len());
    for row in &stuck {
        let id = row.uuid("id")?;
        let mut action = found(id, load(&mut tx, id).await?)?;
        let outcome = recovered_outcome(&action);
        sqlx::query("UPDATE actions SET state = $1, outcome = $2, finished_at = $3, updated_at = $3 WHERE id = $4")
            .bind(outcome.state().as_str())
            .bind(&outcome.summary)
            .bind(sql_micros(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let record = apply_recovery(&mut action, &outcome, now);
        audit::append(&mut tx, record).await?;
        recovered.push(action);
    }
    let notices = recovered.iter().map(ChangeNotice::of_action).collect();
    store.commit(tx, notices).await?;
    Ok(recovered)
}

async fn with_decisions(conn: &mut SqliteConnection, row: &SqliteRow) -> StoreResult<Action> {
    let decisions = sqlx::query(sql::select_decisions())
        .bind(row.uuid("id")?.to_string())
        .fetch_all(&mut *conn)
        .await?;
    ActionRow::read(row, &decisions)
}
