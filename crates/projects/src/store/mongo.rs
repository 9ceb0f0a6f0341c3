//! The production projects store on MongoDB (official driver, documented behaviour only).
//!
//! Collections `projects`, `releases` and `deployments` (and the GitHub integration's, see `mongo/github.rs`); `_id` is the UUID as lower-case hyphenated text (a
//! deployment's own id for deployments), so `_id` order is the same text order the SQLite store uses as its keyset
//! tie-breaker. Every time is stored twice: as a BSON date (`created_at`, for people and tools; milliseconds only) and as
//! Int64 unix microseconds (`created_at_us`), which is what the store reads back, sorts and compares on, so round trips
//! are exact.
//!
//! No multi-document transactions: they need a replica set and were not checked on the wire-compatible servers used in
//! tests. So `delete_project` removes releases, then deployments, then pipeline definitions, then the GitHub integration and delivery ids, then
//! the project, in that order: if it stops half way, the project is still there and deleting it again finishes the job.
//!
//! One submodule per aggregate (`projects`, `definitions`, `releases`, `deployments`, `github`) implements that
//! aggregate's trait with its queries and document mapping; `fields` reads typed fields out of documents.

mod definitions;
mod deployments;
mod fields;
mod github;
mod projects;
mod releases;

use async_trait::async_trait;

use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

use super::{ProjectStore, Replace, StoreError, StoreResult};
// `github.rs` takes these through `super`.
use fields::{corrupt, date, time};

const DEFAULT_DATABASE: &str = "projects";
/// How long an operation waits for a usable server, and a new connection for its handshake, unless the URL says
/// otherwise (`serverSelectionTimeoutMS`, `connectTimeoutMS`). The driver's defaults (30 s, 10 s) would hold a call
/// longer than its caller's deadline while MongoDB is down; past these the call answers UNAVAILABLE.
const SERVER_SELECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// MongoDB's `DuplicateKey` error code.
const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    projects: Collection<Document>,
    releases: Collection<Document>,
    deployments: Collection<Document>,
    definitions: Collection<Document>,
    github_integrations: Collection<Document>,
    webhook_deliveries: Collection<Document>,
}

impl MongoStore {
    /// Connects to `url` (`mongodb://host:port/dbname?…`; database `projects` when the path is empty), pings it and
    /// creates the indexes (a no-op when they exist).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(url).await?;
        options.server_selection_timeout.get_or_insert(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        let client = Client::with_options(options)?;
        let db = client
            .default_database()
            .unwrap_or_else(|| client.database(DEFAULT_DATABASE));
        let store = Self {
            projects: db.collection("projects"),
            releases: db.collection("releases"),
            deployments: db.collection("deployments"),
            definitions: db.collection("pipeline_definitions"),
            github_integrations: db.collection("github_integrations"),
            webhook_deliveries: db.collection("webhook_deliveries"),
            db,
        };
        store.ping().await?;
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> StoreResult<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.projects
            .create_index(IndexModel::builder().keys(doc! { "slug": 1 }).options(unique()).build())
            .await?;
        for key in ["name", "created_at_us", "updated_at_us"] {
            self.projects
                .create_index(IndexModel::builder().keys(doc! { key: 1, "_id": 1 }).build())
                .await?;
        }
        self.releases
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "version": 1 })
                    .options(unique())
                    .build(),
            )
            .await?;
        self.releases
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "created_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.deployments
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "environment": 1, "finished_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.deployments
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "finished_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.create_definition_indexes().await?;
        self.drop_webhook_deliveries().await?;
        Ok(())
    }
}

#[async_trait]
impl ProjectStore for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db.run_command(doc! { "ping": 1 }).await?;
        Ok(())
    }
}

// ---- queries

/// `{$and: clauses}`, or the one clause, or `{}`.
fn and(mut clauses: Vec<Document>) -> Document {
    match clauses.len() {
        0 => Document::new(),
        1 => clauses.remove(0),
        _ => doc! { "$and": clauses },
    }
}

/// Keyset condition: strictly after `(key, id)` in `(field, _id)` order, ascending or descending.
fn after_key(field: &str, key: Bson, id: String, descending: bool) -> Document {
    let op = if descending { "$lt" } else { "$gt" };
    doc! { "$or": [
        { field: { op: key.clone() } },
        { field: key, "_id": { op: id } },
    ] }
}

/// After a compare-and-set on `{_id: id, version: …}` in `collection` matched nothing: which of the two reasons it was
/// (another version is stored, or nothing is).
async fn mismatch_or_missing(collection: &Collection<Document>, id: &str) -> StoreResult<Replace> {
    let current = collection
        .find_one(doc! { "_id": id })
        .projection(doc! { "version": 1 })
        .await?;
    Ok(match current {
        Some(current) => Replace::VersionMismatch {
            current: fields::int(&current, "version")?,
        },
        None => Replace::NotFound,
    })
}

fn is_duplicate_key(err: &MongoError) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e.write_errors.iter().flatten().any(|e| e.code == DUPLICATE_KEY),
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        _ => false,
    }
}

fn conflict_on_duplicate(what: &'static str) -> impl FnOnce(MongoError) -> StoreError {
    move |err| {
        if is_duplicate_key(&err) {
            StoreError::Conflict(what)
        } else {
            StoreError::from(err)
        }
    }
}
