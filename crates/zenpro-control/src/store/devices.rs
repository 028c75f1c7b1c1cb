//! Devices of the OAuth2 device authorization grant (`devices` table). The device code is
//! stored as its SHA-256; the user code in clear (short-lived, usable only by a logged-in user).
//! Status: `pending` → `approved` | `denied` → (`approved` only) `used` once the token was issued.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A device row.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: Uuid,
    pub client_id: String,
    pub user_code: String,
    pub status: String,
    pub user_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub python_version: Option<String>,
    pub zenml_version: Option<String>,
    pub created: String,
    pub expires: String,
    pub last_poll: Option<String>,
}

impl FromRow for DeviceRow {
    fn from_row(r: &Row) -> Self {
        DeviceRow {
            id: r.uuid("id"),
            client_id: r.str("client_id"),
            user_code: r.str("user_code"),
            status: r.str("status"),
            user_id: r.opt_uuid("user_id"),
            workspace_id: r.opt_uuid("workspace_id"),
            device_id: r.opt_str("device_id"),
            user_agent: r.opt_str("user_agent"),
            ip_address: r.opt_str("ip_address"),
            hostname: r.opt_str("hostname"),
            os: r.opt_str("os"),
            python_version: r.opt_str("python_version"),
            zenml_version: r.opt_str("zenml_version"),
            created: r.str("created"),
            expires: r.str("expires"),
            last_poll: r.opt_str("last_poll"),
        }
    }
}

/// A device to create (`status` pending).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: Uuid,
    pub client_id: String,
    pub device_code_hash: String,
    pub user_code: String,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub python_version: Option<String>,
    pub zenml_version: Option<String>,
    pub created: String,
    pub expires: String,
}

const COLUMNS: &str = "id, client_id, user_code, status, user_id, workspace_id, device_id, user_agent, ip_address, \
     hostname, os, python_version, zenml_version, created, expires, last_poll";

impl Store {
    /// Insert a pending device; a clash of codes (astronomically unlikely) is a 409.
    pub async fn create_device(&self, d: &NewDevice) -> Result<(), Error> {
        self.exec(
            q!(
                "INSERT INTO devices (id, client_id, device_code_hash, user_code, status, device_id, user_agent, \
                 ip_address, hostname, os, python_version, zenml_version, failed_attempts, created, expires) \
                 VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                d.id,
                &d.client_id,
                &d.device_code_hash,
                &d.user_code,
                &d.device_id,
                &d.user_agent,
                &d.ip_address,
                &d.hostname,
                &d.os,
                &d.python_version,
                &d.zenml_version,
                &d.created,
                &d.expires,
            ),
            "device code clash",
        )
        .await
        .map(|_| ())
    }

    /// The device of a device code hash.
    pub async fn device_by_code_hash(&self, hash: &str) -> Result<Option<DeviceRow>, Error> {
        self.one(q!(format!("SELECT {COLUMNS} FROM devices WHERE device_code_hash = ?"), hash)).await
    }

    /// The device of a user code.
    pub async fn device_by_user_code(&self, user_code: &str) -> Result<Option<DeviceRow>, Error> {
        self.one(q!(format!("SELECT {COLUMNS} FROM devices WHERE user_code = ?"), user_code)).await
    }

    /// Record a poll.
    pub async fn device_polled(&self, id: Uuid, at: &str) -> Result<(), Error> {
        self.exec(q!("UPDATE devices SET last_poll = ? WHERE id = ?", at, id), "conflict").await.map(|_| ())
    }

    /// Approve (with the user and workspace) or deny a pending device. `false` when it was not
    /// pending any more (decided by someone else, or used).
    pub async fn decide_device(
        &self,
        id: Uuid,
        approve: bool,
        user_id: Uuid,
        workspace_id: Option<Uuid>,
    ) -> Result<bool, Error> {
        let status = if approve { "approved" } else { "denied" };
        let n = self
            .exec(
                q!(
                    "UPDATE devices SET status = ?, user_id = ?, workspace_id = ? WHERE id = ? AND status = 'pending'",
                    status,
                    user_id,
                    workspace_id,
                    id
                ),
                "conflict",
            )
            .await?;
        Ok(n == 1)
    }

    /// Mark an approved device used (its token is being issued). `false` when another poll won.
    pub async fn use_device(&self, id: Uuid) -> Result<bool, Error> {
        let n = self
            .exec(q!("UPDATE devices SET status = 'used' WHERE id = ? AND status = 'approved'", id), "conflict")
            .await?;
        Ok(n == 1)
    }

    /// Forget devices that expired before `before` and were never used.
    pub async fn delete_expired_devices(&self, before: &str) -> Result<u64, Error> {
        self.exec(q!("DELETE FROM devices WHERE expires < ? AND status <> 'used'", before), "conflict").await
    }
}
