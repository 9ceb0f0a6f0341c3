//! Who may ask for what. The chat checks the role when an action is proposed, when each decision is made and when it
//! executes; the services check it again on every call they receive (the chat calls them with the person's token).
//!
//! - `viewer`: reads only.
//! - `operator`: + run, retry, cancel, deploy and roll back outside production (`medium`, `high`), and *ask* for a
//!   deploy or rollback in production (`critical`), which then runs only once an admin approves it (four eyes).
//! - `admin`: + everything `critical` (production-tier or protected environments), and approving it. An approval of a
//!   production run's gate (`approve api#N`, critical) is an admin's own act: operators never ask for it.

use devopstrack_platform::auth::Role;

use crate::chat::domain::{Intent, Language, Risk};

/// Why `role` may not ask for `intent` at `risk`, in `lang`; `None` when it may.
pub fn refuse_proposal(role: Role, intent: Intent, risk: Risk, lang: Language) -> Option<String> {
    if !intent.mutates() {
        return None;
    }
    let allowed = match role {
        Role::Admin => true,
        Role::Operator => risk <= Risk::High || matches!(intent, Intent::Deploy | Intent::Rollback),
        Role::Viewer | Role::Service => false,
    };
    if allowed {
        return None;
    }
    Some(match (role, lang) {
        (Role::Operator, Language::En) => format!(
            "You are an operator: {} in a production or protected environment is an admin's decision. Ask one.",
            intent.as_str()
        ),
        (Role::Operator, Language::Fr) => format!(
            "Vous êtes opérateur : {} dans un environnement de production ou protégé est la décision d'un admin. Demandez à l'un d'eux.",
            intent.as_str()
        ),
        (_, Language::En) => format!(
            "You are a {}: you can read everything but not {}. Ask an operator or an admin.",
            role.as_str(),
            intent.as_str()
        ),
        (_, Language::Fr) => format!(
            "Votre rôle est {} : vous pouvez tout consulter mais pas {}. Demandez à un opérateur ou un admin.",
            role.as_str(),
            intent.as_str()
        ),
    })
}

/// Why `role` may not approve an action of `risk`; `None` when it may. Only admins approve (approvals are for
/// `critical` actions).
pub fn refuse_approval(role: Role, risk: Risk) -> Option<String> {
    match role {
        Role::Admin => None,
        _ => Some(format!(
            "approving a {} action needs the admin role; you are {}",
            risk.as_str(),
            role.as_str()
        )),
    }
}

/// The intents `role` may ask for, for `help`.
pub fn intents_for(role: Role) -> Vec<Intent> {
    Intent::ALL
        .into_iter()
        .filter(|intent| *intent != Intent::None)
        .filter(|intent| {
            // The least risky form of each command decides whether it is listed.
            let least = match intent {
                Intent::Deploy | Intent::Rollback | Intent::Approve => Risk::High,
                Intent::RunPipeline | Intent::Retry | Intent::Cancel => Risk::Medium,
                _ => Risk::Read,
            };
            refuse_proposal(role, *intent, least, Language::En).is_none()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_read_operators_act_outside_production_admins_everywhere() {
        for intent in Intent::ALL {
            let viewer = refuse_proposal(Role::Viewer, intent, Risk::Medium, Language::En);
            assert_eq!(viewer.is_some(), intent.mutates(), "{intent:?}");
        }
        assert!(refuse_proposal(Role::Operator, Intent::Deploy, Risk::High, Language::En).is_none());
        assert!(refuse_proposal(Role::Admin, Intent::Rollback, Risk::Critical, Language::En).is_none());
        assert!(refuse_proposal(Role::Service, Intent::Retry, Risk::Medium, Language::En).is_some());
    }

    #[test]
    fn operators_ask_for_production_deploys_and_rollbacks_but_never_for_an_approval() {
        for intent in [Intent::Deploy, Intent::Rollback] {
            let asked = refuse_proposal(Role::Operator, intent, Risk::Critical, Language::En);
            assert_eq!(asked, None, "{intent:?}: an admin approves it before it runs");
        }
        let refused = refuse_proposal(Role::Operator, Intent::Approve, Risk::Critical, Language::Fr).unwrap();
        assert!(refused.contains("admin"), "{refused}");
        // Retry and cancel are never critical; were one ever, it would still be an admin's.
        for intent in [Intent::Retry, Intent::Cancel, Intent::RunPipeline] {
            assert!(refuse_proposal(Role::Operator, intent, Risk::Critical, Language::En).is_some());
        }
        assert!(refuse_proposal(Role::Viewer, Intent::Deploy, Risk::Critical, Language::En).is_some());
    }

    #[test]
    fn only_admins_approve() {
        assert!(refuse_approval(Role::Admin, Risk::Critical).is_none());
        for role in [Role::Viewer, Role::Operator, Role::Service] {
            assert!(refuse_approval(role, Risk::Critical).unwrap().contains("admin"));
        }
    }

    #[test]
    fn help_lists_only_what_the_role_may_do() {
        let viewer = intents_for(Role::Viewer);
        assert!(viewer.contains(&Intent::DoraSummary) && !viewer.contains(&Intent::Deploy));
        let operator = intents_for(Role::Operator);
        assert!(operator.contains(&Intent::Deploy) && operator.contains(&Intent::Retry));
        assert_eq!(intents_for(Role::Admin).len(), Intent::ALL.len() - 1);
    }
}
