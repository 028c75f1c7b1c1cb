//! The workspace store: the ZenML 0.98.0 database on SQLite and MySQL/MariaDB.
//!
//! It owns all SQL of the workspace server: the schema and first-start rows ([`schema`]), the
//! one list engine ([`list`]), and one module per resource returning typed rows. Handlers never
//! see SQL. It must not depend on HTTP or server crates.

pub mod api_keys;
pub mod artifacts;
pub mod code_refs;
pub mod components;
pub mod connectors;
pub mod db;
pub mod deployments;
pub mod devices;
pub mod flavors;
pub mod hook_invocations;
pub mod list;
pub mod logs;
pub mod model_registry;
pub mod pipelines;
pub mod projects;
pub mod run_metadata;
pub mod runs;
pub mod schedules;
pub mod schema;
pub mod secrets;
pub mod settings;
pub mod snapshots;
pub mod stacks;
pub mod statistics;
pub mod steps;
pub mod tags;
pub mod users;

pub use db::{Backend, Db, Query, Tx, Value};

use uuid::Uuid;
use zenpro_types::Error;

/// The workspace store: a handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Store { db }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

/// A UUID as stored (`CHAR(32)` hex; rows written by old sqlmodel versions may lack leading
/// zeros, so shorter values are left-padded).
pub fn parse_id(s: &str) -> Uuid {
    Uuid::parse_str(s).or_else(|_| Uuid::parse_str(&format!("{s:0>32}"))).unwrap_or(Uuid::nil())
}

/// Same as [`parse_id`] for nullable columns.
pub fn parse_opt_id(s: &Option<String>) -> Option<Uuid> {
    s.as_deref().map(parse_id)
}

/// Resolve "name or id" path parameters: a string that parses as a UUID is an id.
pub enum NameOrId {
    Id(Uuid),
    Name(String),
}

impl NameOrId {
    pub fn parse(s: &str) -> NameOrId {
        match Uuid::parse_str(s) {
            Ok(id) => NameOrId::Id(id),
            Err(_) => NameOrId::Name(s.to_string()),
        }
    }
}

fn db_err(e: sqlx::Error) -> Error {
    db::map_err(e, "The entity already exists.")
}
