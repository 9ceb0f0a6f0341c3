//! Validation names the variable at fault; flattened, the block keeps today's variable names.

use serde::Deserialize;

use super::*;

type Breaks = fn(&mut ServiceSettings);

#[test]
fn the_defaults_are_valid_and_point_at_a_local_auth() {
    let defaults = ServiceSettings::default();

    defaults.validate("tasks").unwrap();
    assert_eq!(defaults.auth_url, "http://127.0.0.1:50051");
    assert_eq!(
        defaults.client("http://127.0.0.1:50052").timeout,
        Duration::from_secs(5)
    );
}

#[test]
fn a_bad_value_is_one_line_naming_the_variable_of_the_service() {
    let cases: [(Breaks, &str); 7] = [
        (
            |s| s.auth_url = "127.0.0.1:50051".into(),
            "DEVOPSTRACK_PROJECTS__AUTH_URL: must be an http",
        ),
        (|s| s.auth_url = "grpc://auth".into(), "DEVOPSTRACK_PROJECTS__AUTH_URL"),
        (|s| s.issuer.clear(), "DEVOPSTRACK_PROJECTS__ISSUER: must not be empty"),
        (
            |s| s.audience.clear(),
            "DEVOPSTRACK_PROJECTS__AUDIENCE: must not be empty",
        ),
        (
            |s| s.upstream_timeout_ms = 99,
            "DEVOPSTRACK_PROJECTS__UPSTREAM_TIMEOUT_MS: must be between 100 and 60000",
        ),
        (
            |s| s.upstream_timeout_ms = 60_001,
            "DEVOPSTRACK_PROJECTS__UPSTREAM_TIMEOUT_MS",
        ),
        (
            |s| s.upstream_timeout_ms = 0,
            "DEVOPSTRACK_PROJECTS__UPSTREAM_TIMEOUT_MS",
        ),
    ];
    for (breaks, expected) in cases {
        let mut settings = ServiceSettings::default();
        breaks(&mut settings);

        let error = settings.validate("projects").unwrap_err().to_string();

        assert!(error.contains(expected) && !error.contains('\n'), "{error}");
    }
    let mut edges = ServiceSettings::default();
    for ms in [100, 60_000] {
        edges.upstream_timeout_ms = ms;
        edges.validate("projects").unwrap();
    }
}

/// A service's settings as each one declares them.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Demo {
    workers: u32,
    #[serde(flatten)]
    peers: ServiceSettings,
}

impl Default for Demo {
    fn default() -> Self {
        Self {
            workers: 8,
            peers: ServiceSettings::default(),
        }
    }
}

#[test]
// figment's `Jail` closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
fn flattened_the_block_keeps_the_variable_names_users_set_today() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("DEVOPSTRACK_DEMO__AUTH_URL", "http://auth:50051");
        jail.set_env("DEVOPSTRACK_DEMO__ISSUER", "https://devopstrack.example");
        jail.set_env("DEVOPSTRACK_DEMO__AUDIENCE", "devopstrack-api");
        jail.set_env("DEVOPSTRACK_DEMO__UPSTREAM_TIMEOUT_MS", "750");
        jail.set_env("DEVOPSTRACK_DEMO__WORKERS", "3");

        let settings: Demo = load("demo").expect("valid settings");

        assert_eq!(settings.workers, 3);
        assert_eq!(
            settings.peers,
            ServiceSettings {
                auth_url: "http://auth:50051".into(),
                issuer: "https://devopstrack.example".into(),
                audience: "devopstrack-api".into(),
                upstream_timeout_ms: 750,
            }
        );
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn a_bad_value_of_the_block_still_names_its_variable_and_unknown_keys_are_refused() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("DEVOPSTRACK_DEMO__UPSTREAM_TIMEOUT_MS", "soon");
        let error = load::<Demo>("demo").unwrap_err().to_string();
        assert!(error.contains("DEVOPSTRACK_DEMO__UPSTREAM_TIMEOUT_MS"), "{error}");
        assert!(!error.contains('\n'), "{error}");

        jail.clear_env();
        jail.set_env("DEVOPSTRACK_DEMO__AUTH_ULR", "http://auth:50051");
        let error = load::<Demo>("demo").unwrap_err().to_string();
        assert!(error.contains("DEVOPSTRACK_DEMO__AUTH_ULR: unknown key"), "{error}");
        Ok(())
    });
}

#[test]
fn client_credentials_need_an_id_and_a_secret_of_32_bytes_or_none() {
    let long = SecretString::from("x".repeat(32));
    validate_client("gateway", "gateway", None).unwrap();
    validate_client("gateway", "gateway", Some(&long)).unwrap();

    let cases = [
        ("", None, "DEVOPSTRACK_GATEWAY__CLIENT_ID: must not be empty"),
        (" ", None, "DEVOPSTRACK_GATEWAY__CLIENT_ID: must not be empty"),
        (
            "gateway",
            Some(""),
            "DEVOPSTRACK_GATEWAY__CLIENT_SECRET: must be at least 32 bytes",
        ),
        (
            "gateway",
            Some("31 bytes is one byte too short!"),
            "DEVOPSTRACK_GATEWAY__CLIENT_SECRET: must be at least 32",
        ),
    ];
    for (id, secret, expected) in cases {
        let secret = secret.map(SecretString::from);

        let error = validate_client("gateway", id, secret.as_ref()).unwrap_err().to_string();

        assert!(error.contains(expected) && !error.contains('\n'), "{error}");
        assert!(!error.contains("too short!"), "the secret is never echoed: {error}");
    }
}

#[test]
fn peer_urls_are_http_or_https() {
    assert!(is_grpc_url("http://tasks:50053") && is_grpc_url("https://tasks.example"));
    assert!(!is_grpc_url("tasks:50053") && !is_grpc_url("grpc://tasks") && !is_grpc_url(""));
}
