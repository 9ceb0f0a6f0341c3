//! From what a message names to the params of its intent, checked against the context: a project is a known slug,
//! an environment one of that project's (aliases and tiers resolved), a definition one of its pipelines, a run one
//! of its numbers. Whatever a command needs and did not get, or got wrong, goes into `missing` with suggestions;
//! nothing unknown is passed on, and a version is never guessed. The risk comes from `risk_of` with the context's
//! facts. The rule parser and the LLM adapter both end here, so the model's proposals get exactly these checks.

use std::collections::BTreeSet;

use crate::chat::domain::{EnvironmentFacts, Intent, Language, Missing, Params, Risk, RunFacts, risk_of};

use super::context::{DefinitionKind, ParseContext, ProjectInfo, RunState};
use super::distance;
use super::mentions::{EnvMention, Mentions};
use super::reasons::{Reason, missing};

/// The checked params of one intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub intent: Intent,
    pub params: Params,
    pub missing: Vec<Missing>,
    pub risk: Risk,
}

impl Resolution {
    /// A refused message: intent `none`, and a `missing` entry for `intent` that says why.
    pub fn refused(reason: Reason, lang: Language) -> Self {
        Self {
            intent: Intent::None,
            params: Params::default(),
            missing: vec![missing("intent", reason, lang, Vec::new())],
            risk: Risk::Read,
        }
    }

    fn nothing(intent: Intent) -> Self {
        Self {
            intent,
            params: Params::default(),
            missing: Vec::new(),
            risk: Risk::Read,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    No,
    Optional,
    Required,
}

/// Which params an intent takes: (project, run, version, environment, window). `run_pipeline`'s definition and
/// what a deploy definition needs are decided in [`resolve`].
fn needs(intent: Intent) -> [Need; 5] {
    use Need::*;
    match intent {
        Intent::StatusOverview | Intent::Help | Intent::None => [No, No, No, No, No],
        Intent::ProjectStatus => [Required, No, No, Optional, No],
        Intent::FailingPipelines => [Optional, No, No, No, Optional],
        Intent::JobFailureReason | Intent::Retry | Intent::Cancel => [Required, Required, No, No, No],
        Intent::Approve => [Required, Required, No, Optional, No],
        Intent::RunPipeline => [Required, No, Optional, Optional, No],
        Intent::Deploy => [Required, No, Required, Required, No],
        Intent::Rollback => [Required, No, Optional, Required, No],
        Intent::DoraSummary | Intent::WhoDeployed => [Optional, No, No, Optional, Optional],
    }
}

fn distinct<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|i| seen.insert(i.clone())).collect()
}

/// The states a run may be in to be "the last" one of an intent.
fn wanted(intent: Intent, pending: bool) -> &'static [RunState] {
    match intent {
        _ if pending => &[RunState::WaitingApproval],
        Intent::JobFailureReason => &[RunState::Failed],
        Intent::Retry => &[RunState::Failed, RunState::Cancelled],
        Intent::Cancel => &[RunState::Queued, RunState::Running, RunState::WaitingApproval],
        Intent::Approve => &[RunState::WaitingApproval],
        _ => &[
            RunState::Queued,
            RunState::Running,
            RunState::WaitingApproval,
            RunState::Succeeded,
            RunState::Failed,
            RunState::Cancelled,
        ],
    }
}

fn resolve_env(p: &ProjectInfo, mention: &EnvMention) -> Result<String, (Reason, Vec<String>)> {
    let names = || p.environments.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    if p.environment(&mention.word).is_some() {
        return Ok(mention.word.clone());
    }
    let (typed, project) = (mention.word.clone(), p.slug.clone());
    if let Some(tier) = mention.alias_of {
        let of_tier: Vec<String> = p
            .environments
            .iter()
            .filter(|e| e.tier == tier)
            .map(|e| e.name.clone())
            .collect();
        return match of_tier.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err((Reason::EnvironmentUnknown { typed, project }, names())),
            _ => Err((Reason::EnvironmentAmbiguous { typed, project }, of_tier)),
        };
    }
    // Typos only of plain ASCII words: a look-alike letter from another script is never read as a name.
    let plain = mention
        .word
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let typo_of = plain
        .then(|| distance::closest(&mention.word, p.environments.iter().map(|e| e.name.as_str())))
        .flatten();
    if let Some(name) = typo_of {
        return Ok(name.to_owned());
    }
    let suggestions = distance::suggestions(&mention.word, p.environments.iter().map(|e| e.name.as_str()));
    Err((Reason::EnvironmentUnknown { typed, project }, suggestions))
}

/// The project of the message: the one it names, else the room's. Several, or an unknown name, go to `missing`.
fn project<'c>(
    m: &Mentions,
    ctx: &'c ParseContext,
    need: Need,
    lang: Language,
    out: &mut Vec<Missing>,
) -> Option<&'c ProjectInfo> {
    if need == Need::No {
        return None;
    }
    match m.projects.as_slice() {
        [one] => return ctx.project(one),
        [_, _, ..] => {
            out.push(missing("project", Reason::OneProject, lang, m.projects.clone()));
            return None;
        }
        [] => {}
    }
    if let Some(typed) = m.unknown_projects.first() {
        let suggestions = distance::suggestions(typed, ctx.slugs());
        out.push(missing(
            "project",
            Reason::ProjectUnknown(typed.clone()),
            lang,
            suggestions,
        ));
        return None;
    }
    let room = ctx.room_project();
    if room.is_none() && need == Need::Required {
        out.push(missing("project", Reason::ProjectNeeded, lang, Vec::new()));
    }
    room
}

/// The run: the number named, or "the last …" one of the project's recent runs in a state that fits the intent.
fn run(m: &Mentions, p: Option<&ProjectInfo>, intent: Intent, lang: Language, out: &mut Vec<Missing>) -> Option<u64> {
    let numbers = distinct(m.runs.iter().map(|r| r.number));
    match numbers.as_slice() {
        [one] => return Some(*one),
        [_, _, ..] => {
            out.push(missing("run", Reason::OneRun, lang, Vec::new()));
            return None;
        }
        [] => {}
    }
    let states = wanted(intent, m.pending);
    let fitting = |p: &ProjectInfo| -> Vec<u64> {
        p.recent_runs
            .iter()
            .filter(|r| states.contains(&r.state) && (!m.latest_deploy || r.environment.is_some()))
            .map(|r| r.number)
            .collect()
    };
    let latest = m.latest_run || m.pending || intent == Intent::JobFailureReason;
    match p {
        Some(p) if latest => match fitting(p).first() {
            Some(n) => return Some(*n),
            None => out.push(missing(
                "run",
                Reason::NoRecentRun {
                    project: p.slug.clone(),
                },
                lang,
                Vec::new(),
            )),
        },
        Some(p) => {
            let offer = fitting(p)
                .into_iter()
                .take(3)
                .map(|n| format!("{}#{n}", p.slug))
                .collect();
            out.push(missing("run", Reason::RunNeeded, lang, offer));
        }
        None => out.push(missing("run", Reason::RunNeeded, lang, Vec::new())),
    }
    None
}

/// The pipeline definition a `run_pipeline` starts: the one named, else the only one (or the only CI one for
/// "build api").
fn definition<'p>(
    m: &Mentions,
    p: Option<&'p ProjectInfo>,
    lang: Language,
    out: &mut Vec<Missing>,
) -> Option<&'p super::context::DefinitionInfo> {
    let Some(p) = p else {
        let reason = match m.definitions.first() {
            Some(typed) => Reason::NeedsProject { typed: typed.clone() },
            None => Reason::DefinitionNeeded { project: None },
        };
        out.push(missing("definition", reason, lang, Vec::new()));
        return None;
    };
    let all_names = || p.definitions.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    if let Some(found) = m
        .definitions
        .iter()
        .chain(&m.keyword_definitions)
        .find_map(|d| p.definition(d))
    {
        return Some(found);
    }
    if let Some(typed) = m.definitions.first() {
        let reason = Reason::DefinitionUnknown {
            typed: typed.clone(),
            project: p.slug.clone(),
        };
        out.push(missing("definition", reason, lang, all_names()));
        return None;
    }
    let ci: Vec<_> = p.definitions.iter().filter(|d| d.kind == DefinitionKind::Ci).collect();
    let conventional = ci.iter().find(|d| d.name == "ci" || d.name == "build");
    match (m.ci_hint, conventional, ci.as_slice(), p.definitions.as_slice()) {
        (true, Some(one), _, _) | (true, None, [one], _) => Some(*one),
        (_, _, _, [one]) => Some(one),
        _ => {
            out.push(missing(
                "definition",
                Reason::DefinitionNeeded {
                    project: Some(p.slug.clone()),
                },
                lang,
                all_names(),
            ));
            None
        }
    }
}

/// Whether a command names more than one target for a param ("to staging and then prod", "api and web").
fn several_targets(intent: Intent, m: &Mentions) -> bool {
    let envs = distinct(
        m.environments
            .iter()
            .map(|e| (e.alias_of.map(|t| format!("{t:?}")), e.word.clone())),
    );
    let env_targets = distinct(
        envs.iter()
            .map(|(tier, word)| tier.clone().unwrap_or_else(|| word.clone())),
    );
    intent.mutates()
        && (m.projects.len() > 1
            || env_targets.len() > 1
            || distinct(m.versions.iter()).len() > 1
            || distinct(m.runs.iter().map(|r| r.number)).len() > 1
            || distinct(m.definitions.iter().chain(&m.keyword_definitions)).len() > 1)
}

/// Resolves the params of `intent` from what the message names.
pub fn resolve(intent: Intent, m: &Mentions, ctx: &ParseContext, lang: Language) -> Resolution {
    if several_targets(intent, m) {
        return Resolution::refused(Reason::OneTarget, lang);
    }
    let named_project = !m.projects.is_empty() || !m.unknown_projects.is_empty();
    let intent = match intent {
        Intent::ProjectStatus if !named_project && (m.all || ctx.room_project().is_none()) => Intent::StatusOverview,
        Intent::StatusOverview if named_project => Intent::ProjectStatus,
        other => other,
    };
    let [need_project, need_run, mut need_version, mut need_env, need_window] = needs(intent);
    if need_project == Need::No {
        return Resolution::nothing(intent);
    }
    let mut out = Vec::new();
    let mut params = Params::default();
    let p = project(m, ctx, need_project, lang, &mut out);
    params.project = p.map(|p| p.slug.clone());
    let mut def = None;
    if intent == Intent::RunPipeline {
        def = definition(m, p, lang, &mut out);
        params.definition = def.map(|d| d.name.clone());
        (need_version, need_env) = match def.map(|d| d.kind) {
            Some(DefinitionKind::Deploy) => (Need::Required, Need::Required),
            Some(DefinitionKind::Ci) => (Need::No, Need::No),
            None => (Need::Optional, Need::Optional),
        };
    }
    if need_run != Need::No {
        params.run = run(m, p, intent, lang, &mut out);
    }
    if need_version != Need::No {
        params.version = m.versions.first().cloned();
        if params.version.is_none() && need_version == Need::Required {
            out.push(missing("version", Reason::VersionNeeded, lang, Vec::new()));
        }
    }
    if need_env != Need::No {
        params.environment = environment(m, p, need_env, lang, &mut out);
    }
    if need_window != Need::No {
        params.window = m.windows.iter().find_map(|w| w.as_ref().ok().copied());
        if let (None, Some(Err(why))) = (params.window, m.windows.first()) {
            out.push(missing("window", Reason::Window(why.clone()), lang, Vec::new()));
        }
    }
    let risk = risk(intent, &params, p, def.map(|d| d.kind));
    Resolution {
        intent,
        params,
        missing: out,
        risk,
    }
}

fn environment(
    m: &Mentions,
    p: Option<&ProjectInfo>,
    need: Need,
    lang: Language,
    out: &mut Vec<Missing>,
) -> Option<String> {
    let Some(first) = m.environments.first() else {
        if need == Need::Required {
            let offer = p
                .map(|p| p.environments.iter().map(|e| e.name.clone()).collect())
                .unwrap_or_default();
            out.push(missing("environment", Reason::EnvironmentNeeded, lang, offer));
        }
        return None;
    };
    let Some(p) = p else {
        out.push(missing(
            "environment",
            Reason::NeedsProject {
                typed: first.word.clone(),
            },
            lang,
            Vec::new(),
        ));
        return None;
    };
    match resolve_env(p, first) {
        Ok(name) => Some(name),
        Err((reason, suggestions)) => {
            out.push(missing("environment", reason, lang, suggestions));
            None
        }
    }
}

/// The risk, from `risk_of` with what the context says about the target; whatever is unknown counts as the worst.
fn risk(intent: Intent, params: &Params, p: Option<&ProjectInfo>, def: Option<DefinitionKind>) -> Risk {
    let env_facts = p
        .zip(params.environment.as_deref())
        .map(|(p, e)| p.environment_facts(e));
    let run_facts = p.zip(params.run).and_then(|(p, n)| p.run_facts(n));
    match intent {
        Intent::Approve => {
            // A gate of a CI run is in no environment: not production.
            let of_run = run_facts.map(|r| {
                r.deploys_to.unwrap_or(EnvironmentFacts {
                    production_tier: false,
                    protected: false,
                })
            });
            risk_of(intent, env_facts.or(of_run), None)
        }
        Intent::RunPipeline => {
            let run = def.map(|kind| RunFacts {
                deploys_to: (kind == DefinitionKind::Deploy).then(|| env_facts.unwrap_or(EnvironmentFacts::UNKNOWN)),
            });
            risk_of(intent, None, run)
        }
        Intent::Retry | Intent::Cancel => risk_of(intent, None, run_facts),
        _ => risk_of(intent, env_facts, None),
    }
}
