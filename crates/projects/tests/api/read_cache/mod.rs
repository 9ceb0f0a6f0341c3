//! The read cache (GetProject, GetEnvironmentStates, ListProjects): a write of this process shows in the very next
//! read, whatever the TTL; another replica's write shows once the TTL has passed; a TTL of zero turns it off; the
//! role check still runs on every call.
//!
//! Most tests drive the use-cases directly over a real SQLite store, with a clock that only moves when told, so an
//! entry never expires by accident: a stale answer after a write can only mean a missed invalidation. A second app on
//! the same database file plays another replica (a write this process cannot see), which shows the cache does serve.
//!
//! This file holds the shared arrangement (the manual clock, the replicas, principals and reads); the tests are in
//! `replicas.rs` (writes of another replica and the TTL), `own_writes.rs` (writes of this process) and
//! `keys_and_roles.rs` (what a cached answer is keyed on, and the role checks in front of it).

mod keys_and_roles;
mod own_writes;
mod replicas;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tempfile::TempDir;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_projects::app::{EnvironmentInput, NewProject, ProjectPatch, ProjectQuery, ProjectView, ProjectsApp};

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
