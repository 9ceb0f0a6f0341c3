//! A model's proposal, checked like the rules' own reading. The LLM adapter ([`crate::chat::llm`]) only hands over
//! an intent of the closed set and the words it picked for each param; here every one of those words must be in the
//! message as the rules saw it (quoted parts blanked out) or, for the project, be the room's: a name the model made
//! up, or read inside quotes, refuses the whole proposal. What is left goes through the same [`resolve`] as the
//! rules' mentions, so an unknown project or environment lands in `missing` with suggestions, a version is never
//! guessed, and the risk is computed here, from the context, never taken from the model.

use crate::chat::domain::{Intent, Parsed, ParsedBy, Window};

use super::RuleOutcome;
use super::context::ParseContext;
use super::lexicon::{self, Kw};
use super::mentions::{EnvMention, Mentions, RunMention};
use super::resolve;
use super::text::fold;
use super::tokens::{TokKind, Token, tokenize};

/// What a model proposed for one message: an intent of the closed set and, per param, the words it took from the
/// message (none of them checked yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    pub intent: Option<Intent>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub version: Option<String>,
    pub run: Option<u64>,
    pub definition: Option<String>,
    pub window: Option<String>,
}

/// Why a proposal is not used (the rules' answer stands).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the model understood nothing either")]
    NoIntent,
    #[error("{param} {value:?} is not in the message")]
    Ungrounded { param: &'static str, value: String },
}

/// The message's tokens, for the grounding check.
struct Grounds(Vec<Token>);

impl Grounds {
    fn has_word(&self, folded: &str) -> bool {
        self.0.iter().any(|t| match &t.kind {
            TokKind::Word { .. } => t.norm == folded,
            TokKind::RunRef { project, .. } => project.as_deref() == Some(folded),
            _ => false,
        })
    }

    fn has_number(&self, n: u64) -> bool {
        self.0.iter().any(|t| match &t.kind {
            TokKind::Number(m) | TokKind::RunRef { number: m, .. } => *m == n,
            _ => false,
        })
    }

    fn has_version(&self, version: &str) -> bool {
        self.0
            .iter()
            .any(|t| t.kind == TokKind::Version && t.raw.eq_ignore_ascii_case(version))
    }
}

fn ungrounded(param: &'static str, value: &str) -> Refusal {
    Refusal::Ungrounded {
        param,
        value: value.chars().take(64).collect(),
    }
}

/// Checks `proposal` against the message the rules read (`rules.unquoted`) and the room, and resolves it against
/// `ctx` exactly as the rules' mentions are: the answer is `parsedBy: llm`, in the language the rules detected.
pub fn ground(proposal: &Proposal, rules: &RuleOutcome, ctx: &ParseContext) -> Result<Parsed, Refusal> {
    let intent = match proposal.intent {
        None | Some(Intent::None) => return Err(Refusal::NoIntent),
        Some(intent) => intent,
    };
    let grounds = Grounds(tokenize(&rules.unquoted));
    let mut m = Mentions::default();
    if let Some(project) = &proposal.project {
        let folded = fold(project.trim());
        let from_room = ctx.room.project_slug() == Some(folded.as_str());
        if !from_room && !grounds.has_word(&folded) {
            return Err(ungrounded("project", project));
        }
        // The room's own project is the default anyway: only a named one is a mention.
        if !from_room || grounds.has_word(&folded) {
            match ctx.project(&folded) {
                Some(known) => m.projects.push(known.slug.clone()),
                None => m.unknown_projects.push(folded),
            }
        }
    }
    if let Some(environment) = &proposal.environment {
        let word = fold(environment.trim());
        if !grounds.has_word(&word) {
            return Err(ungrounded("environment", environment));
        }
        let alias_of = match lexicon::exact(&word) {
            Some((Kw::EnvAlias(tier), _)) => Some(tier),
            _ => None,
        };
        m.environments.push(EnvMention { word, alias_of });
    }
    if let Some(version) = &proposal.version {
        if !grounds.has_version(version.trim()) {
            return Err(ungrounded("version", version));
        }
        m.versions.push(version.trim().to_owned());
    }
    if let Some(number) = proposal.run {
        if !grounds.has_number(number) {
            return Err(ungrounded("run", &number.to_string()));
        }
        m.runs.push(RunMention { project: None, number });
    }
    if let Some(definition) = &proposal.definition {
        let word = fold(definition.trim());
        if !grounds.has_word(&word) {
            return Err(ungrounded("definition", definition));
        }
        m.definitions.push(word);
    }
    if let Some(window) = &proposal.window {
        // `30d` is grounded by `30d` or by the number 30 ("over 30 days"); a malformed one lands in `missing`.
        let parsed = Window::parse(window.trim());
        let days = parsed.as_ref().map(|w| u64::from(w.in_days()));
        if !grounds.has_word(&fold(window.trim())) && !days.is_ok_and(|d| grounds.has_number(d)) {
            return Err(ungrounded("window", window));
        }
        m.windows.push(parsed);
    }
    let lang = rules.parsed.language;
    let resolution = resolve::resolve(intent, &m, ctx, lang);
    Ok(Parsed {
        intent: resolution.intent,
        params: resolution.params,
        risk: resolution.risk,
        missing: resolution.missing,
        negated: false,
        language: lang,
        parsed_by: ParsedBy::Llm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::domain::MessageText;
    use crate::chat::domain::Risk;
    use crate::chat::parser::fixture::context;
    use crate::chat::parser::parse_rules;

    fn rules(text: &str, room: &str) -> (RuleOutcome, ParseContext) {
        let ctx = context(room);
        (parse_rules(&MessageText::parse(text).unwrap(), &ctx), ctx)
    }

    fn deploy(project: Option<&str>, version: &str, environment: &str) -> Proposal {
        Proposal {
            intent: Some(Intent::Deploy),
            project: project.map(Into::into),
            version: Some(version.into()),
            environment: Some(environment.into()),
            ..Proposal::default()
        }
    }

    #[test]
    fn a_grounded_proposal_resolves_like_the_rules_with_the_risk_from_the_context() {
        let (outcome, ctx) = rules("yo shove api 2.5.0 out onto prod pls", "general");
        let parsed = ground(&deploy(Some("api"), "2.5.0", "prod"), &outcome, &ctx).unwrap();
        assert_eq!(parsed.intent, Intent::Deploy);
        assert_eq!(parsed.parsed_by, ParsedBy::Llm);
        assert_eq!(
            parsed.params.environment.as_deref(),
            Some("production"),
            "the alias is resolved"
        );
        assert_eq!(
            parsed.risk,
            Risk::Critical,
            "computed from the context, never the model's"
        );
        assert!(parsed.missing.is_empty(), "{parsed:?}");
    }

    #[test]
    fn the_room_grounds_its_own_project_and_nothing_else() {
        let (outcome, ctx) = rules("yo shove 2.5.0 out onto staging", "api");
        let parsed = ground(&deploy(Some("api"), "2.5.0", "staging"), &outcome, &ctx).unwrap();
        assert_eq!(parsed.params.project.as_deref(), Some("api"));
        assert_eq!(parsed.risk, Risk::High);
        let invented = ground(&deploy(Some("web"), "2.5.0", "staging"), &outcome, &ctx);
        assert_eq!(invented, Err(ungrounded("project", "web")));
    }

    #[test]
    fn every_param_the_model_made_up_or_read_in_quotes_refuses_the_proposal() {
        let (outcome, ctx) = rules(r#"summarise "deploy api 9.9.9 to production" for me"#, "general");
        for (proposal, param) in [
            (deploy(Some("api"), "9.9.9", "production"), "project"),
            (deploy(None, "9.9.9", "production"), "environment"),
            (
                Proposal {
                    intent: Some(Intent::Deploy),
                    version: Some("9.9.9".into()),
                    ..Proposal::default()
                },
                "version",
            ),
            (
                Proposal {
                    intent: Some(Intent::Retry),
                    run: Some(42),
                    ..Proposal::default()
                },
                "run",
            ),
            (
                Proposal {
                    intent: Some(Intent::DoraSummary),
                    window: Some("30d".into()),
                    ..Proposal::default()
                },
                "window",
            ),
        ] {
            match ground(&proposal, &outcome, &ctx) {
                Err(Refusal::Ungrounded { param: got, .. }) => assert_eq!(got, param, "{proposal:?}"),
                other => panic!("{proposal:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn a_grounded_but_unknown_project_is_reported_in_missing_with_suggestions() {
        let (outcome, ctx) = rules("whatcha think of apii lately", "general");
        let proposal = Proposal {
            intent: Some(Intent::ProjectStatus),
            project: Some("apii".into()),
            ..Proposal::default()
        };
        let parsed = ground(&proposal, &outcome, &ctx).unwrap();
        assert_eq!(parsed.params.project, None);
        assert_eq!(parsed.missing[0].param, "project");
        assert_eq!(parsed.missing[0].suggestions, ["api"]);
    }

    #[test]
    fn a_look_alike_project_is_not_grounded_by_its_latin_twin() {
        let (outcome, ctx) = rules("yo shove \u{0430}pi 2.5.0 out onto prod", "general");
        assert_eq!(
            ground(&deploy(Some("api"), "2.5.0", "prod"), &outcome, &ctx),
            Err(ungrounded("project", "api"))
        );
    }

    #[test]
    fn runs_and_windows_are_grounded_by_their_numbers() {
        let (outcome, ctx) = rules("gimme numbers for api over 30 days", "general");
        let dora = Proposal {
            intent: Some(Intent::DoraSummary),
            project: Some("api".into()),
            window: Some("30d".into()),
            ..Proposal::default()
        };
        let parsed = ground(&dora, &outcome, &ctx).unwrap();
        assert_eq!(parsed.params.window, Some(Window::days(30).unwrap()));
        assert_eq!(parsed.risk, Risk::Read);
        let (outcome, ctx) = rules("kick api#44 again", "general");
        let retry = Proposal {
            intent: Some(Intent::Retry),
            project: Some("api".into()),
            run: Some(44),
            ..Proposal::default()
        };
        let parsed = ground(&retry, &outcome, &ctx).unwrap();
        assert_eq!((parsed.intent, parsed.params.run), (Intent::Retry, Some(44)));
        assert_eq!(parsed.risk, Risk::Medium);
    }

    #[test]
    fn a_proposal_of_nothing_is_no_proposal() {
        let (outcome, ctx) = rules("blorp", "general");
        for intent in [None, Some(Intent::None)] {
            let proposal = Proposal {
                intent,
                ..Proposal::default()
            };
            assert_eq!(ground(&proposal, &outcome, &ctx), Err(Refusal::NoIntent));
        }
    }
}
