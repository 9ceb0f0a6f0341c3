//! Validated values of the catalog. Each `parse` names the problem; the field name is added by the caller
//! (`Error::invalid("slug", e)`). Parse, don't validate: everything downstream takes these types.

use std::fmt;

fn no_controls(s: &str) -> Result<(), String> {
    if s.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(())
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For values read back from the store, which were validated when written.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// `^[a-z0-9][a-z0-9-]{1,62}$`: ASCII only, so look-alike Unicode cannot impersonate a slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);
string_newtype!(Slug);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_len = (2..=63).contains(&raw.len());
        let mut chars = raw.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok_len && first_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must match ^[a-z0-9][a-z0-9-]{1,62}$ (2-63 lower-case letters, digits or '-')".into())
        }
    }
}

/// A display name: trimmed, 1..=100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectName(String);
string_newtype!(ProjectName);

impl ProjectName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        no_controls(name)?;
        Ok(Self(name.to_owned()))
    }
}

/// Free text up to 2000 characters (newlines and tabs allowed, other control characters not).
pub fn parse_description(raw: &str) -> Result<String, String> {
    if raw.chars().count() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("must not contain control characters".into());
    }
    Ok(raw.trim().to_owned())
}

/// `^[a-z0-9][a-z0-9._-]{0,31}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);
string_newtype!(Tag);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("{raw:?} must match ^[a-z0-9][a-z0-9._-]{{0,31}}$"))
        }
    }

    /// At most 20 tags, sorted and without duplicates.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Tag>, String> {
        if raw.len() > 20 {
            return Err("at most 20 tags".into());
        }
        let mut tags = raw.iter().map(|t| Tag::parse(t)).collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }
}

/// An environment name: `dev`, `staging`, `production` or custom, `^[a-z0-9][a-z0-9-]{0,31}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);
string_newtype!(EnvName);

impl EnvName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must match ^[a-z0-9][a-z0-9-]{0,31}$".into())
        }
    }
}

/// A release version: 1..=64 visible ASCII characters without spaces (`1.4.0`, `v2.0.0-rc.1`, `2024.06.01+abc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionLabel(String);
string_newtype!(VersionLabel);

impl VersionLabel {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > 64 {
            return Err("must be 1 to 64 characters".into());
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII without spaces".into());
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A git commit by the platform's rule (`devopstrack_platform::commit`: 7..=64 hex digits, an abbreviated or full
/// SHA-1 or a SHA-256 repository's id), stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitSha(String);
string_newtype!(CommitSha);

impl CommitSha {
    pub fn parse(raw: &str) -> Result<Self, String> {
        devopstrack_platform::commit::CommitSha::parse(raw)
            .map(|sha| Self(sha.into_inner()))
            .map_err(|e| e.to_string())
    }
}

/// A repository URL: `https://host/path` or `git@host:path`, at most 300 characters, no spaces or credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoUrl(String);
string_newtype!(RepoUrl);

impl RepoUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || Err("must be https://host/owner/name or git@host:owner/name".to_owned());
        if raw.len() > 300 || !raw.is_ascii() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad();
        }
        let (host, path) = if let Some(rest) = raw.strip_prefix("https://") {
            match rest.split_once('/') {
                Some((host, path)) => (host, path),
                None => return bad(),
            }
        } else if let Some(rest) = raw.strip_prefix("git@") {
            match rest.split_once(':') {
                Some((host, path)) => (host, path),
                None => return bad(),
            }
        } else {
            return bad();
        };
        if host.contains('@') {
            return Err("must not contain credentials".into());
        }
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            && !host.starts_with('.');
        if !host_ok || path.trim_matches('/').is_empty() {
            return bad();
        }
        Ok(Self(raw.trim_end_matches('/').to_owned()))
    }

    pub fn host(&self) -> &str {
        let rest = self
            .0
            .strip_prefix("https://")
            .or_else(|| self.0.strip_prefix("git@"))
            .unwrap_or(&self.0);
        rest.split(['/', ':']).next().unwrap_or_default()
    }
}

/// A URL of an environment (where it is served): `http(s)://…`, at most 300 characters.
pub fn parse_env_url(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw.len() <= 300
        && raw.is_ascii()
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be an http:// or https:// URL of at most 300 characters".into())
    }
}

/// A git branch name (`main`, `release/1.x`): 1..=100 visible ASCII characters, no `..`.
pub fn parse_branch(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Ok("main".into());
    }
    let ok = raw.len() <= 100 && raw.bytes().all(|b| b.is_ascii_graphic()) && !raw.contains("..");
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be 1 to 100 visible ASCII characters without '..'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["api", "a1", "web-frontend", "0day", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "-api",
            "API",
            "api_v2",
            "api ",
            "аpi", /* Cyrillic а */
            "api\u{200b}",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_tags_envs_versions() {
        assert_eq!(ProjectName::parse("  API  ").unwrap().as_str(), "API");
        assert!(ProjectName::parse("").is_err() && ProjectName::parse(&"x".repeat(101)).is_err());
        assert!(ProjectName::parse("a\u{7}b").is_err());
        assert_eq!(Tag::parse_list(&["b".into(), "a".into(), "b".into()]).unwrap().len(), 2);
        assert!(Tag::parse("Bad").is_err() && Tag::parse_list(&vec!["a".into(); 21]).is_err());
        assert!(EnvName::parse("production").is_ok() && EnvName::parse("Prod").is_err());
        assert!(VersionLabel::parse("v2.0.0-rc.1+build.5").is_ok());
        assert!(VersionLabel::parse("1.0 beta").is_err() && VersionLabel::parse(&"1".repeat(65)).is_err());
    }

    #[test]
    fn commit_shas() {
        assert_eq!(CommitSha::parse("ABCDEF1").unwrap().as_str(), "abcdef1");
        assert!(CommitSha::parse(&"a".repeat(40)).is_ok() && CommitSha::parse(&"a".repeat(64)).is_ok());
        for bad in ["abc", "xyz1234", &"a".repeat(65), "abcdef1 "] {
            assert!(CommitSha::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repository_urls() {
        for ok in [
            "https://github.com/acme/api",
            "git@github.com:acme/api.git",
            "https://gitlab.example.com:8443/g/p/",
        ] {
            assert!(RepoUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            RepoUrl::parse("git@github.com:acme/api.git").unwrap().host(),
            "github.com"
        );
        for bad in [
            "http://github.com/a/b",
            "https://github.com",
            "https://user:pw@github.com/a/b",
            "ftp://x/y",
            "git@host",
            "https://gi thub.com/a",
        ] {
            assert!(RepoUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
