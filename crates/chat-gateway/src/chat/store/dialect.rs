//! What differs between the two SQL stores when they run the same statement: how a time is bound (TIMESTAMPTZ, or
//! INTEGER unix microseconds) and how a text prefix is matched ([`Dialect`], one impl in each store's folder). The
//! rest ([`Run`]) is written once for any database sqlx binds text and integers on; the statements both stores run
//! alike ([`super::shared`]) are written against it.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::{Database, Encode, Executor, IntoArguments, SqlSafeStr, Type};

use super::rows::Columns;

/// A statement with its values bound, for database `DB`.
pub(crate) type Statement<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

/// A value the shared statements bind.
pub(crate) enum Param {
    Text(String),
    OptText(Option<String>),
    Bytes(Vec<u8>),
    Int(i64),
    OptInt(Option<i64>),
    /// Bound as the dialect keeps times.
    Time(DateTime<Utc>),
}

/// A database the chat store runs on; its rows read as [`Columns`].
pub(crate) trait Dialect: Database<Row: Columns> {
    /// What follows a `SELECT` of the audit chain's head to hold it until the appending transaction ends.
    const LOCK_ROW: &'static str;
    /// `statement` with the time `at` bound next.
    fn bind_time(statement: Statement<'_, Self>, at: DateTime<Utc>) -> Statement<'_, Self>;
    /// The condition that `column` starts with the text bound as `$n`.
    fn starts_with(column: &str, n: usize) -> String;
}

/// Binding [`Param`]s and running a statement on a connection (a pool's, or a transaction's), for every
/// [`Dialect`].
pub(crate) trait Run: Dialect {
    fn bind(statement: Statement<'_, Self>, param: Param) -> Statement<'_, Self>;
    fn execute<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, ()>;
    fn fetch_one<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, Self::Row>;
    fn fetch_optional<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>)
    -> Ran<'a, Option<Self::Row>>;
    fn fetch_all<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, Vec<Self::Row>>;
}

/// What running a statement answers, once it has run.
pub(crate) type Ran<'a, T> = BoxFuture<'a, sqlx::Result<T>>;

impl<DB> Run for DB
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
{
    fn bind(statement: Statement<'_, Self>, param: Param) -> Statement<'_, Self> {
        match param {
            Param::Text(text) => statement.bind(text),
            Param::OptText(text) => statement.bind(text),
            Param::Bytes(bytes) => statement.bind(bytes),
            Param::Int(n) => statement.bind(n),
            Param::OptInt(n) => statement.bind(n),
            Param::Time(at) => DB::bind_time(statement, at),
        }
    }

    fn execute<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, ()> {
        Box::pin(async move { statement.execute(conn).await.map(drop) })
    }

    fn fetch_one<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, Self::Row> {
        Box::pin(statement.fetch_one(conn))
    }

    fn fetch_optional<'a>(
        conn: &'a mut Self::Connection,
        statement: Statement<'a, Self>,
    ) -> Ran<'a, Option<Self::Row>> {
        Box::pin(statement.fetch_optional(conn))
    }

    fn fetch_all<'a>(conn: &'a mut Self::Connection, statement: Statement<'a, Self>) -> Ran<'a, Vec<Self::Row>> {
        Box::pin(statement.fetch_all(conn))
    }
}

/// `sql` with `params` bound in order (`$1`, `$2`, …).
pub(crate) fn statement<DB: Run>(sql: impl SqlSafeStr, params: Vec<Param>) -> Statement<'static, DB> {
    params.into_iter().fold(sqlx::query(sql), DB::bind)
}
