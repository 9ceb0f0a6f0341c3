//! The chat's Prometheus metrics (domain metrics, under `devopstrack_` as the observability conventions want):
//! messages by sender type, intents by how they were parsed, actions by risk and outcome, and expiries.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use devopstrack_platform::metrics::MetricsRegistry;

use crate::chat::domain::Parsed;
use crate::chat::parser;
use crate::chat::store::Action;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntentLabels {
    pub intent: &'static str,
    pub parsed_by: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub risk: &'static str,
    /// `proposed`, `succeeded`, `failed`, `rejected`, `expired`.
    pub outcome: &'static str,
}

/// Every label value comes from a closed set, so the cardinality is bounded.
#[derive(Clone, Default)]
pub struct ChatMetrics {
    messages: Family<TypeLabel, Counter>,
    intents: Family<IntentLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    expired: Counter,
}

impl ChatMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let metrics = Self::default();
        registry.register(
            "devopstrack_chat_messages",
            "Chat messages stored, by sender type (user, bot)",
            metrics.messages.clone(),
        );
        registry.register(
            "devopstrack_chat_intents",
            "Chat messages understood, by intent and parser (rules, llm)",
            metrics.intents.clone(),
        );
        registry.register(
            "devopstrack_chat_actions",
            "Chat actions, by risk and outcome (proposed, succeeded, failed, rejected, expired)",
            metrics.actions.clone(),
        );
        registry.register(
            "devopstrack_chat_actions_expired",
            "Chat actions that expired undecided (confirmation or approval deadline passed)",
            metrics.expired.clone(),
        );
        metrics
    }

    pub fn message(&self, kind: &'static str) {
        self.messages.get_or_create(&TypeLabel { r#type: kind }).inc();
    }

    pub fn intent(&self, parsed: &Parsed) {
        let [(_, intent), (_, parsed_by)] = parser::metric_labels(parsed);
        self.intents.get_or_create(&IntentLabels { intent, parsed_by }).inc();
    }

    pub fn action(&self, action: &Action, outcome: &'static str) {
        self.actions
            .get_or_create(&ActionLabels {
                risk: action.risk.as_str(),
                outcome,
            })
            .inc();
        if outcome == "expired" {
            self.expired.inc();
        }
    }
}
