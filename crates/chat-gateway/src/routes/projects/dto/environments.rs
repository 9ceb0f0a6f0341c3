//! A project's environments: the tier, the answer (with the current version and last deployment), and the settings
//! an environment is created or replaced with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use devopstrack_proto::projects::v1 as pb;

use super::{DeploymentBody, non_empty};
use crate::routes::dto::proto_enum;

proto_enum!(Tier, Tier, "lowercase", { Development, Staging, Production });

// ---- answers ----

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Environment)]
pub struct EnvironmentBody {
    pub name: String,
    pub tier: Option<Tier>,
    pub url: Option<String>,
    /// Deploys need approval.
    pub protected: bool,
    /// The version of the latest succeeded deployment; `null` before the first.
    pub current_version: Option<String>,
    pub last_deployment: Option<DeploymentBody>,
}

impl From<pb::Environment> for EnvironmentBody {
    fn from(e: pb::Environment) -> Self {
        Self {
            name: e.name,
            tier: Tier::from_proto(e.tier),
            url: non_empty(e.url),
            protected: e.protected,
            current_version: non_empty(e.current_version),
            last_deployment: e.last_deployment.map(DeploymentBody::from),
        }
    }
}

// ---- inputs ----

/// An environment of a new project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentInput {
    #[schema(value_type = crate::openapi::contract::EnvName)]
    pub name: String,
    pub tier: Option<Tier>,
    #[schema(value_type = Option<crate::openapi::contract::EnvUrl>)]
    pub url: Option<String>,
    #[serde(default)]
    pub protected: bool,
}

impl From<EnvironmentInput> for pb::Environment {
    fn from(e: EnvironmentInput) -> Self {
        // Not `#[serde(flatten)]` of the settings: serde cannot combine it with `deny_unknown_fields`.
        EnvironmentSettings {
            tier: e.tier,
            url: e.url,
            protected: e.protected,
        }
        .into_proto(e.name)
    }
}

/// An environment's settings (`PUT /api/v1/projects/{slug}/environments/{env}`: the name comes from the path).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSettings {
    pub tier: Option<Tier>,
    /// Where the environment is reachable.
    #[schema(value_type = Option<crate::openapi::contract::EnvUrl>)]
    pub url: Option<String>,
    /// Deploys need approval; default false.
    #[serde(default)]
    pub protected: bool,
}

impl EnvironmentSettings {
    pub fn into_proto(self, name: String) -> pb::Environment {
        pb::Environment {
            name,
            tier: self.tier.map_or(pb::Tier::Unspecified, Tier::to_proto) as i32,
            url: self.url.unwrap_or_default(),
            protected: self.protected,
            current_version: String::new(),
            last_deployment: None,
        }
    }
}
