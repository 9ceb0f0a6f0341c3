//! The read cache behind GetProject, GetEnvironmentStates and ListProjects: answers repeated reads without the store
//! (issue 3: a list page costs three SQLite round trips, each a hop to sqlx's worker thread, and the dashboard asks
//! for the same pages over and over).
//!
//! Two rules keep it correct:
//! - **Writes of this process invalidate at once.** Every store write goes through [`InvalidatingStore`], which
//!   bumps a generation counter when the write finishes (or is abandoned half-way: the guard bumps on drop). An entry
//!   is tagged with the generation read *before* its store reads began, and only an entry of the current generation
//!   is served, so no answer read before a write is served after it.
//! - **Writes of other replicas show within the TTL** (`DEVOPSTRACK_PROJECTS__READ_CACHE_MS`): several replicas may
//!   share one MongoDB, and this process cannot see their writes. A TTL of zero turns the cache off.
//!
//! The cache sits below the permission checks: every use-case still checks the caller's role before asking it.
//! Entries are bounded by the number of projects they hold; when full, expired and outdated entries go first, and if
//! that frees nothing the whole map is cleared (cheaper than an LRU, and a full map means the working set is larger
//! than the cache anyway).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{ProjectPage, ProjectRef, ProjectView};
use crate::domain::{
    DeliveryOutcome, DeploymentRecord, EnvName, EnvironmentState, GithubIntegrationRecord, ProjectCursor,
    ProjectFilter, ProjectOrder, ProjectRecord, ReleaseRecord, Slug, TimeCursor,
};
use crate::store::{ProjectStore, Replace, StoreResult};

/// At most this many projects are held across cached pages (a page of 200 counts 200).
const MAX_PAGED_PROJECTS: usize = 4_096;
/// At most this many single projects (by id or by slug) are held.
const MAX_SINGLE_PROJECTS: usize = 1_024;

/// Everything that selects a ListProjects page, after validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PageKey {
    pub filter: ProjectFilter,
    pub order: ProjectOrder,
    pub after: Option<ProjectCursor>,
    pub limit: u32,
}

/// Where the cache stands when a read begins: handed back to [`ReadCache::put_page`] or
/// [`ReadCache::put_project`] so the answer is tagged with what it could have seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    generation: u64,
    at: DateTime<Utc>,
}

pub(super) struct ReadCache {
    /// `None` when the cache is off (a TTL of zero).
    ttl: Option<TimeDelta>,
    generation: Arc<AtomicU64>,
    pages: Mutex<Slots<PageKey, ProjectPage>>,
    projects: Mutex<Slots<ProjectRef, ProjectView>>,
}

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: TimeDelta::from_std(ttl).ok().filter(|t| *t > TimeDelta::zero()),
            generation: Arc::new(AtomicU64::new(0)),
            pages: Mutex::new(Slots::new(MAX_PAGED_PROJECTS)),
            projects: Mutex::new(Slots::new(MAX_SINGLE_PROJECTS)),
        }
    }

    /// `store` with every write bumping this cache's generation.
    pub fn invalidating(&self, store: Arc<dyn ProjectStore>) -> Arc<dyn ProjectStore> {
        Arc::new(InvalidatingStore {
            inner: store,
            generation: self.generation.clone(),
        })
    }

    /// Call before reading the store (`now` from the app's clock); `None` when the cache is off.
    pub fn ticket(&self, now: DateTime<Utc>) -> Option<Ticket> {
        self.ttl?;
        Some(Ticket {
            generation: self.generation.load(Ordering::SeqCst),
            at: now,
        })
    }

    pub fn page(&self, ticket: Ticket, key: &PageKey) -> Option<Arc<ProjectPage>> {
        lock(&self.pages).get(key, self.fresh(ticket))
    }

    pub fn put_page(&self, ticket: Ticket, key: PageKey, page: ProjectPage) {
        if self.current(ticket) {
            let weight = page.projects.len().max(1);
            lock(&self.pages).put(key, ticket, weight, Arc::new(page), self.fresh(ticket));
        }
    }

    pub fn project(&self, ticket: Ticket, key: &ProjectRef) -> Option<Arc<ProjectView>> {
        lock(&self.projects).get(key, self.fresh(ticket))
    }

    pub fn put_project(&self, ticket: Ticket, key: ProjectRef, view: ProjectView) {
        if self.current(ticket) {
            lock(&self.projects).put(key, ticket, 1, Arc::new(view), self.fresh(ticket));
        }
    }

    /// Whether nothing was written since `ticket` was taken. Only saves storing an answer no read will be served
    /// (a lookup wants the current generation anyway), so a write landing right after this check is harmless.
    fn current(&self, ticket: Ticket) -> bool {
        self.generation.load(Ordering::SeqCst) == ticket.generation
    }

    /// Whether an entry stored under `stored` may answer a read holding `now`: same generation, and stored less
    /// than a TTL before (a clock that went backwards counts as expired).
    fn fresh(&self, now: Ticket) -> impl Fn(&Ticket) -> bool {
        let ttl = self.ttl.unwrap_or_default();
        move |stored: &Ticket| stored.generation == now.generation && stored.at <= now.at && now.at - stored.at < ttl
    }
}

/// Locks `slots`; after a panic under the lock the map may be half-updated, so it starts over empty.
fn lock<K: Eq + Hash, V>(slots: &Mutex<Slots<K, V>>) -> MutexGuard<'_, Slots<K, V>> {
    slots.lock().unwrap_or_else(|poisoned| {
        slots.clear_poison();
        let mut guard = poisoned.into_inner();
        guard.clear();
        guard
    })
}

/// A bounded map whose entries carry the ticket they were read under and a weight (projects held).
struct Slots<K, V> {
    entries: HashMap<K, (Ticket, usize, Arc<V>)>,
    weight: usize,
    max_weight: usize,
}

impl<K: Eq + Hash, V> Slots<K, V> {
    fn new(max_weight: usize) -> Self {
        Self {
            entries: HashMap::new(),
            weight: 0,
            max_weight,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.weight = 0;
    }

    fn get(&self, key: &K, fresh: impl Fn(&Ticket) -> bool) -> Option<Arc<V>> {
        self.entries
            .get(key)
            .filter(|(stored, _, _)| fresh(stored))
            .map(|(_, _, value)| value.clone())
    }

    fn put(&mut self, key: K, ticket: Ticket, weight: usize, value: Arc<V>, fresh: impl Fn(&Ticket) -> bool) {
        if weight > self.max_weight {
            return;
        }
        if let Some((_, old, _)) = self.entries.remove(&key) {
            self.weight -= old;
        }
        if self.weight + weight > self.max_weight {
            self.entries.retain(|_, (stored, _, _)| fresh(stored));
            self.weight = self.entries.values().map(|(_, w, _)| w).sum();
        }
        if self.weight + weight > self.max_weight {
            self.clear();
        }
        self.entries.insert(key, (ticket, weight, value));
        self.weight += weight;
    }
}

/// Bumps the generation when dropped: at the end of a write, or when the write's future is dropped half-way (the
/// store may have committed it all the same).
struct Bump<'a>(&'a AtomicU64);

impl Drop for Bump<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The store as the app sees it: reads pass through, every write invalidates the read cache. Doing it here rather
/// than in each use-case means a new write path cannot forget to.
struct InvalidatingStore {
    inner: Arc<dyn ProjectStore>,
    generation: Arc<AtomicU64>,
}

impl InvalidatingStore {
    fn bump(&self) -> Bump<'_> {
        Bump(&self.generation)
    }
}

#[async_trait]
impl ProjectStore for InvalidatingStore {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let _bump = self.bump();
        self.inner.insert_project(project).await
    }

    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        self.inner.project_by_id(id).await
    }

    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        self.inner.project_by_slug(slug).await
    }

    async fn list_projects(
        &self,
        filter: &ProjectFilter,
        order: ProjectOrder,
        after: Option<&ProjectCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ProjectRecord>> {
        self.inner.list_projects(filter, order, after, limit).await
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        let _bump = self.bump();
        self.inner.replace_project(project, expected_version).await
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        let _bump = self.bump();
        self.inner.delete_project(id).await
    }

    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        let _bump = self.bump();
        self.inner.insert_release(release).await
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        self.inner.release_by_version(project_id, version).await
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        self.inner.list_releases(project_id, after, limit).await
    }

    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let _bump = self.bump();
        self.inner.record_deployment(deployment).await
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        self.inner.list_deployments(project_id, environment, after, limit).await
    }

    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>> {
        self.inner.environment_states(project_id, environments).await
    }

    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        self.inner.environment_states_many(projects).await
    }

    // The GitHub integration and delivery ids are in no cached answer, so their writes leave the cache alone (a
    // webhook burst would otherwise empty it at every delivery).
    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        self.inner.put_github_integration(integration).await
    }

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
        self.inner.github_integration(project_id).await
    }

    async fn record_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.inner
            .record_webhook_delivery(project_id, delivery_id, received_at, stale_before)
            .await
    }

    async fn finish_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.inner
            .finish_webhook_delivery(project_id, delivery_id, outcome, at)
            .await
    }

    async fn prune_webhook_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.prune_webhook_deliveries(before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + seconds, 0).expect("a valid time")
    }

    fn key(slug: &str) -> ProjectRef {
        ProjectRef::Slug(Slug::from_trusted(slug.to_owned()))
    }

    fn view(slug: &str) -> ProjectView {
        let now = at(0);
        ProjectView {
            project: ProjectRecord {
                id: Uuid::nil(),
                slug: Slug::from_trusted(slug.to_owned()),
                name: crate::domain::ProjectName::from_trusted(slug.to_owned()),
                description: String::new(),
                tags: Vec::new(),
                owner: "someone".into(),
                repositories: Vec::new(),
                environments: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
                archived_at: None,
            },
            states: Vec::new(),
        }
    }

    fn cached(cache: &ReadCache, now: DateTime<Utc>, slug: &str) -> Option<String> {
        let ticket = cache.ticket(now).expect("the cache is on");
        cache
            .project(ticket, &key(slug))
            .map(|v| v.project.name.as_str().to_owned())
    }

    #[test]
    fn an_entry_answers_until_its_ttl_has_passed() {
        let cache = ReadCache::new(Duration::from_secs(1));
        let ticket = cache.ticket(at(0)).unwrap();
        cache.put_project(ticket, key("api"), view("api"));

        assert_eq!(cached(&cache, at(0), "api").as_deref(), Some("api"));
        assert_eq!(
            cached(&cache, at(1) - TimeDelta::milliseconds(1), "api").as_deref(),
            Some("api")
        );
        assert_eq!(cached(&cache, at(1), "api"), None, "expired");
        assert_eq!(cached(&cache, at(-1), "api"), None, "a clock that went back expires it");
        assert_eq!(cached(&cache, at(0), "web"), None, "another key");
    }

    #[test]
    fn a_write_invalidates_what_was_cached_before_it() {
        let cache = ReadCache::new(Duration::from_secs(60));
        cache.put_project(cache.ticket(at(0)).unwrap(), key("api"), view("api"));

        drop(Bump(&cache.generation));

        assert_eq!(cached(&cache, at(0), "api"), None);
    }

    #[test]
    fn a_read_that_a_write_overtook_is_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let ticket = cache.ticket(at(0)).unwrap();

        // The store read happens here, then a write lands before the answer is cached.
        drop(Bump(&cache.generation));
        cache.put_project(ticket, key("api"), view("api"));

        assert_eq!(cached(&cache, at(0), "api"), None);
        assert!(lock(&cache.projects).entries.is_empty());
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        assert!(ReadCache::new(Duration::ZERO).ticket(at(0)).is_none());
    }

    #[test]
    fn a_full_cache_drops_outdated_entries_first_then_clears() {
        let live = |stored: &Ticket| stored.generation == 1;
        let ticket = |generation| Ticket { generation, at: at(0) };
        let mut slots: Slots<u32, ()> = Slots::new(4);
        slots.put(1, ticket(0), 2, Arc::new(()), live);
        slots.put(2, ticket(1), 2, Arc::new(()), live);

        // Full: the outdated entry 1 goes, the live entry 2 stays.
        slots.put(3, ticket(1), 2, Arc::new(()), live);
        let mut kept: Vec<_> = slots.entries.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!((kept, slots.weight), (vec![2, 3], 4));

        // Full of live entries: cleared, then the new one goes in.
        slots.put(4, ticket(1), 1, Arc::new(()), live);
        assert_eq!(
            (slots.entries.keys().copied().collect::<Vec<_>>(), slots.weight),
            (vec![4], 1)
        );

        // Replacing a key does not count it twice; an entry heavier than the whole cache is not kept.
        slots.put(4, ticket(1), 3, Arc::new(()), live);
        slots.put(5, ticket(1), 5, Arc::new(()), live);
        assert_eq!((slots.entries.len(), slots.weight), (1, 3));
    }
}
