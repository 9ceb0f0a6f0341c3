//! What both SQL stores run alike, written once over [`Run`]: reading rooms and messages, a message's resend check
//! and insert, appending to the audit
//! trail, a page of it and its verification, the page-token key, and the change feed's cursors. What only one runs (row locks,
//! the room counter's upsert, the single writer's transactions) stays in `postgres/` or `sqlite/`.

use chrono::{DateTime, Utc};
use sqlx::Pool;

use super::audit::{ChainWalk, KindFilter, PageKey, QueryPlan, RawAuditRow};
use super::dialect::{Param, Run, statement};
use super::rows::{Columns, MessageRow, RoomRow, raw_audit_row, room_kind, sender_columns};
use super::statements::{self as sql, AUDIT_COLUMNS, SELECT_AUDIT_HEAD, audit_texts, message_texts};
use super::{
    AuditPage, AuditQuery, ChainReport, EventId, HistoryQuery, Message, NewAuditRecord, NewMessage, Room, StoreError,
    StoreResult, micros,
};
use crate::chat::domain::RoomId;

/// Rows read per round trip while verifying the audit chain.
const VERIFY_BATCH: i64 = 500;

/// The page-token key of this database, made by the first replica that connects (`pool` writes).
pub(crate) async fn page_key<DB: Run>(pool: &Pool<DB>) -> StoreResult<PageKey> {
    let mut conn = pool.acquire().await?;
    let fresh = statement(sql::INSERT_PAGE_KEY, vec![Param::Bytes(PageKey::generate().to_vec())]);
    DB::execute(&mut conn, fresh).await?;
    let row = DB::fetch_one(&mut conn, statement(sql::SELECT_PAGE_KEY, Vec::new())).await?;
    PageKey::from_stored(&row.value::<Vec<u8>>("key")?)
}

/// Creates the room if it is missing (`pool` writes), and answers it.
pub(crate) async fn ensure_room<DB: Run>(pool: &Pool<DB>, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room> {
    let mut conn = pool.acquire().await?;
    let params = vec![
        Param::Text(room.to_string()),
        Param::Text(room_kind(room).into()),
        Param::Time(micros(now)),
    ];
    DB::execute(&mut conn, statement(sql::INSERT_ROOM, params)).await?;
    drop(conn);
    let found = self::room(pool, room).await?;
    found.ok_or_else(|| StoreError::NotFound(format!("room {room}")))
}

pub(crate) async fn room<DB: Run>(pool: &Pool<DB>, room: &RoomId) -> StoreResult<Option<Room>> {
    let mut conn = pool.acquire().await?;
    let row = DB::fetch_optional(
        &mut conn,
        statement(sql::SELECT_ROOM, vec![Param::Text(room.to_string())]),
    )
    .await?;
    row.as_ref().map(RoomRow::read).transpose()
}

pub(crate) async fn rooms_visible_to<DB: Run>(pool: &Pool<DB>, user_id: &str) -> StoreResult<Vec<Room>> {
    let mut conn = pool.acquire().await?;
    let private = Param::Text(format!("dm:{user_id}"));
    let rows = DB::fetch_all(&mut conn, statement(sql::ROOMS_VISIBLE_TO, vec![private])).await?;
    rows.iter().map(RoomRow::read).collect()
}

pub(crate) async fn message<DB: Run>(
    pool: &Pool<DB>,
    room: &RoomId,
    event_id: EventId,
) -> StoreResult<Option<Message>> {
    let mut conn = pool.acquire().await?;
    let params = vec![Param::Text(room.to_string()), Param::Int(event_id.sql())];
    let row = DB::fetch_optional(&mut conn, statement(sql::select_message(), params)).await?;
    row.as_ref().map(MessageRow::read).transpose()
}

pub(crate) async fn history<DB: Run>(
    pool: &Pool<DB>,
    room: &RoomId,
    query: &HistoryQuery,
) -> StoreResult<Vec<Message>> {
    let mut conn = pool.acquire().await?;
    let (select, values) = sql::history(query);
    let params = std::iter::once(Param::Text(room.to_string()))
        .chain(values.into_iter().map(Param::OptInt))
        .collect();
    let rows = DB::fetch_all(&mut conn, statement(select, params)).await?;
    Ok(query.in_order(rows.iter().map(MessageRow::read).collect::<StoreResult<_>>()?))
}

/// Appends `record` at the end of the audit chain, in the transaction on `conn`: the head row is read (and, where
/// the dialect locks rows, locked), the record inserted and the head advanced.
pub(crate) async fn append_audit<DB: Run>(
    conn: &mut DB::Connection,
    record: NewAuditRecord,
) -> StoreResult<RawAuditRow> {
    let head = DB::fetch_one(conn, statement(sql!("{SELECT_AUDIT_HEAD}{}", DB::LOCK_ROW), Vec::new())).await?;
    let row = record.into_row(head.value("seq")?, &head.value::<String>("hash")?)?;
    let at = DateTime::from_timestamp_micros(row.at_micros).ok_or_else(|| StoreError::invalid("at", "out of range"))?;
    let texts = audit_texts(&row).map(|text| Param::OptText(text.map(str::to_owned)));
    let params = [Param::Int(row.seq), Param::Time(at)]
        .into_iter()
        .chain(texts)
        .collect();
    DB::execute(conn, statement(sql::insert_audit(), params)).await?;
    let advance = vec![Param::Int(row.seq), Param::Text(row.hash.clone())];
    DB::execute(conn, statement(sql::ADVANCE_AUDIT_HEAD, advance)).await?;
    Ok(row)
}

/// The stored message `message` resends (same room, sender and `clientMsgId`), if it is a resend; read in the
/// transaction on `conn`.
pub(crate) async fn resent<DB: Run>(conn: &mut DB::Connection, message: &NewMessage) -> StoreResult<Option<Message>> {
    let Some(client_msg_id) = &message.client_msg_id else {
        return Ok(None);
    };
    let sender_id = sender_columns(&message.sender).1;
    let params = vec![
        Param::Text(message.room.to_string()),
        Param::OptText(sender_id.map(str::to_owned)),
        Param::Text(client_msg_id.as_str().to_owned()),
    ];
    let row = DB::fetch_optional(conn, statement(sql::select_resend(sender_id), params)).await?;
    row.as_ref().map(MessageRow::read).transpose()
}

/// Inserts `message` as event `event_id` of its room, in the transaction on `conn`.
pub(crate) async fn insert_message<DB: Run>(
    conn: &mut DB::Connection,
    message: &NewMessage,
    event_id: i64,
) -> StoreResult<()> {
    let texts = message_texts(message).map(|text| Param::OptText(text.map(str::to_owned)));
    let params = [Param::Text(message.room.to_string()), Param::Int(event_id)]
        .into_iter()
        .chain(texts)
        .chain([Param::Time(message.at)])
        .collect();
    Ok(DB::execute(conn, statement(sql::INSERT_MESSAGE, params)).await?)
}

/// A page of the audit trail, newest first.
pub(crate) async fn audit_page<DB: Run>(pool: &Pool<DB>, query: &AuditQuery, key: &PageKey) -> StoreResult<AuditPage> {
    let plan = QueryPlan::new(query, key)?;
    let mut filter = String::new();
    let mut params = Vec::new();
    let mut and = |condition: &dyn Fn(usize) -> String, param: Param| {
        params.push(param);
        filter.push_str(" AND ");
        filter.push_str(&condition(params.len()));
    };
    if let Some(before) = plan.before_seq {
        and(&|n| format!("seq < ${n}"), Param::Int(before));
    }
    if let Some(actor) = &plan.actor {
        and(&|n| format!("actor_id = ${n}"), Param::Text(actor.clone()));
    }
    match &plan.kind {
        Some(KindFilter::Exact(kind)) => and(&|n| format!("kind = ${n}"), Param::Text(kind.clone())),
        Some(KindFilter::Prefix(prefix)) => and(&|n| DB::starts_with("kind", n), Param::Text(prefix.clone())),
        None => {}
    }
    if let Some(from) = plan.from {
        and(&|n| format!("at >= ${n}"), Param::Time(from));
    }
    if let Some(to) = plan.to {
        and(&|n| format!("at < ${n}"), Param::Time(to));
    }
    // One more than the page: whether older records match decides the next token.
    params.push(Param::Int(i64::from(plan.limit) + 1));
    let select = sql!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE TRUE{filter} ORDER BY seq DESC LIMIT ${}",
        params.len()
    );
    let mut conn = pool.acquire().await?;
    let rows = DB::fetch_all(&mut conn, statement(select, params)).await?;
    let records = rows
        .iter()
        .map(|row| raw_audit_row(row)?.into_record())
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(plan.page(key, records))
}

/// Walks the audit chain up to its head as it is when the walk starts, [`VERIFY_BATCH`] records a round trip.
pub(crate) async fn verify_audit<DB: Run>(pool: &Pool<DB>) -> StoreResult<ChainReport> {
    let mut conn = pool.acquire().await?;
    // The head first: records appended while the walk runs lie beyond it and are left for the next run.
    let head = DB::fetch_one(&mut conn, statement(sql::SELECT_AUDIT_HEAD, Vec::new())).await?;
    let (head_seq, head_hash): (i64, String) = (head.value("seq")?, head.value("hash")?);
    let mut walk = ChainWalk::new();
    loop {
        let params = vec![Param::Int(walk.after()), Param::Int(head_seq), Param::Int(VERIFY_BATCH)];
        let rows = DB::fetch_all(&mut conn, statement(sql::verify_batch(), params)).await?;
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

/// Where the change feed named `name` last stopped.
pub(crate) async fn feed_cursor<DB: Run>(pool: &Pool<DB>, name: &str) -> StoreResult<Option<String>> {
    let mut conn = pool.acquire().await?;
    let select = statement(sql::SELECT_FEED_CURSOR, vec![Param::Text(name.into())]);
    let row = DB::fetch_optional(&mut conn, select).await?;
    row.map(|row| row.value("position")).transpose()
}

/// Stores where the change feed named `name` stopped (`pool` writes).
pub(crate) async fn save_feed_cursor<DB: Run>(
    pool: &Pool<DB>,
    name: &str,
    position: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut conn = pool.acquire().await?;
    let params = vec![
        Param::Text(name.into()),
        Param::Text(position.into()),
        Param::Time(micros(at)),
    ];
    DB::execute(&mut conn, statement(sql::SAVE_FEED_CURSOR, params)).await?;
    Ok(())
}
