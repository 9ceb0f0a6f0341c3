//! Text → a typed intent: the rule parser (English and French, pure and synchronous, no I/O), and the check of what
//! the optional LLM proposes when the rules decide nothing ([`ground`]: the adapter itself, which does the I/O, is
//! [`crate::chat::llm`]).
//!
//! How a message is read, in order:
//! 1. [`MessageText::parse`] (in the domain: the same text is stored): invisible characters removed, 1..=2,000
//!    characters.
//! 2. Quoted parts and code are blanked out ([`quotes`]): they are data, never a command.
//! 3. Tokens ([`tokens`]) get their roles against the lexicon and the [`ParseContext`] ([`roles`]): keywords and
//!    environment names within the typo budget, projects only by their exact slug.
//! 4. The words name things ([`mentions`]) and ask for an intent ([`intent`]): negations, one action per message.
//! 5. [`resolve`] checks every param against the context, lists what is missing, and computes the risk.
//!
//! The caller (the chat's use-cases) fetches the [`ParseContext`] for the asker, calls [`parse`] (or
//! [`crate::chat::llm::understand`], which asks the model only when [`RuleOutcome::decided`] is false and passes its
//! proposal through [`ground`]) and counts [`metric_labels`] in `chat_intents_total`.

mod context;
mod distance;
mod intent;
mod lexicon;
mod mentions;
mod negation;
mod proposal;
mod quotes;
mod reasons;
mod resolve;
mod roles;
mod text;
mod tokens;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod props;
#[cfg(test)]
mod table;

use crate::chat::domain::{Intent, Language, MessageText, Parsed, ParsedBy, Risk};

pub use context::{
    DefinitionInfo, DefinitionKind, EnvironmentInfo, ParseContext, ProjectInfo, RunInfo, RunState, Tier,
};
pub use proposal::{Proposal, Refusal, ground};
pub use text::fold;

use intent::Reading;
use lexicon::{Kw, L};
use reasons::Reason;
use resolve::Resolution;
use roles::{Role, Tagged};

/// What the rule parser made of a message, and whether that settles it (the LLM is asked only when it does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOutcome {
    pub parsed: Parsed,
    /// The rules matched a command or a read, a negation, a refusal, or a message with no word left to understand
    /// (only known words, or everything quoted): the model is not asked.
    pub decided: bool,
    /// The message with quoted parts blanked out: what the LLM sees and what its params are grounded in.
    pub unquoted: String,
}

/// Parses one message with the rules.
pub fn parse(text: &MessageText, ctx: &ParseContext) -> Parsed {
    parse_rules(text, ctx).parsed
}

/// The language of a message: the vote of its known words (an accented letter counts for French); a tie goes to
/// the language of its first command or question word, else English.
fn language(t: &Tagged, text: &str) -> Language {
    let (mut en, mut fr) = (0, 0);
    let mut first = None;
    for (i, token) in t.tokens.iter().enumerate() {
        let lang = roles::lang_of(token);
        match lang {
            L::E => en += 1,
            L::F => fr += 1,
            L::N => {}
        }
        let leads = !matches!(t.kw(i), None | Some(Kw::Filler | Kw::EnvPrep | Kw::ProjPrep));
        if first.is_none() && leads && lang != L::N {
            first = Some(lang);
        }
    }
    if text.chars().any(|c| "éèêàùçâîôûëïœÉÈÀÇ«»".contains(c)) {
        fr += 1;
    }
    match (en.cmp(&fr), first) {
        (std::cmp::Ordering::Less, _) | (std::cmp::Ordering::Equal, Some(L::F)) => Language::Fr,
        _ => Language::En,
    }
}

/// The rule parser, with what the LLM adapter needs to know about its outcome.
pub fn parse_rules(text: &MessageText, ctx: &ParseContext) -> RuleOutcome {
    let unquoted = quotes::unquote(text.as_str());
    let tokens = tokens::tokenize(&unquoted.text);
    let mut tagged = roles::tag(tokens, ctx);
    let lang = language(&tagged, &unquoted.text);
    let mentions = mentions::extract(&mut tagged, ctx);
    let reading = intent::read(&tagged);
    let (resolution, negated) = match reading {
        Reading::Negated => (Resolution::refused_quietly(), true),
        Reading::SeveralActions => (Resolution::refused(Reason::OneAction, lang), false),
        Reading::Intent(intent) => (resolve::resolve(intent, &mentions, ctx, lang), false),
    };
    let unknown_words = tagged.roles.contains(&Role::Word);
    let decided = resolution.intent != Intent::None || negated || !resolution.missing.is_empty() || !unknown_words;
    RuleOutcome {
        parsed: Parsed {
            intent: resolution.intent,
            params: resolution.params,
            risk: resolution.risk,
            missing: resolution.missing,
            negated,
            language: lang,
            parsed_by: ParsedBy::Rules,
        },
        decided,
        unquoted: unquoted.text,
    }
}

/// The labels of `chat_intents_total{intent,parsed_by}` for a parse.
pub fn metric_labels(parsed: &Parsed) -> [(&'static str, &'static str); 2] {
    let by = match parsed.parsed_by {
        ParsedBy::Rules => "rules",
        ParsedBy::Llm => "llm",
    };
    [("intent", parsed.intent.as_str()), ("parsed_by", by)]
}

impl Resolution {
    /// A negated command: `none`, nothing missing.
    fn refused_quietly() -> Self {
        Resolution {
            intent: Intent::None,
            params: Default::default(),
            missing: Vec::new(),
            risk: Risk::Read,
        }
    }
}
