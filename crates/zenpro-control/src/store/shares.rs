//! Resource shares made through `POST /rbac/resource_members` (`shares` table): one row per
//! (workspace, resource, user or team) with the shared actions as a comma-separated list.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;
use crate::rbac::{Action, Resource, ResourceType, Share};

/// Who a share is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    User(Uuid),
    Team(Uuid),
}

/// A share row.
#[derive(Debug, Clone)]
pub struct ShareRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub actions: String,
    pub sharing_user_id: Option<Uuid>,
    pub created: String,
}

impl FromRow for ShareRow {
    fn from_row(r: &Row) -> Self {
        ShareRow {
            id: r.uuid("id"),
            workspace_id: r.uuid("workspace_id"),
            resource_type: r.str("resource_type"),
            resource_id: r.opt_uuid("resource_id"),
            project_id: r.opt_uuid("project_id"),
            user_id: r.opt_uuid("user_id"),
            team_id: r.opt_uuid("team_id"),
            actions: r.str("actions"),
            sharing_user_id: r.opt_uuid("sharing_user_id"),
            created: r.str("created"),
        }
    }
}

impl ShareRow {
    /// The share as the evaluator sees it; `None` for a row it cannot understand (a type a newer
    /// zenml added), which then grants nothing.
    pub fn to_share(&self) -> Option<Share> {
        let resource_type = ResourceType::parse(&self.resource_type)?;
        let resource = Resource::new(resource_type, self.resource_id, self.project_id).ok()?;
        let actions = self.actions.split(',').filter_map(Action::parse).collect();
        Some(Share { resource, actions })
    }
}

const COLUMNS: &str =
    "id, workspace_id, resource_type, resource_id, project_id, user_id, team_id, actions, sharing_user_id, created";

/// The `user_id = ?` / `team_id = ?` condition of a member.
fn member_condition(member: Member) -> (&'static str, Uuid) {
    match member {
        Member::User(id) => ("user_id = ?", id),
        Member::Team(id) => ("team_id = ?", id),
    }
}

impl Store {
    /// Replace the actions `member` has on `resource` in the workspace (no actions = unshare).
    pub async fn replace_share(
        &self,
        workspace_id: Uuid,
        resource: &Resource,
        member: Member,
        actions: &[Action],
        sharing_user_id: Option<Uuid>,
    ) -> Result<(), Error> {
        let (cond, member_id) = member_condition(member);
        let err = |e| crate::db::map_err(e, "conflict");
        let mut tx = self.db().begin().await?;
        tx.execute(q!(
            format!("DELETE FROM shares WHERE workspace_id = ? AND resource_type = ? AND resource_id = ? AND {cond}"),
            workspace_id,
            resource.resource_type.as_str(),
            resource.id,
            member_id
        ))
        .await
        .map_err(err)?;
        if !actions.is_empty() {
            let mut names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            let (user_id, team_id) = match member {
                Member::User(id) => (Some(id), None),
                Member::Team(id) => (None, Some(id)),
            };
            tx.execute(q!(
                "INSERT INTO shares (id, workspace_id, resource_type, resource_id, project_id, user_id, team_id, \
                 actions, sharing_user_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                Uuid::new_v4(),
                workspace_id,
                resource.resource_type.as_str(),
                resource.id,
                resource.project_id,
                user_id,
                team_id,
                names.join(","),
                sharing_user_id,
                crate::now_text()
            ))
            .await
            .map_err(err)?;
        }
        tx.commit().await
    }

    /// Forget every share of these resources (they were deleted in the workspace). Resources
    /// without an id are ignored.
    pub async fn delete_shares_of(&self, workspace_id: Uuid, resources: &[Resource]) -> Result<u64, Error> {
        let mut n = 0;
        for r in resources.iter().filter(|r| r.id.is_some()) {
            n += self
                .exec(
                    q!(
                        "DELETE FROM shares WHERE workspace_id = ? AND resource_type = ? AND resource_id = ?",
                        workspace_id,
                        r.resource_type.as_str(),
                        r.id
                    ),
                    "conflict",
                )
                .await?;
        }
        Ok(n)
    }

    /// The shares a principal holds in a workspace, directly or through its teams.
    pub async fn shares_of(&self, workspace_id: Uuid, principal: Uuid) -> Result<Vec<ShareRow>, Error> {
        self.all(q!(
            format!(
                "SELECT {COLUMNS} FROM shares WHERE workspace_id = ? AND (user_id = ? OR team_id IN \
                 (SELECT team_id FROM team_members WHERE user_id = ?)) ORDER BY created, id"
            ),
            workspace_id,
            principal,
            principal
        ))
        .await
    }

    /// The workspaces where a principal holds a share (directly or through its teams).
    pub async fn workspaces_with_shares(&self, principal: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows: Vec<Row> = self
            .all(q!(
                "SELECT DISTINCT workspace_id FROM shares WHERE user_id = ? OR team_id IN \
                 (SELECT team_id FROM team_members WHERE user_id = ?)",
                principal,
                principal
            ))
            .await?;
        Ok(rows.iter().map(|r| r.uuid("workspace_id")).collect())
    }

    /// Every share of a resource in a workspace (for tests and the admin view).
    pub async fn shares_on(&self, workspace_id: Uuid, resource: &Resource) -> Result<Vec<ShareRow>, Error> {
        self.all(q!(
            format!(
                "SELECT {COLUMNS} FROM shares WHERE workspace_id = ? AND resource_type = ? AND resource_id = ? \
                 ORDER BY created, id"
            ),
            workspace_id,
            resource.resource_type.as_str(),
            resource.id
        ))
        .await
    }
}
