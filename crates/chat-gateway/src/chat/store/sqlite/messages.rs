//! Rooms and messages on SQLite. The single writer serialises appends, so the room's counter, the resend check and
//! the insert see no interleaving; a rolled-back append gives its number back.

use chrono::{DateTime, Utc};
use devopstrack_platform::sqlite::micros;
use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::chat::domain::RoomId;
use crate::chat::store::rows::{MessageRow, RoomRow, room_kind, sender_columns};
use crate::chat::store::statements::{self as sql, message_texts};
use crate::chat::store::{
    Appended, ChangeNotice, EventId, HistoryQuery, Message, NewMessage, Room, StoreError, StoreResult,
};

pub(super) async fn ensure_room(store: &SqliteStore, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room> {
    sqlx::query(sql::INSERT_ROOM)
        .bind(room.to_string())
        .bind(room_kind(room))
        .bind(micros(now))
        .execute(&store.writer)
        .await?;
    let found = self::room(&store.writer, room).await?;
    found.ok_or_else(|| StoreError::NotFound(format!("room {room}")))
}

pub(super) async fn room(pool: &SqlitePool, room: &RoomId) -> StoreResult<Option<Room>> {
    let row = sqlx::query(sql::SELECT_ROOM)
        .bind(room.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(RoomRow::read).transpose()
}

pub(super) async fn rooms_visible_to(pool: &SqlitePool, user_id: &str) -> StoreResult<Vec<Room>> {
    let rows = sqlx::query(sql::ROOMS_VISIBLE_TO)
        .bind(format!("dm:{user_id}"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(RoomRow::read).collect()
}

pub(super) async fn append(store: &SqliteStore, message: &NewMessage) -> StoreResult<Appended> {
    let room = message.room.to_string();
    let mut tx = store.begin_write().await?;
    if let Some(client_msg_id) = &message.client_msg_id {
        let sender_id = sender_columns(&message.sender).1;
        let existing = sqlx::query(sql::select_resend(sender_id))
            .bind(&room)
            .bind(sender_id)
            .bind(client_msg_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(existing) = existing {
            tx.rollback().await?;
            return Appended::resend(MessageRow::read(&existing)?, message);
        }
    }
    let event_id: i64 = sqlx::query(
        "INSERT INTO rooms (id, kind, created_at, last_event_id) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (id) DO UPDATE SET last_event_id = last_event_id + 1 RETURNING last_event_id",
    )
    .bind(&room)
    .bind(room_kind(&message.room))
    .bind(micros(message.at))
    .fetch_one(&mut *tx)
    .await?
    .try_get("last_event_id")?;
    let mut insert = sqlx::query(sql::INSERT_MESSAGE).bind(&room).bind(event_id);
    for text in message_texts(message) {
        insert = insert.bind(text);
    }
    insert.bind(micros(message.at)).execute(&mut *tx).await?;
    let event_id = EventId::from_sql(event_id, "rooms.last_event_id").map_err(StoreError::Corrupt)?;
    let notice = ChangeNotice::Message {
        room: message.room.clone(),
        event_id,
    };
    store.commit(tx, vec![notice]).await?;
    Ok(Appended::stored(message, event_id))
}

pub(super) async fn one(pool: &SqlitePool, room: &RoomId, event_id: EventId) -> StoreResult<Option<Message>> {
    let row = sqlx::query(sql::select_message())
        .bind(room.to_string())
        .bind(event_id.sql())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(MessageRow::read).transpose()
}

pub(super) async fn history(pool: &SqlitePool, room: &RoomId, query: &HistoryQuery) -> StoreResult<Vec<Message>> {
    let (statement, values) = sql::history(query);
    let mut select = sqlx::query(statement).bind(room.to_string());
    for value in values {
        select = select.bind(value);
    }
    let rows = select.fetch_all(pool).await?;
    Ok(query.in_order(rows.iter().map(MessageRow::read).collect::<StoreResult<_>>()?))
}
