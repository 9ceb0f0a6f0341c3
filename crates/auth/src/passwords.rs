//! Argon2id hashing on the blocking pool (a hash takes tens of milliseconds and must not stall the runtime).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified when the email is unknown so both paths cost the same.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
        };
        let random = crate::tokens::random_secret("dummy_");
        hasher.dummy_hash = hasher.hash_blocking(&random)?;
        Ok(hasher)
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

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh salt.
    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let hasher = self.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || hasher.hash_blocking(password.expose_secret())).await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when `phc` is `None`; `false` then.
    pub async fn verify(&self, password: &SecretString, phc: Option<&str>) -> anyhow::Result<bool> {
        let hasher = self.clone();
        let password = password.clone();
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        tokio::task::spawn_blocking(move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash is not a PHC string: {e}"))?;
            let ok = hasher
                .argon2()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            Ok(ok && known)
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_parameters() {
        let hasher = PasswordHasher::new(19 * 1024, 2, 1).unwrap();
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
    }
}
