//! Workspaces: registry rows, enrollment key hashes, reported status.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `workspaces`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Configured URL (by the admin).
    pub url: Option<String>,
    /// URL the workspace reported (`zenml-server-url`).
    pub server_url: Option<String>,
    pub version: Option<String>,
    /// `not_initialized` | `available` | `deactivated`.
    pub status: String,
    /// `available` | `deactivated`.
    pub desired_state: String,
    pub state_reason: Option<String>,
    pub enrollment_key_hash: Option<String>,
    pub last_seen: Option<String>,
    pub created: String,
    pub updated: String,
}

impl FromRow for WorkspaceRow {
    fn from_row(r: &Row) -> Self {
        WorkspaceRow {
            id: r.uuid("id"),
            organization_id: r.uuid("organization_id"),
            name: r.str("name"),
            description: r.opt_str("description"),
            url: r.opt_str("url"),
            server_url: r.opt_str("server_url"),
            version: r.opt_str("version"),
            status: r.str("status"),
            desired_state: r.str("desired_state"),
            state_reason: r.opt_str("state_reason"),
            enrollment_key_hash: r.opt_str("enrollment_key_hash"),
            last_seen: r.opt_str("last_seen"),
            created: r.str("created"),
            updated: r.str("updated"),
        }
    }
}

const COLS: &str = "id, organization_id, name, description, url, server_url, version, status, desired_state, state_reason, enrollment_key_hash, last_seen, created, updated";

/// Changes to a workspace; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceUpdate {
    pub url: Option<Option<String>>,
    pub description: Option<Option<String>>,
    /// `available` or `deactivated`; also sets `status`.
    pub desired_state: Option<String>,
    pub state_reason: Option<Option<String>>,
}

impl Store {
    /// Create a workspace (`not_initialized`) with the hash of its enrollment key.
    pub async fn create_workspace(
        &self,
        organization_id: Uuid,
        name: &str,
        description: Option<String>,
        url: Option<String>,
        enrollment_key_hash: &str,
    ) -> Result<WorkspaceRow, Error> {
        let id = Uuid::new_v4();
        let now = crate::now_text();
        self.exec(
            q!(
                "INSERT INTO workspaces (id, organization_id, name, description, url, status, desired_state, enrollment_key_hash, created, updated) VALUES (?, ?, ?, ?, ?, 'not_initialized', 'available', ?, ?, ?)",
                id,
                organization_id,
                name,
                description,
                url,
                enrollment_key_hash,
                now.clone(),
                now
            ),
            &format!("A workspace named '{name}' already exists."),
        )
        .await?;
        self.get_workspace(id).await?.ok_or_else(|| Error::internal("created workspace vanished"))
    }

    pub async fn get_workspace(&self, id: Uuid) -> Result<Option<WorkspaceRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM workspaces WHERE id = ?"), id)).await
    }

    /// By id (UUID text) or name.
    pub async fn get_workspace_by_id_or_name(&self, key: &str) -> Result<Option<WorkspaceRow>, Error> {
        if let Ok(id) = Uuid::parse_str(key)
            && let Some(w) = self.get_workspace(id).await?
        {
            return Ok(Some(w));
        }
        self.one(q!(format!("SELECT {COLS} FROM workspaces WHERE name = ?"), key)).await
    }

    /// All workspaces, optionally of one organization, by name.
    pub async fn list_workspaces(&self, organization: Option<Uuid>) -> Result<Vec<WorkspaceRow>, Error> {
        let mut q = q!(format!("SELECT {COLS} FROM workspaces"));
        if let Some(org) = organization {
            q.push_sql(" WHERE organization_id = ?");
            q.push_param(org);
        }
        q.push_sql(" ORDER BY name, id");
        self.all(q).await
    }

    /// Apply an update and return the new row.
    pub async fn update_workspace(&self, id: Uuid, u: WorkspaceUpdate) -> Result<WorkspaceRow, Error> {
        let mut q = q!("UPDATE workspaces SET updated = ?", crate::now_text());
        if let Some(v) = u.url {
            q.push_sql(", url = ?");
            q.push_param(v);
        }
        if let Some(v) = u.description {
            q.push_sql(", description = ?");
            q.push_param(v);
        }
        if let Some(v) = u.state_reason {
            q.push_sql(", state_reason = ?");
            q.push_param(v);
        }
        if let Some(v) = u.desired_state {
            // Re-activated: available when it has reported before, else not yet initialised.
            q.push_sql(
                ", desired_state = ?, status = CASE WHEN ? = 'deactivated' THEN 'deactivated' WHEN last_seen IS NULL THEN 'not_initialized' ELSE 'available' END",
            );
            q.push_param(v.clone());
            q.push_param(v);
        }
        q.push_sql(" WHERE id = ?");
        q.push_param(id);
        self.exec(q, "conflict").await?;
        self.get_workspace(id).await?.ok_or_else(|| Error::not_found(format!("No workspace with id {id}.")))
    }

    /// Replace the enrollment key hash (the old key stops working at once).
    pub async fn set_enrollment_key_hash(&self, id: Uuid, hash: &str) -> Result<bool, Error> {
        Ok(self
            .exec(
                q!(
                    "UPDATE workspaces SET enrollment_key_hash = ?, updated = ? WHERE id = ?",
                    hash,
                    crate::now_text(),
                    id
                ),
                "conflict",
            )
            .await?
            > 0)
    }

    /// Whether `key` is the enrollment key of workspace `id` (SHA-256, constant-time compare).
    /// Returns the workspace when it is.
    pub async fn verify_enrollment_key(&self, id: Uuid, key: &str) -> Result<Option<WorkspaceRow>, Error> {
        let ws = self.get_workspace(id).await?;
        let ok = match ws.as_ref().and_then(|w| w.enrollment_key_hash.as_deref()) {
            Some(stored) => zenpro_auth::secret::verify_sha256(key, stored),
            None => {
                // Same work for unknown workspaces.
                let _ = zenpro_auth::secret::verify_sha256(key, &"0".repeat(64));
                false
            }
        };
        Ok(if ok { ws } else { None })
    }

    /// Record a status report (`PATCH /workspace_status`): `available` unless deactivated.
    pub async fn report_workspace_status(
        &self,
        id: Uuid,
        server_url: Option<String>,
        version: Option<String>,
    ) -> Result<Option<WorkspaceRow>, Error> {
        let now = crate::now_text();
        self.exec(
            q!(
                "UPDATE workspaces SET server_url = COALESCE(?, server_url), version = COALESCE(?, version), last_seen = ?, status = CASE WHEN desired_state = 'deactivated' THEN 'deactivated' ELSE 'available' END WHERE id = ?",
                server_url,
                version,
                now,
                id
            ),
            "conflict",
        )
        .await?;
        self.get_workspace(id).await
    }

    pub async fn delete_workspace(&self, id: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM workspaces WHERE id = ?", id), "conflict").await? > 0)
    }
}
