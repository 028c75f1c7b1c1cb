//! Teams of an organization and their members.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use super::users::UserRow;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `teams`.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created: String,
    pub updated: String,
}

impl FromRow for TeamRow {
    fn from_row(r: &Row) -> Self {
        TeamRow {
            id: r.uuid("id"),
            organization_id: r.uuid("organization_id"),
            name: r.str("name"),
            description: r.opt_str("description"),
            created: r.str("created"),
            updated: r.str("updated"),
        }
    }
}

const COLS: &str = "id, organization_id, name, description, created, updated";

impl Store {
    /// Create a team; 409 when the organization has one of that name.
    pub async fn create_team(
        &self,
        organization_id: Uuid,
        name: &str,
        description: Option<String>,
    ) -> Result<TeamRow, Error> {
        let id = Uuid::new_v4();
        let now = crate::now_text();
        self.exec(
            q!(
                "INSERT INTO teams (id, organization_id, name, description, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                id,
                organization_id,
                name,
                description,
                now.clone(),
                now
            ),
            &format!("The organization already has a team named '{name}'."),
        )
        .await?;
        self.get_team(id).await?.ok_or_else(|| Error::internal("created team vanished"))
    }

    pub async fn get_team(&self, id: Uuid) -> Result<Option<TeamRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM teams WHERE id = ?"), id)).await
    }

    /// Teams, optionally of one organization, by name.
    pub async fn list_teams(&self, organization: Option<Uuid>) -> Result<Vec<TeamRow>, Error> {
        let mut q = q!(format!("SELECT {COLS} FROM teams"));
        if let Some(org) = organization {
            q.push_sql(" WHERE organization_id = ?");
            q.push_param(org);
        }
        q.push_sql(" ORDER BY name, id");
        self.all(q).await
    }

    pub async fn delete_team(&self, id: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM teams WHERE id = ?", id), "conflict").await? > 0)
    }

    /// Add a member; 409 when already a member.
    pub async fn add_team_member(&self, team: Uuid, user: Uuid) -> Result<(), Error> {
        self.exec(
            q!("INSERT INTO team_members (team_id, user_id, created) VALUES (?, ?, ?)", team, user, crate::now_text()),
            "The user is already a member of the team.",
        )
        .await
        .map(|_| ())
    }

    /// Remove a member; false when not a member.
    pub async fn remove_team_member(&self, team: Uuid, user: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", team, user), "conflict").await?
            > 0)
    }

    /// Members of a team, by name.
    pub async fn team_members(&self, team: Uuid) -> Result<Vec<UserRow>, Error> {
        self.all(q!(
            "SELECT u.id, u.username, u.email, u.full_name, u.password_hash, u.is_superuser, u.is_service_account, u.organization_id, u.active, u.password_changed, u.created, u.updated FROM users u JOIN team_members m ON m.user_id = u.id WHERE m.team_id = ? ORDER BY u.username, u.id",
            team
        ))
        .await
    }

    /// Ids of the teams a user belongs to.
    pub async fn teams_of_user(&self, user: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows: Vec<Row> = self.all(q!("SELECT team_id FROM team_members WHERE user_id = ?", user)).await?;
        Ok(rows.iter().map(|r| r.uuid("team_id")).collect())
    }
}
