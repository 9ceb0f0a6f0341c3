//! The chat over REST against the real stack (auth, projects, tasks, metrics; the chat on SQLite): rooms, reads,
//! actions with confirmation by code and four-eyes approval, refusals that say why, resends, the rate limit, and the
//! audit trail of every step.

mod actions;
mod fake_llm;
mod four_eyes;
mod llm;
mod llm_budget;
mod messages;
pub(crate) mod notices;
mod recovery;

use serde_json::{Value, json};

use crate::helpers::TestApp;

impl TestApp {
    /// Posts `text` to `room` as `token` with a fresh clientMsgId; the status and the answer.
    pub(crate) async fn say(&self, token: &str, room: &str, text: &str) -> (u16, Value) {
        self.say_as(token, room, &uuid::Uuid::new_v4().to_string(), text).await
    }

    pub(crate) async fn say_as(&self, token: &str, room: &str, client_msg_id: &str, text: &str) -> (u16, Value) {
        let response = self
            .post_json(
                &format!("/api/v1/chat/rooms/{room}/messages"),
                Some(token),
                &json!({"clientMsgId": client_msg_id, "text": text}),
            )
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    pub(crate) async fn decide(&self, token: &str, action_id: &str, decision: &str) -> (u16, Value) {
        let response = self
            .post_json(
                &format!("/api/v1/chat/actions/{action_id}/decisions"),
                Some(token),
                &json!({"decision": decision}),
            )
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }
}

/// The text of the first bot reply of a post.
fn reply(posted: &Value) -> String {
    posted["replies"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no reply in {posted}"))
        .to_owned()
}
