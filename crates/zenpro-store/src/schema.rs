//! Creating and recognising the ZenML 0.98.0 schema. A fresh database gets exactly what the
//! Python server's `create_all` path writes (DDL in `schema/*.sql`, owned by this repository and
//! checked against the `zenml==0.98.0` package by `scripts/schema.py`), stamped `0.98.0`, plus
//! the first-start rows. An existing database is served only at revision `0.98.0`, and no DDL
//! is ever run on it.

use chrono::NaiveDateTime;
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::db::{Backend, Db, Tx, map_err};
use crate::q;

/// The only alembic revision zenpro serves.
pub const SUPPORTED_REVISION: &str = "0.98.0";

const SQLITE_DDL: &str = include_str!("../schema/sqlite.sql");
const MYSQL_DDL: &str = include_str!("../schema/mysql.sql");
const FLAVORS_JSON: &str = include_str!("../schema/flavors.json");

/// What start-up found in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No ZenML table: the schema will be created.
    Empty,
    /// A ZenML database at this revision.
    Revision(String),
    /// ZenML tables without an `alembic_version` row.
    Unversioned,
}

fn ddl_statements(backend: Backend) -> Vec<&'static str> {
    let ddl = match backend {
        Backend::Sqlite => SQLITE_DDL,
        Backend::MySql => MYSQL_DDL,
    };
    ddl.split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--")))
        .collect()
}

async fn table_exists(db: &Db, table: &str) -> Result<bool, Error> {
    let query = match db.backend() {
        Backend::Sqlite => q!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table),
        Backend::MySql => q!(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
            table
        ),
    };
    let n = db.clone().fetch_i64(query).await.map_err(|e| map_err(e, ""))?;
    Ok(n > 0)
}

/// Inspect the database.
pub async fn state(db: &Db) -> Result<SchemaState, Error> {
    if !table_exists(db, "alembic_version").await? {
        return Ok(if table_exists(db, "stack").await? { SchemaState::Unversioned } else { SchemaState::Empty });
    }
    #[derive(sqlx::FromRow)]
    struct Rev {
        version_num: String,
    }
    let revs: Vec<Rev> =
        db.clone().fetch_all(q!("SELECT version_num FROM alembic_version")).await.map_err(|e| map_err(e, ""))?;
    match revs.as_slice() {
        [] => Ok(SchemaState::Unversioned),
        [one] => Ok(SchemaState::Revision(one.version_num.clone())),
        many => Ok(SchemaState::Revision(many.iter().map(|r| r.version_num.as_str()).collect::<Vec<_>>().join(","))),
    }
}

/// Options for the first-start rows.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// `server_settings.id` (the JWT issuer/audience); random when `None`.
    pub server_id: Option<Uuid>,
    /// `server_settings.server_name`.
    pub server_name: String,
    /// `server_settings.enable_analytics`.
    pub enable_analytics: bool,
    /// Name of the default project (`ZENML_DEFAULT_PROJECT_NAME`); `None` disables it (Pro).
    pub default_project: Option<String>,
}

/// What [`ensure_schema`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Existing,
}

/// Create the schema on an empty database, or verify the revision of an existing one.
pub async fn ensure_schema(db: &Db, opts: &InitOptions) -> Result<Outcome, Error> {
    match state(db).await? {
        SchemaState::Revision(rev) if rev == SUPPORTED_REVISION => Ok(Outcome::Existing),
        SchemaState::Revision(rev) => Err(Error::validation(format!(
            "The database is at ZenML schema revision '{rev}', but zenpro serves only revision \
             '{SUPPORTED_REVISION}' (ZenML {SUPPORTED_REVISION}). Migrate it with the Python ZenML \
             {SUPPORTED_REVISION} server first; zenpro never changes an existing schema."
        ))),
        SchemaState::Unversioned => Err(Error::validation(format!(
            "The database has ZenML tables but no alembic revision; zenpro serves only revision \
             '{SUPPORTED_REVISION}' and never changes an existing schema."
        ))),
        SchemaState::Empty => {
            create(db, opts).await?;
            Ok(Outcome::Created)
        }
    }
}

async fn create(db: &Db, opts: &InitOptions) -> Result<(), Error> {
    let backend = db.backend();
    let mut tx = db.begin().await?;
    if backend == Backend::MySql {
        tx.execute(q!("SET FOREIGN_KEY_CHECKS = 0")).await.map_err(|e| map_err(e, ""))?;
    }
    for stmt in ddl_statements(backend) {
        tx.execute(q!(stmt)).await.map_err(|e| Error::internal(format!("creating the ZenML schema failed: {e}")))?;
    }
    if backend == Backend::MySql {
        tx.execute(q!("SET FOREIGN_KEY_CHECKS = 1")).await.map_err(|e| map_err(e, ""))?;
    }
    let now = utc_now();
    let server_id = opts.server_id.unwrap_or_else(Uuid::new_v4);
    tx.execute(q!(
        "INSERT INTO server_settings (id, server_name, logo_url, active, enable_analytics, \
         display_announcements, display_updates, onboarding_state, last_user_activity, updated) \
         VALUES (?, ?, NULL, ?, ?, ?, ?, NULL, ?, ?)",
        server_id,
        opts.server_name.clone(),
        false,
        opts.enable_analytics,
        true,
        true,
        now,
        now
    ))
    .await
    .map_err(|e| map_err(e, ""))?;
    insert_flavors(&mut tx, now).await?;
    tx.execute(q!("INSERT INTO alembic_version (version_num) VALUES (?)", SUPPORTED_REVISION))
        .await
        .map_err(|e| map_err(e, ""))?;
    tx.commit().await
}

#[derive(Deserialize)]
struct FlavorFile {
    flavors: Vec<FlavorSeed>,
}

#[derive(Deserialize)]
struct FlavorSeed {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    integration: Option<String>,
    source: String,
    config_schema: String,
    connector_type: Option<String>,
    connector_resource_type: Option<String>,
    connector_resource_id_attr: Option<String>,
    logo_url: Option<String>,
    docs_url: Option<String>,
    sdk_docs_url: Option<String>,
    display_name: Option<String>,
    is_custom: bool,
}

/// Number of built-in flavors seeded on a fresh database.
pub fn builtin_flavor_count() -> usize {
    serde_json::from_str::<FlavorFile>(FLAVORS_JSON).map(|f| f.flavors.len()).unwrap_or(0)
}

async fn insert_flavors(tx: &mut Tx, now: NaiveDateTime) -> Result<(), Error> {
    let file: FlavorFile = serde_json::from_str(FLAVORS_JSON)
        .map_err(|e| Error::internal(format!("embedded flavor catalogue is invalid: {e}")))?;
    // One microsecond apart, so `sort_by=created` keeps the registration order as on the reference.
    for (i, f) in file.flavors.into_iter().enumerate() {
        let at = now + chrono::Duration::microseconds(i as i64);
        tx.execute(q!(
            "INSERT INTO flavor (id, created, updated, name, type, source, config_schema, integration, \
             connector_type, connector_resource_type, connector_resource_id_attr, user_id, logo_url, \
             docs_url, sdk_docs_url, is_custom, display_name) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
            Uuid::new_v4(),
            at,
            at,
            f.name,
            f.kind,
            f.source,
            f.config_schema,
            f.integration,
            f.connector_type,
            f.connector_resource_type,
            f.connector_resource_id_attr,
            f.logo_url,
            f.docs_url,
            f.sdk_docs_url,
            f.is_custom,
            f.display_name
        ))
        .await
        .map_err(|e| map_err(e, ""))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_has_all_53_tables_on_both_backends() {
        for b in [Backend::Sqlite, Backend::MySql] {
            let n = ddl_statements(b).iter().filter(|s| s.contains("CREATE TABLE")).count();
            assert_eq!(n, 53, "{b:?}");
        }
    }

    #[test]
    fn flavor_catalogue_has_82_rows() {
        assert_eq!(builtin_flavor_count(), 82);
    }
}
