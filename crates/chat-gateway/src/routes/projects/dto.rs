//! JSON shapes of `/api/v1/projects/**` (camelCase, enums as lowercase strings, times as RFC 3339) and their
//! conversions to and from the projects gRPC messages. Inputs refuse unknown fields; an unknown enum string is a 400
//! naming the field (`environments[1].tier: unknown variant …`) through [`crate::extract::Json`].

mod environments;
mod projects;
mod releases;
#[cfg(test)]
mod tests;

pub use self::environments::{EnvironmentBody, EnvironmentSettings};
pub use self::projects::{
    CreateProjectBody, ListProjectsQuery, ProjectBody, RepositoryInput, RepositoryQuery, UpdateProjectBody,
};
pub use self::releases::{
    CreateReleaseBody, DeploymentBody, DeploymentsQuery, RecordDeploymentBody, ReleaseBody, ReleasesQuery,
};

/// Empty proto strings become absent (`null`) values.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}
