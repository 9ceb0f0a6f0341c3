//! Decisions typed in the chat: `confirm K7QF`, `approve K7QF`, `reject K7QF` (and French: `confirme`, `approuve`,
//! `rejette`/`refuse`). A decision always names the action's short code, so a "yes" can never confirm the wrong
//! pending command: a bare "yes", "oui vas-y" or a code alone decides nothing.

use crate::chat::domain::Decision;
use crate::chat::store::ShortCode;

/// The decision and code a message spells, exactly `<verb> <code>` (case and surrounding spaces aside).
pub fn decision_command(text: &str) -> Option<(Decision, ShortCode)> {
    let mut words = text.split_whitespace();
    let (verb, code) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let decision = match verb.to_lowercase().as_str() {
        "confirm" | "confirme" | "confirmer" => Decision::Confirm,
        "approve" | "approuve" | "approuver" => Decision::Approve,
        "reject" | "rejette" | "rejeter" | "refuse" | "refuser" => Decision::Reject,
        _ => return None,
    };
    Some((decision, ShortCode::parse(code).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_names_its_code() {
        let (decision, code) = decision_command("  Confirm k7qf ").unwrap();
        assert_eq!((decision, code.as_str()), (Decision::Confirm, "K7QF"));
        assert_eq!(decision_command("approuve K7QF").unwrap().0, Decision::Approve);
        assert_eq!(decision_command("refuse K7QF").unwrap().0, Decision::Reject);
    }

    #[test]
    fn yes_and_friends_decide_nothing() {
        for text in [
            "yes",
            "oui vas-y",
            "confirm",
            "K7QF",
            "ok K7QF",
            "confirm K7QF now",
            "confirm prod",
            "approve api#42",
            "confirm K0QF",
            "yes confirm",
        ] {
            assert!(decision_command(text).is_none(), "{text:?}");
        }
    }
}
