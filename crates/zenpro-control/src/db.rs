//! The one place that knows there are three backends (SQLite, MySQL/MariaDB, PostgreSQL).
//!
//! Every query of the control plane is written once: `?` placeholders, plain lowercase
//! identifiers that none of the three reserves, `LIMIT n OFFSET m`, integers as `BIGINT`, text
//! as `VARCHAR`/`TEXT`. [`Db`] rewrites `?` to `$1, $2, …` for PostgreSQL in [`pg_placeholders`]
//! and nowhere else. Rows come back as backend-neutral [`Row`]s of text/integer cells.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Column, Row as _};
use zenpro_types::Error;

/// A bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A text NULL.
    Null,
    /// An integer NULL (PostgreSQL types parameters; a text NULL does not fit a BIGINT column).
    NullInt,
    Str(String),
    Int(i64),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Str(s.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
/// Booleans are stored as 0/1 integers.
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
/// UUIDs are stored as 36-character hyphenated text.
impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Str(v.hyphenated().to_string())
    }
}
impl From<&uuid::Uuid> for Value {
    fn from(v: &uuid::Uuid) -> Self {
        Value::Str(v.hyphenated().to_string())
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map(Value::from).unwrap_or(Value::Null)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map(Value::Str).unwrap_or(Value::Null)
    }
}
impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.clone().map(Value::Str).unwrap_or(Value::Null)
    }
}
impl From<Option<uuid::Uuid>> for Value {
    fn from(v: Option<uuid::Uuid>) -> Self {
        v.map(Value::from).unwrap_or(Value::Null)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map(Value::Int).unwrap_or(Value::NullInt)
    }
}

/// SQL text plus its parameters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query { sql: sql.into(), params: Vec::new() }
    }
    /// Append a parameter for the next `?`.
    pub fn bind(mut self, v: impl Into<Value>) -> Self {
        self.params.push(v.into());
        self
    }
    pub fn push_sql(&mut self, s: &str) {
        self.sql.push_str(s);
    }
    pub fn push_param(&mut self, v: impl Into<Value>) {
        self.params.push(v.into());
    }
}

/// Build a [`Query`]: `q!("SELECT .. WHERE id = ?", id)`.
#[macro_export]
macro_rules! q {
    ($sql:expr $(, $p:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut q = $crate::db::Query::new($sql);
        $( q.push_param($p); )*
        q
    }};
}

/// `?` → `$1, $2, …` (PostgreSQL). Our SQL has no `?` inside literals.
pub fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// One cell of a [`Row`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// A backend-neutral result row: column names and cells.
#[derive(Debug, Clone, Default)]
pub struct Row {
    cols: Vec<(String, Cell)>,
}

impl Row {
    fn cell(&self, name: &str) -> &Cell {
        self.cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, c)| c).unwrap_or(&Cell::Null)
    }
    /// A text column; NULL or missing → empty string.
    pub fn str(&self, name: &str) -> String {
        self.opt_str(name).unwrap_or_default()
    }
    /// A nullable text column.
    pub fn opt_str(&self, name: &str) -> Option<String> {
        match self.cell(name) {
            Cell::Null => None,
            Cell::Int(i) => Some(i.to_string()),
            Cell::Text(s) => Some(s.clone()),
        }
    }
    /// An integer column; NULL → 0.
    pub fn i64(&self, name: &str) -> i64 {
        self.opt_i64(name).unwrap_or(0)
    }
    pub fn opt_i64(&self, name: &str) -> Option<i64> {
        match self.cell(name) {
            Cell::Int(i) => Some(*i),
            Cell::Text(s) => s.parse().ok(),
            Cell::Null => None,
        }
    }
    /// A 0/1 column.
    pub fn bool(&self, name: &str) -> bool {
        self.i64(name) != 0
    }
    /// A UUID column (nil when NULL or malformed, which the schema never stores).
    pub fn uuid(&self, name: &str) -> uuid::Uuid {
        self.opt_uuid(name).unwrap_or_default()
    }
    pub fn opt_uuid(&self, name: &str) -> Option<uuid::Uuid> {
        self.opt_str(name).and_then(|s| uuid::Uuid::parse_str(&s).ok())
    }
}

/// Typed rows read from a [`Row`].
pub trait FromRow: Sized {
    fn from_row(r: &Row) -> Self;
}

impl FromRow for Row {
    fn from_row(r: &Row) -> Self {
        r.clone()
    }
}

macro_rules! neutral_row {
    ($row:expr) => {{
        let row = $row;
        let mut cols = Vec::with_capacity(row.columns().len());
        for (i, col) in row.columns().iter().enumerate() {
            let cell = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(Cell::Int).unwrap_or(Cell::Null)
            } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                v.map(|v| Cell::Int(v as i64)).unwrap_or(Cell::Null)
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v.map(Cell::Text).unwrap_or(Cell::Null)
            } else {
                Cell::Null
            };
            cols.push((col.name().to_ascii_lowercase(), cell));
        }
        Row { cols }
    }};
}

macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Value::Null => q.bind(None::<String>),
                Value::NullInt => q.bind(None::<i64>),
                Value::Str(s) => q.bind(s.clone()),
                Value::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// Map a database error: unique violations become 409 with the caller's message (detected by
/// error code on all three backends); pool exhaustion and lost connections become 503;
/// anything else 500.
pub fn map_err(e: sqlx::Error, conflict: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::exists(conflict),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            tracing::error!(error = %e, "database unavailable");
            Error::Unavailable("The database is unavailable.".into())
        }
        _ => Error::internal(format!("database error: {e}")),
    }
}

/// Whether an error is a unique-constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Which SQL dialect a [`Db`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

/// A pool on one of the three backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
    Postgres(PgPool),
}

/// An open transaction on one of the three backends.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    MySql(sqlx::Transaction<'static, MySql>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

macro_rules! impl_exec {
    ($ty:ty, $s:ident => $se:expr, $m:ident => $me:expr, $p:ident => $pe:expr) => {
        impl $ty {
            /// Run a statement, returning the number of affected rows.
            pub async fn execute(&mut self, q: Query) -> Result<u64, sqlx::Error> {
                match self {
                    Self::Sqlite($s) => Ok(bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params)
                        .execute($se)
                        .await?
                        .rows_affected()),
                    Self::MySql($m) => Ok(bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params)
                        .execute($me)
                        .await?
                        .rows_affected()),
                    Self::Postgres($p) => {
                        let sql = pg_placeholders(&q.sql);
                        Ok(bind_params!(sqlx::query(AssertSqlSafe(sql)), &q.params).execute($pe).await?.rows_affected())
                    }
                }
            }

            /// All rows of a query.
            pub async fn rows(&mut self, q: Query) -> Result<Vec<Row>, sqlx::Error> {
                match self {
                    Self::Sqlite($s) => {
                        let rows = bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params).fetch_all($se).await?;
                        Ok(rows.iter().map(|r| neutral_row!(r)).collect())
                    }
                    Self::MySql($m) => {
                        let rows = bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params).fetch_all($me).await?;
                        Ok(rows.iter().map(|r| neutral_row!(r)).collect())
                    }
                    Self::Postgres($p) => {
                        let sql = pg_placeholders(&q.sql);
                        let rows = bind_params!(sqlx::query(AssertSqlSafe(sql)), &q.params).fetch_all($pe).await?;
                        Ok(rows.iter().map(|r| neutral_row!(r)).collect())
                    }
                }
            }

            /// All rows, typed.
            pub async fn fetch_all<T: FromRow>(&mut self, q: Query) -> Result<Vec<T>, sqlx::Error> {
                Ok(self.rows(q).await?.iter().map(T::from_row).collect())
            }

            /// The first row, typed.
            pub async fn fetch_optional<T: FromRow>(&mut self, q: Query) -> Result<Option<T>, sqlx::Error> {
                Ok(self.rows(q).await?.first().map(T::from_row))
            }

            /// A single integer (`SELECT count(*) ...`); no row → 0.
            pub async fn fetch_i64(&mut self, q: Query) -> Result<i64, sqlx::Error> {
                let rows = self.rows(q).await?;
                Ok(rows
                    .first()
                    .and_then(|r| r.cols.first())
                    .map(|(_, c)| match c {
                        Cell::Int(i) => *i,
                        Cell::Text(s) => s.parse().unwrap_or(0),
                        Cell::Null => 0,
                    })
                    .unwrap_or(0))
            }
        }
    };
}

impl_exec!(Db, p => &*p, p => &*p, p => &*p);
impl_exec!(Tx, t => &mut **t, t => &mut **t, t => &mut **t);

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("cannot connect to {what}: {e}"))
}

impl Db {
    /// Connect to `sqlite:///path` (`sqlite:path`), `postgres://…`/`postgresql://…` or
    /// `mysql://…`/`mariadb://…`. A missing SQLite file is created; a missing MySQL database too
    /// (as ZenML does); a PostgreSQL database must exist.
    pub async fn connect(url: &str) -> Result<Db, Error> {
        if let Some(path) = sqlite_path(url) {
            if let Some(parent) = std::path::Path::new(&path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::internal(format!("cannot create the folder of {path}: {e}")))?;
            }
            let opts = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(60));
            // Replicas opening a brand-new file at once race to switch it to WAL; SQLite can answer
            // that switch "database is locked" without waiting for busy_timeout. Try again a few
            // times (the switch is done once, by whoever wins).
            let mut attempt = 0;
            let pool = loop {
                match SqlitePoolOptions::new().max_connections(8).connect_with(opts.clone()).await {
                    Err(e) if attempt < 5 && e.to_string().contains("database is locked") => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                    }
                    r => break r.map_err(|e| unavailable(&format!("SQLite database {path}"), e))?,
                }
            };
            return Ok(Db::Sqlite(pool));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| Error::validation(format!("invalid PostgreSQL URL: {e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(20)
                .max_lifetime(Duration::from_secs(1800))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await
                .map_err(|e| unavailable("PostgreSQL", e))?;
            return Ok(Db::Postgres(pool));
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let opts = MySqlConnectOptions::from_str(&url)
                .map_err(|e| Error::validation(format!("invalid MySQL URL: {e}")))?;
            if let Some(db) = opts.get_database().map(str::to_string) {
                let server = MySqlPoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts.clone().database(""))
                    .await
                    .map_err(|e| unavailable("MySQL", e))?;
                let name = db.replace('`', "``");
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE IF NOT EXISTS `{name}`")))
                    .execute(&server)
                    .await
                    .map_err(|e| Error::Unavailable(format!("cannot create database {db}: {e}")))?;
                server.close().await;
            }
            let pool = MySqlPoolOptions::new()
                .max_connections(20)
                .max_lifetime(Duration::from_secs(1800))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await
                .map_err(|e| unavailable("MySQL", e))?;
            return Ok(Db::MySql(pool));
        }
        Err(Error::validation(format!(
            "unsupported database URL scheme in '{}': use sqlite:///path, postgres://… or mysql://…",
            redact_url(url)
        )))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::MySql(_) => Backend::MySql,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begin a transaction (`BEGIN IMMEDIATE` on SQLite so the write lock is taken up front).
    pub async fn begin(&self) -> Result<Tx, Error> {
        let err = |e| map_err(e, "conflict");
        match self {
            Db::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(err)?)),
            Db::MySql(p) => Ok(Tx::MySql(p.begin().await.map_err(err)?)),
            Db::Postgres(p) => Ok(Tx::Postgres(p.begin().await.map_err(err)?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::MySql(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), Error> {
        let err = |e| map_err(e, "conflict");
        match self {
            Tx::Sqlite(t) => t.commit().await.map_err(err),
            Tx::MySql(t) => t.commit().await.map_err(err),
            Tx::Postgres(t) => t.commit().await.map_err(err),
        }
    }
}

/// The file path of a `sqlite:` URL: `sqlite://FILE` (so `sqlite:///abs/cp.db` is absolute and
/// `sqlite://rel.db` relative), also `sqlite:FILE` and SQLAlchemy's `sqlite:////abs`.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = if path.starts_with("//") { &path[1..] } else { path };
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() { None } else { Some(path.to_string()) }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.rsplit_once('@')
    {
        return match creds.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{creds}@{host}"),
        };
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(pg_placeholders("SELECT a FROM t WHERE a = ? AND b = ?"), "SELECT a FROM t WHERE a = $1 AND b = $2");
    }

    #[test]
    fn urls() {
        assert_eq!(sqlite_path("sqlite:////tmp/x.db").as_deref(), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db").as_deref(), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("sqlite://x.db").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("sqlite:x.db").as_deref(), Some("x.db"));
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
    }
}
