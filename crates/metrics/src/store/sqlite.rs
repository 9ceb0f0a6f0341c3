//! The embedded metrics store on SQLite: what a laptop or a small team runs for real. One table per measurement
//! (`migrations/sqlite/0001_init.sql`), read through two indexes: `(time, event_id)` for every project,
//! `(project, environment, time, event_id)` for one.
//!
//! Appends are fast because they are batched: one `BEGIN IMMEDIATE` transaction per [`MetricsStore::append`] on the
//! single writer connection, multi-row `INSERT OR IGNORE` statements of [`CHUNK`] rows (the remainder in
//! power-of-two chunks), each statement text built once and prepared once per connection (sqlx caches them).
//! (Binding a whole batch as one JSON parameter unpacked by `json_each` was measured too: a third more CPU.)
//!
//! Reads are bound by the driver's per-row cost (sqlx hands every row from its worker thread through a channel), so
//! the read pool gets a large row buffer ([`READ_ROW_BUFFER`]) and memory-mapped I/O, and DORA reads
//! ([`MetricsStore::read_dora`]) select only the columns DORA uses, packed by SQLite into one JSON value per read
//! (`packed.rs`) instead of one sqlx row per event.

mod codec;
mod packed;

use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use devopstrack_platform::sqlite::{ColumnError, micros};

use super::{MetricsStore, ReadQuery, StoreError, StoreResult};
use crate::domain::{Event, Measurement};
use codec::{Projection, table};

/// Rows per multi-row INSERT: the largest power of two that keeps the widest table (12 columns: 24,576 parameters)
/// under SQLite's 32,766 bound parameters.
const CHUNK: usize = 2048;
/// Rows sqlx's worker thread may queue ahead of the reader (its default, 50, makes the two threads hand over
/// control every 50 rows).
const READ_ROW_BUFFER: usize = 4096;
/// A read over a longer range is split into up to [`READ_PARTS`] consecutive time ranges read concurrently (each on
/// its own pooled connection, so decoding overlaps SQLite's work); the parts are concatenated in order.
const READ_PART_MIN: TimeDelta = TimeDelta::days(7);
const READ_PARTS: i32 = 2;
/// Write-ahead log pages between automatic checkpoints (32 MiB at SQLite's default 4 KiB page).
const WAL_CHECKPOINT_PAGES: u32 = 8192;
/// Distinct statement sizes: `CHUNK`, then every power of two below it.
const SIZES: usize = CHUNK.trailing_zeros() as usize + 1;

pub struct SqliteStore {
    readers: SqlitePool,
    /// Every write goes through this one connection (see `devopstrack_platform::sqlite::open_writer`).
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/metrics.db`, or `sqlite::memory:`) and
    /// migrates it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let readers = devopstrack_platform::sqlite::open_pool_with(url, tune_readers).await?;
        sqlx::migrate!("./migrations/sqlite").run(&readers).await?;
        let writer = devopstrack_platform::sqlite::open_writer_with(url, &readers, tune_writer).await?;
        Ok(Self { readers, writer })
    }
}

/// Read connections: a deep row buffer, the file memory-mapped (256 MiB), a 32 MiB page cache each.
fn tune_readers(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .row_buffer_size(READ_ROW_BUFFER)
        .pragma("mmap_size", "268435456")
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory")
}

/// The writer: `synchronous=FULL`, so an append (whose Record* calls are acknowledged on its commit, and whose sender
/// then deletes its copy) survives a power loss, not only a crash of the process: one sync per group commit
/// (`app/ingest.rs`). A 64 MiB page cache, so the indexes' pages an append touches stay in memory; and a checkpoint every
/// [`WAL_CHECKPOINT_PAGES`] pages of write-ahead log instead of SQLite's 1,000. Index pages that many appends touch
/// are then copied into the database file once per checkpoint rather than once per 1,000 pages: +20 % ingest in the
/// bench, counted up to a final checkpoint (`benches/ingest_dora.rs`). `journal_size_limit` truncates the log back to
/// that size after a checkpoint, so it does not keep a one-off peak on disk.
fn tune_writer(options: SqliteConnectOptions) -> SqliteConnectOptions {
    let wal_bytes = (WAL_CHECKPOINT_PAGES * 4096).to_string();
    devopstrack_platform::sqlite::full_sync(options)
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string())
        .pragma("journal_size_limit", wal_bytes)
}

fn corrupt(e: ColumnError) -> StoreError {
    match e {
        ColumnError::Sqlx(e) => StoreError::from(e),
        ColumnError::Corrupt(m) => StoreError::Corrupt(m),
    }
}

/// `INSERT OR IGNORE INTO <table> (<columns>) VALUES (?, …), …` for `rows` rows, built once per (measurement, size).
fn insert_sql(measurement: Measurement, rows: usize) -> &'static str {
    static STATEMENTS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    let all = STATEMENTS.get_or_init(|| {
        Measurement::ALL
            .iter()
            .map(|m| {
                let t = table(*m);
                let one = format!("({})", vec!["?"; t.columns.len()].join(", "));
                (0..SIZES)
                    .map(|power| {
                        let n = 1usize << power;
                        format!(
                            "INSERT OR IGNORE INTO {} ({}) VALUES {}",
                            t.name,
                            t.columns.join(", "),
                            vec![one.as_str(); n].join(", ")
                        )
                    })
                    .collect()
            })
            .collect()
    });
    let kind = Measurement::ALL
        .iter()
        .position(|m| *m == measurement)
        .unwrap_or_default();
    let power = rows.trailing_zeros() as usize;
    debug_assert!(rows.is_power_of_two() && power < SIZES);
    &all[kind][power.min(SIZES - 1)]
}

/// Splits `n` rows into statement sizes: as many `CHUNK`s as fit, then the binary digits of the rest.
fn chunk_sizes(n: usize) -> impl Iterator<Item = usize> {
    let full = std::iter::repeat_n(CHUNK, n / CHUNK);
    let rest = n % CHUNK;
    let tail = (0..SIZES)
        .rev()
        .map(|p| 1usize << p)
        .filter(move |size| rest & size != 0);
    full.chain(tail)
}

/// `SELECT <columns> FROM <table> WHERE time range [AND project] [AND environment] ORDER BY time, event_id`.
fn select_sql(query: &ReadQuery, projection: Projection) -> String {
    let t = table(query.measurement);
    // Name the index: with a project, the (project, environment, time) one; else the (time) one.
    let index = if query.project.is_some() { "scope" } else { "time" };
    let mut sql = format!(
        "SELECT {} FROM {} INDEXED BY {}_{index} WHERE time >= ? AND time < ?",
        t.select(projection).join(", "),
        t.name,
        t.name
    );
    // Plain `?`: the parameters are bound in this order (time range, then the filters present).
    if query.project.is_some() {
        sql.push_str(" AND project = ?");
    }
    if query.environment.is_some() {
        sql.push_str(" AND environment = ?");
    }
    sql.push_str(" ORDER BY time, event_id");
    sql
}

impl SqliteStore {
    /// The events of `query` with time in `[from, to)` (a part of `query`'s range), in read order.
    async fn read_range(
        &self,
        query: &ReadQuery,
        projection: Projection,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Event>> {
        let sql = select_sql(query, projection);
        let packed = projection == Projection::Dora && query.measurement != Measurement::JobRun;
        let sql = if packed {
            packed::select_sql(query.measurement, &sql)
        } else {
            sql
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(from))
            .bind(micros(to));
        if let Some(project) = &query.project {
            q = q.bind(project.clone());
        }
        if let Some(environment) = &query.environment {
            q = q.bind(environment.clone());
        }
        if packed {
            let json: String = q.fetch_one(&self.readers).await?.try_get(0)?;
            let mut events = packed::decode(query.measurement, &json).map_err(corrupt)?;
            // The aggregate keeps the subquery's order in practice; SQL does not promise it, so check (O(n)).
            if !events.is_sorted_by(|a, b| (a.time(), a.event_id()) <= (b.time(), b.event_id())) {
                events.sort_by(|a, b| (a.time(), a.event_id()).cmp(&(b.time(), b.event_id())));
            }
            return Ok(events);
        }
        let mut rows = q.fetch(&self.readers);
        let mut events = Vec::new();
        while let Some(row) = rows.try_next().await? {
            events.push(codec::decode(query.measurement, &row).map_err(corrupt)?);
        }
        Ok(events)
    }

    /// `query`'s events with `projection`'s fields; a long range is read in parts, concurrently.
    async fn read_projected(&self, query: &ReadQuery, projection: Projection) -> StoreResult<Vec<Event>> {
        if query.from >= query.to {
            return Ok(Vec::new());
        }
        let span = query.to - query.from;
        let parts = if span > READ_PART_MIN {
            i32::try_from(span.num_seconds() / READ_PART_MIN.num_seconds())
                .unwrap_or(READ_PARTS)
                .clamp(1, READ_PARTS)
        } else {
            1
        };
        let step = span / parts;
        let bounds: Vec<DateTime<Utc>> = (0..parts).map(|i| query.from + step * i).chain([query.to]).collect();
        let reads = bounds
            .windows(2)
            .map(|b| self.read_range(query, projection, b[0], b[1]));
        let parts = futures::future::try_join_all(reads).await?;
        Ok(parts.into_iter().flatten().collect())
    }
}

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn append(&self, events: &[Event]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for measurement in Measurement::ALL {
            let kind: Vec<&Event> = events.iter().filter(|e| e.measurement() == measurement).collect();
            let mut rest = kind.as_slice();
            for size in chunk_sizes(kind.len()) {
                let (chunk, after) = rest.split_at(size);
                rest = after;
                let mut query = sqlx::query(insert_sql(measurement, size));
                for event in chunk {
                    query = codec::bind(query, event);
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn read(&self, query: &ReadQuery) -> StoreResult<Vec<Event>> {
        self.read_projected(query, Projection::Full).await
    }

    async fn read_dora(&self, query: &ReadQuery) -> StoreResult<Vec<Event>> {
        self.read_projected(query, Projection::Dora).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_split_into_cached_statement_sizes() {
        for n in [0, 1, 5, 127, 128, 129, 1000, 5000] {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n, "{n}: {sizes:?}");
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= CHUNK), "{sizes:?}");
        }
        assert_eq!(chunk_sizes(133).collect::<Vec<_>>(), vec![128, 4, 1]);
    }

    #[tokio::test]
    async fn the_writer_checkpoints_every_wal_checkpoint_pages_and_the_readers_keep_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite://{}/m.db", dir.path().display()))
            .await
            .unwrap();
        let pages = |pool: SqlitePool| async move {
            let (n,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        };
        assert_eq!(pages(store.writer.clone()).await, i64::from(WAL_CHECKPOINT_PAGES));
        assert_eq!(pages(store.readers.clone()).await, 1000);
        let (limit,): (i64,) = sqlx::query_as("PRAGMA journal_size_limit")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(limit, i64::from(WAL_CHECKPOINT_PAGES) * 4096);
    }

    #[tokio::test]
    async fn every_append_is_synced_to_disk_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite://{}/m.db", dir.path().display()))
            .await
            .unwrap();
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous: 2 = FULL");
    }

    #[test]
    fn insert_statements_have_one_placeholder_per_column_and_row() {
        let sql = insert_sql(Measurement::Change, 4);
        assert!(
            sql.starts_with("INSERT OR IGNORE INTO changes (event_id, time,"),
            "{sql}"
        );
        assert_eq!(sql.matches('?').count(), 4 * table(Measurement::Change).columns.len());
    }
}
