//! The data directory of `devopstrack up` and the secrets it keeps there: the directory is 0700 and every file in it
//! 0600 (the SQLite files too: `devopstrack_platform::sqlite`). Each secret is generated on first start and read on
//! later ones; a value given in the environment wins over the file.
//!
//! - `signing-key-kek`: auth's key-encryption key (`DEVOPSTRACK_AUTH__SIGNING_KEY_KEK`): the signing keys in
//!   `auth.db` are sealed under it, so the database alone does not give the keys away.
//! - `service-client-<id>`: one client-credentials secret per calling service (`gateway`, `tasks`), each auth's
//!   `DEVOPSTRACK_AUTH__SERVICE_CLIENTS__<ID>` and the caller's `DEVOPSTRACK_<SVC>__CLIENT_SECRET`. The single
//!   `service-client-secret` of earlier versions is deleted (its secret is not reused).
//! - `projects-secrets-key`: the key the projects service seals webhook secrets with.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

/// The file of the one shared secret earlier versions kept.
const LEGACY_SERVICE_SECRET_FILE: &str = "service-client-secret";
pub const KEK_FILE: &str = "signing-key-kek";
pub const PROJECTS_SECRETS_KEY_FILE: &str = "projects-secrets-key";

/// The file holding `client_id`'s client-credentials secret.
pub fn service_secret_file(data_dir: &Path, client_id: &str) -> PathBuf {
    data_dir.join(format!("service-client-{client_id}"))
}

/// Creates the data directory (mode 0700, also tightened when it exists) and answers its canonical path.
pub fn data_dir(path: &Path) -> anyhow::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder
            .create(path)
            .with_context(|| format!("cannot create the data directory {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (mode 0700)", path.display()))?;
    }
    #[cfg(not(unix))]
    builder
        .create(path)
        .with_context(|| format!("cannot create the data directory {}", path.display()))?;
    Ok(path.canonicalize()?)
}

/// The key-encryption key of auth's signing keys from its file, generated on first start.
pub fn kek(data_dir: &Path) -> anyhow::Result<SecretString> {
    read_or_create(
        &data_dir.join(KEK_FILE),
        devopstrack_auth::kek::Kek::generate_base64,
        |value| devopstrack_auth::kek::Kek::from_base64(value).map(drop),
    )
}

/// `client_id`'s client-credentials secret from its file, generated on first start.
pub fn service_secret(data_dir: &Path, client_id: &str) -> anyhow::Result<SecretString> {
    read_or_create(
        &service_secret_file(data_dir, client_id),
        || SecretString::from(devopstrack_auth::tokens::random_secret("")),
        |value| {
            let len = value.expose_secret().len();
            if len >= devopstrack_auth::service_clients::MIN_SECRET_BYTES {
                Ok(())
            } else {
                Err(format!(
                    "holds {len} bytes; a client secret needs at least 32 (delete the file to get a new one)"
                ))
            }
        },
    )
}

/// Deletes the shared secret file of earlier versions; `true` when there was one.
pub fn retire_legacy_service_secret(data_dir: &Path) -> anyhow::Result<bool> {
    let legacy = data_dir.join(LEGACY_SERVICE_SECRET_FILE);
    match std::fs::remove_file(&legacy) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot delete {}", legacy.display())),
    }
}

/// The key that encrypts webhook secrets in the projects store: losing it makes stored webhook secrets unusable
/// (they fail closed).
pub fn projects_secrets_key(data_dir: &Path) -> anyhow::Result<SecretString> {
    use devopstrack_projects::secrets::SecretsKey;
    read_or_create(
        &data_dir.join(PROJECTS_SECRETS_KEY_FILE),
        SecretsKey::generate_base64,
        |value| SecretsKey::from_base64(value).map(drop),
    )
}

/// The secret in `path` (checked by `valid`, tightened to 0600), or a new one from `generate` written there with
/// mode 0600 (never overwriting a file: a concurrent start or a bad file is an error, not a silent replacement).
fn read_or_create(
    path: &Path,
    generate: impl FnOnce() -> SecretString,
    valid: impl FnOnce(&SecretString) -> Result<(), String>,
) -> anyhow::Result<SecretString> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let existing = SecretString::from(existing.trim().to_owned());
            valid(&existing).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            return Ok(existing);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let secret = generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(secret.expose_secret().as_bytes())?;
    file.sync_all()?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn secrets_are_generated_once_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = data_dir(&dir.path().join("data")).unwrap();

        let first = service_secret(&data, "tasks").unwrap();
        let again = service_secret(&data, "tasks").unwrap();
        let other = service_secret(&data, "gateway").unwrap();
        let kek = kek(&data).unwrap();

        assert_eq!(first.expose_secret(), again.expose_secret());
        assert_ne!(first.expose_secret(), other.expose_secret(), "one secret per client");
        assert!(first.expose_secret().len() >= 32);
        assert!(devopstrack_auth::kek::Kek::from_base64(&kek).is_ok());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&service_secret_file(&data, "tasks")), 0o600);
        assert_eq!(mode(&data.join(KEK_FILE)), 0o600);
    }

    #[test]
    fn a_short_secret_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(service_secret_file(dir.path(), "tasks"), "short").unwrap();

        let error = service_secret(dir.path(), "tasks").unwrap_err().to_string();

        assert!(error.contains("at least 32"), "{error}");
        assert_eq!(
            std::fs::read_to_string(service_secret_file(dir.path(), "tasks")).unwrap(),
            "short"
        );
    }
}
