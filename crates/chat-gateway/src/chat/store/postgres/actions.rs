//! Actions and decisions on PostgreSQL. Every state change is one transaction: a conditional UPDATE on the state
//! (the compare-and-set), the decision row, the audit record and the NOTIFY.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::{audit, notify};
use crate::chat::domain::ActionState;
use crate::chat::store::actions::{OPEN_STATES, audit_record, recovered_outcome, transition};
use crate::chat::store::rows::{ActionRow, DecisionRow, params_json, proposed, room_kind};
use crate::chat::store::{
    Action, ActionScope, AuditActor, ChangeNotice, CodeSource, Conflict, DecisionRequest, NewAction, Outcome,
    RequestMeta, RunRef, SHORT_CODE_ATTEMPTS, ShortCode, StoreError, StoreResult, micros,
};

const COLUMNS: &str = "id, short_code, room_id, asker_id, asker_name, asker_role, intent, params, risk, state, \
    target, created_at, updated_at, confirm_by, approve_by, pipeline_id, run_number, outcome, finished_at";

pub(super) async fn propose(pool: &PgPool, new: &NewAction, codes: &CodeSource) -> StoreResult<Action> {
    new.validate()?;
    let params = params_json(&new.params)?;
    for _ in 0..SHORT_CODE_ATTEMPTS {
        let action = proposed(new, Uuid::now_v7(), codes());
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO rooms (id, kind, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(action.room.to_string())
            .bind(room_kind(&action.room))
            .bind(action.created_at)
            .execute(&mut *tx)
            .await?;
        // A code held by an open action hits the partial unique index: nothing is inserted, draw again.
        let inserted = sqlx::query(sql!(
            "INSERT INTO actions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             NULL, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING"
        ))
        .bind(action.id)
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
        .bind(action.created_at)
        .bind(action.updated_at)
        .bind(action.confirm_by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
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
        finish_change(&mut tx, &action, record).await?;
        tx.commit().await?;
        return Ok(action);
    }
    Err(Conflict::NoFreeShortCode.into())
}

pub(super) async fn load(conn: &mut PgConnection, id: Uuid) -> StoreResult<Option<Action>> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM actions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => with_decisions(conn, &row).await.map(Some),
        None => Ok(None),
    }
}

pub(super) async fn open(pool: &PgPool, code: Option<&ShortCode>, scope: &ActionScope) -> StoreResult<Vec<Action>> {
    let (room, asker) = match scope {
        ActionScope::Everywhere => (None, None),
        ActionScope::Room(room) => (Some(room.to_string()), None),
        ActionScope::Asker(asker) => (None, Some(asker.as_str())),
    };
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM actions WHERE state IN ($1, $2) AND ($3::TEXT IS NULL OR short_code = $3) \
         AND ($4::TEXT IS NULL OR room_id = $4) AND ($5::TEXT IS NULL OR asker_id = $5) ORDER BY created_at, id"
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

pub(super) async fn decide(pool: &PgPool, request: &DecisionRequest) -> StoreResult<Action> {
    let at = micros(request.at);
    let mut tx = pool.begin().await?;
    let mut action = load(&mut tx, request.action_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {}", request.action_id)))?;
    let change = transition(&action, &DecisionRequest { at, ..request.clone() })?;
    let updated =
        sqlx::query("UPDATE actions SET state = $1, approve_by = $2, updated_at = $3 WHERE id = $4 AND state = $5")
            .bind(change.to.as_str())
            .bind(change.approve_by)
            .bind(at)
            .bind(action.id)
            .bind(request.expected.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if updated == 0 {
        return Err(lost(&mut tx, action.id, request.expected).await);
    }
    sqlx::query(
        "INSERT INTO decisions (action_id, decision, by_id, by_name, by_role, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(action.id)
    .bind(request.decision.as_str())
    .bind(request.by.id())
    .bind(request.by.name())
    .bind(request.by.role().as_str())
    .bind(at)
    .execute(&mut *tx)
    .await?;
    action.state = change.to;
    action.approve_by = change.approve_by;
    action.updated_at = at;
    action.decisions.push(crate::chat::store::DecisionRecord {
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
    let mut action = load(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
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
    action.run = Some(run.clone());
    action.updated_at = at;
    let record = audit_record(&action, "run_started", (&action.asker).into(), None, at, meta);
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
    let mut action = load(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
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
        return Err(lost(&mut tx, id, ActionState::Executing).await);
    }
    action.finished(outcome, at);
    let record = audit_record(
        &action,
        "outcome",
        (&action.asker).into(),
        Some(ActionState::Executing),
        at,
        meta,
    );
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
        let action = load(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        let record = audit_record(
            &action,
            "expire",
            AuditActor::system(),
            Some(previous),
            now,
            &RequestMeta::default(),
        );
        finish_change(&mut tx, &action, record).await?;
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
        let mut action = load(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        let outcome = recovered_outcome(&action);
        sqlx::query("UPDATE actions SET state = $1, outcome = $2, finished_at = $3, updated_at = $3 WHERE id = $4")
            .bind(outcome.state().as_str())
            .bind(&outcome.summary)
            .bind(now)
            .bind(id)
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
        finish_change(&mut tx, &action, record).await?;
        recovered.push(action);
    }
    tx.commit().await?;
    Ok(recovered)
}

/// Audits a change to `action` and queues its notice, in the caller's transaction.
async fn finish_change(
    conn: &mut PgConnection,
    action: &Action,
    record: crate::chat::store::NewAuditRecord,
) -> StoreResult<()> {
    audit::append(conn, record).await?;
    notify(
        conn,
        &ChangeNotice::Action {
            room: action.room.clone(),
            action_id: action.id,
        },
    )
    .await
}

/// The conflict of a compare-and-set that matched no row: the state it finds now.
async fn lost(conn: &mut PgConnection, id: Uuid, expected: ActionState) -> StoreError {
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

async fn with_decisions(conn: &mut PgConnection, row: &PgRow) -> StoreResult<Action> {
    let id: Uuid = row.try_get("id")?;
    let decisions = sqlx::query(
        "SELECT decision, by_id, by_name, by_role, at FROM decisions WHERE action_id = $1 ORDER BY at, decision",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|d| {
        Ok(DecisionRow {
            decision: d.try_get("decision")?,
            by_id: d.try_get("by_id")?,
            by_name: d.try_get("by_name")?,
            by_role: d.try_get("by_role")?,
            at: d.try_get("at")?,
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
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        confirm_by: row.try_get("confirm_by")?,
        approve_by: row.try_get("approve_by")?,
        pipeline_id: row.try_get("pipeline_id")?,
        run_number: row.try_get("run_number")?,
        outcome: row.try_get("outcome")?,
        finished_at: row.try_get("finished_at")?,
    }
    .into_action(decisions)
}
