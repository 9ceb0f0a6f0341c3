//! A project's repositories and environments: validation (shared with CreateProject) and the use-cases that add,
//! replace and remove them. Each is a read → modify → compare-and-set on the whole project.

use std::collections::HashSet;

use devopstrack_platform::auth::{Principal, Role};

use super::{ProjectView, ProjectsApp, require};
use crate::domain::{EnvName, EnvironmentConfig, Provider, RepoUrl, Repository, Tier, parse_branch, parse_env_url};
use crate::error::Error;

pub const MAX_REPOSITORIES: usize = 20;
pub const MAX_ENVIRONMENTS: usize = 20;

/// A repository as received. `provider: None` is inferred from the URL's host; an empty branch means `main`.
#[derive(Debug, Clone, Default)]
pub struct RepositoryInput {
    pub url: String,
    pub provider: Option<Provider>,
    pub default_branch: String,
}

/// An environment's settings as received. `tier: None` is inferred from the name.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentInput {
    pub name: String,
    pub tier: Option<Tier>,
    pub url: String,
    pub protected: bool,
}

/// `field` is where the repository sits in the request (`repositories[2]`, `repository`).
pub(super) fn parse_repository(field: &str, input: &RepositoryInput) -> Result<Repository, Error> {
    let url = RepoUrl::parse(&input.url).map_err(|e| Error::invalid(&format!("{field}.url"), e))?;
    let default_branch =
        parse_branch(&input.default_branch).map_err(|e| Error::invalid(&format!("{field}.defaultBranch"), e))?;
    let provider = input.provider.unwrap_or_else(|| Provider::infer(&url));
    Ok(Repository {
        url,
        provider,
        default_branch,
    })
}

pub(super) fn parse_environment(field: &str, input: &EnvironmentInput) -> Result<EnvironmentConfig, Error> {
    let name = EnvName::parse(&input.name).map_err(|e| Error::invalid(&format!("{field}.name"), e))?;
    let url = parse_env_url(&input.url).map_err(|e| Error::invalid(&format!("{field}.url"), e))?;
    let tier = input.tier.unwrap_or_else(|| Tier::infer(&name));
    Ok(EnvironmentConfig {
        name,
        tier,
        url,
        protected: input.protected,
    })
}

/// At most 20, URLs unique.
pub(super) fn parse_repositories(inputs: &[RepositoryInput]) -> Result<Vec<Repository>, Error> {
    if inputs.len() > MAX_REPOSITORIES {
        return Err(Error::invalid("repositories", format!("at most {MAX_REPOSITORIES}")));
    }
    let mut seen = HashSet::new();
    let mut repositories = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let repository = parse_repository(&format!("repositories[{i}]"), input)?;
        if !seen.insert(repository.url.clone()) {
            return Err(Error::invalid(
                &format!("repositories[{i}].url"),
                format!("{} is listed twice", repository.url),
            ));
        }
        repositories.push(repository);
    }
    Ok(repositories)
}

/// At most 20, names unique.
pub(super) fn parse_environments(inputs: &[EnvironmentInput]) -> Result<Vec<EnvironmentConfig>, Error> {
    if inputs.len() > MAX_ENVIRONMENTS {
        return Err(Error::invalid("environments", format!("at most {MAX_ENVIRONMENTS}")));
    }
    let mut seen = HashSet::new();
    let mut environments = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let environment = parse_environment(&format!("environments[{i}]"), input)?;
        if !seen.insert(environment.name.clone()) {
            return Err(Error::invalid(
                &format!("environments[{i}].name"),
                format!("{} is listed twice", environment.name),
            ));
        }
        environments.push(environment);
    }
    Ok(environments)
}

impl ProjectsApp {
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn add_repository(
        &self,
        principal: &Principal,
        project: &str,
        input: RepositoryInput,
    ) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let repository = parse_repository("repository", &input)?;
        let updated = self
            .mutate("project", project, |p| {
                if p.repositories.iter().any(|r| r.url == repository.url) {
                    return Err(Error::Conflict(format!(
                        "repository.url: {} is already in the project",
                        repository.url
                    )));
                }
                if p.repositories.len() >= MAX_REPOSITORIES {
                    return Err(Error::FailedPrecondition(format!(
                        "the project already has {MAX_REPOSITORIES} repositories (the maximum)"
                    )));
                }
                p.repositories.push(repository.clone());
                Ok(true)
            })
            .await?;
        self.view(updated).await
    }

    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn remove_repository(
        &self,
        principal: &Principal,
        project: &str,
        url: &str,
    ) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let url = RepoUrl::parse(url).map_err(|e| Error::invalid("url", e))?;
        let updated = self
            .mutate("project", project, |p| {
                let before = p.repositories.len();
                p.repositories.retain(|r| r.url != url);
                if p.repositories.len() == before {
                    return Err(Error::NotFound(format!("url: the project has no repository {url}")));
                }
                Ok(true)
            })
            .await?;
        self.view(updated).await
    }

    /// Creates or replaces an environment's settings; its deployment history (and so its state) is untouched.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn upsert_environment(
        &self,
        principal: &Principal,
        project: &str,
        input: EnvironmentInput,
    ) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let environment = parse_environment("environment", &input)?;
        let updated = self
            .mutate("project", project, |p| {
                let count = p.environments.len();
                match p.environments.iter_mut().find(|e| e.name == environment.name) {
                    Some(existing) if *existing == environment => return Ok(false),
                    Some(existing) => *existing = environment.clone(),
                    None if count >= MAX_ENVIRONMENTS => {
                        return Err(Error::FailedPrecondition(format!(
                            "the project already has {MAX_ENVIRONMENTS} environments (the maximum)"
                        )));
                    }
                    None => p.environments.push(environment.clone()),
                }
                Ok(true)
            })
            .await?;
        self.view(updated).await
    }

    /// Removes an environment's settings; its deployments stay in the history.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn delete_environment(
        &self,
        principal: &Principal,
        project: &str,
        name: &str,
    ) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let name = EnvName::parse(name).map_err(|e| Error::invalid("name", e))?;
        let updated = self
            .mutate("project", project, |p| {
                let before = p.environments.len();
                p.environments.retain(|e| e.name != name);
                if p.environments.len() == before {
                    return Err(Error::NotFound(format!("name: the project has no environment {name}")));
                }
                Ok(true)
            })
            .await?;
        self.view(updated).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> EnvironmentInput {
        EnvironmentInput {
            name: name.into(),
            ..Default::default()
        }
    }

    fn repo(url: &str) -> RepositoryInput {
        RepositoryInput {
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn tiers_providers_and_branches_are_inferred() {
        let envs = parse_environments(&[env("production"), env("staging"), env("qa")]).unwrap();
        let tiers: Vec<_> = envs.iter().map(|e| e.tier).collect();
        assert_eq!(tiers, [Tier::Production, Tier::Staging, Tier::Development]);
        let repos = parse_repositories(&[repo("https://github.com/a/b"), repo("git@gitlab.com:a/b.git")]).unwrap();
        assert_eq!(
            (repos[0].provider, repos[1].provider),
            (Provider::Github, Provider::Gitlab)
        );
        assert_eq!(repos[0].default_branch, "main");
    }

    #[test]
    fn errors_name_the_field_with_its_index() {
        let cases = [
            (
                parse_environments(&[env("dev"), env("dev")]).unwrap_err(),
                "environments[1].name: ",
            ),
            (
                parse_environments(&[env("dev"), env("Prod")]).unwrap_err(),
                "environments[1].name: ",
            ),
            (
                parse_repositories(&[repo("https://x.io/a"), repo("ftp://x")]).unwrap_err(),
                "repositories[1].url: ",
            ),
            (
                parse_repositories(&[repo("https://x.io/a"), repo("https://x.io/a/")]).unwrap_err(),
                "repositories[1].url: ",
            ),
            (
                parse_environments(&vec![env("a"); 21]).unwrap_err(),
                "environments: at most 20",
            ),
        ];
        for (error, prefix) in cases {
            assert!(
                error.to_string().starts_with(prefix),
                "{error} should start with {prefix}"
            );
        }
    }
}
