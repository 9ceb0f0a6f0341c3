//! A keyed rate limiter (GCRA: one timestamp per key), for per-IP limits at the edge.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Keys are forgotten once idle; the table is pruned when it grows past this.
const PRUNE_AT: usize = 10_000;

pub struct RateLimiter {
    /// Time one request "costs".
    interval: Duration,
    /// How far ahead of now the theoretical arrival time may run (the burst).
    tolerance: Duration,
    table: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateLimiter {
    /// `per_minute` sustained, up to `burst` at once.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        Self {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when `key` may proceed now, otherwise how long until it may.
    pub fn check(&self, key: IpAddr) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut table = self.table.lock();
        if table.len() > PRUNE_AT {
            table.retain(|_, tat| *tat > now);
        }
        let tat = table.get(&key).copied().filter(|t| *t > now).unwrap_or(now);
        if tat > now + self.tolerance {
            return Err(tat - (now + self.tolerance));
        }
        table.insert(key, tat + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_the_sustained_rate() {
        let limiter = RateLimiter::per_minute(60, 3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(ip, t0).is_ok());
        }
        let wait = limiter.check_at(ip, t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter.check_at(other, t0).is_ok(), "keys are independent");
        assert!(
            limiter.check_at(ip, t0 + Duration::from_secs(1)).is_ok(),
            "one more per second"
        );
        assert!(limiter.check_at(ip, t0 + Duration::from_secs(1)).is_err());
    }
}
