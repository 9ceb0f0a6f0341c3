//! The signing key ring: Ed25519 keys kept in the auth store sealed under the key-encryption key ([`crate::kek`]),
//! or one given as a PEM. The newest signs. A key that was rotated out stays published in the JWKS for as long as
//! tokens it signed can live ([`KeyPolicy::grace`]), then it is retired: deleted from the store and the JWKS.
//!
//! Rotation runs on a schedule ([`KeyPolicy::rotation`]) and on demand (`devopstrack auth rotate-keys`, which writes
//! the store directly); every replica re-reads the store on each [`KeyRing::maintain`], so a key rotated anywhere is
//! signed with everywhere within one maintenance interval.

use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::RwLock;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use devopstrack_platform::auth::{Claims, Jwk};

use crate::domain::SigningKeyRecord;
use crate::kek::{Kek, Stored, classify};
use crate::store::{AuthStore, StoreError};

/// When keys rotate and how long a rotated-out key stays published.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// Scheduled rotation: a key older than this is replaced. `None`: only on demand.
    pub rotation: Option<Duration>,
    /// How long a key stays published after its successor was stored: the access-token lifetime, plus one
    /// maintenance interval (replicas may sign with it until they re-read the store), plus clock leeway.
    pub grace: Duration,
}

struct ActiveKey {
    kid: String,
    encoding: EncodingKey,
}

struct Ring {
    active: ActiveKey,
    published: Vec<Jwk>,
}

#[derive(Clone)]
pub struct KeyRing {
    store: Arc<dyn AuthStore>,
    kek: Arc<Kek>,
    policy: KeyPolicy,
    ring: Arc<RwLock<Ring>>,
}

impl KeyRing {
    /// Seals any plaintext key left from before, stores `configured` (a PEM) unless it is already the newest key,
    /// generates a key when the store has none, and loads the ring. Keys sealed under another KEK are refused.
    pub async fn load(
        store: Arc<dyn AuthStore>,
        kek: Kek,
        configured: Option<&SecretString>,
        policy: KeyPolicy,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        seal_plaintext_keys(&*store, &kek).await?;
        if let Some(pem) = configured {
            let signing = SigningKey::from_pkcs8_pem(pem.expose_secret())
                .map_err(|e| anyhow::anyhow!("DEVOPSTRACK_AUTH__SIGNING_KEY_PEM is not an Ed25519 PKCS#8 PEM: {e}"))?;
            let stored = store.signing_keys().await?;
            if stored.first().map(|k| k.kid.as_str()) != Some(thumbprint(&signing).as_str()) {
                insert(&*store, &kek, &signing, now).await?;
            }
        } else if store.signing_keys().await?.is_empty() {
            insert(&*store, &kek, &generate(), now).await?;
        }
        let kek = Arc::new(kek);
        let ring = read_ring(&*store, &kek, policy, now).await?;
        Ok(Self {
            store,
            kek,
            policy,
            ring: Arc::new(RwLock::new(ring)),
        })
    }

    /// Generates and activates a new key; the previous one stays published for [`KeyPolicy::grace`].
    pub async fn rotate(&self, now: DateTime<Utc>) -> anyhow::Result<String> {
        insert(&*self.store, &self.kek, &generate(), now).await?;
        self.reload(now).await?;
        let kid = self.active_kid();
        tracing::info!(%kid, "signing key rotated");
        Ok(kid)
    }

    /// Retires every key but the newest at once (a key that may have leaked): tokens they signed stop verifying
    /// once verifiers re-read the JWKS. Returns how many were retired.
    pub async fn retire_all_but_newest(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let records = self.store.signing_keys().await?;
        for record in records.iter().skip(1) {
            self.store.delete_signing_key(&record.kid).await?;
            tracing::warn!(kid = %record.kid, "signing key retired at once");
        }
        self.reload(now).await?;
        Ok(records.len().saturating_sub(1))
    }

    /// Re-reads the store, rotates when the newest key is older than the rotation period (`rotate_when_due`: not
    /// when a PEM is configured, whose owner rotates it), retires keys past their grace. `true` when the JWKS
    /// changed.
    pub async fn maintain(&self, now: DateTime<Utc>, rotate_when_due: bool) -> anyhow::Result<bool> {
        let before = self.jwks();
        let records = self.store.signing_keys().await?;
        let due = match (self.policy.rotation, records.first()) {
            (Some(period), Some(newest)) => rotate_when_due && newest.created_at + period <= now,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if due {
            insert(&*self.store, &self.kek, &generate(), now).await?;
            tracing::info!("signing key rotated on schedule");
        }
        let records = self.store.signing_keys().await?;
        for (successor, record) in records.iter().zip(records.iter().skip(1)) {
            if successor.created_at + self.policy.grace <= now {
                self.store.delete_signing_key(&record.kid).await?;
                tracing::info!(kid = %record.kid, "signing key retired");
            }
        }
        self.reload(now).await?;
        Ok(self.jwks() != before)
    }

    async fn reload(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let ring = read_ring(&*self.store, &self.kek, self.policy, now).await?;
        *self.ring.write() = ring;
        Ok(())
    }

    pub fn active_kid(&self) -> String {
        self.ring.read().active.kid.clone()
    }

    pub fn jwks(&self) -> Vec<Jwk> {
        self.ring.read().published.clone()
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let ring = self.ring.read();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(ring.active.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &ring.active.encoding)?)
    }
}

fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// Seals every key stored as a plaintext PEM (a store from before encryption); refuses keys sealed under another KEK.
async fn seal_plaintext_keys(store: &dyn AuthStore, kek: &Kek) -> anyhow::Result<()> {
    for record in store.signing_keys().await? {
        match classify(&record.private_key) {
            Stored::Sealed { fingerprint } if fingerprint == kek.fingerprint() => {}
            Stored::Sealed { fingerprint } => anyhow::bail!(
                "the auth store's signing keys are encrypted under another key-encryption key (fingerprint \
                 {fingerprint}) than DEVOPSTRACK_AUTH__SIGNING_KEY_KEK (fingerprint {}): start with the KEK they were \
                 sealed with",
                kek.fingerprint()
            ),
            Stored::Plaintext(pem) => {
                let sealed = kek.seal(&record.kid, &SecretString::from(pem.to_owned()));
                store.update_signing_key(&record.kid, &sealed).await?;
                tracing::info!(kid = %record.kid, "a plaintext signing key was encrypted at rest");
            }
            Stored::Unrecognised => anyhow::bail!("stored signing key {} is neither sealed nor a PEM", record.kid),
        }
    }
    Ok(())
}

async fn insert(store: &dyn AuthStore, kek: &Kek, signing: &SigningKey, now: DateTime<Utc>) -> anyhow::Result<()> {
    let pem = signing
        .to_pkcs8_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("encoding a key: {e}"))?;
    let kid = thumbprint(signing);
    let record = SigningKeyRecord {
        private_key: kek.seal(&kid, &SecretString::from(pem.to_string())),
        kid,
        created_at: now,
    };
    match store.insert_signing_key(&record).await {
        // Another replica stored the same configured key first: fine.
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The newest key signs; it and every key whose successor is younger than the grace are published.
async fn read_ring(store: &dyn AuthStore, kek: &Kek, policy: KeyPolicy, now: DateTime<Utc>) -> anyhow::Result<Ring> {
    let records = store.signing_keys().await?;
    let mut published = Vec::new();
    let mut active = None;
    for (i, record) in records.iter().enumerate() {
        let live = i == 0 || records[i - 1].created_at + policy.grace > now;
        if !live {
            continue;
        }
        let pem = kek
            .open(&record.kid, &record.private_key)
            .with_context(|| format!("stored signing key {} does not open", record.kid))?;
        let signing = SigningKey::from_pkcs8_pem(pem.expose_secret())
            .map_err(|e| anyhow::anyhow!("stored signing key {} is unreadable: {e}", record.kid))?;
        published.push(Jwk::ed25519(&record.kid, public_x(&signing)));
        if i == 0 {
            active = Some(ActiveKey {
                kid: record.kid.clone(),
                encoding: EncodingKey::from_ed_pem(pem.expose_secret().as_bytes())?,
            });
        }
    }
    let active = active.ok_or_else(|| anyhow::anyhow!("the auth store has no signing key"))?;
    Ok(Ring { active, published })
}

fn public_x(signing: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes())
}

/// RFC 7638 JWK thumbprint: a stable `kid` derived from the public key.
pub fn thumbprint(signing: &SigningKey) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, public_x(signing));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
