//! What the caller fetched from the platform before parsing: the room, the projects the asker can see, and per
//! project its environments, pipeline definitions and recent runs. The parser does no I/O; everything it resolves
//! against is here, as plain data.

use serde::{Deserialize, Serialize};

use crate::chat::domain::{EnvironmentFacts, RoomId, RunFacts};

/// An environment's tier, as projects records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Development,
    Staging,
    Production,
    Unspecified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub name: String,
    pub tier: Tier,
    pub protected: bool,
}

impl EnvironmentInfo {
    pub fn facts(&self) -> EnvironmentFacts {
        EnvironmentFacts {
            production_tier: self.tier == Tier::Production,
            protected: self.protected,
        }
    }
}

/// A pipeline definition's kind: a `deploy` one runs with an environment and a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionKind {
    Ci,
    Deploy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionInfo {
    pub name: String,
    pub kind: DefinitionKind,
}

/// Where a run stands, as far as the parser cares ("the last failed build", "the pending deploy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    WaitingApproval,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The project's run number (`api#42` → 42).
    pub number: u64,
    pub definition: Option<String>,
    pub state: RunState,
    /// The environment a deploy run targets; `None` for a CI run.
    pub environment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub slug: String,
    pub environments: Vec<EnvironmentInfo>,
    pub definitions: Vec<DefinitionInfo>,
    /// The project's most recent runs, newest first. "The last build of api" resolves against these, and a retry or
    /// cancel of a run listed here gets its risk from where that run deploys. The caller decides how many to fetch
    /// (the last 20 are plenty); a run not listed is still passed on by number, with the worst-case risk, and the
    /// actions layer checks it exists.
    pub recent_runs: Vec<RunInfo>,
}

impl ProjectInfo {
    pub fn environment(&self, name: &str) -> Option<&EnvironmentInfo> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn definition(&self, name: &str) -> Option<&DefinitionInfo> {
        self.definitions.iter().find(|d| d.name == name)
    }

    pub fn run(&self, number: u64) -> Option<&RunInfo> {
        self.recent_runs.iter().find(|r| r.number == number)
    }

    /// The risk facts of an environment of this project: an unknown name counts as the worst case.
    pub fn environment_facts(&self, name: &str) -> EnvironmentFacts {
        self.environment(name)
            .map_or(EnvironmentFacts::UNKNOWN, EnvironmentInfo::facts)
    }

    /// The risk facts of a run of this project, when it is listed.
    pub fn run_facts(&self, number: u64) -> Option<RunFacts> {
        self.run(number).map(|run| RunFacts {
            deploys_to: run.environment.as_deref().map(|env| self.environment_facts(env)),
        })
    }
}

/// Everything the parser resolves against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseContext {
    /// The room the message was written in: a project room binds its project as the default for commands.
    pub room: RoomId,
    /// The projects the asker can see (their slugs are the only projects a message can name).
    pub projects: Vec<ProjectInfo>,
}

impl ParseContext {
    pub fn project(&self, slug: &str) -> Option<&ProjectInfo> {
        self.projects.iter().find(|p| p.slug == slug)
    }

    pub fn slugs(&self) -> impl Iterator<Item = &str> {
        self.projects.iter().map(|p| p.slug.as_str())
    }

    /// The project the room binds, when the room is a project's and that project is known.
    pub fn room_project(&self) -> Option<&ProjectInfo> {
        self.room.project_slug().and_then(|slug| self.project(slug))
    }
}
