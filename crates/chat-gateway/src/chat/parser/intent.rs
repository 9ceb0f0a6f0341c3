//! Which intent a message asks for. Each clause is read on its own (a question word, DORA, who deployed, a status,
//! a command, a failure, help — in that order of precedence); then the clauses are put together: one command per
//! message, and a command never travels with a second request ("deploy to staging and then prod" is refused).

use std::ops::Range;

use crate::chat::domain::Intent;

use super::lexicon::Kw;
use super::negation;
use super::roles::{Role, Tagged};

/// How a clause asks: a command changes something; an ask is an explicit question; a description ("api#42 failed")
/// only gives context to a command next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    Command,
    Ask,
    Describe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClauseIntent {
    One(Intent, Strength),
    /// Two different commands in one clause ("cancel and retry").
    Several,
}

/// What the words of a message ask for, before the params are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Intent(Intent),
    /// A negated command: `none`, `negated`.
    Negated,
    /// More than one action (or an action and another request): refused.
    SeveralActions,
}

const HELP_PHRASES: [&[&str]; 9] = [
    &["comment", "ca", "marche"],
    &["how", "do", "i"],
    &["how", "to"],
    &["can", "you", "do"],
    &["sais-tu", "faire"],
    &["peux-tu", "faire"],
    &["comment", "faire"],
    &["comment", "on"],
    &["que", "sais"],
];

const STATUS_PHRASES: [&[&str]; 16] = [
    &["what's", "up"],
    &["whats", "up"],
    &["what", "is", "up"],
    &["how", "is"],
    &["how's"],
    &["hows"],
    &["how", "are"],
    &["ou", "en", "est"],
    &["ou", "en", "sont"],
    &["comment", "va"],
    &["comment", "vont"],
    &["going", "on"],
    &["what", "version"],
    &["which", "version"],
    &["quelle", "version"],
    &["what's", "running"],
];

/// A yes/no question opens with one of these ("is the build green?", "did the run pass?"): a `build` or `run`
/// after it is a noun, not the imperative verb.
const QUESTION_AUXILIARIES: [&str; 9] = ["is", "are", "was", "were", "did", "does", "do", "has", "have"];

const DEPLOY_NOUNS_PLURAL: [&str; 5] = ["deployments", "deploys", "deploiements", "livraisons", "releases"];

fn names_a_run(t: &Tagged, c: &Range<usize>) -> bool {
    c.clone().any(|i| matches!(t.roles[i], Role::RunRef { .. })) || t.any(c, &[Kw::Last, Kw::Recent])
}

fn command(t: &Tagged, c: &Range<usize>) -> Option<ClauseIntent> {
    let head = t.head(c);
    let again = t.any(c, &[Kw::Again]) && (t.any(c, &[Kw::RunVerb, Kw::Run]));
    let mut ops: Vec<Intent> = Vec::new();
    for (kw, intent) in [
        (Kw::Cancel, Intent::Cancel),
        (Kw::Retry, Intent::Retry),
        (Kw::Approve, Intent::Approve),
    ] {
        if t.any(c, &[kw]) {
            ops.push(intent);
        }
    }
    if again && !ops.contains(&Intent::Retry) {
        ops.push(Intent::Retry);
    }
    match ops.as_slice() {
        [one] => return Some(ClauseIntent::One(*one, Strength::Command)),
        [_, _, ..] => return Some(ClauseIntent::Several),
        [] => {}
    }
    let deploy = |intent| Some(ClauseIntent::One(intent, Strength::Command));
    let rolls_back = t.any(c, &[Kw::Rollback]) || (t.any(c, &[Kw::Roll]) && t.any(c, &[Kw::Back]));
    if rolls_back {
        return deploy(Intent::Rollback);
    }
    if t.phrase(c, &["roll", "out"]) {
        return deploy(Intent::Deploy);
    }
    let asks = QUESTION_AUXILIARIES.contains(&t.norm(c.start));
    let run_verb = t
        .find(c, &[Kw::RunVerb])
        .or(head.filter(|&h| !asks && matches!(t.kw(h), Some(Kw::Run | Kw::Build))));
    let deploy_word = t.find(c, &[Kw::Deploy, Kw::Mep]);
    match (run_verb, deploy_word) {
        (Some(r), Some(d)) if r < d => return deploy(Intent::RunPipeline),
        (_, Some(_)) => return deploy(Intent::Deploy),
        (Some(_), None) => return deploy(Intent::RunPipeline),
        (None, None) => {}
    }
    if head.is_some_and(|h| t.is(h, Kw::Release)) {
        return deploy(Intent::Deploy);
    }
    // "mets api 1.2 en prod", "pousse en préprod", "put it in prod".
    let moves_to_env = t.find(c, &[Kw::Move]).is_some_and(|m| {
        (m + 1..c.end).any(|i| {
            t.is(i, Kw::EnvPrep) && matches!(t.roles.get(i + 1), Some(Role::Env(_) | Role::Kw(Kw::EnvAlias(_))))
        })
    });
    moves_to_env.then_some(ClauseIntent::One(Intent::Deploy, Strength::Command))
}

fn clause_intent(t: &Tagged, c: &Range<usize>) -> Option<ClauseIntent> {
    let ask = |intent| Some(ClauseIntent::One(intent, Strength::Ask));
    if HELP_PHRASES.iter().any(|p| t.phrase(c, p)) {
        return ask(Intent::Help);
    }
    let why = t.any(c, &[Kw::Why]) || t.phrase(c, &["how", "come"]) || t.phrase(c, &["est", "passe"]);
    if why {
        return ask(Intent::JobFailureReason);
    }
    if t.any(c, &[Kw::Dora]) {
        return ask(Intent::DoraSummary);
    }
    let deployish = t.any(c, &[Kw::Deploy, Kw::Deployed, Kw::Mep, Kw::Release]);
    let ops = t.any(c, &[Kw::Cancel, Kw::Retry, Kw::Approve, Kw::Rollback]);
    let plural_deploys = c.clone().any(|i| DEPLOY_NOUNS_PLURAL.contains(&t.norm(i)));
    // "deployments of api", "les déploiements de la semaine": a plural is history, never a command.
    let history = (t.any(c, &[Kw::Who, Kw::When, Kw::History]) && deployish && !t.any(c, &[Kw::Fail]))
        || (plural_deploys && !ops);
    if history {
        return ask(Intent::WhoDeployed);
    }
    let status = t.any(c, &[Kw::Status, Kw::Overview])
        || STATUS_PHRASES.iter().any(|p| t.phrase(c, p))
        || (t.any(c, &[Kw::Question]) && t.any(c, &[Kw::Deployed]));
    if status {
        return ask(Intent::ProjectStatus);
    }
    if let Some(found) = command(t, c) {
        return Some(found);
    }
    if t.any(c, &[Kw::Fail]) {
        let strength = if t.any(c, &[Kw::Question, Kw::Show]) {
            Strength::Ask
        } else {
            Strength::Describe
        };
        let intent = if names_a_run(t, c) {
            Intent::JobFailureReason
        } else {
            Intent::FailingPipelines
        };
        return Some(ClauseIntent::One(intent, strength));
    }
    if t.any(c, &[Kw::Help]) {
        return ask(Intent::Help);
    }
    None
}

/// Reads are ranked when a message asks several: the most specific wins.
const READ_RANK: [Intent; 7] = [
    Intent::JobFailureReason,
    Intent::DoraSummary,
    Intent::WhoDeployed,
    Intent::ProjectStatus,
    Intent::FailingPipelines,
    Intent::StatusOverview,
    Intent::Help,
];

/// What the message asks for.
pub fn read(t: &Tagged) -> Reading {
    let clauses = t.clauses();
    if clauses.iter().any(|c| negation::negates(t, c)) {
        return Reading::Negated;
    }
    if clauses.is_empty() && t.roles.contains(&Role::Sep('?')) {
        return Reading::Intent(Intent::Help);
    }
    let found: Vec<ClauseIntent> = clauses.iter().filter_map(|c| clause_intent(t, c)).collect();
    if found.contains(&ClauseIntent::Several) {
        return Reading::SeveralActions;
    }
    let of = |wanted: Strength| {
        found.iter().filter_map(move |f| match f {
            ClauseIntent::One(intent, s) if *s == wanted => Some(*intent),
            _ => None,
        })
    };
    let commands: Vec<Intent> = of(Strength::Command).collect();
    match commands.as_slice() {
        [one] if of(Strength::Ask).next().is_none() => return Reading::Intent(*one),
        [] => {}
        _ => return Reading::SeveralActions,
    }
    let reads: Vec<Intent> = of(Strength::Ask).chain(of(Strength::Describe)).collect();
    let best = READ_RANK.into_iter().find(|r| reads.contains(r));
    Reading::Intent(best.unwrap_or(Intent::None))
}
