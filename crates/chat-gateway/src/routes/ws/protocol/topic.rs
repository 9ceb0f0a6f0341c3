//! The topics a client may subscribe to (`pipelines`, `project:<slug>`, `pipeline:<id>`) and the tasks `WatchEvents`
//! filter of each.

use std::fmt;

use devopstrack_proto::tasks::v1 as pb;

/// A stream of events a client may follow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `pipelines`: every pipeline the caller may see, without log lines (for lists and the overview).
    All,
    /// `project:<slug>`: every pipeline of the project.
    Project(String),
    /// `pipeline:<id>`: one pipeline.
    Pipeline(String),
}

impl Topic {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a topic: expected pipelines, project:<slug> or pipeline:<id>");
        if raw == "pipelines" {
            return Ok(Topic::All);
        }
        let (kind, value) = raw.split_once(':').ok_or_else(bad)?;
        match kind {
            "project" if is_slug(value) => Ok(Topic::Project(value.to_owned())),
            "pipeline" if uuid::Uuid::parse_str(value).is_ok() => Ok(Topic::Pipeline(value.to_ascii_lowercase())),
            _ => Err(bad()),
        }
    }

    /// The WatchEvents filter of this topic (with logs).
    pub fn watch_request(&self, after_event_id: String) -> pb::WatchEventsRequest {
        let (project, pipeline_id) = match self {
            Topic::All => (String::new(), String::new()),
            Topic::Project(slug) => (slug.clone(), String::new()),
            Topic::Pipeline(id) => (String::new(), id.clone()),
        };
        pb::WatchEventsRequest {
            project,
            pipeline_id,
            after_event_id,
            include_logs: *self != Topic::All,
        }
    }
}

/// `^[a-z0-9][a-z0-9-]{1,62}$`, as the projects service defines a slug.
fn is_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::All => write!(f, "pipelines"),
            Topic::Project(slug) => write!(f, "project:{slug}"),
            Topic::Pipeline(id) => write!(f, "pipeline:{id}"),
        }
    }
}
