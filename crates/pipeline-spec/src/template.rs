//! The placeholders of a deploy definition: `${environment}`, `${version}` and `${commit}` in the string values of its
//! jobs' params, replaced by the run's values as plain text.
//!
//! Nothing is evaluated: the text is scanned once, left to right; a known placeholder is replaced by its value and the
//! value is never scanned again (a version `"${commit}"` stays that literal text), anything else (an unknown `${x}`,
//! a lone `$`) is kept as it is. Only string values change, inside the JSON value: never keys, never the JSON text, so
//! a value with quotes, braces or newlines cannot change the shape of the params. The filled spec is parsed again by
//! [`crate::PipelineSpec::parse`], so a value that makes a URL invalid is refused like any bad input.

use serde_json::Value;

use crate::spec::PipelineInput;

/// The names a definition may use, as `${name}`.
pub const PLACEHOLDERS: [&str; 3] = ["environment", "version", "commit"];

/// What a run fills in; `None` leaves that placeholder as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values<'a> {
    pub environment: Option<&'a str>,
    pub version: Option<&'a str>,
    pub commit: Option<&'a str>,
}

impl Values<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "environment" => self.environment,
            "version" => self.version,
            "commit" => self.commit,
            _ => None,
        }
    }
}

/// The spec with every job's params filled in.
pub fn fill(input: &PipelineInput, values: &Values<'_>) -> PipelineInput {
    let mut out = input.clone();
    for job in out.stages.iter_mut().flat_map(|s| s.jobs.iter_mut()) {
        fill_value(&mut job.params, values);
    }
    out
}

fn fill_value(value: &mut Value, values: &Values<'_>) {
    match value {
        Value::String(s) => {
            if s.contains("${") {
                *s = fill_text(s, values);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill_value(v, values)),
        Value::Object(map) => map.values_mut().for_each(|v| fill_value(v, values)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// One pass over `text`: each `${name}` with a value becomes the value; the rest is copied as it is.
pub fn fill_text(text: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let replaced = after
            .find('}')
            .and_then(|end| values.get(&after[..end]).map(|value| (value, end)));
        match replaced {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether any job's params use `${name}`.
pub fn uses(input: &PipelineInput, name: &str) -> bool {
    let needle = format!("${{{name}}}");
    input
        .stages
        .iter()
        .flat_map(|s| s.jobs.iter())
        .any(|j| mentions(&j.params, &needle))
}

fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Array(items) => items.iter().any(|v| mentions(v, needle)),
        Value::Object(map) => map.values().any(|v| mentions(v, needle)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::PipelineSpec;
    use crate::spec::{ExecutorSpec, JobInput, StageInput};

    const DEPLOY: Values<'static> = Values {
        environment: Some("production"),
        version: Some("2.5.0"),
        commit: Some("abc1234"),
    };

    fn http_job(url: &str) -> PipelineInput {
        PipelineInput {
            stages: vec![StageInput {
                name: "deploy".into(),
                jobs: vec![JobInput {
                    name: "rollout".into(),
                    executor: "http".into(),
                    params: json!({ "url": url }),
                    ..Default::default()
                }],
            }],
        }
    }

    #[test]
    fn known_placeholders_are_replaced_and_the_rest_is_kept() {
        let cases = [
            ("v=${version}", "v=2.5.0"),
            ("${environment}/${version}@${commit}", "production/2.5.0@abc1234"),
            (
                "${unknown} ${ version} $version ${",
                "${unknown} ${ version} $version ${",
            ),
            ("${${version}}", "${2.5.0}"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(fill_text(text, &DEPLOY), want, "{text:?}");
        }
    }

    #[test]
    fn a_value_is_never_scanned_again() {
        let values = Values {
            environment: Some("${version}"),
            version: Some("${commit}"),
            commit: Some("$(rm -rf /)"),
        };
        assert_eq!(
            fill_text("${environment} ${version} ${commit}", &values),
            "${version} ${commit} $(rm -rf /)"
        );
    }

    #[test]
    fn a_missing_value_leaves_its_placeholder() {
        let values = Values {
            version: Some("1.0.0"),
            ..Default::default()
        };
        assert_eq!(fill_text("${commit}:${version}", &values), "${commit}:1.0.0");
    }

    #[test]
    fn only_string_values_change_never_keys_or_the_json_shape() {
        let mut input = http_job("https://deploy.example/${environment}");
        input.stages[0].jobs[0].params = json!({
            "${version}": "${version}",
            "nested": [{"a": "${environment}"}, 5, null, true],
        });
        let hostile = Values {
            environment: Some("\"}, \"url\": \"https://evil.example/"),
            version: Some("1\n2"),
            commit: None,
        };
        let filled = fill(&input, &hostile);
        assert_eq!(
            filled.stages[0].jobs[0].params,
            json!({
                "${version}": "1\n2",
                "nested": [{"a": "\"}, \"url\": \"https://evil.example/"}, 5, null, true],
            })
        );
    }

    #[test]
    fn a_filled_spec_is_validated_again() {
        let template = http_job("https://deploy.example/hook?env=${environment}&v=${version}");
        let ok = PipelineSpec::parse(&fill(&template, &DEPLOY)).unwrap();
        let ExecutorSpec::Http(p) = &ok.stages()[0].jobs[0].executor else {
            panic!("an http job");
        };
        assert_eq!(p.url, "https://deploy.example/hook?env=production&v=2.5.0");

        let hostile = Values {
            environment: Some("prod x"),
            ..DEPLOY
        };
        let err = PipelineSpec::parse(&fill(&template, &hostile)).unwrap_err();
        assert_eq!(err.path, "stages[0].jobs[0].params.url");
    }

    #[test]
    fn uses_finds_a_placeholder_anywhere_in_the_params() {
        let template = http_job("https://deploy.example/${version}");
        assert!(uses(&template, "version"));
        assert!(!uses(&template, "environment"));
    }
}
