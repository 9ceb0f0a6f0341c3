//! The chat store conformance suite (issue 17). Each test is one generic async function over a database URL: it
//! opens the store itself, and opens it twice where two gateway replicas are the point (concurrent decisions, the
//! change feed). [`conformance!`] runs each against SQLite in a fresh temp file and against PostgreSQL in a fresh
//! database from the testkit; both implementations must answer identically.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use devopstrack_gateway::chat::domain::{MessageText, RoomId};
use devopstrack_gateway::chat::store::{self, ChatStore, ClientMsgId, NewMessage, Person};
use devopstrack_platform::auth::Role;
use tempfile::TempDir;

/// For each test function `f(url)`, declares `mod f { fn sqlite(); fn postgres(); }`.
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (url, _dir) = $crate::chat_store::sqlite_url();
                super::$test(&url).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(pg) = devopstrack_testkit::postgres().await else { return };
                super::$test(&pg.url).await;
            }
        }
    )+};
}

mod actions;
mod audit;
mod feed;
mod limits;
mod messages;
mod notices;
mod recovery;

/// A URL for a new SQLite database in a temp dir that lives as long as the returned guard.
pub fn sqlite_url() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
    let url = format!("sqlite://{}/chat.db", dir.path().display());
    (url, dir)
}

/// One store on `url` (one gateway replica); call twice for two replicas on one database.
pub async fn open(url: &str) -> Arc<dyn ChatStore> {
    store::connect(url)
        .await
        .expect("connect to and migrate the chat store")
}

/// A fixed instant plus `seconds`: the store takes every time from its caller, so tests need no clock.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

pub fn person(id: &str, role: Role) -> Person {
    Person::new(id, &format!("{id} (test)"), role).expect("a valid test person")
}

pub fn room(raw: &str) -> RoomId {
    RoomId::parse(raw).expect("a valid room id")
}

pub fn text(raw: &str) -> MessageText {
    MessageText::parse(raw).expect("a valid message text")
}

/// `who`'s message `body` in `room`, sent with `client_msg_id`.
pub fn said(room_id: &str, who: &Person, client_msg_id: &str, body: &str, seconds: i64) -> NewMessage {
    NewMessage::from_user(
        room(room_id),
        who,
        ClientMsgId::parse(client_msg_id).expect("a valid clientMsgId"),
        text(body),
        at(seconds),
    )
}

/// Changes one audit record under the store, as someone with write access to the database would: a plain UPDATE
/// or DELETE is refused (the append-only triggers), so the trigger is removed first.
pub async fn tamper_with_audit_record(url: &str, seq: i64) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open the SQLite file");
        for refused in ["UPDATE audit_log SET result = 'forged'", "DELETE FROM audit_log"] {
            let err = sqlx::query(refused).execute(&pool).await.expect_err(refused);
            assert!(err.to_string().contains("append-only"), "{refused}: {err}");
        }
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&pool)
            .await
            .unwrap();
        let changed = sqlx::query("UPDATE audit_log SET result = 'forged' WHERE seq = ?1")
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(changed.rows_affected(), 1);
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect to PostgreSQL");
        for refused in [
            "UPDATE audit_log SET result = 'forged'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            let err = sqlx::query(refused).execute(&pool).await.expect_err(refused);
            assert!(err.to_string().contains("append-only"), "{refused}: {err}");
        }
        sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            .execute(&pool)
            .await
            .unwrap();
        let changed = sqlx::query("UPDATE audit_log SET result = 'forged' WHERE seq = $1")
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(changed.rows_affected(), 1);
    }
}
