//! Configuration of the control plane from `ZENPRO_CP_*` environment variables (see
//! `docs/control-plane.md`). A bad value stops start-up with a message naming the variable;
//! secrets never appear in `Debug`; every secret also has a `*_FILE` variant.

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

/// Control-plane settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ZENPRO_CP_DATABASE_URL`; default `sqlite://<data dir>/control-plane/cp.db`.
    pub database_url: String,
    /// `ZENPRO_DATA_DIR` (else XDG data home / `~/.local/share/zenpro`).
    pub data_dir: PathBuf,
    /// `ZENPRO_CP_URL`: public base URL; `None` = `http://127.0.0.1:<port>` (see [`Config::url`]).
    pub url: Option<String>,
    /// `ZENPRO_CP_DASHBOARD_URL`; `None` = the public URL.
    pub dashboard_url: Option<String>,
    /// `ZENPRO_CP_ADMIN_USERNAME` ("admin") / `ZENPRO_CP_ADMIN_PASSWORD`.
    pub admin_username: String,
    pub admin_password: Option<Secret>,
    /// `ZENPRO_CP_TOKEN_SECRET`; generated once into the data dir when unset.
    pub token_secret: Option<Secret>,
    /// `ZENPRO_CP_TOKEN_LIFETIME` (86400 s).
    pub token_lifetime: i64,
    /// `ZENPRO_CP_API_KEY_TOKEN_LIFETIME` (3600 s).
    pub api_key_token_lifetime: i64,
    /// `ZENPRO_CP_WORKSPACE_TOKEN_LIFETIME` (3600 s, must be > 300).
    pub workspace_token_lifetime: i64,
    /// `ZENPRO_CP_DEVICE_EXPIRES_IN` (300 s) / `ZENPRO_CP_DEVICE_INTERVAL` (2 s).
    pub device_expires_in: i64,
    pub device_interval: i64,
    /// `ZENPRO_CP_LOGIN_MAX_FAILURES` (10) per `ZENPRO_CP_LOGIN_WINDOW` (300 s).
    pub login_max_failures: i64,
    pub login_window: i64,
    /// Port used for the default public URL (set by `serve`; 8080).
    pub port: u16,
    /// Extra CA certificates for the dashboard's calls to workspace APIs: `REQUESTS_CA_BUNDLE`,
    /// else `CURL_CA_BUNDLE` (a PEM file or directory), added to the system store.
    pub ca: zenpro_tls::CaBundle,
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

/// Default data folder: `$ZENPRO_DATA_DIR`, else `$XDG_DATA_HOME/zenpro`, else
/// `~/.local/share/zenpro` (the same rule as the workspace server).
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

fn trim_url(u: &str) -> String {
    u.trim().trim_end_matches('/').to_string()
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
        let int = |k: &str, default: i64, min: i64| -> Result<i64, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(n) if n >= min => Ok(n),
                    Ok(_) => Err(ConfigError(format!("{k}={v:?} must be at least {min}"))),
                    Err(_) => Err(ConfigError(format!("{k}={v:?} is not an integer"))),
                },
            }
        };
        let data_dir = default_data_dir(env);
        let database_url = match file_or("ZENPRO_CP_DATABASE_URL")? {
            Some(u) => {
                let ok = ["sqlite:", "postgres://", "postgresql://", "mysql://", "mariadb://"]
                    .iter()
                    .any(|p| u.starts_with(p));
                if !ok {
                    return Err(ConfigError(format!(
                        "ZENPRO_CP_DATABASE_URL has an unsupported scheme ({}): use sqlite://FILE, postgres://… or mysql://…",
                        crate::db::redact_url(&u)
                    )));
                }
                u
            }
            None => format!("sqlite://{}", data_dir.join("control-plane").join("cp.db").display()),
        };
        let url_var = |k: &str| -> Result<Option<String>, ConfigError> {
            match get(k) {
                None => Ok(None),
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(trim_url(u))),
                Some(u) => Err(ConfigError(format!("{k}={u:?} is not an http(s) URL"))),
            }
        };
        Ok(Config {
            ca: zenpro_tls::CaBundle::from_requests_env(env).map_err(ConfigError)?,
            database_url,
            data_dir,
            url: url_var("ZENPRO_CP_URL")?,
            dashboard_url: url_var("ZENPRO_CP_DASHBOARD_URL")?,
            admin_username: get("ZENPRO_CP_ADMIN_USERNAME").unwrap_or("admin").to_string(),
            admin_password: file_or("ZENPRO_CP_ADMIN_PASSWORD")?.map(Secret),
            token_secret: file_or("ZENPRO_CP_TOKEN_SECRET")?.map(Secret),
            token_lifetime: int("ZENPRO_CP_TOKEN_LIFETIME", 86400, 1)?,
            api_key_token_lifetime: int("ZENPRO_CP_API_KEY_TOKEN_LIFETIME", 3600, 1)?,
            workspace_token_lifetime: int("ZENPRO_CP_WORKSPACE_TOKEN_LIFETIME", 3600, 301)?,
            device_expires_in: int("ZENPRO_CP_DEVICE_EXPIRES_IN", 300, 1)?,
            device_interval: int("ZENPRO_CP_DEVICE_INTERVAL", 2, 0)?,
            login_max_failures: int("ZENPRO_CP_LOGIN_MAX_FAILURES", 10, 1)?,
            login_window: int("ZENPRO_CP_LOGIN_WINDOW", 300, 1)?,
            port: 8080,
        })
    }

    /// The public base URL (no trailing `/`).
    pub fn url(&self) -> String {
        self.url.clone().unwrap_or_else(|| format!("http://127.0.0.1:{}", self.port))
    }

    /// The API base: `<url>/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.url())
    }

    /// The base of the browser pages (`ZENPRO_CP_DASHBOARD_URL`, else the public URL).
    pub fn dashboard_url(&self) -> String {
        self.dashboard_url.clone().unwrap_or_else(|| self.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults() {
        let c = Config::from_map(&env(&[("HOME", "/home/x")])).unwrap();
        assert_eq!(c.database_url, "sqlite:///home/x/.local/share/zenpro/control-plane/cp.db");
        assert_eq!(c.url(), "http://127.0.0.1:8080");
        assert_eq!(c.api_url(), "http://127.0.0.1:8080/api/v1");
        assert_eq!(c.token_lifetime, 86400);
        assert_eq!(c.admin_username, "admin");
        assert!(c.admin_password.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("ZENPRO_CP_DATABASE_URL", "oracle://x"),
            ("ZENPRO_CP_TOKEN_LIFETIME", "soon"),
            ("ZENPRO_CP_WORKSPACE_TOKEN_LIFETIME", "300"),
            ("ZENPRO_CP_URL", "ftp://x"),
        ] {
            let e = Config::from_map(&env(&[(k, v)])).unwrap_err();
            assert!(e.0.contains(k), "{e}");
        }
    }

    #[test]
    fn secrets_are_redacted_and_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let c = Config::from_map(&env(&[
            ("ZENPRO_CP_ADMIN_PASSWORD_FILE", f.to_str().unwrap()),
            ("ZENPRO_CP_TOKEN_SECRET", "tok"),
            ("ZENPRO_CP_URL", "https://cp.example.com/"),
        ]))
        .unwrap();
        assert_eq!(c.admin_password, Some(Secret("s3cret".into())));
        assert_eq!(c.url(), "https://cp.example.com");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret") && !dbg.contains("tok\""), "{dbg}");
    }

    #[test]
    fn ca_bundle_for_the_dashboards_workspace_calls() {
        let c = Config::from_map(&env(&[("HOME", "/home/x")])).unwrap();
        assert_eq!(c.ca.source(), None);
        let err =
            Config::from_map(&env(&[("HOME", "/home/x"), ("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")])).unwrap_err();
        assert!(
            err.0.starts_with("REQUESTS_CA_BUNDLE=\"/nonexistent/ca.pem\"") && err.0.contains("cannot be read"),
            "{}",
            err.0
        );
        let empty = std::env::temp_dir().join(format!("zenpro-cp-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate").unwrap();
        let err =
            Config::from_map(&env(&[("HOME", "/home/x"), ("CURL_CA_BUNDLE", empty.to_str().unwrap())])).unwrap_err();
        std::fs::remove_file(&empty).unwrap();
        assert!(err.0.starts_with("CURL_CA_BUNDLE="), "{}", err.0);
    }
}
