//! Service-account API keys (`api_key` table). The secret part is stored bcrypt-hashed in
//! `key` (and `previous_key` after a rotation).

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::{NameOrId, Store, db_err, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub description: Option<String>,
    pub key: String,
    pub previous_key: Option<String>,
    pub key_generation: i64,
    pub retain_period: i64,
    pub active: bool,
    pub last_login: Option<NaiveDateTime>,
    pub last_rotated: Option<NaiveDateTime>,
    pub service_account_id: String,
}

pub const API_KEY_COLS: &str = "`id`, `created`, `updated`, `name`, `description`, `key`, `previous_key`, \
    `key_generation`, `retain_period`, `active`, `last_login`, `last_rotated`, `service_account_id`";

pub static API_KEY_LIST: ListSpec = ListSpec {
    from: "`api_key`",
    id: "`id`",
    select: API_KEY_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`id`"),
        Field::col("created", Kind::Datetime, "`created`"),
        Field::col("updated", Kind::Datetime, "`updated`"),
        Field::col("name", Kind::Str, "`name`"),
        Field::col("description", Kind::Str, "`description`"),
        Field::col("active", Kind::Bool, "`active`"),
        Field::col("last_login", Kind::Datetime, "`last_login`"),
        Field::col("last_rotated", Kind::Datetime, "`last_rotated`"),
    ],
};

/// A new API key (the hash of its secret part).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub service_account_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub key_hash: String,
}

/// Changes to an API key; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

impl Store {
    pub async fn list_api_keys(&self, service_account_id: Uuid, params: &ListParams) -> Result<Page<ApiKeyRow>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`service_account_id` = ?", service_account_id));
        list::list(&self.db, &API_KEY_LIST, params, &wh).await
    }

    pub async fn find_api_key_by_id(&self, id: Uuid) -> Result<Option<ApiKeyRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {API_KEY_COLS} FROM `api_key` WHERE `id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// An API key of a service account by name or id, if there is one.
    pub async fn find_api_key(&self, service_account_id: Uuid, key: &NameOrId) -> Result<Option<ApiKeyRow>, Error> {
        let query = match key {
            NameOrId::Id(id) => q!(
                format!("SELECT {API_KEY_COLS} FROM `api_key` WHERE `service_account_id` = ? AND `id` = ?"),
                service_account_id,
                *id
            ),
            NameOrId::Name(n) => q!(
                format!("SELECT {API_KEY_COLS} FROM `api_key` WHERE `service_account_id` = ? AND `name` = ?"),
                service_account_id,
                n
            ),
        };
        self.db.clone().fetch_optional(query).await.map_err(db_err)
    }

    /// An API key of a service account by name or id (404 otherwise, worded as ZenML does).
    pub async fn get_api_key(&self, service_account_id: Uuid, key: &NameOrId) -> Result<ApiKeyRow, Error> {
        self.find_api_key(service_account_id, key).await?.ok_or_else(|| {
            let shown = match key {
                NameOrId::Id(id) => id.to_string(),
                NameOrId::Name(n) => n.clone(),
            };
            Error::not_found(format!(
                "An API key with ID or name '{shown}' is not configured for service account with ID \
                 '{service_account_id}'."
            ))
        })
    }

    pub async fn create_api_key(&self, k: NewApiKey) -> Result<ApiKeyRow, Error> {
        let id = Uuid::new_v4();
        let now = utc_now();
        let conflict =
            format!("Unable to register API key with name '{}': Found an existing API key with the same name.", k.name);
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `api_key` (`id`, `created`, `updated`, `name`, `description`, `key`, `previous_key`, \
                 `key_generation`, `retain_period`, `active`, `last_login`, `last_rotated`, `service_account_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL, ?)",
                id,
                now,
                now,
                k.name,
                k.description.unwrap_or_default(),
                k.key_hash,
                1i64,
                0i64,
                true,
                k.service_account_id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.find_api_key_by_id(id).await?.ok_or_else(|| Error::internal("created API key vanished"))
    }

    pub async fn update_api_key(&self, id: Uuid, u: ApiKeyUpdate) -> Result<ApiKeyRow, Error> {
        let cur = self
            .find_api_key_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("An API key with ID {id} was not found.")))?;
        let name = u.name.unwrap_or(cur.name);
        let conflict = format!("Unable to update API key: Found an existing API key with the name '{name}'.");
        self.db
            .clone()
            .execute(q!(
                "UPDATE `api_key` SET `updated` = ?, `name` = ?, `description` = ?, `active` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.description.unwrap_or(cur.description),
                u.active.unwrap_or(cur.active),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.find_api_key_by_id(id).await?.ok_or_else(|| Error::internal("updated API key vanished"))
    }

    /// Rotate: the current hash becomes `previous_key`, the generation goes up.
    pub async fn rotate_api_key(
        &self,
        id: Uuid,
        new_hash: String,
        retain_period_minutes: i64,
    ) -> Result<ApiKeyRow, Error> {
        let now = utc_now();
        let n = self
            .db
            .clone()
            .execute(q!(
                "UPDATE `api_key` SET `previous_key` = `key`, `key` = ?, `key_generation` = `key_generation` + 1, \
                 `retain_period` = ?, `last_rotated` = ?, `updated` = ? WHERE `id` = ?",
                new_hash,
                retain_period_minutes,
                now,
                now,
                id
            ))
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::not_found(format!("An API key with ID {id} was not found.")));
        }
        self.find_api_key_by_id(id).await?.ok_or_else(|| Error::internal("rotated API key vanished"))
    }

    /// Record a use of the key: `last_login` and `updated` become now, as ZenML's internal
    /// update does.
    /// Record a use of the key. Requests made with a key-derived token update it at most once a
    /// second, so a busy client does not turn every read into a write.
    pub async fn touch_api_key_login(&self, id: Uuid) -> Result<(), Error> {
        let now = utc_now();
        let recent = now - chrono::Duration::seconds(1);
        self.db
            .clone()
            .execute(q!(
                "UPDATE `api_key` SET `last_login` = ?, `updated` = ? WHERE `id` = ? AND (`last_login` IS NULL OR `last_login` < ?)",
                now,
                now,
                id,
                recent
            ))
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_api_key(&self, id: Uuid) -> Result<(), Error> {
        self.db.clone().execute(q!("DELETE FROM `api_key` WHERE `id` = ?", id)).await.map_err(db_err)?;
        Ok(())
    }

    /// Whether an account owns resources (rows pointing at it through `user_id`) that would
    /// stop ZenML from deleting it. API keys and devices do not count: they go with the account.
    pub async fn account_owns_resources(&self, account_id: Uuid) -> Result<bool, Error> {
        for table in OWNED_RESOURCE_TABLES {
            let n = self
                .db
                .clone()
                .fetch_i64(q!(format!("SELECT count(*) FROM `{table}` WHERE `user_id` = ?"), account_id))
                .await
                .map_err(db_err)?;
            if n > 0 {
                tracing::debug!(table, count = n, "account owns resources");
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Tables of the resources an account owns (the `user` relationships of ZenML's `UserSchema`
/// except `api_keys` and `auth_devices`).
const OWNED_RESOURCE_TABLES: &[&str] = &[
    "stack",
    "stack_component",
    "flavor",
    "pipeline",
    "schedule",
    "pipeline_run",
    "run_template",
    "step_run",
    "pipeline_build",
    "artifact",
    "artifact_version",
    "run_metadata",
    "secret",
    "pipeline_snapshot",
    "code_repository",
    "service",
    "service_connector",
    "model",
    "model_version",
    "deployment",
    "tag",
    "trigger",
];
