//! Rooms and messages on SQLite. The single writer serialises appends, so the room's counter, the resend check and
//! the insert see no interleaving; a rolled-back append gives its number back.

use devopstrack_platform::sqlite::micros;
use sqlx::{Row, Sqlite};

use super::SqliteStore;
use crate::chat::store::rows::room_kind;
use crate::chat::store::shared::{insert_message, resent};
use crate::chat::store::{Appended, ChangeNotice, EventId, NewMessage, StoreError, StoreResult};

pub(super) async fn append(store: &SqliteStore, message: &NewMessage) -> StoreResult<Appended> {
    let room = message.room.to_string();
    let mut tx = store.begin_write().await?;
    if let Some(existing) = resent::<Sqlite>(&mut tx, message).await? {
        tx.rollback().await?;
        return Appended::resend(existing, message);
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
    insert_message::<Sqlite>(&mut tx, message, event_id).await?;
    let event_id = EventId::from_sql(event_id, "rooms.last_event_id").map_err(StoreError::Corrupt)?;
    let notice = ChangeNotice::Message {
        room: message.room.clone(),
        event_id,
    };
    store.commit(tx, vec![notice]).await?;
    Ok(Appended::stored(message, event_id))
}
