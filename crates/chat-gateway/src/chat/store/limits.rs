//! Rate windows kept in the store, so a limit holds across every replica on one database: at most `limit` slots per
//! (bucket, subject) in any sliding `window`. The window's arithmetic lives here once; each store only loads the row
//! under a lock (PostgreSQL `FOR UPDATE`, SQLite's single writer) and saves what [`take`] answers.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// One slot asked for: `subject` (a person's id) in `bucket` (what is limited), at `now`.
#[derive(Debug, Clone)]
pub struct SlotRequest<'a> {
    pub bucket: &'a str,
    pub subject: &'a str,
    /// Slots in any window (at least 1).
    pub limit: usize,
    pub window: Duration,
    pub now: DateTime<Utc>,
}

/// Whether the slot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The window is full: the oldest slot frees after `retry_after`.
    Full {
        retry_after: Duration,
    },
}

/// Applies `request` to the stored hits (microseconds since the epoch, comma-separated, oldest first; unreadable
/// entries are dropped): answers the admission and the hits to store (those still in the window, plus this one when
/// admitted).
pub(crate) fn take(stored: &str, request: &SlotRequest<'_>) -> (Admission, String) {
    let now = request.now.timestamp_micros();
    let window = TimeDelta::from_std(request.window)
        .unwrap_or(TimeDelta::MAX)
        .num_microseconds()
        .unwrap_or(i64::MAX);
    let mut hits: Vec<i64> = stored
        .split(',')
        .filter_map(|hit| hit.trim().parse().ok())
        .filter(|hit| now.saturating_sub(*hit) < window)
        .collect();
    hits.sort_unstable();
    let admission = if hits.len() >= request.limit.max(1) {
        let oldest = hits[hits.len() - request.limit.max(1)];
        let wait = window.saturating_sub(now.saturating_sub(oldest)).max(0);
        Admission::Full {
            retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
        }
    } else {
        hits.push(now);
        Admission::Admitted
    };
    let kept = hits.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    (admission, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn request(seconds: i64) -> SlotRequest<'static> {
        SlotRequest {
            bucket: "commands",
            subject: "ann",
            limit: 3,
            window: Duration::from_secs(60),
            now: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + TimeDelta::seconds(seconds),
        }
    }

    #[test]
    fn the_limit_holds_in_any_window_and_the_oldest_hit_frees_the_next_slot() {
        let mut hits = String::new();
        for second in [0, 10, 20] {
            let (admission, kept) = take(&hits, &request(second));
            assert_eq!(admission, Admission::Admitted, "at {second} s");
            hits = kept;
        }
        let (full, kept) = take(&hits, &request(30));
        assert_eq!(
            full,
            Admission::Full {
                retry_after: Duration::from_secs(30)
            }
        );
        assert_eq!(kept, hits, "a refusal records nothing");
        let (admitted, kept) = take(&hits, &request(60));
        assert_eq!(admitted, Admission::Admitted, "the hit at 0 s left the window");
        assert_eq!(
            kept.split(',').count(),
            3,
            "only hits inside the window are kept: {kept}"
        );
    }

    #[test]
    fn unreadable_hits_are_dropped_rather_than_blocking_anyone() {
        let (admission, kept) = take("garbage,,12x", &request(0));
        assert_eq!(admission, Admission::Admitted);
        assert_eq!(kept.split(',').count(), 1);
    }
}
