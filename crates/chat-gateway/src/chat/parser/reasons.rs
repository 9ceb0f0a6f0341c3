//! Why a param is missing, in the asker's language. Each reason names the word the asker wrote, so the bot's
//! question makes sense on its own.

use crate::chat::domain::{Language, Missing};

/// Why a param could not be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    ProjectNeeded,
    ProjectUnknown(String),
    OneProject,
    EnvironmentNeeded,
    EnvironmentUnknown {
        typed: String,
        project: String,
    },
    EnvironmentAmbiguous {
        typed: String,
        project: String,
    },
    /// A name that belongs to a project, before the project is known (`prod`, `ci`).
    NeedsProject {
        typed: String,
    },
    VersionNeeded,
    RunNeeded,
    NoRecentRun {
        project: String,
    },
    OneRun,
    DefinitionNeeded {
        project: Option<String>,
    },
    DefinitionUnknown {
        typed: String,
        project: String,
    },
    Window(String),
    /// The message asks for more than one action (or an action and another request).
    OneAction,
    /// The command names several targets for one param ("to staging and then prod").
    OneTarget,
}

impl Reason {
    fn text(&self, lang: Language) -> String {
        use Reason::*;
        let fr = lang == Language::Fr;
        match self {
            ProjectNeeded if fr => "quel projet ? (« … de api », ou écrivez dans le salon du projet)".into(),
            ProjectNeeded => "which project? (\"… of api\", or write in the project's room)".into(),
            ProjectUnknown(p) if fr => format!("projet inconnu « {p} »"),
            ProjectUnknown(p) => format!("unknown project \"{p}\""),
            OneProject if fr => "un seul projet par message : lequel ?".into(),
            OneProject => "one project per message: which one?".into(),
            EnvironmentNeeded if fr => "quel environnement ?".into(),
            EnvironmentNeeded => "which environment?".into(),
            EnvironmentUnknown { typed, project } if fr => {
                format!("« {typed} » n'est pas un environnement de {project}")
            }
            EnvironmentUnknown { typed, project } => format!("\"{typed}\" is not an environment of {project}"),
            EnvironmentAmbiguous { typed, project } if fr => {
                format!("« {typed} » désigne plusieurs environnements de {project} : lequel ?")
            }
            EnvironmentAmbiguous { typed, project } => {
                format!("\"{typed}\" matches several environments of {project}: which one?")
            }
            NeedsProject { typed } if fr => format!("« {typed} » : de quel projet ?"),
            NeedsProject { typed } => format!("\"{typed}\" of which project?"),
            VersionNeeded if fr => "quelle version ? (je n'en devine jamais une)".into(),
            VersionNeeded => "which version? (I never guess one)".into(),
            RunNeeded if fr => "quel run ? (par ex. api#42)".into(),
            RunNeeded => "which run? (e.g. api#42)".into(),
            NoRecentRun { project } if fr => format!("aucun run récent de {project} ne correspond"),
            NoRecentRun { project } => format!("no recent run of {project} matches"),
            OneRun if fr => "un seul run par message : lequel ?".into(),
            OneRun => "one run per message: which one?".into(),
            DefinitionNeeded { project: Some(p) } if fr => format!("quel pipeline de {p} ?"),
            DefinitionNeeded { project: Some(p) } => format!("which pipeline of {p}?"),
            DefinitionNeeded { project: None } if fr => "quel pipeline, de quel projet ?".into(),
            DefinitionNeeded { project: None } => "which pipeline, of which project?".into(),
            DefinitionUnknown { typed, project } if fr => {
                format!("« {typed} » n'est pas un pipeline de {project}")
            }
            DefinitionUnknown { typed, project } => format!("\"{typed}\" is not a pipeline of {project}"),
            Window(why) if fr => format!("période invalide ({why})"),
            Window(why) => format!("invalid window ({why})"),
            OneAction if fr => {
                "une seule action par message : envoyez chaque commande séparément, l'une après l'autre".into()
            }
            OneAction => "one action per message: send each command on its own, one after the other".into(),
            OneTarget if fr => {
                "une seule action par message : une cible à la fois (par ex. staging d'abord, puis la prod dans un \
                 second message)"
                    .into()
            }
            OneTarget => {
                "one action per message: one target at a time (e.g. staging first, then production in a second \
                 message)"
                    .into()
            }
        }
    }
}

/// A `missing` entry for `param`.
pub fn missing(param: &str, reason: Reason, lang: Language, suggestions: Vec<String>) -> Missing {
    Missing {
        param: param.to_owned(),
        reason: reason.text(lang),
        suggestions,
    }
}
