//! Rooms and messages on PostgreSQL. A message takes its event id from its room's counter row, incremented (and so
//! locked) in the message's own transaction: concurrent appends to a room queue on that row and commit in event id
//! order, and a rolled-back append gives its number back, so readers never see a gap.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::notify;
use crate::chat::domain::RoomId;
use crate::chat::store::rows::{MessageRow, RoomRow, room_kind, same_sender, sender_columns};
use crate::chat::store::{
    Appended, ChangeNotice, Conflict, EventId, HistoryQuery, Message, NewMessage, Room, StoreResult,
};

const MESSAGE_COLUMNS: &str =
    "room_id, event_id, kind, sender_id, sender_name, client_msg_id, text, payload, created_at";

pub(super) async fn ensure_room(pool: &PgPool, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room> {
    sqlx::query("INSERT INTO rooms (id, kind, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(room.to_string())
        .bind(room_kind(room))
        .bind(crate::chat::store::micros(now))
        .execute(pool)
        .await?;
    let found = self::room(pool, room).await?;
    found.ok_or_else(|| crate::chat::store::StoreError::NotFound(format!("room {room}")))
}

pub(super) async fn room(pool: &PgPool, room: &RoomId) -> StoreResult<Option<Room>> {
    let row = sqlx::query("SELECT id, last_event_id, created_at FROM rooms WHERE id = $1")
        .bind(room.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(room_from_row).transpose()
}

pub(super) async fn rooms_visible_to(pool: &PgPool, user_id: &str) -> StoreResult<Vec<Room>> {
    let rows = sqlx::query(
        "SELECT id, last_event_id, created_at FROM rooms WHERE kind IN ('general', 'project') OR id = $1 \
         ORDER BY CASE kind WHEN 'general' THEN 0 WHEN 'project' THEN 1 ELSE 2 END, id",
    )
    .bind(format!("dm:{user_id}"))
    .fetch_all(pool)
    .await?;
    rows.iter().map(room_from_row).collect()
}

pub(super) async fn append(pool: &PgPool, message: &NewMessage) -> StoreResult<Appended> {
    let room = message.room.to_string();
    let (kind, sender_id, sender_name) = sender_columns(&message.sender);
    let mut tx = pool.begin().await?;
    // Creates the room on first use, and takes the next event id, locking the room's row until commit.
    let event_id: i64 = sqlx::query(
        "INSERT INTO rooms (id, kind, created_at, last_event_id) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (id) DO UPDATE SET last_event_id = rooms.last_event_id + 1 RETURNING last_event_id",
    )
    .bind(&room)
    .bind(room_kind(&message.room))
    .bind(message.at)
    .fetch_one(&mut *tx)
    .await?
    .try_get("last_event_id")?;
    if let Some(client_msg_id) = &message.client_msg_id {
        // Checked under the room's lock: a concurrent resend waits here and then finds the first one.
        let same_sender = same_sender(sender_id, "$2");
        let existing = sqlx::query(sql!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND {same_sender} AND client_msg_id = $3"
        ))
        .bind(&room)
        .bind(sender_id)
        .bind(client_msg_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            tx.rollback().await?;
            let existing = message_from_row(&existing)?;
            return if existing.text == message.text {
                Ok(Appended {
                    message: existing,
                    created: false,
                })
            } else {
                Err(Conflict::ClientMsgIdReused {
                    event_id: existing.event_id,
                }
                .into())
            };
        }
    }
    sqlx::query(
        "INSERT INTO messages (room_id, event_id, kind, sender_id, sender_name, client_msg_id, text, payload, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&room)
    .bind(event_id)
    .bind(kind)
    .bind(sender_id)
    .bind(sender_name)
    .bind(message.client_msg_id.as_ref().map(|id| id.as_str()))
    .bind(message.text.as_str())
    .bind(message.payload_json.as_deref())
    .bind(message.at)
    .execute(&mut *tx)
    .await?;
    let event_id =
        EventId::from_sql(event_id, "rooms.last_event_id").map_err(crate::chat::store::StoreError::Corrupt)?;
    let notice = ChangeNotice::Message {
        room: message.room.clone(),
        event_id,
    };
    notify(&mut tx, &notice).await?;
    tx.commit().await?;
    Ok(Appended {
        message: Message {
            room: message.room.clone(),
            event_id,
            sender: message.sender.clone(),
            client_msg_id: message.client_msg_id.clone(),
            text: message.text.clone(),
            payload: message.payload.clone(),
            created_at: message.at,
        },
        created: true,
    })
}

pub(super) async fn one(pool: &PgPool, room: &RoomId, event_id: EventId) -> StoreResult<Option<Message>> {
    let row = sqlx::query(sql!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND event_id = $2"
    ))
    .bind(room.to_string())
    .bind(event_id.sql())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(message_from_row).transpose()
}

pub(super) async fn history(pool: &PgPool, room: &RoomId, query: &HistoryQuery) -> StoreResult<Vec<Message>> {
    let rows = if let Some(after) = query.after() {
        sqlx::query(sql!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND event_id > $2 \
             AND ($3::BIGINT IS NULL OR event_id < $3) ORDER BY event_id ASC LIMIT $4"
        ))
        .bind(room.to_string())
        .bind(after.sql())
        .bind(query.before().map(EventId::sql))
        .bind(i64::from(query.limit()))
        .fetch_all(pool)
        .await?
    } else {
        sqlx::query(sql!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 \
             AND ($2::BIGINT IS NULL OR event_id < $2) ORDER BY event_id DESC LIMIT $3"
        ))
        .bind(room.to_string())
        .bind(query.before().map(EventId::sql))
        .bind(i64::from(query.limit()))
        .fetch_all(pool)
        .await?
    };
    let mut messages = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
    if query.after().is_none() {
        messages.reverse();
    }
    Ok(messages)
}

fn room_from_row(row: &PgRow) -> StoreResult<Room> {
    RoomRow {
        id: row.try_get("id")?,
        last_event_id: row.try_get("last_event_id")?,
        created_at: row.try_get("created_at")?,
    }
    .into_room()
}

fn message_from_row(row: &PgRow) -> StoreResult<Message> {
    MessageRow {
        room_id: row.try_get("room_id")?,
        event_id: row.try_get("event_id")?,
        kind: row.try_get("kind")?,
        sender_id: row.try_get("sender_id")?,
        sender_name: row.try_get("sender_name")?,
        client_msg_id: row.try_get("client_msg_id")?,
        text: row.try_get("text")?,
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
    }
    .into_message()
}
