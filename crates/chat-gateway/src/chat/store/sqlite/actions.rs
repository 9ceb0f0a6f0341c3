//! Actions and decisions on SQLite. Every state change is one write transaction: a conditional UPDATE on the state
//! (the compare-and-set), the decision row and the audit record; subscribers hear of it after the commit.

use chrono::{DateTime, Utc};
use devopstrack_platform::sqlite::{micros as sql_micros, opt_time_col, time_col, uuid_col};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::{SqliteStore, audit};
use crate::chat::domain::ActionState;
use crate::chat::store::actions::{OPEN_STATES, audit_record, recovered_outcome, transition};
use crate::chat::store::rows::{ActionRow, DecisionRow, params_json, proposed, room_kind};
use crate::chat::store::{
    Action, ActionScope, AuditActor, ChangeNotice, CodeSource, Conflict, DecisionRecord, DecisionRequest, NewAction,
    NewAuditRecord, Outcome, RequestMeta, RunRef, SHORT_CODE_ATTEMPTS, ShortCode, StoreError, StoreResult, micros,
};

const COLUMNS: &str = "id, short_code, room_id, asker_id, asker_name, asker_role, intent, params, risk, state, \
    target, created_at, updated_at, confirm_by, approve_by, pipeline_id, run_number, outcome, finished_at";

pub(super) async fn propose(store: &SqliteStore, new: &NewAction, codes: &CodeSource) -> StoreResult<Action> {
    new.validate()?;
    let params = params_json(&new.params)?;
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO rooms (id, kind, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING")
        .bind(new.room.to_string())
        .bind(room_kind(&new.room))
        .bind(sql_micros(new.at))
        .execute(&mut *tx)
        .await?;
    for _ in 0..SHORT_CODE_ATTEMPTS {
        let action = proposed(new, Uuid::now_v7(), codes());
        // A code held by an open action hits the partial unique index: nothing is inserted, draw again.
        let inserted = sqlx::query(sql!(
            "INSERT INTO actions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             NULL, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING"
        ))
        .bind(action.id.to_string())
        .bind(action.code.as_str())
        .bind(action.room.to_string())
        .bind(action.asker.id())
        .bind(action.asker.name())
        .bind(action.asker.role().as_str())
        .bind(action.intent.as_str())
        .bind(&params)
        .bind(action.risk.as_str())
        .bind(action.state.as_str())
        .bind(&action.target)
        .bind(sql_micros(action.created_at))
        .bind(sql_micros(action.updated_at))
        .bind(sql_micros(action.confirm_by))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            continue;
        }
        let record = audit_record(
            &action,
            "propose",
            (&action.asker).into(),
            None,
            action.created_at,
            &new.meta,
        );
        audit::append(&mut tx, record).await?;
        store.commit(tx, vec![notice(&action)]).await?;
        return Ok(action);
    }
    Err(Conflict::NoFreeShortCode.into())
}

pub(super) async fn load(conn: &mut SqliteConnection, id: Uuid) -> StoreResult<Option<Action>> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM actions WHERE id = ?1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => with_decisions(conn, &row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn open(pool: &SqlitePool, code: Option<&ShortCode>, scope: &ActionScope) -> StoreResult<Vec<Action>> {
    let (room, asker) = match scope {
        ActionScope::Everywhere => (None, None),
        ActionScope::Room(room) => (Some(room.to_string()), None),
        ActionScope::Asker(asker) => (None, Some(asker.as_str())),
    };
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM actions WHERE state IN (?1, ?2) AND (?3 IS NULL OR short_code = ?3) \
         AND (?4 IS NULL OR room_id = ?4) AND (?5 IS NULL OR asker_id = ?5) ORDER BY created_at, id"
    ))
    .bind(OPEN_STATES[0].as_str())
    .bind(OPEN_STATES[1].as_str())
    .bind(code.map(ShortCode::as_str))
    .bind(room)
    .bind(asker)
    .fetch_all(&mut *conn)
    .await?;
    let mut actions = Vec::with_capacity(rows.len());
    for row in &rows {
        actions.push(with_decisions(&mut conn, row).await?);
    }
    Ok(actions)
}

pub(super) async fn decide(store: &SqliteStore, request: &DecisionRequest) -> StoreResult<Action> {
    let at = micros(request.at);
    let mut tx = store.begin_write().await?;
    let mut action = load(&mut tx, request.action_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {}", request.action_id)))?;
    let change = transition(&action, &DecisionRequest { at, ..request.clone() })?;
    let updated =
        sqlx::query("UPDATE actions SET state = ?1, approve_by = ?2, updated_at = ?3 WHERE id = ?4 AND state = ?5")
            .bind(change.to.as_str())
            .bind(change.approve_by.map(sql_micros))
            .bind(sql_micros(at))
            .bind(action.id.to_string())
            .bind(request.expected.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if updated == 0 {
        return Err(lost(&mut tx, action.id, request.expected).await);
    }
    sqlx::query(
        "INSERT INTO decisions (action_id, decision, by_id, by_name, by_role, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(action.id.to_string())
    .bind(request.decision.as_str())
    .bind(request.by.id())
    .bind(request.by.name())
    .bind(request.by.role().as_str())
    .bind(sql_micros(at))
    .execute(&mut *tx)
    .await?;
    action.state = change.to;
    action.approve_by = change.approve_by;
    action.updated_at = at;
    action.decisions.push(DecisionRecord {
        decision: request.decision,
        by: request.by.clone(),
        at,
    });
    let what = request.decision.as_str();
    let record = audit_record(
        &action,
        what,
        (&request.by).into(),
        Some(request.expected),
        at,
        &request.meta,
    );
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![notice(&action)]).await?;
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
    let mut action = load(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
    if action.state != ActionState::Executing || action.run.is_some() {
        return Err(Conflict::RunNotRecordable {
            current: action.state,
            already_recorded: action.run.is_some(),
        }
        .into());
    }
    sqlx::query("UPDATE actions SET pipeline_id = ?1, run_number = ?2, updated_at = ?3 WHERE id = ?4")
        .bind(run.pipeline_id())
        .bind(i64::try_from(run.run_number()).unwrap_or(i64::MAX))
        .bind(sql_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    action.run = Some(run.clone());
    action.updated_at = at;
    let record = audit_record(&action, "run_started", (&action.asker).into(), None, at, meta);
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![notice(&action)]).await?;
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
    let mut action = load(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
    if action.state != ActionState::Executing {
        return Err(Conflict::StateChanged {
            expected: ActionState::Executing,
            current: action.state,
        }
        .into());
    }
    sqlx::query("UPDATE actions SET state = ?1, outcome = ?2, finished_at = ?3, updated_at = ?3 WHERE id = ?4")
        .bind(outcome.state().as_str())
        .bind(&outcome.summary)
        .bind(sql_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    action.finished(outcome, at);
    let record = audit_record(
        &action,
        "outcome",
        (&action.asker).into(),
        Some(ActionState::Executing),
        at,
        meta,
    );
    audit::append(&mut tx, record).await?;
    store.commit(tx, vec![notice(&action)]).await?;
    Ok(action)
}

pub(super) async fn expire_overdue(store: &SqliteStore, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
    let now = micros(now);
    let mut tx = store.begin_write().await?;
    let due = sqlx::query(
        "SELECT id, state FROM actions \
         WHERE (state = 'awaiting_confirmation' AND confirm_by < ?1) \
            OR (state = 'awaiting_approval' AND approve_by < ?1) \
         ORDER BY created_at, id",
    )
    .bind(sql_micros(now))
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = Vec::with_capacity(due.len());
    let mut notices = Vec::with_capacity(due.len());
    for row in &due {
        let id = uuid_col(row, "id")?;
        let previous: String = row.try_get("state")?;
        let previous =
            ActionState::parse(&previous).ok_or_else(|| StoreError::Corrupt(format!("actions.state: {previous}")))?;
        sqlx::query("UPDATE actions SET state = 'expired', updated_at = ?1 WHERE id = ?2")
            .bind(sql_micros(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let action = load(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        let record: NewAuditRecord = audit_record(
            &action,
            "expire",
            AuditActor::system(),
            Some(previous),
            now,
            &RequestMeta::default(),
        );
        audit::append(&mut tx, record).await?;
        notices.push(notice(&action));
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
        sqlx::query("SELECT id FROM actions WHERE state = 'executing' AND updated_at < ?1 ORDER BY created_at, id")
            .bind(sql_micros(before))
            .fetch_all(&mut *tx)
            .await?;
    let mut recovered = Vec::with_capacity(stuck.len());
    for row in &stuck {
        let id = uuid_col(row, "id")?;
        let mut action = load(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        let outcome = recovered_outcome(&action);
        sqlx::query("UPDATE actions SET state = ?1, outcome = ?2, finished_at = ?3, updated_at = ?3 WHERE id = ?4")
            .bind(outcome.state().as_str())
            .bind(&outcome.summary)
            .bind(sql_micros(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        action.finished(&outcome, now);
        let record = audit_record(
            &action,
            "recover",
            AuditActor::system(),
            Some(ActionState::Executing),
            now,
            &RequestMeta::default(),
        );
        audit::append(&mut tx, record).await?;
        recovered.push(action);
    }
    let notices = recovered.iter().map(notice).collect();
    store.commit(tx, notices).await?;
    Ok(recovered)
}

fn notice(action: &Action) -> ChangeNotice {
    ChangeNotice::Action {
        room: action.room.clone(),
        action_id: action.id,
    }
}

/// The conflict of a compare-and-set that matched no row: the state it finds now.
async fn lost(conn: &mut SqliteConnection, id: Uuid, expected: ActionState) -> StoreError {
    match load(conn, id).await {
        Ok(Some(current)) => Conflict::StateChanged {
            expected,
            current: current.state,
        }
        .into(),
        Ok(None) => StoreError::NotFound(format!("action {id}")),
        Err(e) => e,
    }
}

async fn with_decisions(conn: &mut SqliteConnection, row: &SqliteRow) -> StoreResult<Action> {
    let id = uuid_col(row, "id")?;
    let decisions = sqlx::query(
        "SELECT decision, by_id, by_name, by_role, at FROM decisions WHERE action_id = ?1 ORDER BY at, decision",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|d| {
        Ok(DecisionRow {
            decision: d.try_get("decision")?,
            by_id: d.try_get("by_id")?,
            by_name: d.try_get("by_name")?,
            by_role: d.try_get("by_role")?,
            at: time_col(d, "at")?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    ActionRow {
        id,
        short_code: row.try_get("short_code")?,
        room_id: row.try_get("room_id")?,
        asker_id: row.try_get("asker_id")?,
        asker_name: row.try_get("asker_name")?,
        asker_role: row.try_get("asker_role")?,
        intent: row.try_get("intent")?,
        params: row.try_get("params")?,
        risk: row.try_get("risk")?,
        state: row.try_get("state")?,
        target: row.try_get("target")?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
        confirm_by: time_col(row, "confirm_by")?,
        approve_by: opt_time_col(row, "approve_by")?,
        pipeline_id: row.try_get("pipeline_id")?,
        run_number: row.try_get("run_number")?,
        outcome: row.try_get("outcome")?,
        finished_at: opt_time_col(row, "finished_at")?,
    }
    .into_action(decisions)
}
