//! Users and service accounts: both live in the `user` table (`is_service_account`).

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::{NameOrId, Store, db_err, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub is_service_account: bool,
    pub full_name: String,
    pub description: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub active: bool,
    pub password: Option<String>,
    pub password_changed_at: Option<NaiveDateTime>,
    pub activation_token: Option<String>,
    pub email_opted_in: Option<bool>,
    pub external_user_id: Option<String>,
    pub is_admin: bool,
    pub user_metadata: Option<String>,
    pub oidc_claims: Option<String>,
    pub default_project_id: Option<String>,
}

pub const USER_COLS: &str = "`user`.`id`, `user`.`created`, `user`.`updated`, `user`.`name`, \
    `user`.`is_service_account`, `user`.`full_name`, `user`.`description`, `user`.`email`, \
    `user`.`avatar_url`, `user`.`active`, `user`.`password`, `user`.`password_changed_at`, \
    `user`.`activation_token`, `user`.`email_opted_in`, `user`.`external_user_id`, \
    `user`.`is_admin`, `user`.`user_metadata`, CAST(`user`.`oidc_claims` AS CHAR) AS `oidc_claims`, \
    `user`.`default_project_id`";

const COMMON_FIELDS: [Field; 6] = [
    Field::col("id", Kind::Uuid, "`user`.`id`"),
    Field::col("created", Kind::Datetime, "`user`.`created`"),
    Field::col("updated", Kind::Datetime, "`user`.`updated`"),
    Field::col("name", Kind::Str, "`user`.`name`"),
    Field::col("active", Kind::Bool, "`user`.`active`"),
    Field::col("description", Kind::Str, "`user`.`description`"),
];

/// The fields of the reference's `UserFilter`.
pub static USER_LIST: ListSpec = ListSpec {
    from: "`user`",
    id: "`user`.`id`",
    select: USER_COLS,
    fields: &[
        COMMON_FIELDS[0],
        COMMON_FIELDS[1],
        COMMON_FIELDS[2],
        COMMON_FIELDS[3],
        COMMON_FIELDS[4],
        Field::col("full_name", Kind::Str, "`user`.`full_name`"),
        Field::col("email", Kind::Str, "`user`.`email`"),
        Field::col("external_user_id", Kind::Uuid, "`user`.`external_user_id`"),
        Field::col("email_opted_in", Kind::Bool, "`user`.`email_opted_in`"),
    ],
};

/// The fields of `ServiceAccountFilter` (`is_admin` is not a filter of either model, so the
/// reference ignores it as an unknown query key).
pub static SERVICE_ACCOUNT_LIST: ListSpec = ListSpec {
    from: "`user`",
    id: "`user`.`id`",
    select: USER_COLS,
    fields: &[
        COMMON_FIELDS[0],
        COMMON_FIELDS[1],
        COMMON_FIELDS[2],
        COMMON_FIELDS[3],
        COMMON_FIELDS[4],
        COMMON_FIELDS[5],
        Field::col("external_user_id", Kind::Uuid, "`user`.`external_user_id`"),
    ],
};

/// A new user or service account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub is_service_account: bool,
    pub full_name: String,
    pub description: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub active: bool,
    /// bcrypt hash.
    pub password_hash: Option<String>,
    /// Set when a non-empty password is given.
    pub password_changed_at: Option<NaiveDateTime>,
    pub activation_token_hash: Option<String>,
    pub email_opted_in: Option<bool>,
    pub external_user_id: Option<Uuid>,
    pub is_admin: bool,
    pub user_metadata: Option<String>,
    pub default_project_id: Option<Uuid>,
}

/// Column changes of a user; `None` keeps the value, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub full_name: Option<String>,
    pub description: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub active: Option<bool>,
    pub password_hash: Option<Option<String>>,
    pub password_changed_at: Option<NaiveDateTime>,
    pub activation_token_hash: Option<Option<String>>,
    pub email_opted_in: Option<Option<bool>>,
    pub external_user_id: Option<Option<Uuid>>,
    pub is_admin: Option<bool>,
    pub user_metadata: Option<Option<String>>,
    pub default_project_id: Option<Option<Uuid>>,
}

fn kind_label(sa: bool) -> &'static str {
    if sa { "service account" } else { "user" }
}

impl Store {
    /// Users (service accounts excluded) or service accounts.
    pub async fn list_accounts(&self, service_accounts: bool, params: &ListParams) -> Result<Page<UserRow>, Error> {
        let spec = if service_accounts { &SERVICE_ACCOUNT_LIST } else { &USER_LIST };
        let mut wh = Where::new();
        wh.and(q!("`user`.`is_service_account` = ?", service_accounts));
        list::list(&self.db, spec, params, &wh).await
    }

    /// A user or service account by id (either kind).
    pub async fn find_account_by_id(&self, id: Uuid) -> Result<Option<UserRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {USER_COLS} FROM `user` WHERE `user`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A user (`service_account = false`) or service account linked to this control-plane id.
    pub async fn find_account_by_external_id(
        &self,
        external_id: Uuid,
        service_account: bool,
    ) -> Result<Option<UserRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!(
                    "SELECT {USER_COLS} FROM `user` WHERE `user`.`external_user_id` = ? \
                     AND `user`.`is_service_account` = ? ORDER BY `user`.`created` LIMIT 1"
                ),
                external_id,
                service_account
            ))
            .await
            .map_err(db_err)
    }

    /// Owner (`user_id`) and, with `project_scoped`, project of an entity: `None` when there is
    /// no such row. For the Pro-mode permission checks (owners skip the control plane);
    /// `table` comes from a static declaration, never from request text.
    pub async fn entity_owner(
        &self,
        table: &'static str,
        project_scoped: bool,
        id: Uuid,
    ) -> Result<Option<(Option<String>, Option<String>)>, Error> {
        let project = if project_scoped { "`project_id`" } else { "NULL" };
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT `user_id`, {project} FROM `{table}` WHERE `id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// One id column (`pipeline_run_id`, `artifact_id`, ...) of an entity, for the Pro-mode
    /// checks made on a parent: `None` when there is no such row, `Some(None)` when the column
    /// is NULL. `table` and `column` come from static declarations, never from request text.
    pub async fn entity_column(
        &self,
        table: &'static str,
        column: &'static str,
        id: Uuid,
    ) -> Result<Option<Option<String>>, Error> {
        let row: Option<(Option<String>,)> = self
            .db
            .clone()
            .fetch_optional(q!(format!("SELECT `{column}` FROM `{table}` WHERE `id` = ?"), id))
            .await
            .map_err(db_err)?;
        Ok(row.map(|(v,)| v))
    }

    /// A user (`service_account = false`) or service account by name or id.
    pub async fn find_account(&self, key: &NameOrId, service_account: bool) -> Result<Option<UserRow>, Error> {
        let query = match key {
            NameOrId::Id(id) => q!(
                format!("SELECT {USER_COLS} FROM `user` WHERE `user`.`id` = ? AND `user`.`is_service_account` = ?"),
                *id,
                service_account
            ),
            NameOrId::Name(n) => q!(
                format!("SELECT {USER_COLS} FROM `user` WHERE `user`.`name` = ? AND `user`.`is_service_account` = ?"),
                n,
                service_account
            ),
        };
        self.db.clone().fetch_optional(query).await.map_err(db_err)
    }

    pub async fn get_account(&self, key: &NameOrId, service_account: bool) -> Result<UserRow, Error> {
        let label = kind_label(service_account);
        self.find_account(key, service_account).await?.ok_or_else(|| match key {
            NameOrId::Id(id) => Error::not_found(format!("No {label} with ID '{id}' found.")),
            NameOrId::Name(n) => Error::not_found(format!("No {label} with name '{n}' found.")),
        })
    }

    /// All accounts with these ids (one query, for hydrating lists).
    pub async fn accounts_by_ids(&self, ids: &[Uuid]) -> Result<Vec<UserRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let mut query = q!(format!("SELECT {USER_COLS} FROM `user` WHERE `user`.`id` IN ({marks})"));
        for id in ids {
            query.push_param(*id);
        }
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    pub async fn create_account(&self, u: NewUser) -> Result<UserRow, Error> {
        let id = Uuid::new_v4();
        let now = utc_now();
        let label = kind_label(u.is_service_account);
        let conflict = format!("Unable to create {label} '{}': Found an existing {label} with the same name.", u.name);
        // `oidc_claims` is the JSON text `null` for users, SQL NULL for service accounts.
        let oidc: Option<&str> = if u.is_service_account { None } else { Some("null") };
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `user` (`id`, `created`, `updated`, `name`, `is_service_account`, `full_name`, \
                 `description`, `email`, `avatar_url`, `active`, `password`, `password_changed_at`, \
                 `activation_token`, `email_opted_in`, `external_user_id`, `is_admin`, `user_metadata`, \
                 `oidc_claims`, `default_project_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                u.name,
                u.is_service_account,
                u.full_name,
                u.description,
                u.email,
                u.avatar_url,
                u.active,
                u.password_hash,
                u.password_changed_at,
                u.activation_token_hash,
                u.email_opted_in,
                u.external_user_id,
                u.is_admin,
                u.user_metadata,
                oidc,
                u.default_project_id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.find_account_by_id(id).await?.ok_or_else(|| Error::internal("created user vanished"))
    }

    pub async fn update_account(&self, id: Uuid, u: UserUpdate) -> Result<UserRow, Error> {
        let cur = self
            .find_account_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("No user with ID '{id}' found.")))?;
        let label = kind_label(cur.is_service_account);
        let name = u.name.unwrap_or(cur.name);
        let conflict = format!("Unable to update {label}: Found an existing {label} with the name '{name}'.");
        self.db
            .clone()
            .execute(q!(
                "UPDATE `user` SET `updated` = ?, `name` = ?, `full_name` = ?, `description` = ?, `email` = ?, \
                 `avatar_url` = ?, `active` = ?, `password` = ?, `password_changed_at` = ?, `activation_token` = ?, \
                 `email_opted_in` = ?, `external_user_id` = ?, `is_admin` = ?, `user_metadata` = ?, \
                 `default_project_id` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.full_name.unwrap_or(cur.full_name),
                u.description.unwrap_or(cur.description),
                u.email.unwrap_or(cur.email),
                u.avatar_url.unwrap_or(cur.avatar_url),
                u.active.unwrap_or(cur.active),
                u.password_hash.unwrap_or(cur.password),
                u.password_changed_at.or(cur.password_changed_at),
                u.activation_token_hash.unwrap_or(cur.activation_token),
                u.email_opted_in.unwrap_or(cur.email_opted_in),
                u.external_user_id.unwrap_or(crate::parse_opt_id(&cur.external_user_id)),
                u.is_admin.unwrap_or(cur.is_admin),
                u.user_metadata.unwrap_or(cur.user_metadata),
                u.default_project_id.unwrap_or(crate::parse_opt_id(&cur.default_project_id)),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.find_account_by_id(id).await?.ok_or_else(|| Error::internal("updated user vanished"))
    }

    /// Delete an account and what cascades with it (API keys, secrets, transactions; its devices
    /// are kept without a user, as the FK's `SET NULL` does), explicitly, since SQLite databases
    /// may lack enforced FKs.
    pub async fn delete_account(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        for stmt in [
            "DELETE FROM `api_key` WHERE `service_account_id` = ?",
            "UPDATE `auth_devices` SET `user_id` = NULL WHERE `user_id` = ?",
            "DELETE FROM `api_transaction` WHERE `user_id` = ?",
            "DELETE FROM `secret` WHERE `user_id` = ?",
            "DELETE FROM `user` WHERE `id` = ?",
        ] {
            tx.execute(q!(stmt, id)).await.map_err(db_err)?;
        }
        tx.commit().await
    }

    /// Number of non-service-account users.
    pub async fn count_users(&self) -> Result<i64, Error> {
        self.db
            .clone()
            .fetch_i64(q!("SELECT count(*) FROM `user` WHERE `is_service_account` = ?", false))
            .await
            .map_err(db_err)
    }
}
