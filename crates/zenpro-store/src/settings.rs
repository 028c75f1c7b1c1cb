//! Server settings (the one `server_settings` row) and the rows every start makes sure of:
//! the default project, the default stack, and auto-activation with the default user.

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::projects::NewProject;
use crate::users::NewUser;
use crate::{NameOrId, Store, db_err, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub id: String,
    pub server_name: String,
    pub logo_url: Option<String>,
    pub active: bool,
    pub enable_analytics: bool,
    pub display_announcements: Option<bool>,
    pub display_updates: Option<bool>,
    pub onboarding_state: Option<String>,
    pub last_user_activity: NaiveDateTime,
    pub updated: NaiveDateTime,
}

const COLS: &str = "`id`, `server_name`, `logo_url`, `active`, `enable_analytics`, `display_announcements`, \
    `display_updates`, `onboarding_state`, `last_user_activity`, `updated`";

/// Changes to the server settings; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    pub server_name: Option<String>,
    pub logo_url: Option<Option<String>>,
    pub active: Option<bool>,
    pub enable_analytics: Option<bool>,
    pub display_announcements: Option<bool>,
    pub display_updates: Option<bool>,
    pub onboarding_state: Option<String>,
}

/// The default user created by auto-activation.
#[derive(Debug, Clone)]
pub struct DefaultUser {
    pub name: String,
    /// bcrypt hash of the configured password.
    pub password_hash: String,
    /// Whether the password is non-empty (then `password_changed_at` is set).
    pub password_set: bool,
}

impl Store {
    pub async fn settings(&self) -> Result<SettingsRow, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {COLS} FROM `server_settings`")))
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("the server_settings row is missing"))
    }

    pub async fn update_settings(&self, u: SettingsUpdate) -> Result<SettingsRow, Error> {
        let cur = self.settings().await?;
        self.db
            .clone()
            .execute(q!(
                "UPDATE `server_settings` SET `server_name` = ?, `logo_url` = ?, `active` = ?, `enable_analytics` = ?, \
                 `display_announcements` = ?, `display_updates` = ?, `onboarding_state` = ?, `updated` = ? WHERE `id` = ?",
                u.server_name.unwrap_or(cur.server_name),
                u.logo_url.unwrap_or(cur.logo_url),
                u.active.unwrap_or(cur.active),
                u.enable_analytics.unwrap_or(cur.enable_analytics),
                u.display_announcements.or(cur.display_announcements).unwrap_or(true),
                u.display_updates.or(cur.display_updates).unwrap_or(true),
                u.onboarding_state.or(cur.onboarding_state),
                utc_now(),
                cur.id
            ))
            .await
            .map_err(db_err)?;
        self.settings().await
    }

    /// Record user activity (`last_user_activity`), at most once a minute per server.
    pub async fn touch_user_activity(&self) -> Result<(), Error> {
        let now = utc_now();
        let threshold = now - chrono::Duration::seconds(60);
        self.db
            .clone()
            .execute(q!(
                "UPDATE `server_settings` SET `last_user_activity` = ? WHERE `last_user_activity` < ?",
                now,
                threshold
            ))
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// What the Python server does on every start (`_initialize_database`): get-or-create the
    /// default project and stack, and auto-activate the server with the default user.
    pub async fn ensure_defaults(
        &self,
        default_project: Option<&str>,
        auto_activate: Option<&DefaultUser>,
    ) -> Result<(), Error> {
        if let Some(name) = default_project
            && self.find_project(&NameOrId::Name(name.to_string())).await?.is_none()
        {
            match self
                .create_project(NewProject {
                    name: name.to_string(),
                    display_name: name.to_string(),
                    description: String::new(),
                    metadata_json: "{}".into(),
                })
                .await
            {
                Ok(_) | Err(Error::EntityExists(_)) => {}
                Err(e) => return Err(e),
            }
            let settings = self.settings().await?;
            if settings.onboarding_state.is_none() {
                self.update_settings(crate::settings::SettingsUpdate {
                    onboarding_state: Some(r#"["project_created"]"#.into()),
                    ..Default::default()
                })
                .await?;
            }
        }
        self.ensure_default_stack().await?;
        if let Some(user) = auto_activate {
            let settings = self.settings().await?;
            if !settings.active {
                if self.find_account(&NameOrId::Name(user.name.clone()), false).await?.is_none() {
                    let now = utc_now();
                    match self
                        .create_account(NewUser {
                            name: user.name.clone(),
                            full_name: String::new(),
                            active: true,
                            password_hash: Some(user.password_hash.clone()),
                            password_changed_at: user.password_set.then_some(now),
                            is_admin: true,
                            ..Default::default()
                        })
                        .await
                    {
                        Ok(_) | Err(Error::EntityExists(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                self.update_settings(SettingsUpdate { active: Some(true), ..Default::default() }).await?;
            }
        }
        Ok(())
    }

    /// The server id (JWT issuer and audience).
    pub async fn server_id(&self) -> Result<Uuid, Error> {
        Ok(crate::parse_id(&self.settings().await?.id))
    }
}
