//! At most [`COMMANDS_PER_MINUTE`] messages a minute per person (the ChatOps Commander design's figure): a sliding
//! window of send times, per replica. Two replicas behind a balancer each allow the figure, which bounds a person to
//! twice it at worst; the store's per-sender unique `clientMsgId` keeps a resend from counting as new work.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COMMANDS_PER_MINUTE: usize = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// Beyond this many tracked people, idle entries are pruned on insert (memory stays bounded).
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub struct CommandLimiter {
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl CommandLimiter {
    /// Counts one message by `person` now; `Err(wait)` when the window is full, with how long until a slot frees.
    pub fn admit(&self, person: &str, now: Instant) -> Result<(), Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sent.len() > PRUNE_ABOVE {
            sent.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
        }
        let times = sent.entry(person.to_owned()).or_default();
        while times.front().is_some_and(|first| now.duration_since(*first) >= WINDOW) {
            times.pop_front();
        }
        if times.len() >= COMMANDS_PER_MINUTE {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_a_minute_then_wait_for_the_oldest() {
        let limiter = CommandLimiter::default();
        let start = Instant::now();
        for i in 0..COMMANDS_PER_MINUTE {
            limiter.admit("ann", start + Duration::from_secs(i as u64)).unwrap();
        }
        let wait = limiter.admit("ann", start + Duration::from_secs(30)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(30));
        // Someone else is not affected.
        limiter.admit("bob", start + Duration::from_secs(30)).unwrap();
        // Once the first send leaves the window, one slot frees.
        limiter.admit("ann", start + Duration::from_secs(60)).unwrap();
        assert!(limiter.admit("ann", start + Duration::from_secs(60)).is_err());
    }
}
