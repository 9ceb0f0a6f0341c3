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
//!
//! The bounded map is `read_cache/slots.rs`, the invalidating store wrapper `read_cache/invalidating.rs`.

mod invalidating;
mod slots;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{ProjectPage, ProjectRef, ProjectView};
use crate::domain::ProjectListing;
use crate::store::ProjectStore;
use invalidating::InvalidatingStore;
use slots::{Slots, lock};

/// At most this many projects are held across cached pages (a page of 200 counts 200).
const MAX_PAGED_PROJECTS: usize = 4_096;
/// At most this many single projects (by id or by slug) are held.
const MAX_SINGLE_PROJECTS: usize = 1_024;

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
    pages: Mutex<Slots<ProjectListing, ProjectPage>>,
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

    pub fn page(&self, ticket: Ticket, key: &ProjectListing) -> Option<Arc<ProjectPage>> {
        lock(&self.pages).get(key, self.fresh(ticket))
    }

    pub fn put_page(&self, ticket: Ticket, key: ProjectListing, page: ProjectPage) {
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

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::invalidating::Bump;
    use super::*;
    use crate::domain::{ProjectRecord, Slug};

    pub(super) fn at(seconds: i64) -> DateTime<Utc> {
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
}
