//! What each token is, once the context is known: a keyword (typos corrected), a known project, an environment or
//! pipeline definition name of one of the projects, a number, a version, a run reference, or an unknown word. Also
//! where the clauses of a message start and end.

use std::ops::Range;

use super::context::ParseContext;
use super::distance;
use super::lexicon::{self, Kw, L};
use super::tokens::{TokKind, Token};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Kw(Kw),
    /// A known project's slug.
    Project(String),
    /// An environment name of one of the known projects (typo corrected).
    Env(String),
    /// A pipeline definition name of one of the known projects.
    Definition(String),
    /// A word the parser does not know.
    Word,
    Number(u64),
    Version(String),
    RunRef {
        project: Option<String>,
        number: u64,
    },
    Sep(char),
    /// Read already, as part of a window, a run or a version phrase.
    Used,
}

/// The tokens of a message with their roles; `tokens[i].norm` is the corrected folded word.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub tokens: Vec<Token>,
    pub roles: Vec<Role>,
}

impl Tagged {
    pub fn kw(&self, i: usize) -> Option<Kw> {
        match self.roles.get(i) {
            Some(Role::Kw(kw)) => Some(*kw),
            _ => None,
        }
    }

    pub fn is(&self, i: usize, kw: Kw) -> bool {
        self.kw(i) == Some(kw)
    }

    pub fn norm(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |t| t.norm.as_str())
    }

    fn skippable(&self, i: usize) -> bool {
        matches!(self.kw(i), Some(Kw::Filler | Kw::Question | Kw::Affirm))
    }

    /// The previous token that is not a filler word, within the same clause.
    pub fn prev_content(&self, i: usize) -> Option<usize> {
        (0..i)
            .rev()
            .find(|&j| !self.skippable(j) || matches!(self.roles[j], Role::Sep(_)))
            .filter(|&j| !matches!(self.roles[j], Role::Sep(_)))
    }

    /// The next token that is not a filler word, within the same clause.
    pub fn next_content(&self, i: usize) -> Option<usize> {
        (i + 1..self.roles.len())
            .find(|&j| !self.skippable(j) || matches!(self.roles[j], Role::Sep(_)))
            .filter(|&j| !matches!(self.roles[j], Role::Sep(_)))
    }

    /// The first token of a clause that carries meaning (fillers, negations, "to" skipped): where an imperative
    /// verb stands.
    pub fn head(&self, clause: &Range<usize>) -> Option<usize> {
        clause.clone().find(|&i| {
            !matches!(
                self.kw(i),
                Some(Kw::Filler | Kw::Affirm | Kw::Neg | Kw::Ne | Kw::Never | Kw::EnvPrep | Kw::Question)
            ) && self.roles[i] != Role::Used
        })
    }

    /// The clauses: cut at separators and at conjunctions ("and", "then", "puis"…).
    pub fn clauses(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, role) in self.roles.iter().enumerate() {
            if matches!(role, Role::Sep(_) | Role::Kw(Kw::Conj)) {
                if i > start {
                    out.push(start..i);
                }
                start = i + 1;
            }
        }
        if start < self.roles.len() {
            out.push(start..self.roles.len());
        }
        out
    }

    /// Whether any token of `range` has one of `kws`.
    pub fn any(&self, range: &Range<usize>, kws: &[Kw]) -> bool {
        range.clone().any(|i| self.kw(i).is_some_and(|k| kws.contains(&k)))
    }

    /// The first position in `range` of one of `kws`.
    pub fn find(&self, range: &Range<usize>, kws: &[Kw]) -> Option<usize> {
        range.clone().find(|&i| self.kw(i).is_some_and(|k| kws.contains(&k)))
    }

    /// Whether the folded words `phrase` follow each other somewhere in `range`.
    pub fn phrase(&self, range: &Range<usize>, phrase: &[&str]) -> bool {
        range.clone().any(|i| {
            phrase
                .iter()
                .enumerate()
                .all(|(k, w)| i + k < range.end && self.norm(i + k) == *w)
        })
    }
}

/// Tags the tokens against the lexicon and the context's names. A project is only ever its exact slug; keywords,
/// environment names and definition names also match within the typo budget.
pub fn tag(tokens: Vec<Token>, ctx: &ParseContext) -> Tagged {
    let mut env_names: Vec<&str> = ctx
        .projects
        .iter()
        .flat_map(|p| p.environments.iter().map(|e| e.name.as_str()))
        .collect();
    env_names.sort_unstable();
    env_names.dedup();
    let is_definition = |w: &str| ctx.projects.iter().any(|p| p.definition(w).is_some());
    let mut tokens = tokens;
    let mut roles = Vec::with_capacity(tokens.len());
    for token in &mut tokens {
        let after_project_word = roles
            .iter()
            .rev()
            .find(|r| !matches!(r, Role::Kw(Kw::Filler)))
            .is_some_and(|r| matches!(r, Role::Kw(Kw::ProjPrep | Kw::ProjNoun)));
        let role = match &token.kind {
            TokKind::Sep(c) => Role::Sep(*c),
            TokKind::Number(n) => Role::Number(*n),
            TokKind::Version => Role::Version(token.raw.clone()),
            TokKind::RunRef { project, number } => Role::RunRef {
                project: project.clone(),
                number: *number,
            },
            TokKind::Word { kw, .. } => {
                let slug = ctx.project(&token.norm).is_some();
                if slug && (kw.is_none() || after_project_word) {
                    Role::Project(token.norm.clone())
                } else if let Some(kw) = kw {
                    Role::Kw(*kw)
                } else if env_names.contains(&token.norm.as_str()) {
                    Role::Env(token.norm.clone())
                } else if is_definition(&token.norm) {
                    Role::Definition(token.norm.clone())
                } else {
                    typo_role(token, &env_names)
                }
            }
        };
        roles.push(role);
    }
    participles(&tokens, &mut roles);
    Tagged { tokens, roles }
}

/// French auxiliaries: after one, a verb is a past participle ("a été annulé", "qui a livré").
const AUXILIARIES: [&str; 12] = [
    "a", "ai", "as", "avons", "avez", "ont", "ete", "est", "sont", "etait", "etaient", "avait",
];

/// A French command verb right after an auxiliary describes what happened; it asks for nothing ("le build a été
/// annulé", "qui a livré web"). Folding loses the accent that tells `annulé` from `annule`; the auxiliary does not.
fn participles(tokens: &[Token], roles: &mut [Role]) {
    for i in 1..roles.len() {
        let after_auxiliary = AUXILIARIES.contains(&tokens[i - 1].norm.as_str());
        let french = matches!(tokens[i].kind, TokKind::Word { lang: L::F, .. });
        match roles[i] {
            Role::Kw(Kw::Deploy) if after_auxiliary && french => roles[i] = Role::Kw(Kw::Deployed),
            Role::Kw(Kw::Cancel | Kw::Retry | Kw::Approve | Kw::RunVerb | Kw::Rollback)
                if after_auxiliary && french =>
            {
                roles[i] = Role::Kw(Kw::Done)
            }
            _ => {}
        }
    }
}

/// A word that is no name of the context: a typo of a keyword or of an environment name, or unknown.
fn typo_role(token: &mut Token, env_names: &[&str]) -> Role {
    let plain = token
        .norm
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '\'');
    if !plain {
        return Role::Word;
    }
    let mut candidates: Vec<&str> = env_names.to_vec();
    for word in lexicon::words() {
        candidates.push(word);
    }
    let Some(word) = distance::closest(&token.norm, candidates) else {
        return Role::Word;
    };
    let word = word.to_owned();
    let role = match lexicon::exact(&word) {
        Some((kw, lang)) => {
            token.kind = TokKind::Word { kw: Some(kw), lang };
            Role::Kw(kw)
        }
        None => Role::Env(word.clone()),
    };
    token.norm = word;
    role
}

/// The language of each token, for the language vote.
pub fn lang_of(token: &Token) -> L {
    match token.kind {
        TokKind::Word { lang, .. } => lang,
        _ => L::N,
    }
}
