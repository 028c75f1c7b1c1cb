//! All SQL of the control plane, one module per resource, returning typed rows. Handlers never
//! see SQL. Errors: unique violation → 409 (by error code), pool/IO → 503, else 500.

pub mod devices;
pub mod shares;
pub mod usage;

pub mod api_keys;
pub mod login_failures;
pub mod organizations;
pub mod roles;
pub mod teams;
pub mod users;
pub mod workspaces;

use crate::db::{Db, Query, map_err};
use zenpro_types::Error;

/// The control plane's database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Store { db }
    }

    /// The pool (cheap to clone), for modules that run their own queries.
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// Run a statement; a unique violation becomes 409 with `conflict` as the message.
    pub async fn exec(&self, q: Query, conflict: &str) -> Result<u64, Error> {
        self.db().execute(q).await.map_err(|e| map_err(e, conflict))
    }

    /// Typed rows of a query.
    pub async fn all<T: crate::db::FromRow>(&self, q: Query) -> Result<Vec<T>, Error> {
        self.db().fetch_all(q).await.map_err(|e| map_err(e, "conflict"))
    }

    /// The first row of a query, typed.
    pub async fn one<T: crate::db::FromRow>(&self, q: Query) -> Result<Option<T>, Error> {
        self.db().fetch_optional(q).await.map_err(|e| map_err(e, "conflict"))
    }

    /// A single integer (`SELECT count(*) …`).
    pub async fn int(&self, q: Query) -> Result<i64, Error> {
        self.db().fetch_i64(q).await.map_err(|e| map_err(e, "conflict"))
    }

    /// Is the database answering? (`GET /ready`.)
    pub async fn ping(&self) -> Result<(), Error> {
        self.int(Query::new("SELECT 1")).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.db.close().await
    }
}
