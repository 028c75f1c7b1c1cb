//! Role assignments and the grants a principal holds (directly or through its teams).

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `role_assignments`: `role` (a role name such as `Admin`) at `scope`
/// (`organization` | `workspace` | `project`) to exactly one of `user_id` / `team_id`.
/// `organization_id` is always set (the organization the scope belongs to); `workspace_id` for
/// workspace and project scopes; `project_id` (the workspace-local project UUID) for project scope.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    pub id: Uuid,
    pub role: String,
    pub scope: String,
    pub organization_id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub created: String,
}

impl FromRow for GrantRow {
    fn from_row(r: &Row) -> Self {
        GrantRow {
            id: r.uuid("id"),
            role: r.str("role"),
            scope: r.str("scope"),
            organization_id: r.uuid("organization_id"),
            workspace_id: r.opt_uuid("workspace_id"),
            project_id: r.opt_uuid("project_id"),
            user_id: r.opt_uuid("user_id"),
            team_id: r.opt_uuid("team_id"),
            created: r.str("created"),
        }
    }
}

/// A grant as the RBAC evaluation needs it (see `grants_for_principal`).
pub type Grant = GrantRow;

const COLS: &str = "id, role, scope, organization_id, workspace_id, project_id, user_id, team_id, created";

/// A new role assignment (already validated by the caller).
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub role: String,
    pub scope: String,
    pub organization_id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

/// Filters of `GET /role_assignments`.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub organization_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub role: Option<String>,
    pub scope: Option<String>,
}

fn opt(u: Option<Uuid>) -> String {
    u.map(|u| u.to_string()).unwrap_or_default()
}

impl Store {
    /// Create a role assignment; 409 when the same grant exists.
    pub async fn create_grant(&self, g: NewGrant) -> Result<GrantRow, Error> {
        let id = Uuid::new_v4();
        let key = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            g.scope,
            g.role,
            g.organization_id,
            opt(g.workspace_id),
            opt(g.project_id),
            opt(g.user_id),
            opt(g.team_id)
        );
        self.exec(
            q!(
                "INSERT INTO role_assignments (id, role, scope, organization_id, workspace_id, project_id, user_id, team_id, grant_key, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                &g.role,
                &g.scope,
                g.organization_id,
                g.workspace_id,
                g.project_id,
                g.user_id,
                g.team_id,
                key,
                crate::now_text()
            ),
            "This role assignment already exists.",
        )
        .await?;
        self.get_grant(id).await?.ok_or_else(|| Error::internal("created role assignment vanished"))
    }

    pub async fn get_grant(&self, id: Uuid) -> Result<Option<GrantRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM role_assignments WHERE id = ?"), id)).await
    }

    pub async fn delete_grant(&self, id: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM role_assignments WHERE id = ?", id), "conflict").await? > 0)
    }

    /// Role assignments matching every given filter, oldest first.
    pub async fn list_grants(&self, f: &GrantFilter) -> Result<Vec<GrantRow>, Error> {
        let mut q = q!(format!("SELECT {COLS} FROM role_assignments WHERE 1 = 1"));
        for (col, v) in [
            ("organization_id", f.organization_id),
            ("workspace_id", f.workspace_id),
            ("project_id", f.project_id),
            ("user_id", f.user_id),
            ("team_id", f.team_id),
        ] {
            if let Some(v) = v {
                q.push_sql(&format!(" AND {col} = ?"));
                q.push_param(v);
            }
        }
        if let Some(r) = &f.role {
            q.push_sql(" AND role = ?");
            q.push_param(r);
        }
        if let Some(s) = &f.scope {
            q.push_sql(" AND scope = ?");
            q.push_param(s);
        }
        q.push_sql(" ORDER BY created, id");
        self.all(q).await
    }

    /// Remove a user (or service account) from an organization, in one transaction: its own
    /// role assignments there and its memberships of the organization's teams. The numbers of
    /// both removed.
    pub async fn remove_org_member(&self, organization_id: Uuid, user_id: Uuid) -> Result<(u64, u64), Error> {
        let mut tx = self.db().begin().await?;
        let err = |e| crate::db::map_err(e, "conflict");
        let grants = tx
            .execute(q!(
                "DELETE FROM role_assignments WHERE organization_id = ? AND user_id = ?",
                organization_id,
                user_id
            ))
            .await
            .map_err(err)?;
        let teams = tx
            .execute(q!(
                "DELETE FROM team_members WHERE user_id = ? AND team_id IN (SELECT id FROM teams WHERE organization_id = ?)",
                user_id,
                organization_id
            ))
            .await
            .map_err(err)?;
        tx.commit().await?;
        Ok((grants, teams))
    }

    /// Every grant a user or service account holds: its own and those of its teams.
    pub async fn grants_for_principal(&self, user_id: Uuid) -> Result<Vec<Grant>, Error> {
        self.all(q!(
            format!(
                "SELECT {COLS} FROM role_assignments WHERE user_id = ? OR team_id IN (SELECT team_id FROM team_members WHERE user_id = ?) ORDER BY created, id"
            ),
            user_id,
            user_id
        ))
        .await
    }
}
