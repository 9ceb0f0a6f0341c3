//! Rooms and messages on PostgreSQL. A message takes its event id from its room's counter row, incremented (and so
//! locked) in the message's own transaction: concurrent appends to a room queue on that row and commit in event id
//! order, and a rolled-back append gives its number back, so readers never see a gap.

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row};

use super::notify;
use crate::chat::store::rows::room_kind;
use crate::chat::store::shared::{insert_message, resent};
use crate::chat::store::{Appended, ChangeNotice, EventId, NewMessage, StoreError, StoreResult};

pub(super) async fn append(pool: &PgPool, message: &NewMessage) -> StoreResult<Appended> {
    let room = message.room.to_string();
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
    // Checked under the room's lock: a concurrent resend waits here and then finds the first one.
    if let Some(existing) = resent::<Postgres>(&mut tx, message).await? {
        tx.rollback().await?;
        return Appended::resend(existing, message);
    }
    insert_message::<Postgres>(&mut tx, message, event_id).await?;
    let event_id = EventId::from_sql(event_id, "rooms.last_event_id").map_err(StoreError::Corrupt)?;
    let notice = ChangeNotice::Message {
        room: message.room.clone(),
        event_id,
    };
    notify(&mut tx, &notice).await?;
    tx.commit().await?;
    Ok(Appended::stored(message, event_id))
}
