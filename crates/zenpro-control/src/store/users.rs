//! Users and service accounts (one table; `is_service_account` tells them apart).

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::db::{FromRow, Row};
use crate::q;

/// A row of `users`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    /// bcrypt; `None` for service accounts.
    pub password_hash: Option<String>,
    pub is_superuser: bool,
    pub is_service_account: bool,
    /// The organization of a service account.
    pub organization_id: Option<Uuid>,
    pub active: bool,
    /// When the password was last set (tokens issued before are refused).
    pub password_changed: Option<String>,
    pub created: String,
    pub updated: String,
}

impl FromRow for UserRow {
    fn from_row(r: &Row) -> Self {
        UserRow {
            id: r.uuid("id"),
            username: r.str("username"),
            email: r.opt_str("email"),
            full_name: r.opt_str("full_name"),
            password_hash: r.opt_str("password_hash"),
            is_superuser: r.bool("is_superuser"),
            is_service_account: r.bool("is_service_account"),
            organization_id: r.opt_uuid("organization_id"),
            active: r.bool("active"),
            password_changed: r.opt_str("password_changed"),
            created: r.str("created"),
            updated: r.str("updated"),
        }
    }
}

const COLS: &str = "id, username, email, full_name, password_hash, is_superuser, is_service_account, organization_id, active, password_changed, created, updated";

/// A new user or service account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub password_hash: Option<String>,
    pub is_superuser: bool,
    pub is_service_account: bool,
    pub organization_id: Option<Uuid>,
    pub active: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub email: Option<Option<String>>,
    pub full_name: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub is_superuser: Option<bool>,
    pub active: Option<bool>,
}

impl Store {
    /// Create a user; 409 when the name is taken (users and service accounts share names).
    pub async fn create_user(&self, u: NewUser) -> Result<UserRow, Error> {
        let id = Uuid::new_v4();
        let now = crate::now_text();
        self.exec(
            q!(
                "INSERT INTO users (id, username, email, full_name, password_hash, is_superuser, is_service_account, organization_id, active, password_changed, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                &u.username,
                u.email.clone(),
                u.full_name.clone(),
                u.password_hash.clone(),
                u.is_superuser,
                u.is_service_account,
                u.organization_id,
                u.active,
                now.clone(),
                now.clone(),
                now.clone()
            ),
            &format!("A user or service account named '{}' already exists.", u.username),
        )
        .await?;
        self.get_user(id).await?.ok_or_else(|| Error::internal("created user vanished"))
    }

    /// A user or service account by id.
    pub async fn get_user(&self, id: Uuid) -> Result<Option<UserRow>, Error> {
        self.one(q!(format!("SELECT {COLS} FROM users WHERE id = ?"), id)).await
    }

    /// A user or service account by id (UUID text) or name.
    pub async fn get_user_by_id_or_name(&self, key: &str) -> Result<Option<UserRow>, Error> {
        if let Ok(id) = Uuid::parse_str(key)
            && let Some(u) = self.get_user(id).await?
        {
            return Ok(Some(u));
        }
        self.one(q!(format!("SELECT {COLS} FROM users WHERE username = ?"), key)).await
    }

    /// Users (`service_accounts = false`) or service accounts, by name; service accounts
    /// optionally of one organization.
    pub async fn list_users(&self, service_accounts: bool, organization: Option<Uuid>) -> Result<Vec<UserRow>, Error> {
        let mut q = q!(format!("SELECT {COLS} FROM users WHERE is_service_account = ?"), service_accounts);
        if let Some(org) = organization {
            q.push_sql(" AND organization_id = ?");
            q.push_param(org);
        }
        q.push_sql(" ORDER BY username, id");
        self.all(q).await
    }

    /// Whether any user exists (first start).
    pub async fn user_count(&self) -> Result<i64, Error> {
        self.int(q!("SELECT COUNT(*) FROM users")).await
    }

    /// Apply an update and return the new row.
    pub async fn update_user(&self, id: Uuid, u: UserUpdate) -> Result<UserRow, Error> {
        let now = crate::now_text();
        let mut q = q!("UPDATE users SET updated = ?", now.clone());
        if let Some(v) = u.email {
            q.push_sql(", email = ?");
            q.push_param(v);
        }
        if let Some(v) = u.full_name {
            q.push_sql(", full_name = ?");
            q.push_param(v);
        }
        if let Some(v) = u.password_hash {
            q.push_sql(", password_hash = ?, password_changed = ?");
            q.push_param(v);
            q.push_param(now);
        }
        if let Some(v) = u.is_superuser {
            q.push_sql(", is_superuser = ?");
            q.push_param(v);
        }
        if let Some(v) = u.active {
            q.push_sql(", active = ?");
            q.push_param(v);
        }
        q.push_sql(" WHERE id = ?");
        q.push_param(id);
        self.exec(q, "conflict").await?;
        self.get_user(id).await?.ok_or_else(|| Error::not_found(format!("No user with id {id}.")))
    }

    /// Delete a user or service account (its grants, memberships and keys go with it).
    pub async fn delete_user(&self, id: Uuid) -> Result<bool, Error> {
        Ok(self.exec(q!("DELETE FROM users WHERE id = ?", id), "conflict").await? > 0)
    }
}
