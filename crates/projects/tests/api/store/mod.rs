//! The projects store conformance suite. Each test is one generic async function over `Arc<dyn ProjectStore>`, and
//! [`conformance!`] runs it twice: against SQLite in a fresh temp file, and against MongoDB in a fresh database on the
//! server named by `DEVOPSTRACK_TEST_MONGODB_URL` (`scripts/test-servers.sh` starts a wire-compatible one). MongoDB is
//! optional: without the variable its variants print one line and pass, whatever DEVOPSTRACK_REQUIRE_BACKENDS says.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_projects::domain::{
    CommitSha, DeploymentRecord, DeploymentStatus, EnvName, EnvironmentConfig, ProjectName, ProjectRecord, Provider,
    ReleaseRecord, RepoUrl, Repository, Slug, Tag, Tier, VersionLabel,
};
use devopstrack_projects::store::ProjectStore;
use futures::FutureExt;
use tempfile::TempDir;
use uuid::Uuid;

/// For each test function `f`, declares `mod f { fn sqlite(); fn mongodb(); }` running `f` against that store.
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (url, _dir) = $crate::store::sqlite_url();
                super::$test($crate::store::connect(&url).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mongodb() {
                $crate::store::with_fresh_mongodb(super::$test).await;
            }
        }
    )+};
}

mod definitions;
mod github;
mod history;
mod projects;

pub const MONGODB_URL_VAR: &str = "DEVOPSTRACK_TEST_MONGODB_URL";

/// A URL for a new SQLite database in a temp dir that lives as long as the returned guard.
pub fn sqlite_url() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
    let url = format!("sqlite://{}/projects.db", dir.path().display());
    (url, dir)
}

pub async fn connect(url: &str) -> Arc<dyn ProjectStore> {
    devopstrack_projects::store::connect(url)
        .await
        .expect("connect to and prepare the test store")
}

/// Runs `test` against a MongoDB store in a database of its own on `DEVOPSTRACK_TEST_MONGODB_URL`, then drops that
/// database (also when the test panics, before passing the panic on). Without the variable: prints one line, returns.
pub async fn with_fresh_mongodb<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn ProjectStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(server_url) = std::env::var(MONGODB_URL_VAR) else {
        println!("SKIPPED: {MONGODB_URL_VAR} not set");
        return;
    };
    let name = format!("t_{}", Uuid::new_v4().simple());
    let url = with_database(&server_url, &name);
    let outcome = AssertUnwindSafe(async { test(connect(&url).await).await })
        .catch_unwind()
        .await;
    let client = mongodb::Client::with_uri_str(&url)
        .await
        .expect("connect to MongoDB to drop the test database");
    let dropped = client.database(&name).drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    dropped.expect("drop the test database");
}

/// `url` with its path (the database name) set to `/name`, keeping hosts and `?options`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, options) = match url.split_once('?') {
        Some((base, options)) => (base, Some(options)),
        None => (url, None),
    };
    let hosts_start = base.find("://").map_or(0, |i| i + 3);
    let hosts_end = base[hosts_start..].find('/').map_or(base.len(), |i| hosts_start + i);
    let mut with_db = format!("{}/{name}", &base[..hosts_end]);
    if let Some(options) = options {
        with_db.push('?');
        with_db.push_str(options);
    }
    with_db
}

#[test]
fn with_database_replaces_or_adds_the_path() {
    let name = "t_1";
    assert_eq!(
        with_database("mongodb://127.0.0.1:27017/?directConnection=true", name),
        "mongodb://127.0.0.1:27017/t_1?directConnection=true"
    );
    assert_eq!(
        with_database("mongodb://h1,h2/prod?replicaSet=rs", name),
        "mongodb://h1,h2/t_1?replicaSet=rs"
    );
    assert_eq!(with_database("mongodb://u:p@host:1", name), "mongodb://u:p@host:1/t_1");
}

/// A fixed instant with a non-zero microsecond part (so a store that keeps only milliseconds fails), plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_780_000_000_123_457).expect("a valid instant") + TimeDelta::seconds(seconds)
}

pub fn env(raw: &str) -> EnvName {
    EnvName::parse(raw).expect("a valid environment name")
}

pub fn version(raw: &str) -> VersionLabel {
    VersionLabel::parse(raw).expect("a valid version label")
}

/// A project with every field set (two repositories, two environments, two tags), not archived.
pub fn project(slug: &str) -> ProjectRecord {
    ProjectRecord {
        id: Uuid::new_v4(),
        slug: Slug::parse(slug).expect("a valid slug"),
        name: ProjectName::parse(&format!("Project {slug}")).expect("a valid name"),
        description: format!("The {slug} service.\nSecond line."),
        tags: Tag::parse_list(&["backend".to_owned(), "api".to_owned()]).expect("valid tags"),
        owner: "team-platform".to_owned(),
        repositories: vec![
            Repository {
                url: RepoUrl::parse(&format!("https://github.com/acme/{slug}")).expect("a valid URL"),
                provider: Provider::Github,
                default_branch: "main".to_owned(),
            },
            Repository {
                url: RepoUrl::parse(&format!("git@gitlab.example.com:acme/{slug}.git")).expect("a valid URL"),
                provider: Provider::Gitlab,
                default_branch: "release/1.x".to_owned(),
            },
        ],
        environments: vec![
            EnvironmentConfig {
                name: env("staging"),
                tier: Tier::Staging,
                url: format!("https://staging.example.com/{slug}"),
                protected: false,
            },
            EnvironmentConfig {
                name: env("production"),
                tier: Tier::Production,
                url: String::new(),
                protected: true,
            },
        ],
        version: 1,
        created_at: at(0),
        updated_at: at(0) + TimeDelta::microseconds(1),
        archived_at: None,
    }
}

pub fn release(project_id: Uuid, label: &str, created_at: DateTime<Utc>) -> ReleaseRecord {
    ReleaseRecord {
        id: Uuid::new_v4(),
        project_id,
        version: version(label),
        commit_sha: Some(CommitSha::parse("ABCDEF0123456789").expect("a valid sha")),
        notes: format!("Release {label}"),
        created_by: "ada".to_owned(),
        created_at,
    }
}

pub fn deployment(
    id: &str,
    project_id: Uuid,
    environment: &str,
    status: DeploymentStatus,
    finished_at: DateTime<Utc>,
) -> DeploymentRecord {
    DeploymentRecord {
        id: id.to_owned(),
        project_id,
        environment: env(environment),
        version: version(&format!("1.0.0+{id}")),
        commit_sha: None,
        status,
        started_at: finished_at - TimeDelta::microseconds(90_000_001),
        finished_at,
        triggered_by: "tasks".to_owned(),
        pipeline_id: format!("pipeline-{id}"),
        rollback: false,
    }
}

pub async fn seeded_project(store: &dyn ProjectStore, slug: &str) -> ProjectRecord {
    let project = project(slug);
    store.insert_project(&project).await.expect("insert a test project");
    project
}
