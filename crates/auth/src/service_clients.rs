//! The clients of the client-credentials grant: one secret per client id (`DEVOPSTRACK_AUTH__SERVICE_CLIENTS__<ID>`),
//! each at least [`MIN_SECRET_BYTES`] long. Only SHA-256 digests are kept in memory after start, and a presented
//! secret is compared in constant time against its client's digest (or a dummy one, so an unknown client id takes
//! the same path).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest secret a client may have.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, Default)]
pub struct ServiceClients {
    digests: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for ServiceClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.digests.keys()).finish()
    }
}

impl ServiceClients {
    /// From the configured map (already validated by `Settings::validate`).
    pub fn new(secrets: &BTreeMap<String, SecretString>) -> Self {
        let digests = secrets
            .iter()
            .map(|(id, secret)| (id.clone(), digest(secret.expose_secret())))
            .collect();
        Self { digests }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `secret` is `client_id`'s.
    pub fn check(&self, client_id: &str, secret: &str) -> bool {
        let presented = digest(secret);
        let (known, expected) = match self.digests.get(client_id) {
            Some(expected) => (true, *expected),
            None => (false, [0xa5; 32]),
        };
        let matches: bool = presented.ct_eq(&expected).into();
        known && matches
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Why a configured client is refused: one line naming its variable.
pub fn validate(secrets: &BTreeMap<String, SecretString>) -> Result<(), String> {
    for (id, secret) in secrets {
        let var = format!(
            "DEVOPSTRACK_AUTH__SERVICE_CLIENTS__{}",
            id.to_uppercase().replace('-', "_")
        );
        let id_ok = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(format!("{var}: a client id is lower-case letters, digits, '-' and '_'"));
        }
        let len = secret.expose_secret().len();
        if len < MIN_SECRET_BYTES {
            return Err(format!(
                "{var}: the secret must be at least {MIN_SECRET_BYTES} bytes, not {len} (e.g. `openssl rand -base64 32`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
        pairs
            .iter()
            .map(|(id, secret)| ((*id).to_owned(), SecretString::from(*secret)))
            .collect()
    }

    const TASKS: &str = "tasks-secret-0123456789abcdefghijklmnop";
    const GATEWAY: &str = "gateway-secret-0123456789abcdefghijklmn";

    #[test]
    fn each_client_has_its_own_secret() {
        let clients = ServiceClients::new(&map(&[("tasks", TASKS), ("gateway", GATEWAY)]));

        assert!(clients.check("tasks", TASKS));
        assert!(clients.check("gateway", GATEWAY));
        assert!(!clients.check("tasks", GATEWAY), "another client's secret");
        assert!(!clients.check("intruder", TASKS));
        assert!(!clients.check("tasks", ""));
        assert!(!format!("{clients:?}").contains("secret"), "{clients:?}");
    }

    #[test]
    fn a_short_or_empty_secret_or_an_odd_id_is_refused_naming_the_variable() {
        assert!(validate(&map(&[("tasks", TASKS)])).is_ok());
        let short = validate(&map(&[("tasks", "hunter2")])).unwrap_err();
        assert!(
            short.starts_with("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__TASKS: ") && short.contains("not 7"),
            "{short}"
        );
        let empty = validate(&map(&[("web-hooks", "")])).unwrap_err();
        assert!(
            empty.starts_with("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__WEB_HOOKS: "),
            "{empty}"
        );
        assert!(validate(&map(&[("Tasks!", TASKS)])).is_err());
        assert!(!short.contains('\n'));
    }
}
