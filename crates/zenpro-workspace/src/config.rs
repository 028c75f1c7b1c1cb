//! Configuration of the workspace server, read from the environment variables ZenML uses
//! (`ZENML_*`) plus zenpro's own (`ZENPRO_*`). A bad value stops start-up with a message that
//! names the variable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Which secrets store keeps secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsStoreType {
    Sql,
    /// Configured but not implemented by zenpro yet (secret operations answer 501).
    Other(String),
    None,
}

/// Workspace server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ZENML_STORE_URL`; default: a SQLite file in the data folder.
    pub store_url: String,
    /// `ZENPRO_DATA_DIR`: where the default SQLite file and a generated JWT key live.
    pub data_dir: PathBuf,
    /// `ZENML_SERVER_JWT_SECRET_KEY`; generated once and kept in the data folder when unset.
    pub jwt_secret_key: Option<Secret>,
    /// `ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES` (none: tokens do not expire).
    pub jwt_expire_minutes: Option<i64>,
    /// `ZENML_SERVER_JWT_TOKEN_LEEWAY_SECONDS` (10).
    pub jwt_leeway_seconds: i64,
    /// `ZENML_SERVER_JWT_TOKEN_ISSUER` / `_AUDIENCE` (default: the server id).
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// `ZENML_SERVER_AUTO_ACTIVATE`.
    pub auto_activate: bool,
    /// `ZENML_DEFAULT_USER_NAME` ("default") / `ZENML_DEFAULT_USER_PASSWORD` ("").
    pub default_user_name: String,
    pub default_user_password: Secret,
    /// `ZENML_DEFAULT_PROJECT_NAME` ("default").
    pub default_project_name: String,
    /// `ZENML_LOCAL_STORES_PATH`.
    pub local_stores_path: Option<PathBuf>,
    /// `ZENML_SECRETS_STORE_TYPE` ("sql").
    pub secrets_store_type: SecretsStoreType,
    /// `ZENML_SECRETS_STORE_ENCRYPTION_KEY`: honoured only with `ZENML_SECRETS_STORE_TYPE=sql`
    /// set explicitly, as the Python server does.
    pub secrets_encryption_key: Option<Secret>,
    /// `ZENML_SERVER_DEPLOYMENT_TYPE` ("other").
    pub deployment_type: String,
    /// `ZENML_SERVER_AUTH_SCHEME` (`OAUTH2_PASSWORD_BEARER`).
    pub auth_scheme: String,
    /// `ZENML_SERVER_SERVER_URL` / `ZENML_SERVER_DASHBOARD_URL`.
    pub server_url: String,
    pub dashboard_url: String,
    /// `ZENML_SERVER_EXTERNAL_SERVER_ID`: fixed server id for a fresh database.
    pub external_server_id: Option<uuid::Uuid>,
    /// `ZENML_SERVER_DEVICE_AUTH_TIMEOUT` (300 s) and polling interval (5 s).
    pub device_auth_timeout: i64,
    pub device_auth_polling_interval: i64,
    /// `ZENML_SERVER_MAX_FAILED_DEVICE_AUTH_ATTEMPTS` (3).
    pub max_failed_device_auth_attempts: i64,
    /// `ZENML_SERVER_DEVICE_EXPIRATION_MINUTES` / `..._TRUSTED_DEVICE_EXPIRATION_MINUTES`.
    pub device_expiration_minutes: Option<i64>,
    pub trusted_device_expiration_minutes: Option<i64>,
    /// `ZENML_ANALYTICS_OPT_IN` (stored in the settings of a fresh database).
    pub analytics_opt_in: bool,
    /// `ZENML_SERVER_AUTH_COOKIE_NAME`.
    pub auth_cookie_name: Option<String>,
}

/// A configuration error naming the variable.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" => Ok(true),
        "0" | "false" | "no" | "n" | "off" | "" => Ok(false),
        _ => Err(ConfigError(format!("{var}={v:?} is not a boolean (use true or false)"))),
    }
}

fn parse_int(var: &str, v: &str) -> Result<i64, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError(format!("{var}={v:?} is not an integer")))
}

/// Default data folder: `$ZENPRO_DATA_DIR`, else `$XDG_DATA_HOME/zenpro`, else
/// `~/.local/share/zenpro`.
pub fn default_data_dir(env: &HashMap<String, String>) -> PathBuf {
    if let Some(d) = env.get("ZENPRO_DATA_DIR").filter(|s| !s.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = env.get("XDG_DATA_HOME").filter(|s| !s.is_empty()) {
        return Path::new(d).join("zenpro");
    }
    let home = env.get("HOME").cloned().unwrap_or_else(|| ".".into());
    Path::new(&home).join(".local/share/zenpro")
}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Read the configuration from a map of variables (tests use this).
    pub fn from_map(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| env.get(k).map(|s| s.as_str()).filter(|s| !s.is_empty());
        let file_or = |k: &str| -> Result<Option<String>, ConfigError> {
            if let Some(v) = get(k) {
                return Ok(Some(v.to_string()));
            }
            let fk = format!("{k}_FILE");
            if let Some(path) = get(&fk) {
                return std::fs::read_to_string(path)
                    .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_string()))
                    .map_err(|e| ConfigError(format!("{fk}={path:?} cannot be read: {e}")));
            }
            Ok(None)
        };
        let data_dir = default_data_dir(env);
        let store_url = match file_or("ZENML_STORE_URL")? {
            Some(u) => {
                if !(u.starts_with("sqlite:") || u.starts_with("mysql://") || u.starts_with("mariadb://")) {
                    return Err(ConfigError(format!(
                        "ZENML_STORE_URL has an unsupported scheme ({}): use sqlite:////path/to/file.db or mysql://user:password@host:port/database",
                        zenpro_store::db::redact_url(&u)
                    )));
                }
                u
            }
            None => format!("sqlite:///{}", data_dir.join("workspace").join("zenml.db").display()),
        };
        let bool_var = |k: &str, d: bool| get(k).map(|v| parse_bool(k, v)).transpose().map(|o| o.unwrap_or(d));
        let int_var = |k: &str| get(k).map(|v| parse_int(k, v)).transpose();
        let store_type_raw = get("ZENML_SECRETS_STORE_TYPE").map(|s| s.to_ascii_lowercase());
        let secrets_store_type = match store_type_raw.as_deref() {
            None | Some("sql") => SecretsStoreType::Sql,
            Some("none") => SecretsStoreType::None,
            Some(t @ ("aws" | "gcp" | "azure" | "hashicorp" | "custom")) => SecretsStoreType::Other(t.to_string()),
            Some(t) => {
                return Err(ConfigError(format!(
                    "ZENML_SECRETS_STORE_TYPE={t:?} is not a secrets store type (sql, hashicorp, aws, gcp, azure, custom, none)"
                )));
            }
        };
        let secrets_encryption_key = match (store_type_raw.as_deref(), file_or("ZENML_SECRETS_STORE_ENCRYPTION_KEY")?) {
            (Some("sql"), Some(k)) => Some(Secret(k)),
            _ => None,
        };
        let auth_scheme = get("ZENML_SERVER_AUTH_SCHEME").unwrap_or("OAUTH2_PASSWORD_BEARER").to_ascii_uppercase();
        if !matches!(auth_scheme.as_str(), "OAUTH2_PASSWORD_BEARER" | "HTTP_BASIC" | "NO_AUTH" | "EXTERNAL") {
            return Err(ConfigError(format!("ZENML_SERVER_AUTH_SCHEME={auth_scheme:?} is not an auth scheme")));
        }
        if auth_scheme != "OAUTH2_PASSWORD_BEARER" {
            return Err(ConfigError(format!(
                "ZENML_SERVER_AUTH_SCHEME={auth_scheme:?} is not supported by this zenpro version (only OAUTH2_PASSWORD_BEARER)"
            )));
        }
        let external_server_id = match get("ZENML_SERVER_EXTERNAL_SERVER_ID") {
            Some(v) => Some(
                uuid::Uuid::parse_str(v)
                    .map_err(|_| ConfigError(format!("ZENML_SERVER_EXTERNAL_SERVER_ID={v:?} is not a UUID")))?,
            ),
            None => None,
        };
        Ok(Config {
            store_url,
            data_dir,
            jwt_secret_key: file_or("ZENML_SERVER_JWT_SECRET_KEY")?.map(Secret),
            jwt_expire_minutes: int_var("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES")?,
            jwt_leeway_seconds: int_var("ZENML_SERVER_JWT_TOKEN_LEEWAY_SECONDS")?.unwrap_or(10),
            jwt_issuer: get("ZENML_SERVER_JWT_TOKEN_ISSUER").map(str::to_string),
            jwt_audience: get("ZENML_SERVER_JWT_TOKEN_AUDIENCE").map(str::to_string),
            auto_activate: bool_var("ZENML_SERVER_AUTO_ACTIVATE", false)?,
            default_user_name: get("ZENML_DEFAULT_USER_NAME").unwrap_or("default").to_string(),
            default_user_password: Secret(file_or("ZENML_DEFAULT_USER_PASSWORD")?.unwrap_or_default()),
            default_project_name: get("ZENML_DEFAULT_PROJECT_NAME").unwrap_or("default").to_string(),
            local_stores_path: get("ZENML_LOCAL_STORES_PATH").map(PathBuf::from),
            secrets_store_type,
            secrets_encryption_key,
            deployment_type: get("ZENML_SERVER_DEPLOYMENT_TYPE").unwrap_or("other").to_string(),
            auth_scheme,
            server_url: get("ZENML_SERVER_SERVER_URL").unwrap_or("").to_string(),
            dashboard_url: get("ZENML_SERVER_DASHBOARD_URL").unwrap_or("").to_string(),
            external_server_id,
            device_auth_timeout: int_var("ZENML_SERVER_DEVICE_AUTH_TIMEOUT")?.unwrap_or(300),
            device_auth_polling_interval: int_var("ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL")?.unwrap_or(5),
            max_failed_device_auth_attempts: int_var("ZENML_SERVER_MAX_FAILED_DEVICE_AUTH_ATTEMPTS")?.unwrap_or(3),
            device_expiration_minutes: int_var("ZENML_SERVER_DEVICE_EXPIRATION_MINUTES")?,
            trusted_device_expiration_minutes: int_var("ZENML_SERVER_TRUSTED_DEVICE_EXPIRATION_MINUTES")?,
            analytics_opt_in: bool_var("ZENML_ANALYTICS_OPT_IN", true)?,
            auth_cookie_name: get("ZENML_SERVER_AUTH_COOKIE_NAME").map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = Config::from_map(&env(&[("ZENML_SERVER_AUTO_ACTIVATE", "maybe")])).unwrap_err();
        assert!(e.0.contains("ZENML_SERVER_AUTO_ACTIVATE"), "{e}");
        let e = Config::from_map(&env(&[("ZENML_STORE_URL", "postgresql://x")])).unwrap_err();
        assert!(e.0.contains("ZENML_STORE_URL"), "{e}");
        let e = Config::from_map(&env(&[("ZENML_SECRETS_STORE_TYPE", "vaultish")])).unwrap_err();
        assert!(e.0.contains("ZENML_SECRETS_STORE_TYPE"), "{e}");
    }

    #[test]
    fn encryption_key_needs_explicit_sql_store_type() {
        let c = Config::from_map(&env(&[("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "k")])).unwrap();
        assert!(c.secrets_encryption_key.is_none());
        let c =
            Config::from_map(&env(&[("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "k"), ("ZENML_SECRETS_STORE_TYPE", "sql")]))
                .unwrap();
        assert_eq!(c.secrets_encryption_key, Some(Secret("k".into())));
        assert_eq!(format!("{:?}", c.secrets_encryption_key), "Some(\"***\")");
    }

    #[test]
    fn defaults() {
        let c = Config::from_map(&env(&[("HOME", "/home/x")])).unwrap();
        assert_eq!(c.store_url, "sqlite:////home/x/.local/share/zenpro/workspace/zenml.db");
        assert_eq!(c.default_user_name, "default");
        assert!(!c.auto_activate);
    }
}
