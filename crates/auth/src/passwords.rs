//! Argon2id hashing on the blocking pool (a hash takes tens of milliseconds and must not stall the runtime), under a
//! concurrency cap: each hash holds `memory_kib` for its duration, so at most `memory budget / memory_kib` run at
//! once, and a caller that cannot get a slot within the queue timeout gets [`HashError::Busy`] (the service answers
//! UNAVAILABLE) instead of a login flood exhausting memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The Argon2 cost and how many hashes may run at once.
#[derive(Debug, Clone, Copy)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Memory all concurrent hashes may use together; the cap is this over `memory_kib` (at least 1).
    pub memory_budget_kib: u64,
    /// How long a caller waits for a slot.
    pub queue_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot stayed taken for the whole queue timeout.
    #[error("too many password checks at once")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified when the email is unknown so both paths cost the same.
    dummy_hash: String,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    verifications: Arc<AtomicU64>,
}

impl PasswordHasher {
    pub fn new(cost: HashCost) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let slots = (cost.memory_budget_kib / u64::from(cost.memory_kib).max(1)).clamp(1, 1024) as usize;
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
            slots: Arc::new(Semaphore::new(slots)),
            queue_timeout: cost.queue_timeout,
            verifications: Arc::new(AtomicU64::new(0)),
        };
        let random = crate::tokens::random_secret("dummy_");
        hasher.dummy_hash = hasher.hash_blocking(&random)?;
        Ok(hasher)
    }

    /// How many hashes may run at once.
    pub fn slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// How many verifications ran (for tests: an unknown email costs one, like a known one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, HashError> {
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(HashError::Failed(anyhow::anyhow!("the hashing slots were closed"))),
            Err(_) => Err(HashError::Busy),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh salt.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let permit = self.slot().await?;
        let hasher = self.clone();
        let password = password.clone();
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hasher.hash_blocking(password.expose_secret())
        })
        .await
        .map_err(anyhow::Error::from)??;
        Ok(hashed)
    }

    /// Verifies `password` against `phc`, or against the dummy hash when `phc` is `None`; `false` then.
    pub async fn verify(&self, password: &SecretString, phc: Option<&str>) -> Result<bool, HashError> {
        let permit = self.slot().await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let hasher = self.clone();
        let password = password.clone();
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash is not a PHC string: {e}"))?;
            let ok = hasher
                .argon2()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            anyhow::Ok(ok && known)
        })
        .await
        .map_err(anyhow::Error::from)??;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(memory_budget_kib: u64, queue_timeout: Duration) -> HashCost {
        HashCost {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
            memory_budget_kib,
            queue_timeout,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_parameters() {
        let hasher = PasswordHasher::new(HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            ..cost(64 * 1024, Duration::from_secs(60))
        })
        .unwrap();
        let password = SecretString::from("correct horse battery staple");
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&password, Some(&phc)).await.unwrap());
        assert!(!hasher.verify(&SecretString::from("wrong"), Some(&phc)).await.unwrap());
        assert!(
            !hasher.verify(&password, None).await.unwrap(),
            "the dummy path never succeeds"
        );
        assert_ne!(phc, hasher.hash(&password).await.unwrap(), "salts differ");
        assert_eq!(hasher.verifications(), 3);
    }

    #[test]
    fn the_cap_is_the_memory_budget_over_the_memory_cost() {
        let slots = |budget_mib: u64| {
            PasswordHasher::new(cost(budget_mib * 1024, Duration::from_secs(1)))
                .unwrap()
                .slots()
        };
        assert_eq!((slots(256), slots(8), slots(1)), (32, 1, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_beyond_the_cap_waits_then_is_refused_as_busy() {
        // Arrange: one slot, held
        let hasher = PasswordHasher::new(cost(8 * 1024, Duration::from_millis(50))).unwrap();
        let held = hasher.slot().await.expect("the only slot");

        // Act
        let refused = hasher.verify(&SecretString::from("pw"), None).await;
        drop(held);
        let later = hasher.verify(&SecretString::from("pw"), None).await;

        // Assert
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        assert!(matches!(later, Ok(false)), "{later:?}");
    }
}
