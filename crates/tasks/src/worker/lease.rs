//! How long a worker may go on running a delivery it cannot renew. Its hold lasts `lease` from the moment it last
//! *asked* for the lease (or a renewal) that was granted: the store counts from the moment it answered, which is
//! later, so the worker's view is never longer than the store's.
//!
//! A renewal that fails (an error) is tried again at the next renewal time only if that time is still within the
//! hold; otherwise the worker stops the job at once. A renewal that does not answer is waited for until the hold
//! ends, and then the job stops. Either way the job stops within one renewal interval of the first renewal the
//! worker could not make in time, and before anyone else can be handed the delivery; a slow store that does answer
//! in time costs nothing.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub(super) struct Hold {
    until: Instant,
    lease: Duration,
    every: Duration,
}

impl Hold {
    /// A hold on a delivery leased for `lease` by a call made at `asked`, renewed every `every`.
    pub(super) fn new(asked: Instant, lease: Duration, every: Duration) -> Self {
        Self {
            until: asked + lease,
            lease,
            every,
        }
    }

    /// A renewal asked for at `asked` was granted.
    pub(super) fn renewed(&mut self, asked: Instant) {
        self.until = self.until.max(asked + self.lease);
    }

    /// How long a store call made at `now` may take: until the hold ends.
    pub(super) fn patience(&self, now: Instant) -> Duration {
        self.until.saturating_duration_since(now)
    }

    /// After a failed renewal at `now`: whether the job must stop now, the next renewal being too late.
    pub(super) fn must_stop(&self, now: Instant) -> bool {
        now + self.every >= self.until
    }

    /// Whether the hold has ended: an outcome reached after this is not this worker's to report.
    pub(super) fn lapsed(&self, now: Instant) -> bool {
        now >= self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);
    const EVERY: Duration = Duration::from_secs(5);

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn a_worker_whose_renewals_fail_stops_within_one_renewal_interval_and_before_its_hold_ends() {
        let start = Instant::now();
        let mut hold = Hold::new(start, LEASE, EVERY);
        hold.renewed(at(start, 5));

        // Renewals fail from t=10 on: the hold (granted at t=5) ends at t=20.
        assert!(
            !hold.must_stop(at(start, 10)),
            "t=10: the t=15 renewal is still in time"
        );
        assert!(
            hold.must_stop(at(start, 15)),
            "t=15: the t=20 renewal would be too late"
        );
        assert!(!hold.lapsed(at(start, 15)) && hold.lapsed(at(start, 20)));
    }

    #[test]
    fn a_renewal_that_does_not_answer_is_waited_for_until_the_hold_ends_and_no_longer() {
        let start = Instant::now();
        let mut hold = Hold::new(start, LEASE, EVERY);
        hold.renewed(at(start, 5));

        // The t=10 renewal hangs: it is given until t=20, one interval after the t=15 renewal it made impossible.
        assert_eq!(hold.patience(at(start, 10)), Duration::from_secs(10));
        assert_eq!(hold.patience(at(start, 20)), Duration::ZERO);
        assert!(hold.must_stop(at(start, 20)) && hold.lapsed(at(start, 20)));
    }

    #[test]
    fn a_late_answer_to_an_old_renewal_never_shortens_the_hold() {
        let start = Instant::now();
        let mut hold = Hold::new(start, LEASE, EVERY);
        hold.renewed(at(start, 10));

        hold.renewed(at(start, 5));

        assert!(!hold.lapsed(at(start, 24)) && hold.lapsed(at(start, 25)));
    }
}
