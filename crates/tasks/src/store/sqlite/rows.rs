//! The statements of one write, sent to the writer connection together. Every statement sent on its own is a round
//! trip to the connection's thread (two thread wake-ups: most of the embedded store's CPU under load), and every write
//! of the process goes through the one writer connection, so a write's rows go in one multi-row statement per table
//! and its statements in one query string (SQLite runs them in order; a failing one fails the query, and the caller's
//! transaction is rolled back). sqlx marks several statements in one query as legacy
//! (launchbadge/sqlx#3108) but its SQLite driver runs them, binding each `?` in order: the saving is why it is used.
//! SQLite inserts a `VALUES` list in order, so row ids follow the order of the rows given.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite};

use super::Tx;
use crate::store::StoreResult;

/// Rows per statement at most.
const ROWS_PER_STATEMENT: usize = 250;
/// Bound values per query at most (SQLite allows 32,766): past it the query is sent and a new one started.
const BINDS_PER_QUERY: usize = 16_000;

/// Statements to run together inside a transaction.
pub(super) struct Statements {
    query: QueryBuilder<Sqlite>,
    statements: usize,
    binds: usize,
}

impl Statements {
    pub(super) fn new() -> Self {
        Self {
            query: QueryBuilder::new(""),
            statements: 0,
            binds: 0,
        }
    }

    /// Starts a statement binding `binds` values, sending what is pending first if the query would grow too large.
    async fn statement(&mut self, tx: &mut Tx, binds: usize) -> StoreResult<&mut QueryBuilder<Sqlite>> {
        if self.statements > 0 && self.binds + binds > BINDS_PER_QUERY {
            self.send(tx).await?;
        }
        if self.statements > 0 {
            self.query.push("; ");
        }
        self.statements += 1;
        self.binds += binds;
        Ok(&mut self.query)
    }

    /// Adds one statement with its values bound by `push`.
    pub(super) async fn one(
        &mut self,
        tx: &mut Tx,
        binds: usize,
        push: impl FnOnce(&mut QueryBuilder<Sqlite>),
    ) -> StoreResult<()> {
        push(self.statement(tx, binds).await?);
        Ok(())
    }

    /// Adds `head VALUES (…), (…)` for `rows` (none: nothing), `push` binding the `width` values of one row.
    pub(super) async fn insert<T>(
        &mut self,
        tx: &mut Tx,
        head: &str,
        width: usize,
        rows: &[T],
        mut push: impl FnMut(Separated<'_, Sqlite, &'static str>, &T),
    ) -> StoreResult<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let query = self.statement(tx, width * chunk.len()).await?;
            query.push(head).push(" ");
            query.push_values(chunk, &mut push);
        }
        Ok(())
    }

    /// Adds `head IN (…)` for `ids` (none: nothing).
    pub(super) async fn delete_in(&mut self, tx: &mut Tx, head: &str, ids: &[i64]) -> StoreResult<()> {
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let query = self.statement(tx, chunk.len()).await?;
            query.push(head).push(" IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
        }
        Ok(())
    }

    /// Runs what is pending.
    pub(super) async fn send(&mut self, tx: &mut Tx) -> StoreResult<()> {
        if self.statements > 0 {
            self.query.build().execute(&mut **tx).await?;
            self.query.reset();
            self.statements = 0;
            self.binds = 0;
        }
        Ok(())
    }
}
