//! OAuth2 devices of the device-authorization flow (`auth_devices` table). The user and
//! device codes are stored bcrypt-hashed; this module only ever sees the hashes.
//!
//! Status changes that must happen once (pending → verified → active) are conditional
//! updates ([`Store::update_device`] with an expected status), so two concurrent polls
//! cannot both win.

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::{Store, db_err, q};

/// `OAuthDeviceStatus` values as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const VERIFIED: &str = "verified";
    pub const ACTIVE: &str = "active";
    pub const LOCKED: &str = "locked";
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub client_id: String,
    /// bcrypt hash of the user code.
    pub user_code: String,
    /// bcrypt hash of the device code.
    pub device_code: String,
    pub status: String,
    pub failed_auth_attempts: i64,
    pub expires: Option<NaiveDateTime>,
    pub last_login: Option<NaiveDateTime>,
    pub trusted_device: bool,
    pub os: Option<String>,
    pub ip_address: Option<String>,
    pub hostname: Option<String>,
    pub python_version: Option<String>,
    pub zenml_version: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub user_id: Option<String>,
}

impl DeviceRow {
    /// Whether `expires` is set and reached.
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

pub const DEVICE_COLS: &str = "`auth_devices`.`id`, `auth_devices`.`created`, `auth_devices`.`updated`, \
    `auth_devices`.`client_id`, `auth_devices`.`user_code`, `auth_devices`.`device_code`, `auth_devices`.`status`, \
    `auth_devices`.`failed_auth_attempts`, `auth_devices`.`expires`, `auth_devices`.`last_login`, \
    `auth_devices`.`trusted_device`, `auth_devices`.`os`, `auth_devices`.`ip_address`, `auth_devices`.`hostname`, \
    `auth_devices`.`python_version`, `auth_devices`.`zenml_version`, `auth_devices`.`city`, `auth_devices`.`region`, \
    `auth_devices`.`country`, `auth_devices`.`user_id`";

/// `OAuthDeviceFilter` (a user-scoped filter).
pub static DEVICE_LIST: ListSpec = ListSpec {
    from: "`auth_devices`",
    id: "`auth_devices`.`id`",
    select: DEVICE_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`auth_devices`.`id`"),
        Field::col("created", Kind::Datetime, "`auth_devices`.`created`"),
        Field::col("updated", Kind::Datetime, "`auth_devices`.`updated`"),
        Field::col("expires", Kind::Datetime, "`auth_devices`.`expires`"),
        Field::col("client_id", Kind::Uuid, "`auth_devices`.`client_id`"),
        Field::col("status", Kind::Str, "`auth_devices`.`status`"),
        Field::col("trusted_device", Kind::Bool, "`auth_devices`.`trusted_device`"),
        Field::col("failed_auth_attempts", Kind::Int, "`auth_devices`.`failed_auth_attempts`"),
        Field::col("last_login", Kind::Datetime, "`auth_devices`.`last_login`"),
        Field::related("user", "`auth_devices`.`user_id`", "`user`", &["id", "name"]),
    ],
};

/// A new (pending) device.
#[derive(Debug, Clone, Default)]
pub struct NewDevice {
    pub client_id: Uuid,
    pub user_code_hash: String,
    pub device_code_hash: String,
    /// Seconds from creation until the authorization request expires.
    pub expires_in: i64,
    pub os: Option<String>,
    pub ip_address: Option<String>,
    pub hostname: Option<String>,
    pub python_version: Option<String>,
    pub zenml_version: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
}

/// Changes to a device; `None` keeps the value. `updated` is always set to now.
#[derive(Debug, Clone, Default)]
pub struct DeviceUpdate {
    pub status: Option<&'static str>,
    pub user_id: Option<Uuid>,
    pub failed_auth_attempts: Option<i64>,
    pub trusted_device: Option<bool>,
    /// `Some(None)` makes the device never expire.
    pub expires: Option<Option<NaiveDateTime>>,
    pub last_login: Option<NaiveDateTime>,
    /// New (user code, device code) hashes.
    pub code_hashes: Option<(String, String)>,
    pub os: Option<String>,
    pub ip_address: Option<String>,
    pub hostname: Option<String>,
    pub python_version: Option<String>,
    pub zenml_version: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
}

impl Store {
    /// The devices of one user.
    pub async fn list_devices(&self, user_id: Uuid, params: &ListParams) -> Result<Page<DeviceRow>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`auth_devices`.`user_id` = ?", user_id));
        list::list(&self.db, &DEVICE_LIST, params, &wh).await
    }

    pub async fn find_device_by_id(&self, id: Uuid) -> Result<Option<DeviceRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {DEVICE_COLS} FROM `auth_devices` WHERE `auth_devices`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// The device registered for an OAuth2 client id (the oldest one, should there be several).
    pub async fn find_device_by_client_id(&self, client_id: Uuid) -> Result<Option<DeviceRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!(
                    "SELECT {DEVICE_COLS} FROM `auth_devices` WHERE `auth_devices`.`client_id` = ? \
                     ORDER BY `auth_devices`.`created` ASC LIMIT 1"
                ),
                client_id
            ))
            .await
            .map_err(db_err)
    }

    /// Register a pending device; 409 when the client id already has one.
    pub async fn create_device(&self, d: NewDevice) -> Result<DeviceRow, Error> {
        let id = Uuid::new_v4();
        let now = utc_now();
        let mut tx = self.db.begin().await?;
        let existing = tx
            .fetch_i64(q!("SELECT count(*) FROM `auth_devices` WHERE `client_id` = ?", d.client_id))
            .await
            .map_err(db_err)?;
        if existing > 0 {
            return Err(Error::exists(format!(
                "Unable to create device with client ID '{}': A device with this client ID already exists.",
                d.client_id
            )));
        }
        tx.execute(q!(
            "INSERT INTO `auth_devices` (`id`, `created`, `updated`, `client_id`, `user_code`, `device_code`, \
             `status`, `failed_auth_attempts`, `expires`, `last_login`, `trusted_device`, `os`, `ip_address`, \
             `hostname`, `python_version`, `zenml_version`, `city`, `region`, `country`, `user_id`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            id,
            now,
            now,
            d.client_id,
            d.user_code_hash,
            d.device_code_hash,
            status::PENDING,
            0i64,
            now + chrono::Duration::seconds(d.expires_in),
            false,
            d.os,
            d.ip_address,
            d.hostname,
            d.python_version,
            d.zenml_version,
            d.city,
            d.region,
            d.country
        ))
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        self.find_device_by_id(id).await?.ok_or_else(|| Error::internal("created device vanished"))
    }

    /// Apply an update. With `expect_status`, only a device still in that status is changed;
    /// `Ok(None)` then means it was not (or the device is gone).
    pub async fn update_device(
        &self,
        id: Uuid,
        u: DeviceUpdate,
        expect_status: Option<&str>,
    ) -> Result<Option<DeviceRow>, Error> {
        let Some(cur) = self.find_device_by_id(id).await? else {
            return Ok(None);
        };
        if expect_status.is_some_and(|s| s != cur.status) {
            return Ok(None);
        }
        let (user_code, device_code) = u.code_hashes.unwrap_or((cur.user_code, cur.device_code));
        let mut query = q!(
            "UPDATE `auth_devices` SET `updated` = ?, `status` = ?, `user_id` = ?, `failed_auth_attempts` = ?, \
             `trusted_device` = ?, `expires` = ?, `last_login` = ?, `user_code` = ?, `device_code` = ?, `os` = ?, \
             `ip_address` = ?, `hostname` = ?, `python_version` = ?, `zenml_version` = ?, `city` = ?, `region` = ?, \
             `country` = ? WHERE `id` = ?",
            utc_now(),
            u.status.map(str::to_string).unwrap_or(cur.status.clone()),
            u.user_id.or(crate::parse_opt_id(&cur.user_id)),
            u.failed_auth_attempts.unwrap_or(cur.failed_auth_attempts),
            u.trusted_device.unwrap_or(cur.trusted_device),
            u.expires.unwrap_or(cur.expires),
            u.last_login.or(cur.last_login),
            user_code,
            device_code,
            u.os.or(cur.os),
            u.ip_address.or(cur.ip_address),
            u.hostname.or(cur.hostname),
            u.python_version.or(cur.python_version),
            u.zenml_version.or(cur.zenml_version),
            u.city.or(cur.city),
            u.region.or(cur.region),
            u.country.or(cur.country),
            id
        );
        if expect_status.is_some() {
            query.push_sql(" AND `status` = ?");
            query.push_param(cur.status.clone());
        }
        let n = self.db.clone().execute(query).await.map_err(db_err)?;
        if n == 0 {
            return Ok(None);
        }
        self.find_device_by_id(id).await
    }

    /// Count a failed code check; the device is locked once `max_attempts` is reached.
    /// Returns the device after the change.
    pub async fn record_failed_device_attempt(&self, id: Uuid, max_attempts: i64) -> Result<DeviceRow, Error> {
        // `status` is assigned first: MySQL evaluates SET left to right with updated values,
        // SQLite with the old ones; in this order both read the old attempt count.
        self.db
            .clone()
            .execute(q!(
                "UPDATE `auth_devices` SET \
                 `status` = CASE WHEN `failed_auth_attempts` + 1 >= ? THEN ? ELSE `status` END, \
                 `failed_auth_attempts` = `failed_auth_attempts` + 1, `updated` = ? WHERE `id` = ?",
                max_attempts,
                status::LOCKED,
                utc_now(),
                id
            ))
            .await
            .map_err(db_err)?;
        self.find_device_by_id(id).await?.ok_or_else(|| Error::not_found(format!("No device with ID '{id}' found.")))
    }

    /// Record a use of a device-bound token (`last_login`, `updated`).
    pub async fn touch_device_login(&self, id: Uuid) -> Result<(), Error> {
        let now = utc_now();
        self.db
            .clone()
            .execute(q!("UPDATE `auth_devices` SET `last_login` = ?, `updated` = ? WHERE `id` = ?", now, now, id))
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_device(&self, id: Uuid) -> Result<(), Error> {
        self.db.clone().execute(q!("DELETE FROM `auth_devices` WHERE `id` = ?", id)).await.map_err(db_err)?;
        Ok(())
    }

    /// Delete devices whose authorization expired before anyone verified them.
    pub async fn delete_expired_devices(&self) -> Result<u64, Error> {
        self.db
            .clone()
            .execute(q!(
                "DELETE FROM `auth_devices` WHERE `user_id` IS NULL AND `expires` IS NOT NULL AND `expires` < ?",
                utc_now()
            ))
            .await
            .map_err(db_err)
    }
}
