//! Negated commands: "don't deploy…", "never roll back…", "ne déploie pas…", "déploie pas…", "surtout pas de
//! rollback…", "jamais de déploiement…". A negated command is intent `none` with `negated: true`: nothing runs. A
//! question is never read as a negated command ("why didn't api deploy?" asks why).

use std::ops::Range;

use super::lexicon::Kw;
use super::roles::Tagged;

/// The words that ask for a change.
pub const COMMANDS: [Kw; 12] = [
    Kw::Deploy,
    Kw::Move,
    Kw::Mep,
    Kw::Release,
    Kw::Rollback,
    Kw::Roll,
    Kw::Retry,
    Kw::Cancel,
    Kw::Approve,
    Kw::RunVerb,
    Kw::Run,
    Kw::Build,
];

/// How far a negation reaches to the command it negates ("don't you dare deploy", "pas de rollback").
const REACH: usize = 4;

/// Whether the clause negates a command.
pub fn negates(t: &Tagged, clause: &Range<usize>) -> bool {
    if t.any(clause, &[Kw::Why]) {
        return false;
    }
    let commands: Vec<usize> = clause.clone().filter(|&i| t.any(&(i..i + 1), &COMMANDS)).collect();
    if commands.is_empty() {
        return false;
    }
    if t.any(clause, &[Kw::Never]) {
        return true;
    }
    commands.iter().any(|&c| {
        let before = c.saturating_sub(REACH).max(clause.start)..c;
        let negated_before = t.any(&before, &[Kw::Neg, Kw::Ne, Kw::Pas]);
        // "déploie pas", "relance-le pas": the French "ne" dropped, "pas" right after the verb (or its pronoun).
        let after = c + 1..(c + 3).min(clause.end);
        let negated_after = t
            .find(&after, &[Kw::Pas])
            .is_some_and(|p| (c + 1..p).all(|i| t.is(i, Kw::Filler)));
        negated_before || negated_after
    })
}
