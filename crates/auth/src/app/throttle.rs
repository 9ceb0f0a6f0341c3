//! The throttle as the use-cases use it: admit an attempt on a key before checking a secret, forget the key when the
//! secret was right (the policy is [`crate::domain::throttle`]).

use chrono::{DateTime, Utc};

use super::{AuthApp, store_err};
use crate::domain::Admission;
use crate::error::Error;

impl AuthApp {
    /// Counts an attempt on `key`, or refuses it with `Locked` (RESOURCE_EXHAUSTED, `account_locked`, Retry-After)
    /// while the key must wait.
    pub(super) async fn admit(&self, key: &str) -> Result<(), Error> {
        let now = self.now();
        let admission = self
            .store
            .admit_attempt(key, now, &self.policy.throttle)
            .await
            .map_err(store_err("throttling an attempt"))?;
        match admission {
            Admission::Admitted { failures } => {
                if failures > self.policy.throttle.free_failures {
                    tracing::info!(failures, "repeated failed credentials from one source");
                }
                Ok(())
            }
            Admission::Wait { until } => Err(Error::Locked {
                retry_after_secs: seconds_until(now, until),
            }),
        }
    }

    /// The secret was right: the key starts afresh.
    pub(super) async fn forget(&self, key: &str) -> Result<(), Error> {
        self.store
            .clear_attempts(key)
            .await
            .map_err(store_err("clearing throttled attempts"))
    }
}

/// Whole seconds from `now` to `until`, rounded up, at least 1.
fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0).max(1);
    millis.div_ceil(1000)
}
