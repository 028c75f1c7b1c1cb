//! Organizations.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `organizations`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created: String,
    pub updated: String,
}

impl FromRow for OrganizationRow {
    fn from_row(r: &Row) -> Self {
        OrganizationRow {
            id: r.uuid("id"),
            name: r.str("name"),
            description: r.opt_str("description"),
            created: r.str("created"),
            updated: r.str("updated"),
        }
    }
}

const COLS: &str = "id, name, description, created, updated";

impl Store {
    /// Create an organization; 409 when the name is taken.
    pub async fn create_organization(&self, name: &str, description: Option<String>) -> Result<OrganizationRow, Error> {
        let id = Uuid::new_v4();
        let now = crate::now_text();
        self.exec(
            q!(
                "INSERT INTO organizations (id, name, description, created, updated) VALUES (?, ?, ?, ?, ?)",
                id,
                name,
                description,
                now.clone(),
                now
            ),
            &format!("An organization named '{name}' already exists."),
        )
        .await?;
        self.get_organization(id).await?.ok_or_else(|| Error::internal("created organization vanished"))
    }

    pub async fn get_organization(&self, id: Uuid) -> Result<Option<OrganizationRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM organizations WHERE id = ?"), id)).await
    }

    /// By id (UUID text) or name.
    pub async fn get_organization_by_id_or_name(&self, key: &str) -> Result<Option<OrganizationRow>, Error> {
        if let Ok(id) = Uuid::parse_str(key)
            && let Some(o) = self.get_organization(id).await?
        {
            return Ok(Some(o));
        }
        self.one(q!(format!("SELECT {COLS} FROM organizations WHERE name = ?"), key)).await
    }

    /// All organizations, or those with the given ids, by name.
    pub async fn list_organizations(&self, ids: Option<&[Uuid]>) -> Result<Vec<OrganizationRow>, Error> {
        let mut q = q!(format!("SELECT {COLS} FROM organizations"));
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            q.push_sql(" WHERE id IN (");
            for (i, id) in ids.iter().enumerate() {
                q.push_sql(if i == 0 { "?" } else { ", ?" });
                q.push_param(id);
            }
            q.push_sql(")");
        }
        q.push_sql(" ORDER BY name, id");
        self.all(q).await
    }

    /// Rename or describe an organization.
    pub async fn update_organization(
        &self,
        id: Uuid,
        name: Option<&str>,
        description: Option<Option<String>>,
    ) -> Result<OrganizationRow, Error> {
        let mut q = q!("UPDATE organizations SET updated = ?", crate::now_text());
        if let Some(n) = name {
            q.push_sql(", name = ?");
            q.push_param(n);
        }
        if let Some(d) = description {
            q.push_sql(", description = ?");
            q.push_param(d);
        }
        q.push_sql(" WHERE id = ?");
        q.push_param(id);
        self.exec(q, &format!("An organization named '{}' already exists.", name.unwrap_or_default())).await?;
        self.get_organization(id).await?.ok_or_else(|| Error::not_found(format!("No organization with id {id}.")))
    }

    /// Delete an organization with its workspaces, teams, grants and service accounts.
    pub async fn delete_organization(&self, id: Uuid) -> Result<bool, Error> {
        let mut tx = self.db().begin().await?;
        let err = |e| crate::db::map_err(e, "conflict");
        tx.execute(q!("DELETE FROM users WHERE is_service_account = 1 AND organization_id = ?", id))
            .await
            .map_err(err)?;
        let n = tx.execute(q!("DELETE FROM organizations WHERE id = ?", id)).await.map_err(err)?;
        tx.commit().await?;
        Ok(n > 0)
    }
}
