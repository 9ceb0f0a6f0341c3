//! What auth does on a timer, and on demand from `devopstrack auth rotate-keys`: re-read, rotate and retire signing
//! keys, and forget old throttle records.

use super::AuthApp;

impl AuthApp {
    /// One round: the key ring re-reads the store (picking up keys rotated by another replica or by the command),
    /// rotates when due and retires keys past their grace; then throttle records nobody needs are deleted.
    pub async fn maintain(&self) -> anyhow::Result<()> {
        let now = self.now();
        if self.keys.maintain(now, self.policy.rotate_keys).await? {
            // Auth verifies its own tokens against the ring: follow it now rather than within the refresh bound.
            self.verifier.refresh(true).await.ok();
        }
        let pruned = self
            .store
            .prune_attempts(self.policy.throttle.forgotten_before(now))
            .await?;
        if pruned > 0 {
            tracing::debug!(pruned, "forgot old throttle records");
        }
        Ok(())
    }

    /// Generates and activates a new signing key; `retire_previous` retires every older key at once (a leaked key):
    /// tokens they signed stop verifying everywhere once verifiers re-read the JWKS. Returns the new key's id.
    pub async fn rotate_keys(&self, retire_previous: bool) -> anyhow::Result<String> {
        let now = self.now();
        let kid = self.keys.rotate(now).await?;
        if retire_previous {
            self.keys.retire_all_but_newest(now).await?;
        }
        self.verifier.refresh(true).await.ok();
        Ok(kid)
    }
}
