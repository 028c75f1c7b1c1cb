//! API keys of service accounts (`ZENPROKEY_<id>_<secret>`; SHA-256 of the secret stored).

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `api_keys`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: String,
    pub active: bool,
    pub last_used: Option<String>,
    pub created: String,
}

impl FromRow for ApiKeyRow {
    fn from_row(r: &Row) -> Self {
        ApiKeyRow {
            id: r.uuid("id"),
            user_id: r.uuid("user_id"),
            secret_hash: r.str("secret_hash"),
            active: r.bool("active"),
            last_used: r.opt_str("last_used"),
            created: r.str("created"),
        }
    }
}

const COLS: &str = "id, user_id, secret_hash, active, last_used, created";

impl Store {
    pub async fn create_api_key(&self, id: Uuid, user_id: Uuid, secret_hash: &str) -> Result<ApiKeyRow, Error> {
        self.exec(
            q!(
                "INSERT INTO api_keys (id, user_id, secret_hash, active, created) VALUES (?, ?, ?, 1, ?)",
                id,
                user_id,
                secret_hash,
                crate::now_text()
            ),
            "API key id collision.",
        )
        .await?;
        self.get_api_key(id).await?.ok_or_else(|| Error::internal("created API key vanished"))
    }

    pub async fn get_api_key(&self, id: Uuid) -> Result<Option<ApiKeyRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM api_keys WHERE id = ?"), id)).await
    }

    /// Keys of a service account, oldest first.
    pub async fn list_api_keys(&self, user_id: Uuid) -> Result<Vec<ApiKeyRow>, Error> {
        self.all(q!(format!("SELECT {COLS} FROM api_keys WHERE user_id = ? ORDER BY created, id"), user_id)).await
    }

    /// Revoke (delete) a key of a service account.
    pub async fn delete_api_key(&self, user_id: Uuid, id: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM api_keys WHERE id = ? AND user_id = ?", id, user_id), "conflict").await? > 0)
    }

    /// Record a use; at most one write per key and minute, so a busy key does not write on
    /// every request.
    pub async fn touch_api_key(&self, id: Uuid) -> Result<(), Error> {
        let now = chrono::Utc::now();
        let minute_ago = crate::time_text(now - chrono::Duration::seconds(60));
        self.exec(
            q!(
                "UPDATE api_keys SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)",
                crate::time_text(now),
                id,
                minute_ago
            ),
            "conflict",
        )
        .await
        .map(|_| ())
    }
}
