//! The words the parser knows, in their folded form (lower case, no accents), each with what it is for and its
//! language. A word not listed here may still be a typo of one (within the typo budget), a project,
//! an environment or a pipeline definition of the context.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::context::Tier;

/// What a known word is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kw {
    /// deploy, ship, livre, déploiement…: a deploy (a noun too).
    Deploy,
    /// deployed, déployé, shipped…: describes a deploy, never asks for one.
    Deployed,
    /// mets, passe, pousse, put…: a deploy when followed by "en/to" and an environment ("mets en prod").
    Move,
    /// "MEP" (mise en production): a deploy to the production tier.
    Mep,
    /// release: a deploy at the head of a sentence, a version's label elsewhere.
    Release,
    Rollback,
    /// roll, retour: a rollback with "back"/"arrière" next to it.
    Roll,
    Back,
    Retry,
    /// again, encore: "run it again" is a retry.
    Again,
    Cancel,
    Approve,
    /// A past participle of another command (cancelled, relancé…): describes, never asks.
    Done,
    /// trigger, launch, start, lance, déclenche…: runs a pipeline.
    RunVerb,
    /// run: a verb at the head of a sentence, a noun elsewhere.
    Run,
    /// build: a verb at the head of a sentence, a noun elsewhere.
    Build,
    /// pipeline, job, exécution…
    RunNoun,
    /// number, numéro, n: before a run number.
    NumberWord,
    Why,
    Fail,
    Who,
    When,
    History,
    /// show, list, montre…
    Show,
    Status,
    /// overview, dashboard, résumé: the overview on its own.
    Overview,
    /// everything, all, tout: widens a status to the overview.
    All,
    Dora,
    Help,
    Last,
    Recent,
    Pending,
    Version,
    Unit(Unit),
    /// this, ce, cette: "this week".
    This,
    Today,
    /// of, for, de, du, pour, with…: a project follows.
    ProjPrep,
    /// project, projet, service.
    ProjNoun,
    /// to, on, in, en, sur, vers…: an environment (or a project) follows.
    EnvPrep,
    /// environment, env, environnement.
    EnvNoun,
    /// An environment alias of a tier: prod, préprod, stage, dev…
    EnvAlias(Tier),
    /// and, then, et, puis…: may start a second action.
    Conj,
    /// don't, not, no, won't, avoid, évite, sans…: negates a command that follows.
    Neg,
    /// never, jamais: negates a command anywhere in the sentence.
    Never,
    /// ne, n': negates a French verb that follows.
    Ne,
    /// pas, plus, point, aucun: negates a French verb before it, or a noun after it ("pas de rollback").
    Pas,
    /// yes, oui, ok, vas-y, confirm…: never a command.
    Affirm,
    /// what, which, how, quel, comment…
    Question,
    /// Words that carry nothing here: articles, pronouns, politeness.
    Filler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// Whole days in `n` of this unit (hours round up to days).
    pub fn days(self, n: u64) -> u64 {
        match self {
            Unit::Hour => n.div_ceil(24),
            Unit::Day => n,
            Unit::Week => n * 7,
            Unit::Month => n * 30,
            Unit::Quarter => n * 90,
            Unit::Year => n * 365,
        }
    }
}

/// Which language a word belongs to; `N` is both (or neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L {
    E,
    F,
    N,
}

use Kw::*;
use L::{E, F, N};

#[rustfmt::skip]
const WORDS: &[(&[&str], Kw, L)] = &[
    (&["deploy", "deploys", "deploying", "deployment", "deployments", "redeploy", "ship", "push", "promote",
       "rollout", "roll-out"], Deploy, E),
    (&["deploie", "deploies", "deployer", "deployez", "deployons", "deploiement", "deploiements", "redeploie",
       "redeployer", "livre", "livrer", "livrez", "livrons", "livraison", "livraisons"], Deploy, F),
    (&["deployed", "shipped", "released", "pushed", "promoted", "redeployed"], Deployed, E),
    (&["deploye", "deployee", "deployes", "deployees", "livree", "livrees", "mis"], Deployed, F),
    (&["put", "move"], Move, E),
    (&["mets", "met", "mettre", "mettez", "mettons", "mise", "pousse", "pousser", "poussez", "passe",
       "passer", "passez", "bascule", "basculer", "envoie", "envoyer"], Move, F),
    (&["mep"], Mep, F),
    (&["release"], Release, E),
    (&["rollback", "rollbacks", "roll-back", "revert", "downgrade", "undo"], Rollback, E),
    (&["rollbacke", "rollbacker", "rollbackez", "restaure", "restaurer", "restaurez", "reviens", "revenir",
       "revient"], Rollback, F),
    (&["roll"], Roll, E),
    (&["retour"], Roll, F),
    (&["back"], Back, E),
    (&["arriere"], Back, F),
    (&["retry", "rerun", "re-run", "restart", "relaunch", "retrigger", "redo"], Retry, E),
    (&["relance", "relancer", "relancez", "relances", "retente", "retenter", "reessaie", "reessayer", "reessayez",
       "rejoue", "rejouer", "redemarre", "redemarrer", "recommence", "recommencer"], Retry, F),
    (&["again"], Again, E),
    (&["encore"], Again, F),
    (&["cancel", "abort", "stop", "kill", "halt", "terminate"], Cancel, E),
    (&["annule", "annuler", "annulez", "arrete", "arreter", "arretez", "stoppe", "stopper", "interromps",
       "interrompre", "interrompez"], Cancel, F),
    (&["approve", "greenlight", "accept"], Approve, E),
    (&["approuve", "approuver", "approuvez", "valide", "valider", "validez", "autorise", "autoriser", "autorisez",
       "accepte", "accepter"], Approve, F),
    (&["cancelled", "canceled", "aborted", "stopped", "killed", "retried", "restarted", "approved",
       "accepted", "triggered", "launched", "started", "rolled", "reverted"], Done, E),
    (&["trigger", "launch", "start", "execute", "kick"], RunVerb, E),
    (&["lance", "lancer", "lancez", "declenche", "declencher", "declenchez", "executer", "executez", "demarre",
       "demarrer", "demarrez"], RunVerb, F),
    (&["run"], Run, E),
    (&["build"], Build, N),
    (&["builds", "pipeline", "pipelines", "job", "jobs", "runs", "workflow", "workflows", "execution",
       "executions"], RunNoun, N),
    (&["number", "nr"], NumberWord, E),
    (&["numero", "n"], NumberWord, F),
    (&["why", "reason", "explain", "wrong", "happened", "logs"], Why, E),
    (&["pourquoi", "raison", "explique", "expliquer", "expliquez", "journaux"], Why, F),
    (&["cause"], Why, N),
    (&["fail", "fails", "failed", "failing", "failure", "failures", "broke", "broken", "breaking", "crash",
       "crashed", "crashing", "crashes", "red", "errored", "error", "errors"], Fail, E),
    (&["plante", "plantee", "plantes", "planter", "plantent", "echoue", "echouee", "echoues", "echouees",
       "echouer", "echouent", "echec", "echecs", "casse", "cassee", "casses", "erreur", "erreurs", "rouge",
       "rouges", "pete", "foire"], Fail, F),
    (&["ko"], Fail, N),
    (&["who", "whom"], Who, E),
    (&["qui"], Who, F),
    (&["when"], When, E),
    (&["quand"], When, F),
    (&["history"], History, E),
    (&["historique"], History, F),
    (&["show", "list", "display", "give", "tell", "get", "see"], Show, E),
    (&["montre", "montrer", "affiche", "afficher", "liste", "lister", "donne", "dis", "voir"], Show, F),
    (&["status", "statuses", "state", "health", "healthy", "doing", "green", "passing"], Status, E),
    (&["statut", "statuts", "etat", "sante", "neuf", "vert", "verte", "verts"], Status, F),
    (&["overview", "dashboard", "summary"], Overview, E),
    (&["resume", "ensemble"], Overview, F),
    (&["everything", "all", "everywhere"], All, E),
    (&["tout", "tous", "toutes", "partout", "general", "generale"], All, F),
    (&["global"], All, N),
    (&["dora", "kpi", "kpis", "mttr", "performance"], Dora, N),
    (&["metrics", "stats", "statistics", "frequency", "lead", "rate", "change", "changes"], Dora, E),
    (&["metriques", "statistiques", "frequence", "taux", "performances", "delai", "changement", "changements"], Dora, F),
    (&["help", "commands", "usage", "menu"], Help, E),
    (&["aide", "aidez", "commandes"], Help, F),
    (&["last", "latest", "previous", "past"], Last, E),
    (&["dernier", "derniere", "derniers", "dernieres", "precedent", "precedente"], Last, F),
    (&["recent", "recently", "running", "ongoing"], Recent, E),
    (&["recents", "recentes", "recemment", "cours"], Recent, F),
    (&["pending", "waiting", "awaiting", "blocked"], Pending, E),
    (&["attente", "bloque", "bloquee"], Pending, F),
    (&["version", "tag"], Version, N),
    (&["hour", "hours", "hr", "hrs"], Unit(Unit::Hour), E),
    (&["heure", "heures"], Unit(Unit::Hour), F),
    (&["h"], Unit(Unit::Hour), N),
    (&["day", "days", "d"], Unit(Unit::Day), E),
    (&["jour", "jours", "j"], Unit(Unit::Day), F),
    (&["week", "weeks", "wk", "wks"], Unit(Unit::Week), E),
    (&["semaine", "semaines"], Unit(Unit::Week), F),
    (&["month", "months"], Unit(Unit::Month), E),
    (&["mois", "mois-ci"], Unit(Unit::Month), F),
    (&["quarter", "quarters"], Unit(Unit::Quarter), E),
    (&["trimestre", "trimestres"], Unit(Unit::Quarter), F),
    (&["year", "years"], Unit(Unit::Year), E),
    (&["ans", "annee", "annees"], Unit(Unit::Year), F),
    (&["an"], Unit(Unit::Year), N),
    (&["this", "current"], This, E),
    (&["ce", "cette", "cet"], This, F),
    (&["today"], Today, E),
    (&["aujourd'hui", "aujourdhui"], Today, F),
    (&["of", "for", "with", "about", "from"], ProjPrep, E),
    (&["de", "du", "des", "d'", "pour", "avec", "concernant"], ProjPrep, F),
    (&["project", "projects", "service"], ProjNoun, E),
    (&["projet", "projets"], ProjNoun, F),
    (&["to", "on", "in", "into", "onto", "at"], EnvPrep, E),
    (&["en", "sur", "vers", "dans", "au"], EnvPrep, F),
    (&["environment", "environments", "env", "envs"], EnvNoun, E),
    (&["environnement", "environnements"], EnvNoun, F),
    (&["prod", "production", "prd", "live"], EnvAlias(Tier::Production), N),
    (&["staging", "stage", "stg", "preprod", "pre-prod", "preproduction", "pre-production", "recette", "uat"],
       EnvAlias(Tier::Staging), N),
    (&["dev", "develop", "development", "developpement", "devel"], EnvAlias(Tier::Development), N),
    (&["and", "then", "also", "after"], Conj, E),
    (&["et", "puis", "ensuite", "aussi", "apres"], Conj, F),
    (&["don't", "dont", "not", "no", "won't", "wont", "shouldn't", "shouldnt", "mustn't", "can't", "cant",
       "cannot", "avoid", "without", "didn't", "didnt", "doesn't"], Neg, E),
    (&["evite", "eviter", "evitez", "sans", "non"], Neg, F),
    (&["never"], Never, E),
    (&["jamais"], Never, F),
    (&["ne", "n'"], Ne, F),
    (&["pas", "point", "aucun", "aucune", "rien"], Pas, F),
    (&["yes", "yeah", "yep", "yup", "ok", "okay", "k", "go", "sure", "fine", "alright", "confirm", "confirmed",
       "lgtm", "ahead"], Affirm, E),
    (&["oui", "ouais", "vas-y", "vas", "allez", "accord", "dac", "confirme", "confirmer", "bon", "parfait"],
       Affirm, F),
    (&["what", "what's", "whats", "which", "how", "how's", "hows", "where"], Question, E),
    (&["quel", "quelle", "quels", "quelles", "comment", "ou", "quoi", "qu'", "que", "est-ce"], Question, F),
    (&["a"], Filler, N),
    (&["the", "it", "its", "it's", "that", "these", "those", "please", "pls", "plz", "now", "asap",
       "right", "away", "just", "can", "could", "would", "will", "you", "me", "i", "i'd", "i'm", "we", "us",
       "let's", "lets", "want", "like", "need", "is", "are", "was", "were", "be", "been", "did", "does", "do",
       "done", "has", "have", "had", "hey", "hi", "hello", "bot", "thanks", "thank", "thx", "some", "there",
       "here", "our", "my", "your", "currently", "quickly", "immediately", "new", "kindly", "by", "up", "going",
       "over", "since", "ignore", "instructions", "one", "off", "any", "mode", "come", "went", "out", "time",
       "developer", "developers", "skip", "he", "she", "they", "said", "says", "yesterday", "admin", "user"],
       Filler, E),
    (&["le", "la", "les", "l'", "un", "une", "ca", "cela", "stp", "svp", "s'il", "te", "plait", "vous", "tu",
       "toi", "moi", "je", "j'", "nous", "il", "elle", "ai", "as", "ont", "est", "sont", "ete",
       "etait", "fait", "fais", "faire", "peux", "pouvez", "peux-tu", "pouvez-vous", "veux", "voudrais",
       "aimerais", "merci", "bonjour", "salut", "coucou", "maintenant", "vite", "se", "s'", "y", "mon", "ma",
       "mes", "notre", "nos", "vos", "votre", "leur", "donc", "alors", "bien", "c'", "depuis", "sais-tu",
       "sais", "ci", "la-bas", "actuellement", "nouvelle", "nouveau", "tourne", "marche", "developpeur",
       "developpeurs", "hier"], Filler, F),
];

static TABLE: LazyLock<HashMap<&'static str, (Kw, L)>> = LazyLock::new(|| {
    let mut table = HashMap::new();
    for (words, kw, lang) in WORDS {
        for word in *words {
            table.insert(*word, (*kw, *lang));
        }
    }
    table
});

/// Every known word (for typo matching together with the context's names).
pub fn words() -> impl Iterator<Item = &'static str> {
    TABLE.keys().copied()
}

/// Exact lookup only (no typo tolerance).
pub fn exact(folded: &str) -> Option<(Kw, L)> {
    TABLE.get(folded).copied()
}

#[cfg(test)]
mod tests {
    use super::super::distance;
    use super::*;

    #[test]
    fn every_word_is_folded_and_listed_once() {
        let mut seen = HashMap::new();
        for (words, kw, _) in WORDS {
            for word in *words {
                assert_eq!(super::super::text::fold(word), *word, "{word} is not in folded form");
                if let Some(previous) = seen.insert(*word, *kw) {
                    panic!("{word} listed as {previous:?} and {kw:?}");
                }
            }
        }
    }

    fn lookup(folded: &str) -> Option<(Kw, L)> {
        let plain = folded.chars().all(|c| c.is_ascii_lowercase());
        exact(folded).or_else(|| {
            plain
                .then(|| distance::closest(folded, words()))
                .flatten()
                .and_then(exact)
        })
    }

    #[test]
    fn typos_find_the_one_closest_word_and_look_alikes_find_nothing() {
        assert_eq!(lookup("depoly").map(|f| f.0), Some(Deploy));
        assert_eq!(lookup("rollbakc").map(|f| f.0), Some(Rollback));
        assert_eq!(lookup("pourqoui").map(|f| f.0), Some(Why));
        assert_eq!(lookup("stagign").map(|f| f.0), Some(EnvAlias(Tier::Staging)));
        assert_eq!(
            lookup("aproved").map(|f| f.0),
            Some(Done),
            "closer to the participle than the verb"
        );
        assert_eq!(lookup("dеploy"), None, "a Cyrillic е is not a typo");
        assert_eq!(lookup("api"), None);
    }
}
