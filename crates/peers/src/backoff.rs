//! Exponential backoff: the wait before each retry doubles from a first delay up to a cap. It only computes waits
//! (no sleeping, no clock), so a loop that sleeps, a store that schedules the next attempt and a test all use it alike.

use std::time::Duration;

/// `first · 2^retry`, never more than `max` (and never less than `first`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    /// Waits that start at `first` and double up to `max`; a `max` below `first` is taken as `first`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        let max = if max.as_nanos() < first.as_nanos() { first } else { max };
        Self { first, max }
    }

    pub const fn first(&self) -> Duration {
        self.first
    }

    pub const fn max(&self) -> Duration {
        self.max
    }

    /// The wait before retry number `retry` (0: the first retry): `min(first · 2^retry, max)`, without overflow for
    /// any `retry`.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// The successive waits of one retry loop, starting over with [`Delays::reset`] after a success.
    pub fn delays(self) -> Delays {
        Delays {
            backoff: self,
            retries: 0,
        }
    }
}

/// The waits of one retry loop: `first`, `2·first`, … then `max` for ever.
#[derive(Debug, Clone)]
pub struct Delays {
    backoff: Backoff,
    retries: u32,
}

impl Delays {
    /// The wait before the next retry (and counts it).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.backoff.delay(self.retries);
        self.retries = self.retries.saturating_add(1);
        delay
    }

    /// Starts over from the first delay (the call succeeded).
    pub fn reset(&mut self) {
        self.retries = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_wait_doubles_from_the_first_delay_and_stops_at_the_cap() {
        let backoff = Backoff::new(500 * MS, Duration::from_secs(60));

        let waits: Vec<Duration> = (0..9).map(|retry| backoff.delay(retry)).collect();

        assert_eq!(
            waits,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000].map(|ms| ms * MS)
        );
    }

    #[test]
    fn any_retry_count_stays_within_the_bounds_without_overflowing() {
        let backoff = Backoff::new(250 * MS, Duration::from_secs(5));
        for retry in [0, 1, 4, 5, 31, 32, 33, 64, 1_000, u32::MAX] {
            let wait = backoff.delay(retry);
            assert!(
                (backoff.first()..=backoff.max()).contains(&wait),
                "retry {retry}: {wait:?}"
            );
        }
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(5));
        let huge = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        assert_eq!(huge.delay(40), Duration::MAX, "saturates instead of panicking");
    }

    #[test]
    fn a_cap_below_the_first_delay_is_the_first_delay() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(
            (backoff.delay(0), backoff.delay(3)),
            (Duration::from_secs(2), Duration::from_secs(2))
        );
    }

    #[test]
    fn delays_count_the_retries_and_start_over_on_reset() {
        let mut delays = Backoff::new(100 * MS, 350 * MS).delays();

        let first: Vec<Duration> = (0..4).map(|_| delays.next_delay()).collect();
        delays.reset();

        assert_eq!(first, [100, 200, 350, 350].map(|ms| ms * MS));
        assert_eq!(delays.next_delay(), 100 * MS);
    }
}
