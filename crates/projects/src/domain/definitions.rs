//! Pipeline definitions: a project's named stage/job specs, of kind `ci` or `deploy`, that runs are created from. The
//! spec is validated by the shared `devopstrack-pipeline-spec` crate (what tasks' CreatePipeline uses), so a stored
//! definition is one tasks accepts. A deploy definition's job params may use `${environment}`, `${version}` and
//! `${commit}`, filled in by tasks when it runs one (a `ci` definition: `${commit}` only).

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use devopstrack_pipeline_spec::spec::{JobInput, StageInput};
use devopstrack_pipeline_spec::{FieldError, PipelineInput, PipelineSpec, template};

/// A definition's name: `^[a-z0-9][a-z0-9-]{0,31}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefinitionName(String);

impl DefinitionName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must match ^[a-z0-9][a-z0-9-]{0,31}$ (1-32 lower-case letters, digits or '-')".into())
        }
    }

    /// For values read back from the store, which were validated when written.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DefinitionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefinitionKind {
    /// Builds and tests; run without an environment.
    Ci,
    /// Deploys a version to an environment; run with both.
    Deploy,
}

impl DefinitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::Ci => "ci",
            DefinitionKind::Deploy => "deploy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ci" => Some(DefinitionKind::Ci),
            "deploy" => Some(DefinitionKind::Deploy),
            _ => None,
        }
    }
}

/// A stored definition. `spec` is kept as it was sent (placeholders and all) and is valid for
/// [`PipelineSpec::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionRecord {
    pub project_id: Uuid,
    pub name: DefinitionName,
    pub kind: DefinitionKind,
    pub description: String,
    pub spec: PipelineInput,
    /// A deploy may run a version that has no release in the project.
    pub allow_unreleased: bool,
    /// 1 when created, incremented by every change; updates compare-and-set on it.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Checks a definition's stages with the shared rules, so the errors are CreatePipeline's, field paths and all
/// (`stages[0].jobs[1].name: …`), and that a `ci` definition uses no deploy placeholder.
pub fn validate_spec(kind: DefinitionKind, spec: &PipelineInput) -> Result<(), FieldError> {
    PipelineSpec::parse(spec)?;
    if kind == DefinitionKind::Ci
        && let Some(name) = ["environment", "version"].into_iter().find(|n| template::uses(spec, n))
    {
        return Err(FieldError::new(
            "stages",
            format!("${{{name}}} is for deploy definitions: a ci run has no environment or version"),
        ));
    }
    Ok(())
}

/// The definitions a new project starts with (the dashboard's former templates): `ci` runs build → test (unit, lint)
/// → package, `deploy` runs deploy → verify; every job simulated.
pub fn default_definitions(project_id: Uuid, now: DateTime<Utc>) -> Vec<DefinitionRecord> {
    let job = |name: &str, duration_ms: u64, log_lines: u64| JobInput {
        name: name.into(),
        executor: "simulate".into(),
        params: json!({"durationMs": duration_ms, "failRate": 0, "logLines": log_lines}),
        ..Default::default()
    };
    let stage = |name: &str, jobs: Vec<JobInput>| StageInput {
        name: name.into(),
        jobs,
    };
    let record = |name: &str, kind, description: &str, stages| DefinitionRecord {
        project_id,
        name: DefinitionName::from_trusted(name.into()),
        kind,
        description: description.into(),
        spec: PipelineInput { stages },
        allow_unreleased: false,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    vec![
        record(
            "ci",
            DefinitionKind::Ci,
            "Simulated CI: build → test (unit, lint) → package",
            vec![
                stage("build", vec![job("compile", 2000, 25)]),
                stage("test", vec![job("unit", 2000, 25), job("lint", 2000, 10)]),
                stage("package", vec![job("image", 2000, 25)]),
            ],
        ),
        record(
            "deploy",
            DefinitionKind::Deploy,
            "Simulated deploy: deploy → verify",
            vec![
                stage("deploy", vec![job("rollout", 1500, 15)]),
                stage("verify", vec![job("smoke-test", 1500, 8)]),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pattern() {
        for ok in ["ci", "deploy", "0", "a-b-c", &"x".repeat(32)] {
            assert!(DefinitionName::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", "-ci", "CI", "ci_x", "ci.x", "dé", &"x".repeat(33), " ci"] {
            assert!(DefinitionName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_defaults_are_valid_definitions() {
        let defaults = default_definitions(Uuid::new_v4(), Utc::now());
        assert_eq!(defaults.len(), 2);
        for d in &defaults {
            validate_spec(d.kind, &d.spec).unwrap();
            assert!(DefinitionName::parse(d.name.as_str()).is_ok());
        }
    }

    #[test]
    fn spec_errors_are_the_shared_ones() {
        let err = validate_spec(DefinitionKind::Ci, &PipelineInput::default()).unwrap_err();
        assert_eq!(err.to_string(), "stages: at least one stage is required");
    }

    #[test]
    fn a_ci_definition_may_not_use_deploy_placeholders() {
        let mut spec = default_definitions(Uuid::new_v4(), Utc::now()).remove(0).spec;
        spec.stages[0].jobs[0].executor = "http".into();
        spec.stages[0].jobs[0].params = json!({"url": "https://h.example/${version}"});
        assert_eq!(validate_spec(DefinitionKind::Ci, &spec).unwrap_err().path, "stages");
        validate_spec(DefinitionKind::Deploy, &spec).unwrap();
    }
}
