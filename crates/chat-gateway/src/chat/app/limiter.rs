//! Per-person limits, counted in the chat store's rate windows ([`crate::chat::store::limits`]) so that two replicas
//! behind a balancer together allow the figure, not twice it:
//! - at most [`COMMANDS_PER_MINUTE`] messages a minute (the ChatOps Commander design's figure), a 429 beyond it (the
//!   store's per-sender unique `clientMsgId` keeps a resend from counting as new work);
//! - at most [`LLM_PREVIEWS_PER_MINUTE`] model calls a minute from the composer's previews (`POST /chat/parse`, sent
//!   as the person types): beyond it a preview answers from the rules alone (`parsedBy: rules`), never an error.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::chat::store::{Admission, ChatStore, SlotRequest};

use super::ChatError;

pub const COMMANDS_PER_MINUTE: usize = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// The store's bucket for messages.
const COMMANDS: &str = "commands";
/// Model calls a person's previews may make in a minute (messages they post are bounded by [`COMMANDS_PER_MINUTE`]).
pub const LLM_PREVIEWS_PER_MINUTE: usize = 10;
/// The store's bucket for previews' model calls.
const LLM_PREVIEWS: &str = "llm_previews";

/// Counts one message by `person` at `now`, or refuses it (429) with how long until a slot frees.
pub(super) async fn admit_command(store: &dyn ChatStore, person: &str, now: DateTime<Utc>) -> Result<(), ChatError> {
    let request = SlotRequest {
        bucket: COMMANDS,
        subject: person,
        limit: COMMANDS_PER_MINUTE,
        window: WINDOW,
        now,
    };
    match store.take_slot(&request).await? {
        Admission::Admitted => Ok(()),
        Admission::Full { retry_after } => {
            let wait = whole_seconds(retry_after);
            Err(ChatError::RateLimited {
                message: format!("at most {COMMANDS_PER_MINUTE} messages a minute: wait {wait} s"),
                retry_after_secs: wait,
            })
        }
    }
}

/// Whether `person`'s preview may call the model now (and counts it). A store failure answers `false`: the preview
/// then answers from the rules, which is always safe.
pub(super) async fn admit_llm_preview(store: &dyn ChatStore, person: &str, now: DateTime<Utc>) -> bool {
    let request = SlotRequest {
        bucket: LLM_PREVIEWS,
        subject: person,
        limit: LLM_PREVIEWS_PER_MINUTE,
        window: WINDOW,
        now,
    };
    match store.take_slot(&request).await {
        Ok(admission) => admission == Admission::Admitted,
        Err(error) => {
            tracing::warn!(%error, "the preview budget could not be read; the rules answer");
            false
        }
    }
}

/// `wait` rounded up to whole seconds, at least one.
pub(super) fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_told_in_whole_seconds_rounded_up() {
        assert_eq!(whole_seconds(Duration::from_millis(29_001)), 30);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }
}
