//! The context the parser's tests run against: four projects with environments of every tier, pipeline
//! definitions of both kinds, and recent runs in every state.

use crate::chat::domain::RoomId;

use super::context::*;

fn env(name: &str, tier: Tier, protected: bool) -> EnvironmentInfo {
    EnvironmentInfo {
        name: name.into(),
        tier,
        protected,
    }
}

fn def(name: &str, kind: DefinitionKind) -> DefinitionInfo {
    DefinitionInfo {
        name: name.into(),
        kind,
    }
}

fn run(number: u64, definition: &str, state: RunState, environment: Option<&str>) -> RunInfo {
    RunInfo {
        number,
        definition: Some(definition.into()),
        state,
        environment: environment.map(Into::into),
    }
}

/// `api` (dev, staging, protected production; ci, deploy, nightly; runs 40..=45), `web` (dev, preprod, prod;
/// ci, deploy; runs 6, 7), `billing` (protected staging, production-eu, production-us; build, release; no runs),
/// `data-pipeline` (dev, prod; etl; runs 2, 3).
pub fn projects() -> Vec<ProjectInfo> {
    use DefinitionKind::{Ci, Deploy};
    use RunState::*;
    vec![
        ProjectInfo {
            slug: "api".into(),
            environments: vec![
                env("dev", Tier::Development, false),
                env("staging", Tier::Staging, false),
                env("production", Tier::Production, true),
            ],
            definitions: vec![def("ci", Ci), def("deploy", Deploy), def("nightly", Ci)],
            recent_runs: vec![
                run(45, "ci", Running, None),
                run(44, "ci", Failed, None),
                run(43, "deploy", Succeeded, Some("staging")),
                run(42, "deploy", Failed, Some("production")),
                run(41, "deploy", WaitingApproval, Some("production")),
                run(40, "ci", Cancelled, None),
            ],
        },
        ProjectInfo {
            slug: "web".into(),
            environments: vec![
                env("dev", Tier::Development, false),
                env("preprod", Tier::Staging, false),
                env("prod", Tier::Production, false),
            ],
            definitions: vec![def("ci", Ci), def("deploy", Deploy)],
            recent_runs: vec![run(7, "deploy", Failed, Some("preprod")), run(6, "ci", Succeeded, None)],
        },
        ProjectInfo {
            slug: "billing".into(),
            environments: vec![
                env("staging", Tier::Staging, true),
                env("production-eu", Tier::Production, false),
                env("production-us", Tier::Production, false),
            ],
            definitions: vec![def("build", Ci), def("release", Deploy)],
            recent_runs: vec![],
        },
        ProjectInfo {
            slug: "data-pipeline".into(),
            environments: vec![
                env("dev", Tier::Development, false),
                env("prod", Tier::Production, false),
            ],
            definitions: vec![def("etl", Ci)],
            recent_runs: vec![run(3, "etl", Failed, None), run(2, "etl", WaitingApproval, None)],
        },
    ]
}

/// The context of a message written in `room`: `general`, `dm`, or a project's slug for its room.
pub fn context(room: &str) -> ParseContext {
    let room = match room {
        "general" => RoomId::general(),
        "dm" => RoomId::direct("u1").unwrap(),
        slug => RoomId::project(slug).unwrap(),
    };
    ParseContext {
        room,
        projects: projects(),
    }
}
