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
    /// `ZENML_SECRETS_STORE_*` of the `hashicorp` store (see `secrets_backend::vault`).
    pub vault: Option<crate::secrets_backend::VaultConfig>,
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
    /// Pro mode (`ZENML_SERVER_DEPLOYMENT_TYPE=cloud`): governed by a control plane.
    pub pro: Option<ProConfig>,
    /// `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE`: CA certificates trusted next to the system store by
    /// the outgoing calls (the control plane in Pro mode, the dashboard views' API calls).
    pub ca: crate::tls::CaBundle,
}

/// The `ZENML_SERVER_PRO_*` settings of a workspace enrolled with a control plane, plus
/// zenpro's own `ZENPRO_PRO_*` tuning.
#[derive(Debug, Clone)]
pub struct ProConfig {
    /// `ZENML_SERVER_PRO_API_URL` (the control plane API, "PRO_API"), no trailing `/`.
    pub api_url: String,
    /// `ZENML_SERVER_PRO_DASHBOARD_URL` ("DASH"), no trailing `/`.
    pub dashboard_url: String,
    /// `ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET` (or `_FILE`): the enrollment key.
    pub oauth2_client_secret: Secret,
    /// `ZENML_SERVER_PRO_OAUTH2_AUDIENCE`.
    pub oauth2_audience: String,
    /// `ZENML_SERVER_PRO_ORGANIZATION_ID` / `_NAME`.
    pub organization_id: uuid::Uuid,
    pub organization_name: Option<String>,
    /// `ZENML_SERVER_PRO_WORKSPACE_ID` (OAuth2 client id, server id of a fresh DB) / `_NAME`.
    pub workspace_id: uuid::Uuid,
    pub workspace_name: Option<String>,
    /// `ZENML_SERVER_PRO_HTTP_TIMEOUT` (30 s): timeout of control-plane calls.
    pub http_timeout_seconds: u64,
    /// `ZENPRO_PRO_HEARTBEAT_SECONDS` (60): period of the `PATCH /workspace_status` heartbeat.
    pub heartbeat_seconds: u64,
    /// `ZENPRO_PRO_CACHE_SECONDS` (30): how long external-user and RBAC answers are reused.
    pub cache_seconds: u64,
    /// The top-level `ca` ([`Config::ca`]), for an https control plane (see `crate::tls`).
    pub ca: crate::tls::CaBundle,
}

impl ProConfig {
    /// `{DASH}/api/auth/login`: where a browser logs in.
    pub fn external_login_url(&self) -> String {
        format!("{}/api/auth/login", self.dashboard_url)
    }

    /// The workspace's page on the control-plane dashboard, `{DASH}/workspaces/{name}`.
    pub fn workspace_dashboard_url(&self) -> String {
        let name = self.workspace_name.clone().unwrap_or_else(|| self.workspace_id.to_string());
        format!("{}/workspaces/{name}", self.dashboard_url)
    }
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
        let deployment_type = get("ZENML_SERVER_DEPLOYMENT_TYPE").unwrap_or("other").to_string();
        let ca = crate::tls::CaBundle::from_requests_env(env).map_err(ConfigError)?;
        let pro = if deployment_type == "cloud" { Some(pro_config(env, &ca)?) } else { None };
        if pro.is_none() && auth_scheme != "OAUTH2_PASSWORD_BEARER" {
            return Err(ConfigError(format!(
                "ZENML_SERVER_AUTH_SCHEME={auth_scheme:?} is not supported by this zenpro version (only OAUTH2_PASSWORD_BEARER)"
            )));
        }
        let mut external_server_id = match get("ZENML_SERVER_EXTERNAL_SERVER_ID") {
            Some(v) => Some(
                uuid::Uuid::parse_str(v)
                    .map_err(|_| ConfigError(format!("ZENML_SERVER_EXTERNAL_SERVER_ID={v:?} is not a UUID")))?,
            ),
            None => None,
        };
        let mut jwt_expire_minutes = int_var("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES")?;
        let mut dashboard_url = get("ZENML_SERVER_DASHBOARD_URL").unwrap_or("").to_string();
        let mut auth_scheme = auth_scheme;
        // Pro mode overrides what the control plane decides (`get_server_config`).
        if let Some(p) = &pro {
            auth_scheme = "EXTERNAL".into();
            external_server_id = Some(p.workspace_id);
            jwt_expire_minutes = jwt_expire_minutes.or(Some(60));
            dashboard_url = p.workspace_dashboard_url();
        }
        Ok(Config {
            store_url,
            data_dir,
            jwt_secret_key: file_or("ZENML_SERVER_JWT_SECRET_KEY")?.map(Secret),
            jwt_expire_minutes,
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
            vault: match store_type_raw.as_deref() {
                Some("hashicorp") => Some(crate::secrets_backend::VaultConfig::from_map(env)?),
                _ => None,
            },
            deployment_type,
            auth_scheme,
            server_url: get("ZENML_SERVER_SERVER_URL").unwrap_or("").to_string(),
            dashboard_url,
            external_server_id,
            device_auth_timeout: int_var("ZENML_SERVER_DEVICE_AUTH_TIMEOUT")?.unwrap_or(300),
            device_auth_polling_interval: int_var("ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL")?.unwrap_or(5),
            max_failed_device_auth_attempts: int_var("ZENML_SERVER_MAX_FAILED_DEVICE_AUTH_ATTEMPTS")?.unwrap_or(3),
            device_expiration_minutes: int_var("ZENML_SERVER_DEVICE_EXPIRATION_MINUTES")?,
            trusted_device_expiration_minutes: int_var("ZENML_SERVER_TRUSTED_DEVICE_EXPIRATION_MINUTES")?,
            analytics_opt_in: bool_var("ZENML_ANALYTICS_OPT_IN", true)?,
            auth_cookie_name: get("ZENML_SERVER_AUTH_COOKIE_NAME").map(str::to_string),
            pro,
            ca,
        })
    }

    /// Whether the server runs in Pro mode (governed by a control plane).
    pub fn is_pro(&self) -> bool {
        self.pro.is_some()
    }
}

/// Read the `ZENML_SERVER_PRO_*` variables; a required one missing stops start-up naming it.
fn pro_config(env: &HashMap<String, String>, ca: &crate::tls::CaBundle) -> Result<ProConfig, ConfigError> {
    let get = |k: &str| env.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let required = |k: &str| {
        get(k).map(str::to_string).ok_or_else(|| {
            ConfigError(format!("{k} is required when ZENML_SERVER_DEPLOYMENT_TYPE=cloud (Pro mode) but is not set"))
        })
    };
    let uuid_var = |k: &str| -> Result<uuid::Uuid, ConfigError> {
        let v = required(k)?;
        uuid::Uuid::parse_str(&v).map_err(|_| ConfigError(format!("{k}={v:?} is not a UUID")))
    };
    let secs = |k: &str, d: u64| -> Result<u64, ConfigError> {
        match get(k) {
            None => Ok(d),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError(format!("{k}={v:?} is not a positive number of seconds"))),
            },
        }
    };
    let secret_var = "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET";
    let oauth2_client_secret = match get(secret_var) {
        Some(v) => v.to_string(),
        None => match get(&format!("{secret_var}_FILE")) {
            Some(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| ConfigError(format!("{secret_var}_FILE={path:?} cannot be read: {e}")))?,
            None => required(secret_var)?,
        },
    };
    if oauth2_client_secret.is_empty() {
        return Err(ConfigError(format!("{secret_var} (the enrollment key) is empty")));
    }
    let url = |k: &str| -> Result<String, ConfigError> {
        let v = required(k)?;
        if !(v.starts_with("http://") || v.starts_with("https://")) {
            return Err(ConfigError(format!("{k}={v:?} is not an http(s) URL")));
        }
        Ok(v.trim_end_matches('/').to_string())
    };
    Ok(ProConfig {
        api_url: url("ZENML_SERVER_PRO_API_URL")?,
        dashboard_url: url("ZENML_SERVER_PRO_DASHBOARD_URL")?,
        oauth2_client_secret: Secret(oauth2_client_secret),
        oauth2_audience: required("ZENML_SERVER_PRO_OAUTH2_AUDIENCE")?,
        organization_id: uuid_var("ZENML_SERVER_PRO_ORGANIZATION_ID")?,
        organization_name: get("ZENML_SERVER_PRO_ORGANIZATION_NAME").map(str::to_string),
        workspace_id: uuid_var("ZENML_SERVER_PRO_WORKSPACE_ID")?,
        workspace_name: get("ZENML_SERVER_PRO_WORKSPACE_NAME").map(str::to_string),
        http_timeout_seconds: secs("ZENML_SERVER_PRO_HTTP_TIMEOUT", 30)?,
        heartbeat_seconds: secs("ZENPRO_PRO_HEARTBEAT_SECONDS", 60)?,
        cache_seconds: secs("ZENPRO_PRO_CACHE_SECONDS", 30)?,
        ca: ca.clone(),
    })
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

    const WS: &str = "9a0b7c3e-4d1f-4e2a-8b3c-1d2e3f4a5b6c";
    const ORG: &str = "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809";

    fn pro_env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("ZENML_SERVER_DEPLOYMENT_TYPE", "cloud"),
            ("ZENML_SERVER_PRO_API_URL", "http://cp.example/api/v1/"),
            ("ZENML_SERVER_PRO_DASHBOARD_URL", "http://cp.example/"),
            ("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", "enrollment-key-value"),
            ("ZENML_SERVER_PRO_OAUTH2_AUDIENCE", "http://cp.example/api/v1"),
            ("ZENML_SERVER_PRO_ORGANIZATION_ID", ORG),
            ("ZENML_SERVER_PRO_WORKSPACE_ID", WS),
            ("ZENML_SERVER_PRO_WORKSPACE_NAME", "ws1"),
        ]
    }

    #[test]
    fn pro_mode_overrides_and_strips_slashes() {
        let c = Config::from_map(&env(&pro_env())).unwrap();
        let p = c.pro.as_ref().unwrap();
        assert_eq!(p.api_url, "http://cp.example/api/v1");
        assert_eq!(p.dashboard_url, "http://cp.example");
        assert_eq!(c.auth_scheme, "EXTERNAL");
        assert_eq!(c.external_server_id, Some(uuid::Uuid::parse_str(WS).unwrap()));
        assert_eq!(c.jwt_expire_minutes, Some(60));
        assert_eq!(c.dashboard_url, "http://cp.example/workspaces/ws1");
        assert_eq!((p.http_timeout_seconds, p.heartbeat_seconds, p.cache_seconds), (30, 60, 30));
        let debug = format!("{c:?}");
        assert!(!debug.contains("enrollment-key-value"), "{debug}");
        let mut e = pro_env();
        e.push(("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES", "15"));
        e.push(("ZENML_SERVER_AUTH_SCHEME", "OAUTH2_PASSWORD_BEARER"));
        let c = Config::from_map(&env(&e)).unwrap();
        assert_eq!((c.jwt_expire_minutes, c.auth_scheme.as_str()), (Some(15), "EXTERNAL"));
    }

    #[test]
    fn pro_mode_names_a_missing_variable() {
        for var in [
            "ZENML_SERVER_PRO_API_URL",
            "ZENML_SERVER_PRO_DASHBOARD_URL",
            "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET",
            "ZENML_SERVER_PRO_OAUTH2_AUDIENCE",
            "ZENML_SERVER_PRO_ORGANIZATION_ID",
            "ZENML_SERVER_PRO_WORKSPACE_ID",
        ] {
            let e: Vec<_> = pro_env().into_iter().filter(|(k, _)| *k != var).collect();
            let err = Config::from_map(&env(&e)).unwrap_err();
            assert!(err.0.contains(var), "{err}");
        }
        let mut e = pro_env();
        e.push(("ZENPRO_PRO_HEARTBEAT_SECONDS", "soon"));
        assert!(Config::from_map(&env(&e)).unwrap_err().0.contains("ZENPRO_PRO_HEARTBEAT_SECONDS"));
    }

    #[test]
    fn external_scheme_is_refused_outside_pro_mode() {
        let e = Config::from_map(&env(&[("ZENML_SERVER_AUTH_SCHEME", "EXTERNAL")])).unwrap_err();
        assert!(e.0.contains("ZENML_SERVER_AUTH_SCHEME"), "{e}");
    }

    #[test]
    fn enrollment_key_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let path = path.display().to_string();
        let mut e: Vec<(&str, &str)> =
            pro_env().into_iter().filter(|(k, _)| *k != "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET").collect();
        e.push(("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET_FILE", &path));
        let c = Config::from_map(&env(&e)).unwrap();
        assert_eq!(c.pro.unwrap().oauth2_client_secret.0, "from-file");
    }

    #[test]
    fn defaults() {
        let c = Config::from_map(&env(&[("HOME", "/home/x")])).unwrap();
        assert_eq!(c.store_url, "sqlite:////home/x/.local/share/zenpro/workspace/zenml.db");
        assert_eq!(c.default_user_name, "default");
        assert!(!c.auto_activate);
    }
}
