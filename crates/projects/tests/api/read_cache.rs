//! The read cache (GetProject, GetEnvironmentStates, ListProjects): a write of this process shows in the very next
//! read, whatever the TTL; another replica's write shows once the TTL has passed; a TTL of zero turns it off; the
//! role check still runs on every call.
//!
//! Most tests drive the use-cases directly over a real SQLite store, with a clock that only moves when told, so an
//! entry never expires by accident: a stale answer after a write can only mean a missed invalidation. A second app on
//! the same database file plays another replica (a write this process cannot see), which shows the cache does serve.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tonic::Code;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_projects::app::{
    EnvironmentInput, NewDeployment, NewProject, ProjectPatch, ProjectQuery, ProjectView, ProjectsApp, RepositoryInput,
};
use devopstrack_projects::domain::DeploymentStatus;
use devopstrack_projects::error::Error;
use devopstrack_proto::projects::v1 as pb;

use crate::helpers::{spawn_app, with_token};

/// A TTL no test outlives: only invalidation can make these caches forget.
const LONG_TTL: Duration = Duration::from_secs(60);

/// A clock that stands still until [`ManualClock::advance`].
#[derive(Clone)]
struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(AtomicI64::new(1_750_000_000_000_000)))
    }

    fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).expect("a short step");
        self.0.fetch_add(micros, Ordering::SeqCst);
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).expect("a valid time")
    }

    fn as_clock(&self) -> devopstrack_projects::app::Clock {
        let this = self.clone();
        Arc::new(move || this.now())
    }
}

/// A SQLite database in a temp dir, and apps ("replicas") over it that share one manual clock.
struct Replicas {
    url: String,
    clock: ManualClock,
    _dir: TempDir,
}

impl Replicas {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
        Self {
            url: format!("sqlite://{}/projects.db", dir.path().display()),
            clock: ManualClock::new(),
            _dir: dir,
        }
    }

    async fn app(&self, read_cache_ttl: Duration) -> ProjectsApp {
        let store = devopstrack_projects::store::connect(&self.url)
            .await
            .expect("open the test store");
        ProjectsApp::new(store, self.clock.as_clock(), read_cache_ttl)
    }
}

fn principal(role: Role) -> Principal {
    Principal {
        subject: format!("{role}-user"),
        role,
        name: role.to_string(),
        token_id: String::new(),
        expires_at: i64::MAX,
    }
}

fn admin() -> Principal {
    principal(Role::Admin)
}

fn viewer() -> Principal {
    principal(Role::Viewer)
}

fn new_project(slug: &str) -> NewProject {
    NewProject {
        slug: slug.into(),
        name: format!("Project {slug}"),
        environments: vec![environment("staging"), environment("production")],
        ..Default::default()
    }
}

fn environment(name: &str) -> EnvironmentInput {
    EnvironmentInput {
        name: name.into(),
        ..Default::default()
    }
}

fn all() -> ProjectQuery {
    ProjectQuery {
        page_size: 20,
        include_archived: true,
        ..Default::default()
    }
}

/// The slugs on the first page of `query`.
async fn slugs(app: &ProjectsApp, query: ProjectQuery) -> Vec<String> {
    let page = app.list_projects(&viewer(), query).await.expect("list projects");
    page.projects
        .iter()
        .map(|v| v.project.slug.as_str().to_owned())
        .collect()
}

/// What every cached read answers for `slug`: by slug, by id, on the first page, and GetEnvironmentStates.
async fn reads(app: &ProjectsApp, slug: &str) -> [ProjectView; 4] {
    let by_slug = app.get_project(&viewer(), slug).await.expect("get by slug");
    let by_id = app
        .get_project(&viewer(), &by_slug.project.id.to_string())
        .await
        .expect("get by id");
    let page = app.list_projects(&viewer(), all()).await.expect("list projects");
    let listed = page
        .projects
        .into_iter()
        .find(|v| v.project.slug.as_str() == slug)
        .expect("the project is listed");
    let states = app
        .environment_states(&viewer(), slug)
        .await
        .expect("environment states");
    [by_slug, by_id, listed, states]
}

/// Asserts that every read agrees with `expected` (a write's own answer).
async fn assert_reads_show(app: &ProjectsApp, expected: &ProjectView) {
    for (read, seen) in ["by slug", "by id", "listed", "states"]
        .into_iter()
        .zip(reads(app, expected.project.slug.as_str()).await)
    {
        assert_eq!(&seen, expected, "{read} is stale");
    }
}

fn rename(expected_version: i64, name: &str) -> ProjectPatch {
    ProjectPatch {
        expected_version,
        paths: vec!["name".into()],
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_write_shows_once_the_ttl_has_passed() {
    // Arrange
    let replicas = Replicas::new();
    let cached = replicas.app(Duration::from_secs(1)).await;
    let other = replicas.app(Duration::ZERO).await;
    let created = other.create_project(&admin(), new_project("api")).await.unwrap();
    let before = reads(&cached, "api").await;

    // Act
    let renamed = other
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();
    let within_ttl = reads(&cached, "api").await;
    replicas.clock.advance(Duration::from_secs(1));
    let after_ttl = reads(&cached, "api").await;

    // Assert
    assert_eq!(within_ttl, before, "within the TTL every read is served from the cache");
    for seen in after_ttl {
        assert_eq!(seen, renamed, "after the TTL every read goes to the store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_zero_ttl_another_replicas_write_shows_at_once() {
    // Arrange
    let replicas = Replicas::new();
    let uncached = replicas.app(Duration::ZERO).await;
    let other = replicas.app(Duration::ZERO).await;
    let created = other.create_project(&admin(), new_project("api")).await.unwrap();
    reads(&uncached, "api").await;

    // Act
    let renamed = other
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();

    // Assert
    assert_reads_show(&uncached, &renamed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_and_deleted_projects_show_in_the_next_list() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    let first = slugs(&app, all()).await;
    app.get_project(&viewer(), "api").await.unwrap();

    // Act
    app.create_project(&admin(), new_project("web")).await.unwrap();
    let after_create = slugs(&app, all()).await;
    app.delete_project(&admin(), "api").await.unwrap();
    let after_delete = slugs(&app, all()).await;
    let deleted = app.get_project(&viewer(), "api").await;

    // Assert
    assert_eq!(first, ["api"]);
    assert_eq!(after_create, ["api", "web"]);
    assert_eq!(after_delete, ["web"]);
    assert!(matches!(deleted, Err(Error::NotFound(_))), "{deleted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_to_a_project_shows_in_the_next_reads() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    let created = app.create_project(&admin(), new_project("api")).await.unwrap();
    assert_reads_show(&app, &created).await;
    let repository = || RepositoryInput {
        url: "https://github.com/acme/api".into(),
        ..Default::default()
    };

    // Act / Assert: each write's answer is what every read shows next.
    let renamed = app
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();
    assert_eq!(renamed.project.name.as_str(), "Renamed");
    assert_reads_show(&app, &renamed).await;

    let with_repository = app.add_repository(&admin(), "api", repository()).await.unwrap();
    assert_eq!(with_repository.project.repositories.len(), 1);
    assert_reads_show(&app, &with_repository).await;

    let without_repository = app.remove_repository(&admin(), "api", &repository().url).await.unwrap();
    assert!(without_repository.project.repositories.is_empty());
    assert_reads_show(&app, &without_repository).await;

    let with_qa = app
        .upsert_environment(&admin(), "api", environment("qa"))
        .await
        .unwrap();
    assert_eq!(with_qa.project.environments.len(), 3);
    assert_reads_show(&app, &with_qa).await;

    let without_staging = app.delete_environment(&admin(), "api", "staging").await.unwrap();
    assert_eq!(without_staging.project.environments.len(), 2);
    assert_reads_show(&app, &without_staging).await;

    let archived = app.archive_project(&admin(), "api").await.unwrap();
    assert!(archived.project.archived_at.is_some());
    assert_reads_show(&app, &archived).await;
    assert!(
        slugs(&app, ProjectQuery::default()).await.is_empty(),
        "an archived project leaves the default list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_deployment_shows_in_the_next_environment_states() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    let [_, _, _, before] = reads(&app, "api").await;
    let now = replicas.clock.now();
    let deployment = NewDeployment {
        id: "gh-1".into(),
        project: "api".into(),
        environment: "production".into(),
        version: "1.0.0".into(),
        status: Some(DeploymentStatus::Succeeded),
        started_at: Some(now),
        finished_at: Some(now),
        ..Default::default()
    };

    // Act
    let (recorded, created) = app
        .record_deployment(&principal(Role::Service), deployment)
        .await
        .unwrap();
    let after = reads(&app, "api").await;

    // Assert
    assert!(created);
    assert!(before.states.iter().all(|s| s.current.is_none()));
    for (read, seen) in ["by slug", "by id", "listed", "states"].into_iter().zip(after) {
        let production = seen
            .states
            .iter()
            .find(|s| s.environment.as_str() == "production")
            .expect("a production state");
        assert_eq!(production.current.as_ref(), Some(&recorded), "{read} is stale");
        assert_eq!(production.last.as_ref(), Some(&recorded), "{read} is stale");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_still_needs_the_role() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    reads(&app, "api").await;
    let service = principal(Role::Service);

    // Act
    let got = app.get_project(&service, "api").await;
    let listed = app.list_projects(&service, all()).await;
    let states = app.environment_states(&service, "api").await;

    // Assert
    // GetProject is open to the service role (tasks looks projects up as its caller); the other reads are not.
    assert!(got.is_ok(), "{got:?}");
    assert!(matches!(listed, Err(Error::PermissionDenied(_))), "{listed:?}");
    assert!(matches!(states, Err(Error::PermissionDenied(_))), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_one_listing_are_cached_apart() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    for slug in ["alpha", "bravo", "charlie"] {
        app.create_project(&admin(), new_project(slug)).await.unwrap();
    }
    let first_query = || ProjectQuery {
        page_size: 2,
        ..Default::default()
    };

    // Act
    let first = app.list_projects(&viewer(), first_query()).await.unwrap();
    let token = first.next_page_token.clone().expect("a second page");
    let second = slugs(
        &app,
        ProjectQuery {
            page_token: token,
            ..first_query()
        },
    )
    .await;
    let descending = slugs(
        &app,
        ProjectQuery {
            order_by: "-slug".into(),
            ..first_query()
        },
    )
    .await;
    let first_again = slugs(&app, first_query()).await;

    // Assert
    assert_eq!(first_again, ["alpha", "bravo"]);
    assert_eq!(second, ["charlie"]);
    assert_eq!(descending, ["charlie", "bravo"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_a_write_shows_in_the_next_read() {
    // Arrange: the service as deployed, with the default TTL (1 s).
    let app = spawn_app().await;
    let created = app.create_sample("api").await;
    let list = || async {
        app.list_projects(&app.viewer, pb::ListProjectsRequest::default())
            .await
            .expect("list projects")
    };
    let before = list().await;
    app.get_project(&app.viewer, "api").await.unwrap();

    // Act
    let updated = app
        .update_project(
            &app.admin,
            pb::UpdateProjectRequest {
                project: "api".into(),
                expected_version: created.version,
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
                name: "Renamed".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got = app.get_project(&app.viewer, "api").await.unwrap();
    let after = list().await;
    let deleted = app
        .client()
        .delete_project(with_token(
            pb::DeleteProjectRequest { project: "api".into() },
            &app.admin,
        ))
        .await;
    let gone = app.get_project(&app.viewer, "api").await;
    let empty = list().await;

    // Assert
    assert_eq!(before.projects, [created]);
    assert_eq!(got, updated);
    assert_eq!(after.projects, [updated]);
    assert!(deleted.is_ok(), "{deleted:?}");
    assert_eq!(gone.expect_err("deleted").code(), Code::NotFound);
    assert!(empty.projects.is_empty());
}
