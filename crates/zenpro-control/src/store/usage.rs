//! Usage events reported by workspaces (`POST /usage-event`), de-duplicated by (organization,
//! workspace, feature, resource id) with the table's unique key.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row, is_unique_violation, map_err};
use crate::q;

/// A usage event to record.
#[derive(Debug, Clone)]
pub struct NewUsageEvent {
    pub organization_id: Uuid,
    pub workspace_id: Uuid,
    pub feature: String,
    pub resource_id: String,
    pub total: i64,
    /// The event's `metadata` object as JSON text.
    pub metadata: String,
}

/// A recorded usage event.
#[derive(Debug, Clone)]
pub struct UsageEventRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub workspace_id: Uuid,
    pub feature: String,
    pub resource_id: String,
    pub total: Option<i64>,
    pub metadata: Option<String>,
    pub created: String,
}

impl FromRow for UsageEventRow {
    fn from_row(r: &Row) -> Self {
        UsageEventRow {
            id: r.uuid("id"),
            organization_id: r.uuid("organization_id"),
            workspace_id: r.uuid("workspace_id"),
            feature: r.str("feature"),
            resource_id: r.str("resource_id"),
            total: r.opt_i64("total"),
            metadata: r.opt_str("metadata"),
            created: r.str("created"),
        }
    }
}

impl Store {
    /// Record an event; `false` when the same (organization, workspace, feature, resource) was
    /// already recorded (a repeated report, which zenml sends for pipeline runs).
    pub async fn record_usage(&self, e: &NewUsageEvent) -> Result<bool, Error> {
        let res = self
            .db()
            .execute(q!(
                "INSERT INTO usage_events (id, organization_id, workspace_id, feature, resource_id, total, metadata, \
                 created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                Uuid::new_v4(),
                e.organization_id,
                e.workspace_id,
                &e.feature,
                &e.resource_id,
                e.total,
                &e.metadata,
                crate::now_text()
            ))
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(err) if is_unique_violation(&err) => Ok(false),
            Err(err) => Err(map_err(err, "conflict")),
        }
    }

    /// Forget the event of a resource (a decrement, `total < 0`). `false` when there was none.
    pub async fn forget_usage(
        &self,
        organization_id: Uuid,
        workspace_id: Uuid,
        feature: &str,
        resource_id: &str,
    ) -> Result<bool, Error> {
        let n = self
            .exec(
                q!(
                    "DELETE FROM usage_events WHERE organization_id = ? AND workspace_id = ? AND feature = ? \
                     AND resource_id = ?",
                    organization_id,
                    workspace_id,
                    feature,
                    resource_id
                ),
                "conflict",
            )
            .await?;
        Ok(n > 0)
    }

    /// The events of a workspace, oldest first.
    pub async fn usage_events(&self, workspace_id: Uuid) -> Result<Vec<UsageEventRow>, Error> {
        self.all(q!(
            "SELECT id, organization_id, workspace_id, feature, resource_id, total, metadata, created \
             FROM usage_events WHERE workspace_id = ? ORDER BY created, id",
            workspace_id
        ))
        .await
    }
}
