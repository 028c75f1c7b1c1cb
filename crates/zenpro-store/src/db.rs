//! The one place that knows there are two backends. Every query is written once, in SQL that
//! SQLite and MySQL/MariaDB both accept (backtick-quoted identifiers, `?` placeholders,
//! `LIMIT n OFFSET m`); [`Db`] and [`Tx`] run it on whichever pool the URL chose.
//! Backend-specific SQL fragments live in [`Backend`]'s methods, nowhere else.

use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDateTime;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Row};
use uuid::Uuid;
use zenpro_types::Error;

/// Which SQL dialect a [`Db`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

impl Backend {
    /// `database_type` as `/api/v1/info` reports it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mysql",
        }
    }

    /// Row lock for get-or-create paths (SQLite serialises writers anyway).
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::MySql => " FOR UPDATE",
        }
    }

    /// Cast a text column to a float for numeric comparisons of string fields.
    pub fn cast_float(self, col: &str) -> String {
        match self {
            Backend::Sqlite => format!("CAST({col} AS REAL)"),
            Backend::MySql => format!("CAST({col} AS DOUBLE)"),
        }
    }

    /// The input links (`step_run_input_artifact`) of the steps `` `step_id` IN ({marks}) ``,
    /// ordered by name, input index and artifact.
    ///
    /// MySQL has an index on `step_id` (InnoDB makes one for each foreign key). The 0.98.0
    /// SQLite schema has only the primary key (name, input_index, step_id, artifact_id), so a
    /// plain `WHERE step_id IN` scans the whole table. There, walk the few distinct
    /// (name, input_index) pairs with index seeks (a loose index scan as a recursive CTE) and
    /// look up (name, input_index, step_id) for each pair: the same rows, from the index.
    pub fn step_inputs_sql(self, marks: &str) -> String {
        const COLS: &str = "`a`.`step_id`, `a`.`name`, `a`.`type`, `a`.`input_index`, `a`.`chunk_index`, \
                            `a`.`chunk_size`, `a`.`artifact_id`";
        const ORDER: &str = "ORDER BY `a`.`name`, `a`.`input_index`, `a`.`artifact_id`";
        match self {
            Backend::MySql => {
                format!("SELECT {COLS} FROM `step_run_input_artifact` AS `a` WHERE `a`.`step_id` IN ({marks}) {ORDER}")
            }
            Backend::Sqlite => format!(
                "WITH RECURSIVE `n`(`name`) AS (\
                   SELECT MIN(`name`) FROM `step_run_input_artifact` \
                   UNION ALL SELECT (SELECT MIN(`name`) FROM `step_run_input_artifact` WHERE `name` > `n`.`name`) \
                   FROM `n` WHERE `n`.`name` IS NOT NULL), \
                 `k`(`name`, `i`) AS (\
                   SELECT `n`.`name`, (SELECT MIN(`input_index`) FROM `step_run_input_artifact` WHERE `name` = `n`.`name`) \
                   FROM `n` WHERE `n`.`name` IS NOT NULL \
                   UNION ALL SELECT `k`.`name`, (SELECT MIN(`input_index`) FROM `step_run_input_artifact` \
                   WHERE `name` = `k`.`name` AND `input_index` > `k`.`i`) FROM `k` WHERE `k`.`i` IS NOT NULL) \
                 SELECT {COLS} FROM `k` CROSS JOIN `step_run_input_artifact` AS `a` \
                 ON `a`.`name` = `k`.`name` AND `a`.`input_index` = `k`.`i` WHERE `a`.`step_id` IN ({marks}) {ORDER}"
            ),
        }
    }

    /// String concatenation.
    pub fn concat(self, a: &str, b: &str) -> String {
        match self {
            Backend::Sqlite => format!("({a} || {b})"),
            Backend::MySql => format!("CONCAT({a}, {b})"),
        }
    }
}

/// A bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
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
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
/// UUIDs are stored as 32 lowercase hex characters.
impl From<Uuid> for Value {
    fn from(v: Uuid) -> Self {
        Value::Str(v.simple().to_string())
    }
}
impl From<&Uuid> for Value {
    fn from(v: &Uuid) -> Self {
        Value::Str(v.simple().to_string())
    }
}
/// Datetimes are bound as text with exactly six fraction digits: what Python writes on SQLite
/// (where ordering is textual) and what pymysql sends to MySQL.
impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Self {
        Value::Str(v.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
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

/// Rows that decode on both backends.
pub trait DbRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, MySqlRow> + Send + Unpin {}
impl<T> DbRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, MySqlRow> + Send + Unpin {}

macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Value::Null => q.bind(None::<String>),
                Value::Str(s) => q.bind(s.clone()),
                Value::Int(i) => q.bind(*i),
                Value::Float(f) => q.bind(*f),
                Value::Bool(b) => q.bind(*b),
                Value::Bytes(b) => q.bind(b.clone()),
            };
        }
        q
    }};
}

/// Map a database error: unique violations become 409 with the caller's message (by error
/// code, never by constraint name, which differs between fresh and migrated ZenML databases);
/// pool exhaustion and lost connections become 503; anything else 500.
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

fn db_err(e: sqlx::Error) -> Error {
    map_err(e, "The entity already exists.")
}

/// Whether an error is a unique-constraint violation (for get-or-create retries).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// An open transaction on one of the two backends.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    MySql(sqlx::Transaction<'static, MySql>),
}

/// Implements the same query methods on [`Db`] (pool) and [`Tx`] (transaction).
macro_rules! impl_exec {
    ($ty:ty, $sqlite:ident => $sqlite_exec:expr, $mysql:ident => $mysql_exec:expr) => {
        impl $ty {
            /// Run a statement, returning the number of affected rows.
            pub async fn execute(&mut self, q: Query) -> Result<u64, sqlx::Error> {
                match self {
                    Self::Sqlite($sqlite) => {
                        let qq = bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params);
                        Ok(qq.execute($sqlite_exec).await?.rows_affected())
                    }
                    Self::MySql($mysql) => {
                        let qq = bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params);
                        Ok(qq.execute($mysql_exec).await?.rows_affected())
                    }
                }
            }

            /// All rows of a query.
            pub async fn fetch_all<T: DbRow>(&mut self, q: Query) -> Result<Vec<T>, sqlx::Error> {
                match self {
                    Self::Sqlite($sqlite) => {
                        bind_params!(sqlx::query_as::<_, T>(AssertSqlSafe(q.sql)), &q.params)
                            .fetch_all($sqlite_exec)
                            .await
                    }
                    Self::MySql($mysql) => {
                        bind_params!(sqlx::query_as::<_, T>(AssertSqlSafe(q.sql)), &q.params)
                            .fetch_all($mysql_exec)
                            .await
                    }
                }
            }

            /// At most one row.
            pub async fn fetch_optional<T: DbRow>(&mut self, q: Query) -> Result<Option<T>, sqlx::Error> {
                match self {
                    Self::Sqlite($sqlite) => {
                        bind_params!(sqlx::query_as::<_, T>(AssertSqlSafe(q.sql)), &q.params)
                            .fetch_optional($sqlite_exec)
                            .await
                    }
                    Self::MySql($mysql) => {
                        bind_params!(sqlx::query_as::<_, T>(AssertSqlSafe(q.sql)), &q.params)
                            .fetch_optional($mysql_exec)
                            .await
                    }
                }
            }

            /// A single integer (`SELECT count(*) ...`).
            pub async fn fetch_i64(&mut self, q: Query) -> Result<i64, sqlx::Error> {
                match self {
                    Self::Sqlite($sqlite) => {
                        let row =
                            bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params).fetch_one($sqlite_exec).await?;
                        row.try_get::<i64, _>(0)
                    }
                    Self::MySql($mysql) => {
                        let row =
                            bind_params!(sqlx::query(AssertSqlSafe(q.sql)), &q.params).fetch_one($mysql_exec).await?;
                        row.try_get::<i64, _>(0)
                    }
                }
            }
        }
    };
}

impl_exec!(Db, p => &*p, p => &*p);
impl_exec!(Tx, t => &mut **t, t => &mut **t);

impl Db {
    /// Connect to `sqlite:///path`, `sqlite:path`, or `mysql://user:pw@host:port/db`.
    /// For MySQL the database is created when it does not exist, as ZenML does.
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
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .map_err(|e| Error::Unavailable(format!("cannot open SQLite database {path}: {e}")))?;
            return Ok(Db::Sqlite(pool));
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let opts = MySqlConnectOptions::from_str(&url)
                .map_err(|e| Error::validation(format!("invalid MySQL URL: {e}")))?;
            let database = opts.get_database().map(str::to_string);
            if let Some(db) = &database {
                // Create the database if missing (ZenML does `CREATE DATABASE IF NOT EXISTS`).
                let server = MySqlPoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts.clone().database(""))
                    .await
                    .map_err(|e| Error::Unavailable(format!("cannot connect to MySQL: {e}")))?;
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
                .map_err(|e| Error::Unavailable(format!("cannot connect to MySQL: {e}")))?;
            return Ok(Db::MySql(pool));
        }
        Err(Error::validation(format!(
            "unsupported store URL scheme in '{}': use sqlite:///path or mysql://user:password@host:port/db",
            redact_url(url)
        )))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::MySql(_) => Backend::MySql,
        }
    }

    /// Begin a write transaction (`BEGIN IMMEDIATE` on SQLite so the write lock is taken up
    /// front instead of failing on a read→write upgrade).
    pub async fn begin(&self) -> Result<Tx, Error> {
        match self {
            Db::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?)),
            Db::MySql(p) => Ok(Tx::MySql(p.begin().await.map_err(db_err)?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::MySql(p) => p.close().await,
        }
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::MySql(_) => Backend::MySql,
        }
    }

    pub async fn commit(self) -> Result<(), Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await.map_err(db_err),
            Tx::MySql(t) => t.commit().await.map_err(db_err),
        }
    }
}

/// The file path of a `sqlite:` URL, with SQLAlchemy's meaning: `sqlite:////abs/path` is
/// absolute, `sqlite:///rel/path` is relative to the working directory.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("///").or_else(|| rest.strip_prefix("//")).unwrap_or(rest);
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
            // No password to hide; `user:***` would suggest one was given.
            None => format!("{scheme}://{creds}@{host}"),
        };
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(sqlite_path("sqlite:///tmp/x.db").as_deref(), Some("tmp/x.db"));
        assert_eq!(sqlite_path("sqlite:////tmp/x.db").as_deref(), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("sqlite:rel.db").as_deref(), Some("rel.db"));
        assert_eq!(sqlite_path("mysql://a"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("mysql://u:secret@h:3306/db"), "mysql://u:***@h:3306/db");
        assert_eq!(redact_url("mysql://root@h:3306"), "mysql://root@h:3306");
        assert_eq!(redact_url("sqlite:////tmp/x.db"), "sqlite:////tmp/x.db");
    }
}
