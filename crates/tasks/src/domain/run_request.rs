//! What a caller names when it asks for a run, parsed once: the project, the deploy target (environment and
//! version, both or neither), and the idempotency key. Each newtype has a private field and a `parse` that answers a
//! [`FieldError`] naming the request field (`project`, `environment`, `version`, `idempotencyKey`); everything
//! downstream takes the parsed value. Whether the project and environment exist is the projects service's to say
//! (the app asks it after parsing).

use std::fmt;

use super::field::FieldError;

/// The prefix of the idempotency keys of runs tracked from GitHub (`gh:<run id>`): reserved, no caller may use it.
pub const TRACKED_KEY_PREFIX: &str = "gh:";

const MAX_PROJECT_CHARS: usize = 100;
const MAX_VERSION_CHARS: usize = 64;
const MAX_KEY_LEN: usize = 64;

macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// The project a run is asked for, as the caller names it (a slug or an id; projects resolves it to its slug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef(String);
text_newtype!(ProjectRef);

impl ProjectRef {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new("project", "is required (a project slug)"));
        }
        if raw.len() > MAX_PROJECT_CHARS {
            return Err(FieldError::new("project", "at most 100 characters"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// An environment a deploy is asked for (projects says whether it exists, its tier and whether it is protected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentName(String);
text_newtype!(EnvironmentName);

/// The version a deploy ships: at most 64 characters, no whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);
text_newtype!(Version);

impl Version {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty()
            || raw.chars().count() > MAX_VERSION_CHARS
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(FieldError::new(
                "version",
                "at most 64 characters, no spaces or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A run that deploys: the environment and the version, named together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRequest {
    pub environment: EnvironmentName,
    pub version: Version,
}

impl DeployRequest {
    /// Both empty: not a deploy (`None`). Both given: a deploy. One without the other: refused, naming the missing
    /// one.
    pub fn parse(environment: &str, version: &str) -> Result<Option<Self>, FieldError> {
        match (environment.is_empty(), version.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(Self {
                version: Version::parse(version)?,
                environment: EnvironmentName(environment.to_owned()),
            })),
            (true, false) => Err(FieldError::new("environment", "is required with version (a deploy)")),
            (false, true) => Err(FieldError::new("version", "is required with environment (a deploy)")),
        }
    }
}

/// A caller's idempotency key: 1 to 64 characters of `[A-Za-z0-9._:-]`, not starting with [`TRACKED_KEY_PREFIX`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);
text_newtype!(IdempotencyKey);

impl IdempotencyKey {
    /// Empty: no key (`None`).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, FieldError> {
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.starts_with(TRACKED_KEY_PREFIX) {
            return Err(FieldError::new(
                "idempotencyKey",
                "the gh: prefix is reserved for runs tracked from GitHub",
            ));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        if raw.len() > MAX_KEY_LEN || !raw.bytes().all(allowed) {
            return Err(FieldError::new(
                "idempotencyKey",
                "must be 1 to 64 characters of [A-Za-z0-9._:-]",
            ));
        }
        Ok(Some(Self(raw.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(e: FieldError) -> String {
        e.to_string()
    }

    #[test]
    fn a_project_is_required_and_at_most_100_characters() {
        assert_eq!(ProjectRef::parse("api").unwrap().as_str(), "api");
        assert_eq!(ProjectRef::parse(&"p".repeat(100)).unwrap().as_str().len(), 100);
        let cases = [
            ("", "project: is required (a project slug)"),
            (&*"p".repeat(101), "project: at most 100 characters"),
        ];
        for (raw, want) in cases {
            assert_eq!(refused(ProjectRef::parse(raw).unwrap_err()), want, "{raw:?}");
        }
    }

    #[test]
    fn a_deploy_names_both_its_environment_and_its_version() {
        assert_eq!(DeployRequest::parse("", "").unwrap(), None);
        let deploy = DeployRequest::parse("production", "2.5.0").unwrap().unwrap();
        assert_eq!(
            (deploy.environment.as_str(), deploy.version.as_str()),
            ("production", "2.5.0")
        );
        let cases = [
            ("", "2.5.0", "environment: is required with version (a deploy)"),
            ("production", "", "version: is required with environment (a deploy)"),
        ];
        for (environment, version, want) in cases {
            assert_eq!(refused(DeployRequest::parse(environment, version).unwrap_err()), want);
        }
    }

    #[test]
    fn a_version_has_no_spaces_or_control_characters_and_at_most_64_characters() {
        for ok in ["2.5.0", "v1-rc.1+build.7", &"é".repeat(64)] {
            assert_eq!(Version::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["2.5 .0", "2.5.0\n", "\t", &"9".repeat(65), ""] {
            assert_eq!(
                refused(Version::parse(bad).unwrap_err()),
                "version: at most 64 characters, no spaces or control characters",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_idempotency_key_is_optional_limited_and_never_the_tracked_prefix() {
        assert_eq!(IdempotencyKey::parse_optional("").unwrap(), None);
        for ok in ["deploy-42", "a", "A.b_c:d-e", &"k".repeat(64)] {
            assert_eq!(IdempotencyKey::parse_optional(ok).unwrap().unwrap().as_str(), ok);
        }
        for bad in [&*"k".repeat(65), "with space", "é", "key/1"] {
            assert_eq!(
                refused(IdempotencyKey::parse_optional(bad).unwrap_err()),
                "idempotencyKey: must be 1 to 64 characters of [A-Za-z0-9._:-]",
                "{bad:?}"
            );
        }
        assert_eq!(
            refused(IdempotencyKey::parse_optional("gh:123").unwrap_err()),
            "idempotencyKey: the gh: prefix is reserved for runs tracked from GitHub"
        );
    }
}
