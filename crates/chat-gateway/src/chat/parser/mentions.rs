//! What a message names, before it is checked against the context: projects (known or not), environments, versions,
//! runs, pipeline definitions, a time window. The rule parser fills this from the words; the LLM adapter fills it
//! from a model's (grounded) proposal; both then go through the same [`super::resolve`].

use crate::chat::domain::Window;

use super::context::{ParseContext, Tier};
use super::distance;
use super::lexicon::{Kw, Unit};
use super::negation::COMMANDS;
use super::roles::{Role, Tagged};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvMention {
    /// The word as folded (typo corrected): an environment name or an alias.
    pub word: String,
    /// The tier the word is an alias of (`prod` → production), if it is one.
    pub alias_of: Option<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMention {
    /// `api` of `api#42`, as folded; `None` for `#42` or "run 42".
    pub project: Option<String>,
    pub number: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Known slugs, in order, without duplicates.
    pub projects: Vec<String>,
    /// Words in a project's place that are no known slug, as written.
    pub unknown_projects: Vec<String>,
    pub environments: Vec<EnvMention>,
    pub versions: Vec<String>,
    pub runs: Vec<RunMention>,
    /// "the last build", "le dernier déploiement", "the failed deploy": resolve to a recent run.
    pub latest_run: bool,
    /// That recent run is a deploy ("the last deploy", "le déploiement en cours").
    pub latest_deploy: bool,
    pub pending: bool,
    /// Names in a pipeline's place ("run the nightly pipeline", `ci`): unknown ones go to `missing`.
    pub definitions: Vec<String>,
    /// Keywords that are also a pipeline's name somewhere ("run deploy on api", "the build pipeline"): used when the
    /// project has that pipeline, ignored otherwise.
    pub keyword_definitions: Vec<String>,
    /// "build api", "start a build": the project's CI definition (`ci`, `build`, or its only one) will do.
    pub ci_hint: bool,
    pub windows: Vec<Result<Window, String>>,
    /// "everything", "overview", "tout": the overview rather than one project.
    pub all: bool,
}

impl Mentions {
    fn push_project(&mut self, slug: &str) {
        if !self.projects.iter().any(|p| p == slug) {
            self.projects.push(slug.to_owned());
        }
    }

    fn push_unknown_project(&mut self, word: &str) {
        if !self.unknown_projects.iter().any(|p| p == word) {
            self.unknown_projects.push(word.to_owned());
        }
    }

    fn push_env(&mut self, word: &str, alias_of: Option<Tier>) {
        if !self.environments.iter().any(|e| e.word == word) {
            self.environments.push(EnvMention {
                word: word.to_owned(),
                alias_of,
            });
        }
    }
}

fn window_of(days: u64) -> Result<Window, String> {
    Window::days(u16::try_from(days).unwrap_or(u16::MAX))
}

/// Windows: "last 7 days", "7 derniers jours", "sur 30 jours", "7d", "this week", "la semaine dernière", "today".
fn windows(t: &mut Tagged, m: &mut Mentions) {
    for i in 0..t.roles.len() {
        let unit_at = |t: &Tagged, j: usize| match t.kw(j) {
            Some(Kw::Unit(u)) => Some(u),
            _ => None,
        };
        if let Role::Number(n) = t.roles[i] {
            let j = if t.is(i + 1, Kw::Last) { i + 2 } else { i + 1 };
            if let Some(unit) = unit_at(t, j) {
                m.windows.push(window_of(unit.days(n)));
                if i > 0 && t.is(i - 1, Kw::Last) {
                    t.roles[i - 1] = Role::Used;
                }
                t.roles[i..=j].fill(Role::Used);
            }
        } else if matches!(t.kw(i), Some(Kw::Last | Kw::This)) && unit_at(t, i + 1).is_some() {
            m.windows.push(window_of(unit_at(t, i + 1).map_or(1, |u| u.days(1))));
            t.roles[i..=i + 1].fill(Role::Used);
        } else if let Some(unit) = unit_at(t, i).filter(|_| t.is(i + 1, Kw::Last)) {
            m.windows.push(window_of(unit.days(1)));
            t.roles[i..=i + 1].fill(Role::Used);
        } else if t.is(i, Kw::Today) {
            m.windows.push(window_of(Unit::Day.days(1)));
            t.roles[i] = Role::Used;
        }
    }
}

const RUN_NOUNS: [Kw; 4] = [Kw::Build, Kw::Run, Kw::RunNoun, Kw::NumberWord];

/// Runs: `api#42`, `#42`, "run 42", "build n° 42", "retry 42"; "the last build", "le dernier déploiement", "the
/// pending deploy".
fn runs(t: &mut Tagged, m: &mut Mentions) {
    for i in 0..t.roles.len() {
        if let Role::RunRef { project, number } = &t.roles[i] {
            m.runs.push(RunMention {
                project: project.clone(),
                number: *number,
            });
            continue;
        }
        let Role::Number(number) = t.roles[i] else { continue };
        let before = t.prev_content(i).and_then(|p| t.kw(p));
        let names_a_run =
            before.is_some_and(|k| RUN_NOUNS.contains(&k) || matches!(k, Kw::Retry | Kw::Cancel | Kw::Approve));
        if names_a_run {
            m.runs.push(RunMention { project: None, number });
            t.roles[i] = Role::Used;
        }
    }
    for i in 0..t.roles.len() {
        match t.kw(i) {
            Some(Kw::Last | Kw::Recent | Kw::Fail) => {
                let reach = if t.is(i, Kw::Fail) { 2 } else { 3 };
                let near = i.saturating_sub(reach)..(i + reach + 1).min(t.roles.len());
                let noun = near
                    .clone()
                    .find(|&j| matches!(t.kw(j), Some(Kw::Build | Kw::Run | Kw::RunNoun | Kw::Deploy)));
                if let Some(noun) = noun {
                    m.latest_run = true;
                    m.latest_deploy |= t.is(noun, Kw::Deploy);
                }
            }
            Some(Kw::Pending) => m.pending = true,
            _ => {}
        }
    }
}

/// Versions: `2.5.0`, `v1.4.0-rc.1`, and whatever follows the word "version" (`version 42`, `version abc1234`).
fn versions(t: &mut Tagged, m: &mut Mentions) {
    for i in 0..t.roles.len() {
        match &t.roles[i] {
            Role::Version(v) => m.versions.push(v.clone()),
            Role::Kw(Kw::Version) => {
                let Some(next) = t.tokens.get(i + 1) else { continue };
                let labelled = matches!(t.roles[i + 1], Role::Number(_) | Role::Word)
                    && (1..=64).contains(&next.raw.len())
                    && next.raw.bytes().all(|b| b.is_ascii_graphic());
                if labelled {
                    m.versions.push(next.raw.clone());
                    t.roles[i + 1] = Role::Used;
                }
            }
            _ => {}
        }
    }
}

/// Words that take a project after them ("deploy X", "status of X", "what's up with X"): every command
/// ([`COMMANDS`]), and these.
const BEFORE_PROJECT: [Kw; 6] = [Kw::ProjPrep, Kw::ProjNoun, Kw::Status, Kw::Dora, Kw::Show, Kw::History];
/// Words that take a project before them ("api status", "api builds").
const AFTER_PROJECT: [Kw; 7] = [
    Kw::Status,
    Kw::Dora,
    Kw::Fail,
    Kw::History,
    Kw::RunNoun,
    Kw::Build,
    Kw::Overview,
];

/// Projects, environments and definitions, known or not. An unknown word counts only where a project or an
/// environment stands; elsewhere it is ignored.
fn names(t: &Tagged, m: &mut Mentions, ctx: &ParseContext) {
    let heads: Vec<usize> = t.clauses().iter().filter_map(|c| t.head(c)).collect();
    for i in 0..t.roles.len() {
        match &t.roles[i] {
            Role::Project(slug) => m.push_project(slug),
            Role::RunRef { project: Some(p), .. } => match ctx.project(p) {
                Some(_) => m.push_project(p),
                None => m.push_unknown_project(&t.tokens[i].raw[..t.tokens[i].raw.rfind('#').unwrap_or(0)]),
            },
            Role::Env(name) => m.push_env(name, None),
            Role::Kw(Kw::EnvAlias(tier)) => m.push_env(t.norm(i), Some(*tier)),
            Role::Kw(Kw::Mep) => m.push_env("prod", Some(Tier::Production)),
            Role::Kw(Kw::All | Kw::Overview) => m.all = true,
            Role::Kw(Kw::Build) => {
                m.ci_hint = true;
                keyword_definition(t, i, m, ctx, &heads);
            }
            Role::Definition(name) if !m.definitions.contains(name) => m.definitions.push(name.clone()),
            Role::Word => unknown_word(t, i, m, ctx),
            Role::Kw(_) => keyword_definition(t, i, m, ctx, &heads),
            _ => {}
        }
    }
}

/// A pipeline named like a keyword ("deploy", "release", "build") where it is not the verb.
fn keyword_definition(t: &Tagged, i: usize, m: &mut Mentions, ctx: &ParseContext, heads: &[usize]) {
    let word = t.norm(i);
    let named = ctx.projects.iter().any(|p| p.definition(word).is_some());
    if named && !heads.contains(&i) && !m.keyword_definitions.iter().any(|d| d == word) {
        m.keyword_definitions.push(word.to_owned());
    }
}

fn unknown_word(t: &Tagged, i: usize, m: &mut Mentions, ctx: &ParseContext) {
    let raw = &t.tokens[i].raw;
    if raw.contains(['\'', '\u{2019}']) {
        // "whta's": a word with an apostrophe is no name.
        return;
    }
    let before = t.prev_content(i).and_then(|p| t.kw(p));
    let after = t.next_content(i).and_then(|n| t.kw(n));
    let looks_like_project = !distance::suggestions(raw, ctx.slugs()).is_empty();
    let starts_a_run = t
        .prev_content(i)
        .is_some_and(|p| matches!(t.kw(p), Some(Kw::Run | Kw::RunVerb | Kw::Build)));
    if starts_a_run && after == Some(Kw::RunNoun) {
        // "run the e2e pipeline": a pipeline's name.
        m.definitions.push(t.tokens[i].norm.clone());
        return;
    }
    match (before, after) {
        (Some(Kw::EnvPrep | Kw::EnvNoun), _) | (_, Some(Kw::EnvNoun)) if !looks_like_project => {
            m.push_env(&t.tokens[i].norm, None);
        }
        (Some(Kw::EnvPrep | Kw::EnvNoun), _) => m.push_unknown_project(raw),
        (Some(k), _) if COMMANDS.contains(&k) || BEFORE_PROJECT.contains(&k) => m.push_unknown_project(raw),
        (_, Some(k)) if AFTER_PROJECT.contains(&k) => m.push_unknown_project(raw),
        _ => {}
    }
}

/// Everything a message names, from its tagged tokens (windows first, so "the last 7 days" is no "last build").
pub fn extract(t: &mut Tagged, ctx: &ParseContext) -> Mentions {
    let mut m = Mentions::default();
    windows(t, &mut m);
    versions(t, &mut m);
    runs(t, &mut m);
    names(t, &mut m, ctx);
    m
}
