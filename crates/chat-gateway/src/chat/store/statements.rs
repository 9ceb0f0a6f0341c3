//! The SQL both dialects run as written, with the values it binds where the two bind them alike. Placeholders are
//! `$n` (SQLite reads them too), and a parameter PostgreSQL must know the type of is `CAST($n AS …)`. Ids and times
//! are bound by each dialect (UUID and TIMESTAMPTZ, or TEXT and INTEGER microseconds); what only one dialect runs
//! (row locks, the room counter's upsert, the sweep, the audit filter on a kind prefix) stays in its folder.

use sqlx::AssertSqlSafe;

use super::audit::RawAuditRow;
use super::rows::sender_columns;
use super::{Action, ActionScope, HistoryQuery, NewMessage, OPEN_STATES, ShortCode};

pub(crate) const ACTION_COLUMNS: &str = "id, short_code, room_id, asker_id, asker_name, asker_role, intent, params, \
    risk, state, target, created_at, updated_at, confirm_by, approve_by, pipeline_id, run_number, outcome, finished_at";
pub(crate) const DECISION_COLUMNS: &str = "decision, by_id, by_name, by_role, at";
pub(crate) const MESSAGE_COLUMNS: &str =
    "room_id, event_id, kind, sender_id, sender_name, client_msg_id, text, payload, created_at";
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor_id, actor_name, actor_role, kind, target, result, source, request_id, details, prev_hash, hash";

// ---- the page-token key

/// `$1`: a fresh key, kept only by the first replica to store one.
pub(crate) const INSERT_PAGE_KEY: &str =
    "INSERT INTO store_keys (name, key) VALUES ('audit_page_token', $1) ON CONFLICT (name) DO NOTHING";
pub(crate) const SELECT_PAGE_KEY: &str = "SELECT key FROM store_keys WHERE name = 'audit_page_token'";

// ---- the change feed's cursors

/// `$1` name.
pub(crate) const SELECT_FEED_CURSOR: &str = "SELECT position FROM feed_cursors WHERE name = $1";
/// `$1` name, `$2` position, `$3` updated at.
pub(crate) const SAVE_FEED_CURSOR: &str = "INSERT INTO feed_cursors (name, position, updated_at) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at";

// ---- rooms and messages

/// `$1` id, `$2` kind, `$3` created at.
pub(crate) const INSERT_ROOM: &str =
    "INSERT INTO rooms (id, kind, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
pub(crate) const SELECT_ROOM: &str = "SELECT id, last_event_id, created_at FROM rooms WHERE id = $1";
/// `$1`: the person's private room id. `general` first, then project rooms by slug, then the private room.
pub(crate) const ROOMS_VISIBLE_TO: &str = "SELECT id, last_event_id, created_at FROM rooms \
    WHERE kind IN ('general', 'project') OR id = $1 \
    ORDER BY CASE kind WHEN 'general' THEN 0 WHEN 'project' THEN 1 ELSE 2 END, id";
/// `$1`…`$9`: [`MESSAGE_COLUMNS`] in order.
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (room_id, event_id, kind, sender_id, sender_name, \
    client_msg_id, text, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The columns of a new message after its room and event id (`$3`…`$8` of [`INSERT_MESSAGE`]).
pub(crate) fn message_texts(message: &NewMessage) -> [Option<&str>; 6] {
    let (kind, sender_id, sender_name) = sender_columns(&message.sender);
    [
        Some(kind),
        sender_id,
        sender_name,
        message.client_msg_id.as_ref().map(|id| id.as_str()),
        Some(message.text.as_str()),
        message.payload_json.as_deref(),
    ]
}

/// A stored message with the same sender and `clientMsgId` in the room: `$1` room, `$2` sender id, `$3` client id.
/// A person's resend is found among their own messages; the bot's keyed notices (no sender id) among the bot's.
pub(crate) fn select_resend(sender_id: Option<&str>) -> AssertSqlSafe<String> {
    let same_sender = match sender_id {
        Some(_) => "sender_id = $2",
        None => "sender_id IS NULL AND $2 IS NULL",
    };
    sql!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND {same_sender} AND client_msg_id = $3")
}

/// `$1` room, `$2` event id.
pub(crate) fn select_message() -> AssertSqlSafe<String> {
    sql!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND event_id = $2")
}

/// A page of history: the statement, and what it binds after `$1` (the room). With `after`, the page after it in
/// ascending order; without, the newest page, in descending order (the caller turns it round).
pub(crate) fn history(query: &HistoryQuery) -> (AssertSqlSafe<String>, Vec<Option<i64>>) {
    let before = query.before().map(|id| id.sql());
    let limit = Some(i64::from(query.limit()));
    match query.after() {
        Some(after) => (
            sql!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND event_id > $2 \
                 AND (CAST($3 AS BIGINT) IS NULL OR event_id < $3) ORDER BY event_id ASC LIMIT $4"
            ),
            vec![Some(after.sql()), before, limit],
        ),
        None => (
            sql!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 \
                 AND (CAST($2 AS BIGINT) IS NULL OR event_id < $2) ORDER BY event_id DESC LIMIT $3"
            ),
            vec![before, limit],
        ),
    }
}

// ---- actions and decisions

/// `$1` id, `$2`…`$11` [`action_texts`], `$12` created at, `$13` updated at, `$14` confirm by. A code an open action
/// holds hits the partial unique index, and nothing is inserted.
pub(crate) fn insert_action() -> AssertSqlSafe<String> {
    sql!(
        "INSERT INTO actions ({ACTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         NULL, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING"
    )
}

/// The text columns of a new action, short code to target, in [`ACTION_COLUMNS`] order.
pub(crate) fn action_texts(action: &Action, params: &str) -> [String; 10] {
    [
        action.code.as_str().to_owned(),
        action.room.to_string(),
        action.asker.id().to_owned(),
        action.asker.name().to_owned(),
        action.asker.role().as_str().to_owned(),
        action.intent.as_str().to_owned(),
        params.to_owned(),
        action.risk.as_str().to_owned(),
        action.state.as_str().to_owned(),
        action.target.clone(),
    ]
}

/// `$1`: the id.
pub(crate) fn select_action() -> AssertSqlSafe<String> {
    sql!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1")
}

/// Open actions, oldest first, filtered by [`open_filter`]'s `$1`…`$5`.
pub(crate) fn select_open() -> AssertSqlSafe<String> {
    sql!(
        "SELECT {ACTION_COLUMNS} FROM actions WHERE state IN ($1, $2) \
         AND (CAST($3 AS TEXT) IS NULL OR short_code = $3) AND (CAST($4 AS TEXT) IS NULL OR room_id = $4) \
         AND (CAST($5 AS TEXT) IS NULL OR asker_id = $5) ORDER BY created_at, id"
    )
}

/// The open states, then the code, room and asker each open actions must have (`None`: any).
pub(crate) fn open_filter(code: Option<&ShortCode>, scope: &ActionScope) -> [Option<String>; 5] {
    let (room, asker) = match scope {
        ActionScope::Everywhere => (None, None),
        ActionScope::Room(room) => (Some(room.to_string()), None),
        ActionScope::Asker(asker) => (None, Some(asker.as_str().to_owned())),
    };
    [
        Some(OPEN_STATES[0].as_str().to_owned()),
        Some(OPEN_STATES[1].as_str().to_owned()),
        code.map(|c| c.as_str().to_owned()),
        room,
        asker,
    ]
}

/// The compare-and-set of a decision: `$1` new state, `$2` approve by, `$3` at, `$4` id, `$5` the state seen.
pub(crate) const DECIDE: &str =
    "UPDATE actions SET state = $1, approve_by = $2, updated_at = $3 WHERE id = $4 AND state = $5";
/// `$1` action id, `$2` decision, `$3`…`$5` who (id, name, role), `$6` at.
pub(crate) const INSERT_DECISION: &str =
    "INSERT INTO decisions (action_id, decision, by_id, by_name, by_role, at) VALUES ($1, $2, $3, $4, $5, $6)";

/// `$1`: the action id.
pub(crate) fn select_decisions() -> AssertSqlSafe<String> {
    sql!("SELECT {DECISION_COLUMNS} FROM decisions WHERE action_id = $1 ORDER BY at, decision")
}

// ---- the audit trail

pub(crate) const SELECT_AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
/// `$1` seq, `$2` hash.
pub(crate) const ADVANCE_AUDIT_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

/// `$1` seq, `$2` at, `$3`…`$13` [`audit_texts`].
pub(crate) fn insert_audit() -> AssertSqlSafe<String> {
    sql!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
}

/// The text columns of an audit record, actor to hash, in [`AUDIT_COLUMNS`] order.
pub(crate) fn audit_texts(row: &RawAuditRow) -> [Option<&str>; 11] {
    [
        Some(row.actor_id.as_str()),
        Some(row.actor_name.as_str()),
        row.actor_role.as_deref(),
        Some(row.kind.as_str()),
        Some(row.target.as_str()),
        Some(row.result.as_str()),
        row.source.as_deref(),
        row.request_id.as_deref(),
        Some(row.details.as_str()),
        Some(row.prev_hash.as_str()),
        Some(row.hash.as_str()),
    ]
}

/// A batch of the chain to verify: `$1` after this seq, `$2` up to the head's, `$3` at most this many.
pub(crate) fn verify_batch() -> AssertSqlSafe<String> {
    sql!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3")
}
