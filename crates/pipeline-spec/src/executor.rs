//! Job executors and their parameters, validated. Parameter keys are camelCase JSON (`durationMs`), unknown keys are
//! rejected so a typo never silently falls back to a default.

use serde_json::{Map, Value, json};

use crate::external_ref::ExternalJobRef;
use crate::field::FieldError;

/// Largest accepted `params` object, in bytes of compact JSON.
pub const MAX_PARAMS_BYTES: usize = 16 * 1024;
/// `simulate.durationMs` upper bound (one hour).
pub const MAX_SIMULATE_DURATION_MS: u64 = 3_600_000;
/// `simulate.logLines` upper bound.
pub const MAX_SIMULATE_LOG_LINES: u64 = 10_000;
const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutorKind {
    Simulate,
    Http,
    /// A job of a run tracked from its source (GitHub Actions): never run here. Not accepted in a pipeline spec.
    External,
}

impl ExecutorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Simulate => "simulate",
            ExecutorKind::Http => "http",
            ExecutorKind::External => "external",
        }
    }

    /// An empty name means the default, `simulate`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "simulate" => Some(ExecutorKind::Simulate),
            "http" => Some(ExecutorKind::Http),
            "external" => Some(ExecutorKind::External),
            _ => None,
        }
    }
}

/// `simulate`: sleeps, writes log lines and fails with the given probability. The default executor.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateParams {
    /// 0..=3_600_000, default 1000.
    pub duration_ms: u64,
    /// 0.0..=1.0, default 0.
    pub fail_rate: f64,
    /// 0..=10_000, default 10.
    pub log_lines: u64,
}

/// `http`: POSTs a deploy hook (signed with HMAC when a secret is named) and follows its status URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpParams {
    pub url: String,
    pub status_url: Option<String>,
    /// The name of a secret in the service's configuration, never the secret itself.
    pub hmac_secret_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorSpec {
    Simulate(SimulateParams),
    Http(HttpParams),
    External(ExternalJobRef),
}

impl ExecutorSpec {
    pub fn kind(&self) -> ExecutorKind {
        match self {
            ExecutorSpec::Simulate(_) => ExecutorKind::Simulate,
            ExecutorSpec::Http(_) => ExecutorKind::Http,
            ExecutorSpec::External(_) => ExecutorKind::External,
        }
    }

    /// The params with every default filled in, as stored and shown.
    pub fn params_json(&self) -> Value {
        match self {
            ExecutorSpec::Simulate(p) => {
                json!({"durationMs": p.duration_ms, "failRate": p.fail_rate, "logLines": p.log_lines})
            }
            ExecutorSpec::Http(p) => {
                let mut m = Map::new();
                m.insert("url".into(), p.url.clone().into());
                if let Some(s) = &p.status_url {
                    m.insert("statusUrl".into(), s.clone().into());
                }
                if let Some(s) = &p.hmac_secret_ref {
                    m.insert("hmacSecretRef".into(), s.clone().into());
                }
                Value::Object(m)
            }
            ExecutorSpec::External(r) => r.params_json(),
        }
    }

    /// `path` is the job's path (`stages[0].jobs[1]`); errors name `…executor` or `…params.<key>`.
    pub fn parse(path: &str, executor: &str, params: &Value) -> Result<Self, FieldError> {
        let kind = ExecutorKind::parse(executor).ok_or_else(|| {
            FieldError::new(
                format!("{path}.executor"),
                format!("unknown executor {executor:?}: expected simulate or http"),
            )
        })?;
        let params_path = format!("{path}.params");
        let empty = Map::new();
        let map = match params {
            Value::Null => &empty,
            Value::Object(m) => m,
            _ => return Err(FieldError::new(params_path, "must be a JSON object")),
        };
        let size = serde_json::to_vec(params).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_PARAMS_BYTES {
            return Err(FieldError::new(
                params_path,
                format!("at most {MAX_PARAMS_BYTES} bytes of JSON (MAX_PARAMS_BYTES), got {size}"),
            ));
        }
        let p = Params {
            path: &params_path,
            map,
        };
        match kind {
            ExecutorKind::Simulate => {
                p.only(&["durationMs", "failRate", "logLines"])?;
                Ok(ExecutorSpec::Simulate(SimulateParams {
                    duration_ms: p.uint("durationMs", MAX_SIMULATE_DURATION_MS)?.unwrap_or(1000),
                    fail_rate: p.fail_rate()?.unwrap_or(0.0),
                    log_lines: p.uint("logLines", MAX_SIMULATE_LOG_LINES)?.unwrap_or(10),
                }))
            }
            ExecutorKind::Http => {
                p.only(&["url", "statusUrl", "hmacSecretRef"])?;
                let url = p.url("url")?.ok_or_else(|| p.err("url", "is required"))?;
                Ok(ExecutorSpec::Http(HttpParams {
                    url,
                    status_url: p.url("statusUrl")?,
                    hmac_secret_ref: p.secret_ref("hmacSecretRef")?,
                }))
            }
            ExecutorKind::External => Ok(ExecutorSpec::External(ExternalJobRef::parse(&params_path, map)?)),
        }
    }
}

struct Params<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

impl Params<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(format!("{}.{key}", self.path), message)
    }

    fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(k, format!("unknown parameter: expected one of {}", allowed.join(", ")))),
            None => Ok(()),
        }
    }

    fn present(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn uint(&self, key: &str, max: u64) -> Result<Option<u64>, FieldError> {
        let Some(v) = self.present(key) else { return Ok(None) };
        match v.as_u64() {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(self.err(key, format!("must be an integer from 0 to {max}"))),
        }
    }

    fn fail_rate(&self) -> Result<Option<f64>, FieldError> {
        let Some(v) = self.present("failRate") else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
            _ => Err(self.err("failRate", "must be a number from 0 to 1")),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    fn url(&self, key: &str) -> Result<Option<String>, FieldError> {
        let Some(raw) = self.string(key)? else { return Ok(None) };
        let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let clean = raw.len() <= MAX_URL_LEN && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
        match host {
            Some(h) if clean && !h.is_empty() && !h.contains('@') => Ok(Some(raw.to_owned())),
            _ => Err(self.err(
                key,
                format!(
                    "must be an http:// or https:// URL with a host, no credentials, at most {MAX_URL_LEN} characters"
                ),
            )),
        }
    }

    fn secret_ref(&self, key: &str) -> Result<Option<String>, FieldError> {
        let Some(raw) = self.string(key)? else { return Ok(None) };
        let ok = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_alphanumeric())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Some(raw.to_owned()))
        } else {
            Err(self.err(key, "must be a secret name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(executor: &str, params: Value) -> Result<ExecutorSpec, FieldError> {
        ExecutorSpec::parse("job", executor, &params)
    }

    #[test]
    fn simulate_fills_in_defaults() {
        let spec = parse("simulate", Value::Null).unwrap();
        assert_eq!(
            spec,
            ExecutorSpec::Simulate(SimulateParams {
                duration_ms: 1000,
                fail_rate: 0.0,
                log_lines: 10
            })
        );
        assert_eq!(
            spec.params_json(),
            json!({"durationMs": 1000, "failRate": 0.0, "logLines": 10})
        );
    }

    #[test]
    fn an_empty_executor_name_means_simulate() {
        assert_eq!(parse("", json!({})).unwrap().kind(), ExecutorKind::Simulate);
    }

    #[test]
    fn http_keeps_its_optional_fields() {
        let spec = parse(
            "http",
            json!({"url": "https://deploy.example/hook", "statusUrl": "http://deploy.example/s", "hmacSecretRef": "DEPLOY_HOOK"}),
        )
        .unwrap();
        assert_eq!(
            spec,
            ExecutorSpec::Http(HttpParams {
                url: "https://deploy.example/hook".into(),
                status_url: Some("http://deploy.example/s".into()),
                hmac_secret_ref: Some("DEPLOY_HOOK".into()),
            })
        );
    }

    #[test]
    fn bad_params_name_the_parameter() {
        let cases = [
            ("docker", json!({}), "job.executor"),
            ("simulate", json!([1]), "job.params"),
            ("simulate", json!({"durationMs": 3_600_001}), "job.params.durationMs"),
            ("simulate", json!({"durationMs": -1}), "job.params.durationMs"),
            ("simulate", json!({"durationMs": 1.5}), "job.params.durationMs"),
            ("simulate", json!({"failRate": 1.01}), "job.params.failRate"),
            ("simulate", json!({"failRate": "0.5"}), "job.params.failRate"),
            ("simulate", json!({"logLines": 10_001}), "job.params.logLines"),
            ("simulate", json!({"duration": 5}), "job.params.duration"),
            ("http", json!({}), "job.params.url"),
            ("http", json!({"url": "ftp://x/y"}), "job.params.url"),
            ("http", json!({"url": "https://"}), "job.params.url"),
            ("http", json!({"url": "https://user:pw@host/"}), "job.params.url"),
            ("http", json!({"url": 5}), "job.params.url"),
            (
                "http",
                json!({"url": "https://h/", "statusUrl": "h/s"}),
                "job.params.statusUrl",
            ),
            (
                "http",
                json!({"url": "https://h/", "hmacSecretRef": "a b"}),
                "job.params.hmacSecretRef",
            ),
        ];
        for (executor, params, path) in cases {
            let err = parse(executor, params.clone()).unwrap_err();
            assert_eq!(err.path, path, "{executor} {params}: {err}");
        }
    }

    #[test]
    fn params_over_16_kib_are_rejected_naming_the_limit() {
        let big = "x".repeat(MAX_PARAMS_BYTES);
        let err = parse("http", json!({"url": format!("https://h/{big}")})).unwrap_err();
        assert_eq!(err.path, "job.params");
        assert!(err.message.contains("16384"), "{err}");
    }
}
