//! The signing key ring: Ed25519 keys kept in the auth store (or one given as a PEM), the newest signs, the newest two
//! are published in the JWKS so a rotation never invalidates tokens already issued.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use devopstrack_platform::auth::{Claims, Jwk};

use crate::domain::{SigningKeyRecord, now_micros};
use crate::store::{AuthStore, StoreError};

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
    ring: Arc<RwLock<Ring>>,
}

impl KeyRing {
    /// Loads the keys, first storing `configured` (a PEM) or, when the store has none, a freshly generated key.
    pub async fn load(store: Arc<dyn AuthStore>, configured: Option<&str>) -> anyhow::Result<Self> {
        if let Some(pem) = configured {
            let signing = SigningKey::from_pkcs8_pem(pem)
                .map_err(|e| anyhow::anyhow!("DEVOPSTRACK_AUTH__SIGNING_KEY_PEM is not an Ed25519 PKCS#8 PEM: {e}"))?;
            let kid = thumbprint(&signing);
            let stored = store.signing_keys().await?;
            if stored.first().map(|k| &k.kid) != Some(&kid) {
                insert(&*store, &signing).await?;
            }
        } else if store.signing_keys().await?.is_empty() {
            insert(&*store, &SigningKey::generate(&mut rand::rngs::OsRng)).await?;
        }
        let ring = read_ring(&*store).await?;
        Ok(Self {
            store,
            ring: Arc::new(RwLock::new(ring)),
        })
    }

    /// Generates and activates a new key; the previous one stays published.
    pub async fn rotate(&self) -> anyhow::Result<String> {
        insert(&*self.store, &SigningKey::generate(&mut rand::rngs::OsRng)).await?;
        let ring = read_ring(&*self.store).await?;
        let kid = ring.active.kid.clone();
        *self.ring.write() = ring;
        tracing::info!(%kid, "signing key rotated");
        Ok(kid)
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

async fn insert(store: &dyn AuthStore, signing: &SigningKey) -> anyhow::Result<()> {
    let pem = signing
        .to_pkcs8_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("encoding a key: {e}"))?;
    let record = SigningKeyRecord {
        kid: thumbprint(signing),
        private_key_pem: pem.to_string(),
        created_at: now_micros(),
    };
    match store.insert_signing_key(&record).await {
        // Another replica stored the same configured key first: fine.
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn read_ring(store: &dyn AuthStore) -> anyhow::Result<Ring> {
    let records = store.signing_keys().await?;
    let mut keys = Vec::with_capacity(2);
    for record in records.iter().take(2) {
        let signing = SigningKey::from_pkcs8_pem(&record.private_key_pem)
            .map_err(|e| anyhow::anyhow!("stored signing key {} is unreadable: {e}", record.kid))?;
        keys.push((record.kid.clone(), signing, record.private_key_pem.clone()));
    }
    let Some((kid, _, pem)) = keys.first() else {
        anyhow::bail!("the auth store has no signing key");
    };
    let active = ActiveKey {
        kid: kid.clone(),
        encoding: EncodingKey::from_ed_pem(pem.as_bytes())?,
    };
    let published = keys
        .iter()
        .map(|(kid, signing, _)| Jwk::ed25519(kid, public_x(signing)))
        .collect();
    Ok(Ring { active, published })
}

fn public_x(signing: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes())
}

/// RFC 7638 JWK thumbprint: a stable `kid` derived from the public key.
fn thumbprint(signing: &SigningKey) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, public_x(signing));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
