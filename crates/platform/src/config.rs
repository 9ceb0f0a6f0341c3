//! Settings loading, the same for every service: serde defaults, then an optional TOML file named by
//! `DEVOPSTRACK_CONFIG` (one file for all services, a `[<service>]` table each), then environment variables
//! `DEVOPSTRACK_<SERVICE>__<KEY>` (nested keys joined by `__`), which win.
//!
//! A bad value is a one-line error naming its source, e.g.
//! `invalid type: found string "abc", expected u16 for key "grpc_port" in DEVOPSTRACK_AUTH__GRPC_PORT environment variable`.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::de::DeserializeOwned;

/// Why settings could not be loaded: always one line, naming the variable or file at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// The environment-variable prefix of a service: `auth` → `DEVOPSTRACK_AUTH__`.
pub fn env_prefix(service: &str) -> String {
    format!("DEVOPSTRACK_{}__", service.to_uppercase().replace('-', "_"))
}

/// The environment variable that sets `key` of `service`: (`auth`, `grpc_addr`) → `DEVOPSTRACK_AUTH__GRPC_ADDR`.
pub fn env_var(service: &str, key: &str) -> String {
    format!("{}{}", env_prefix(service), key.to_uppercase().replace('.', "__"))
}

/// Loads the settings of `service`. Every field of `T` must have a serde default (`#[serde(default)]` on the struct),
/// so an empty environment gives the development defaults.
pub fn load<T: DeserializeOwned>(service: &str) -> Result<T, ConfigError> {
    // Every service's token verifier reads this one process-wide setting; a bad value stops the service here.
    crate::auth::refresh_interval_from_env().map_err(ConfigError)?;
    load_from(service, std::env::var("DEVOPSTRACK_CONFIG").ok().as_deref())
}

/// [`load`] with an explicit config file (or none).
pub fn load_from<T: DeserializeOwned>(service: &str, file: Option<&str>) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        if !std::path::Path::new(path).is_file() {
            return Err(ConfigError(format!(
                "DEVOPSTRACK_CONFIG names {path:?}, which is not a readable file"
            )));
        }
        // `nested`: each top-level table is a profile; we select the service's own table below.
        figment = figment.merge(Toml::file(path).nested());
    }
    figment = figment.merge(Env::prefixed(&env_prefix(service)).split("__").global());
    figment
        .select(service)
        .extract::<T>()
        .map_err(|e| ConfigError(one_line(service, &e)))
}

/// `DEVOPSTRACK_AUTH__GRPC_ADDR: invalid type: …` for values from the environment, figment's own wording otherwise.
fn one_line(service: &str, error: &figment::Error) -> String {
    let from_env = error
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("environment variable"));
    let message = if from_env && !error.path.is_empty() {
        format!(
            "{}{}: {}",
            env_prefix(service),
            error.path.join("__").to_uppercase(),
            error.kind
        )
    } else if let Some(key) = unknown_flattened_key(error) {
        format!(
            "{}: unknown key (`{key}` in the [{service}] table of DEVOPSTRACK_CONFIG, or that environment variable)",
            env_var(service, key)
        )
    } else {
        error.to_string()
    };
    message.replace('\n', " ")
}

/// The key of an ``unknown field `key` `` error that serde reports without figment's path: settings that flatten a
/// block (`#[serde(flatten)]`) check unknown keys after figment has handed the values over.
fn unknown_flattened_key(error: &figment::Error) -> Option<&str> {
    let figment::error::Kind::Message(message) = &error.kind else {
        return None;
    };
    let key = message.strip_prefix("unknown field `")?.strip_suffix('`')?;
    (error.path.is_empty() && !key.is_empty()).then_some(key)
}

#[cfg(test)]
// figment's `Jail` closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Demo {
        port: u16,
        name: String,
        nested: Nested,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default)]
    struct Nested {
        depth: u32,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self {
                port: 1,
                name: "default".into(),
                nested: Nested::default(),
            }
        }
    }

    impl Default for Nested {
        fn default() -> Self {
            Self { depth: 7 }
        }
    }

    #[test]
    fn env_names_follow_the_convention() {
        assert_eq!(env_prefix("chat-gateway"), "DEVOPSTRACK_CHAT_GATEWAY__");
        assert_eq!(env_var("auth", "grpc_addr"), "DEVOPSTRACK_AUTH__GRPC_ADDR");
        assert_eq!(env_var("auth", "token.ttl"), "DEVOPSTRACK_AUTH__TOKEN__TTL");
    }

    #[test]
    fn defaults_then_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(load_from::<Demo>("demo", None).unwrap(), Demo::default());

            jail.create_file(
                "devopstrack.toml",
                "[demo]\nport = 2\nname = \"file\"\n[other]\nport = 9\n",
            )?;
            let from_file: Demo = load_from("demo", Some("devopstrack.toml")).unwrap();
            assert_eq!((from_file.port, from_file.name.as_str()), (2, "file"));

            jail.set_env("DEVOPSTRACK_DEMO__PORT", "3");
            jail.set_env("DEVOPSTRACK_DEMO__NESTED__DEPTH", "11");
            let from_env: Demo = load_from("demo", Some("devopstrack.toml")).unwrap();
            assert_eq!(
                (from_env.port, from_env.name.as_str(), from_env.nested.depth),
                (3, "file", 11)
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_variable_on_one_line() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DEVOPSTRACK_DEMO__PORT", "not-a-port");
            let err = load_from::<Demo>("demo", None).unwrap_err().to_string();
            assert!(err.contains("DEVOPSTRACK_DEMO__PORT"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DEVOPSTRACK_DEMO__PROT", "3");
            let err = load_from::<Demo>("demo", None).unwrap_err().to_string();
            assert!(err.contains("prot"), "{err}");
            Ok(())
        });
    }

    #[derive(Debug, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Flattening {
        port: u16,
        #[serde(flatten)]
        nested: Nested,
    }

    impl Default for Flattening {
        fn default() -> Self {
            Self {
                port: 1,
                nested: Nested::default(),
            }
        }
    }

    #[test]
    fn an_unknown_key_beside_a_flattened_block_names_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DEVOPSTRACK_DEMO__DEPHT", "3");

            let err = load_from::<Flattening>("demo", None).unwrap_err().to_string();

            assert!(err.contains("DEVOPSTRACK_DEMO__DEPHT: unknown key"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            jail.clear_env();
            jail.set_env("DEVOPSTRACK_DEMO__DEPTH", "3");
            let flattened = load_from::<Flattening>("demo", None).unwrap();
            assert_eq!((flattened.port, flattened.nested.depth), (1, 3));
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = load_from::<Demo>("demo", Some("/nonexistent/devopstrack.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DEVOPSTRACK_CONFIG"), "{err}");
    }
}
