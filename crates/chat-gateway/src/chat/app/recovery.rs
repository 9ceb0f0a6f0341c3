//! Actions a gateway left `executing` when it stopped mid-execution (killed, crashed, its host gone): once nothing
//! has touched them for [`STUCK_AFTER`], far longer than an execution takes (a few calls to tasks, 10 s deadline
//! each), they are ended on start and at every sweep, by whichever replica gets there first, and their rooms are
//! told. What each one becomes is the store's rule ([`crate::chat::store::ChatStore::recover_stuck`]): succeeded when
//! its run was recorded, else failed saying what to check. Nothing is run again: only the person who released an
//! action may run it, with their own token, and that token left with the stopped gateway.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::chat::domain::ActionState;

use super::{ChatApp, ChatError};

/// How long an action may sit in `executing` untouched before it counts as stuck.
pub const STUCK_AFTER: TimeDelta = TimeDelta::minutes(5);

impl ChatApp {
    /// Ends the actions stuck in `executing` since before `now - STUCK_AFTER` and says so in their rooms; answers
    /// how many.
    pub async fn recover_stuck(&self, now: DateTime<Utc>) -> Result<usize, ChatError> {
        let recovered = self.store.recover_stuck(now - STUCK_AFTER, now).await?;
        for action in &recovered {
            let outcome = if action.state == ActionState::Succeeded {
                "succeeded"
            } else {
                "failed"
            };
            self.metrics.action(action, outcome);
            let text = format!(
                "{} ({}): {}",
                action.code,
                action.target,
                action.outcome.as_deref().unwrap_or_default()
            );
            self.bot_say(&action.room, &text, json!({"kind": "action", "actionId": action.id}))
                .await?;
        }
        Ok(recovered.len())
    }
}
