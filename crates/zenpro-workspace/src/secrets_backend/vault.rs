//! A small HashiCorp Vault (or OpenBao) KV v2 client for the `hashicorp` secrets store, speaking
//! the HTTP API with reqwest, compatible with the Python server's `HashiCorpVaultSecretsStore`
//! (hvac): the same settings, authentication methods, paths and payload.
//!
//! * Secret `<uuid>` lives at `<mount_point>/data/zenml/<uuid>` (mount point default `secret`)
//!   with data `{"zenml_secret_values": {key: value, ...}, "zenml_secret_metadata":
//!   {"zenml": "<server id>", "zenml_secret_id": "<uuid>"}}`; created with `cas=0`, deleted with
//!   `DELETE <mount_point>/metadata/zenml/<uuid>` (all versions). A read checks the metadata
//!   names this server and this secret, as the Python store does.
//! * Authentication: a token, AppRole (`auth/<mount|approle>/login`) or AWS IAM
//!   (`auth/<mount|aws>/login` with a SigV4-signed `sts:GetCallerIdentity`). After a login the
//!   mount's `max_versions` is configured (`POST <mount_point>/config`) as the Python store does.
//!   A leased token is renewed (`auth/token/renew-self`) once half of its lease has passed; when
//!   renewal fails, or 80 % of the lease has passed, or Vault answers 403, the client logs in again.
//! * Vault unreachable, sealed or refusing: [`Error::Unavailable`] (503). Tokens and values are
//!   never logged and never part of an error message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;
use zenpro_store::secrets::SecretValues;
use zenpro_types::Error;

use super::aws::{self, AwsEnv};
use crate::config::{ConfigError, Secret};

/// `HVAC_ZENML_SECRET_NAME_PREFIX`.
pub const PATH_PREFIX: &str = "zenml";
/// `ZENML_VAULT_SECRET_VALUES_KEY` / `ZENML_VAULT_SECRET_METADATA_KEY`.
pub const VALUES_KEY: &str = "zenml_secret_values";
pub const METADATA_KEY: &str = "zenml_secret_metadata";
/// `ZENML_SECRET_LABEL` / `ZENML_SECRET_ID_LABEL` of the base secrets store.
pub const LABEL: &str = "zenml";
pub const ID_LABEL: &str = "zenml_secret_id";
const DEFAULT_MOUNT_POINT: &str = "secret";

/// `HashiCorpVaultAuthMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Token,
    AppRole,
    Aws,
}

/// `HashiCorpVaultSecretsStoreConfiguration`, read from `ZENML_SECRETS_STORE_<FIELD>` as the
/// Python server reads it (field names upper-cased).
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `ZENML_SECRETS_STORE_VAULT_ADDR` (required).
    pub vault_addr: String,
    /// `ZENML_SECRETS_STORE_VAULT_NAMESPACE` (Vault Enterprise; sent as `X-Vault-Namespace`).
    pub vault_namespace: Option<String>,
    /// `ZENML_SECRETS_STORE_MOUNT_POINT` (`secret`).
    pub mount_point: String,
    /// `ZENML_SECRETS_STORE_AUTH_METHOD` (`token`, `app_role` or `aws`; default `token`).
    pub auth_method: AuthMethod,
    /// `ZENML_SECRETS_STORE_AUTH_MOUNT_POINT` (default `approle` / `aws`).
    pub auth_mount_point: Option<String>,
    /// `ZENML_SECRETS_STORE_VAULT_TOKEN`.
    pub vault_token: Option<Secret>,
    /// `ZENML_SECRETS_STORE_APP_ROLE_ID` / `ZENML_SECRETS_STORE_APP_SECRET_ID`.
    pub app_role_id: Option<String>,
    pub app_secret_id: Option<Secret>,
    /// `ZENML_SECRETS_STORE_AWS_ROLE` / `ZENML_SECRETS_STORE_AWS_HEADER_VALUE`.
    pub aws_role: Option<String>,
    pub aws_header_value: Option<String>,
    /// `ZENML_SECRETS_STORE_MAX_VERSIONS` (1).
    pub max_versions: i64,
    /// `ZENPRO_VAULT_TIMEOUT_SECONDS` (10): per request to Vault.
    pub timeout: Duration,
    /// The AWS environment (credentials for `aws` authentication).
    pub aws: AwsEnv,
    /// CA certificates trusted next to the system store: `VAULT_CACERT`, `VAULT_CAPATH`,
    /// `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE` (see `crate::tls`).
    pub ca: crate::tls::CaBundle,
}

impl VaultConfig {
    /// Read the settings; a missing or bad value is an error naming the variable.
    pub fn from_map(env: &HashMap<String, String>) -> Result<VaultConfig, ConfigError> {
        let get = |k: &str| env.get(&format!("ZENML_SECRETS_STORE_{k}")).filter(|s| !s.is_empty()).cloned();
        let file_or = |k: &str| -> Result<Option<String>, ConfigError> {
            if let Some(v) = get(k) {
                return Ok(Some(v));
            }
            match get(&format!("{k}_FILE")) {
                Some(path) => std::fs::read_to_string(&path)
                    .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_string()))
                    .map_err(|e| ConfigError(format!("ZENML_SECRETS_STORE_{k}_FILE={path:?} cannot be read: {e}"))),
                None => Ok(None),
            }
        };
        let vault_addr = get("VAULT_ADDR").ok_or_else(|| {
            ConfigError(
                "ZENML_SECRETS_STORE_TYPE=hashicorp needs ZENML_SECRETS_STORE_VAULT_ADDR (the Vault URL)".into(),
            )
        })?;
        if !vault_addr.starts_with("http://") && !vault_addr.starts_with("https://") {
            return Err(ConfigError(format!(
                "ZENML_SECRETS_STORE_VAULT_ADDR={vault_addr:?} is not an http:// or https:// URL"
            )));
        }
        if env.get("VAULT_CLIENT_CERT").is_some_and(|v| !v.is_empty()) {
            return Err(ConfigError(
                "VAULT_CLIENT_CERT is set: TLS client certificates for Vault are not supported by zenpro".into(),
            ));
        }
        let ca = crate::tls::CaBundle::from_vault_env(env).map_err(ConfigError)?;
        let auth_method = match get("AUTH_METHOD").map(|s| s.to_ascii_lowercase()).as_deref() {
            None | Some("token") => AuthMethod::Token,
            Some("app_role") => AuthMethod::AppRole,
            Some("aws") => AuthMethod::Aws,
            Some(m) => {
                return Err(ConfigError(format!(
                    "ZENML_SECRETS_STORE_AUTH_METHOD={m:?} is not a HashiCorp Vault auth method (token, app_role, aws)"
                )));
            }
        };
        let max_versions = match get("MAX_VERSIONS") {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map_err(|_| ConfigError(format!("ZENML_SECRETS_STORE_MAX_VERSIONS={v:?} is not an integer")))?,
            None => 1,
        };
        let timeout = match env.get("ZENPRO_VAULT_TIMEOUT_SECONDS").filter(|s| !s.is_empty()) {
            Some(v) => {
                Duration::from_secs_f64(v.trim().parse::<f64>().ok().filter(|s| *s > 0.0).ok_or_else(|| {
                    ConfigError(format!("ZENPRO_VAULT_TIMEOUT_SECONDS={v:?} is not a positive number"))
                })?)
            }
            None => Duration::from_secs(10),
        };
        let c = VaultConfig {
            vault_addr: vault_addr.trim_end_matches('/').to_string(),
            vault_namespace: get("VAULT_NAMESPACE"),
            mount_point: get("MOUNT_POINT").unwrap_or_else(|| DEFAULT_MOUNT_POINT.into()),
            auth_method,
            auth_mount_point: get("AUTH_MOUNT_POINT"),
            vault_token: file_or("VAULT_TOKEN")?.map(Secret),
            app_role_id: get("APP_ROLE_ID"),
            app_secret_id: file_or("APP_SECRET_ID")?.map(Secret),
            aws_role: get("AWS_ROLE"),
            aws_header_value: get("AWS_HEADER_VALUE"),
            max_versions,
            timeout,
            aws: AwsEnv::from_map(env),
            ca,
        };
        match c.auth_method {
            AuthMethod::Token if c.vault_token.is_none() => {
                Err(ConfigError("ZENML_SECRETS_STORE_AUTH_METHOD=token needs ZENML_SECRETS_STORE_VAULT_TOKEN".into()))
            }
            AuthMethod::AppRole if c.app_role_id.is_none() || c.app_secret_id.is_none() => Err(ConfigError(
                "ZENML_SECRETS_STORE_AUTH_METHOD=app_role needs ZENML_SECRETS_STORE_APP_ROLE_ID and \
                 ZENML_SECRETS_STORE_APP_SECRET_ID"
                    .into(),
            )),
            _ => Ok(c),
        }
    }
}

/// The current Vault token and when to renew or replace it.
#[derive(Default)]
struct Session {
    token: Option<Secret>,
    /// Renew after this instant (50 % of a renewable lease).
    renew_at: Option<Instant>,
    /// Log in again after this instant (80 % of the lease).
    expires_at: Option<Instant>,
}

/// The Vault client of one workspace server.
pub struct VaultClient {
    config: VaultConfig,
    http: reqwest::Client,
    /// `server_settings.id`, the `zenml` label of every secret this server writes.
    server_id: Uuid,
    session: Mutex<Session>,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultClient").field("config", &self.config).finish()
    }
}

/// A Vault answer: status and JSON body (`Null` when empty).
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    /// Vault's `errors` list, joined (never contains request data).
    fn errors(&self) -> String {
        match self.body.get("errors").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "),
            None => String::new(),
        }
    }
}

impl VaultClient {
    /// A client for `config`; fails only when the TLS settings cannot be built.
    pub fn new(config: VaultConfig, server_id: Uuid) -> Result<VaultClient, String> {
        let http = crate::tls::client_builder(&config.ca)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| {
                format!("cannot build the HTTP client for Vault ({}): {}", config.vault_addr, aws::plain(&e))
            })?;
        Ok(VaultClient { config, http, server_id, session: Mutex::new(Session::default()) })
    }

    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        if crate::tls::is_certificate_error(e) {
            return Error::Unavailable(format!(
                "The TLS certificate of the HashiCorp Vault secrets store at {} is not trusted ({}); trusted are \
                 the system store and {}: {}",
                self.config.vault_addr,
                "set VAULT_CACERT to the CA bundle that signed it",
                self.config.ca.source().unwrap_or("no extra CA bundle"),
                aws::plain(e)
            ));
        }
        Error::Unavailable(format!(
            "The HashiCorp Vault secrets store at {} is unreachable: {}",
            self.config.vault_addr,
            aws::plain(e)
        ))
    }

    fn refused(&self, what: &str, a: &Answer) -> Error {
        let why = a.errors();
        if a.status == StatusCode::SERVICE_UNAVAILABLE {
            return Error::Unavailable(format!(
                "The HashiCorp Vault secrets store at {} is sealed or unavailable ({what}): {why}",
                self.config.vault_addr
            ));
        }
        Error::Unavailable(format!(
            "The HashiCorp Vault secrets store at {} refused to {what} ({}): {why}",
            self.config.vault_addr, a.status
        ))
    }

    /// One HTTP call to `/v1/<path>` with the given token.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<Answer, Error> {
        let url = format!("{}/v1/{path}", self.config.vault_addr);
        let mut req = self.http.request(method, &url);
        if let Some(t) = token {
            req = req.header("X-Vault-Token", &t.0);
        }
        if let Some(ns) = &self.config.vault_namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        req = req.header("X-Vault-Request", "true");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok(Answer { status, body })
    }

    /// Log in with the configured method; returns the session for the new token.
    async fn login(&self) -> Result<Session, Error> {
        let c = &self.config;
        let answer = match c.auth_method {
            AuthMethod::Token => {
                return Ok(Session { token: c.vault_token.clone(), renew_at: None, expires_at: None });
            }
            AuthMethod::AppRole => {
                let mount = c.auth_mount_point.as_deref().unwrap_or("approle");
                let body = json!({
                    "role_id": c.app_role_id.clone().unwrap_or_default(),
                    "secret_id": c.app_secret_id.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
                });
                self.call(Method::POST, &format!("auth/{mount}/login"), None, Some(&body)).await?
            }
            AuthMethod::Aws => {
                let mount = c.auth_mount_point.as_deref().unwrap_or("aws");
                let creds = c.aws.credentials(&self.http).await?;
                let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
                let signed = aws::sign_get_caller_identity(&creds, c.aws_header_value.as_deref(), &date);
                let body = aws::iam_login_body(&signed, c.aws_role.as_deref());
                self.call(Method::POST, &format!("auth/{mount}/login"), None, Some(&body)).await?
            }
        };
        if !answer.status.is_success() {
            return Err(self.refused("log in", &answer));
        }
        let session = session_from_auth(&answer.body)
            .ok_or_else(|| Error::Unavailable("HashiCorp Vault answered a login without a client token".into()))?;
        tracing::info!(method = ?c.auth_method, "logged in to HashiCorp Vault");
        Ok(session)
    }

    /// After a login: `max_versions` of the mount, as the Python store configures it.
    async fn configure_mount(&self, token: &Secret) -> Result<(), Error> {
        let body = json!({"max_versions": self.config.max_versions, "delete_version_after": "0s"});
        let a =
            self.call(Method::POST, &format!("{}/config", self.config.mount_point), Some(token), Some(&body)).await?;
        if !a.status.is_success() {
            return Err(self.refused("configure the KV v2 mount", &a));
        }
        Ok(())
    }

    /// A valid token: renewed or replaced as its lease requires.
    async fn token(&self, force_login: bool) -> Result<Secret, Error> {
        let mut s = self.session.lock().await;
        let now = Instant::now();
        if !force_login && let Some(t) = s.token.clone() {
            match (s.renew_at, s.expires_at) {
                (Some(renew), _) if now >= renew => {
                    let a = self.call(Method::POST, "auth/token/renew-self", Some(&t), Some(&json!({}))).await;
                    match a {
                        Ok(a) if a.status.is_success() => {
                            if let Some(fresh) = session_from_auth(&a.body) {
                                *s = Session { token: Some(t.clone()), ..fresh };
                                tracing::debug!("renewed the HashiCorp Vault token");
                                return Ok(t);
                            }
                        }
                        Ok(a) => {
                            tracing::warn!(status = %a.status, "renewing the HashiCorp Vault token failed: {}", a.errors())
                        }
                        Err(e) => return Err(e),
                    }
                    // Renewal refused: log in again below.
                }
                (_, Some(exp)) if now >= exp => {}
                _ => return Ok(t),
            }
        }
        *s = Session::default();
        let fresh = self.login().await?;
        let token = fresh.token.clone().expect("a session from a login has a token");
        self.configure_mount(&token).await?;
        *s = fresh;
        Ok(token)
    }

    /// A KV call with the current token; a 403 with a login method logs in again once.
    async fn kv(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, Error> {
        let token = self.token(false).await?;
        let a = self.call(method.clone(), path, Some(&token), body).await?;
        if a.status == StatusCode::FORBIDDEN && self.config.auth_method != AuthMethod::Token {
            tracing::info!("HashiCorp Vault refused the token (403); logging in again");
            let token = self.token(true).await?;
            return self.call(method, path, Some(&token), body).await;
        }
        Ok(a)
    }

    fn data_path(&self, id: Uuid) -> String {
        format!("{}/data/{PATH_PREFIX}/{id}", self.config.mount_point)
    }

    fn payload(&self, id: Uuid, values: &SecretValues, create: bool) -> Value {
        let mut body = json!({
            "options": {},
            "data": {
                VALUES_KEY: values.to_json(),
                METADATA_KEY: {LABEL: self.server_id.to_string(), ID_LABEL: id.to_string()},
            },
        });
        if create {
            body["options"]["cas"] = json!(0);
        }
        body
    }

    /// `store_secret_values`: create the entry (`cas=0`: fails when it exists).
    pub async fn create(&self, id: Uuid, values: &SecretValues) -> Result<(), Error> {
        let a = self.kv(Method::POST, &self.data_path(id), Some(&self.payload(id, values, true))).await?;
        if !a.status.is_success() {
            return Err(self.refused("store the secret values", &a));
        }
        Ok(())
    }

    /// `update_secret_values`: write a new version.
    pub async fn update(&self, id: Uuid, values: &SecretValues) -> Result<(), Error> {
        let a = self.kv(Method::POST, &self.data_path(id), Some(&self.payload(id, values, false))).await?;
        if !a.status.is_success() {
            return Err(self.refused("update the secret values", &a));
        }
        Ok(())
    }

    /// `get_secret_values`: `Ok(None)` when no values are stored for this secret (404, or an
    /// entry whose metadata names another server or secret: the Python store's `KeyError`).
    pub async fn read(&self, id: Uuid) -> Result<Option<SecretValues>, Error> {
        let a = self.kv(Method::GET, &self.data_path(id), None).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(self.refused("read the secret values", &a));
        }
        let data = &a.body["data"]["data"];
        let (Some(meta), Some(values)) = (data.get(METADATA_KEY), data.get(VALUES_KEY)) else {
            return Ok(None);
        };
        let (Some(meta), Some(values)) = (meta.as_object(), values.as_object()) else {
            return Err(Error::internal(format!(
                "HashiCorp Vault secret values for secret {PATH_PREFIX}/{id} could not be retrieved: invalid type for metadata or values"
            )));
        };
        if meta.get(LABEL).and_then(Value::as_str) != Some(self.server_id.to_string().as_str()) {
            tracing::warn!(secret_id = %id, "the Vault entry of this secret belongs to another ZenML server");
            return Ok(None);
        }
        let stored_id = meta.get(ID_LABEL).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
        if stored_id != Some(id) {
            return Ok(None);
        }
        Ok(Some(
            values
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
        ))
    }

    /// `delete_secret_values`: remove the entry and all its versions (no error when missing).
    pub async fn delete(&self, id: Uuid) -> Result<(), Error> {
        let path = format!("{}/metadata/{PATH_PREFIX}/{id}", self.config.mount_point);
        let a = self.kv(Method::DELETE, &path, None).await?;
        if !a.status.is_success() && a.status != StatusCode::NOT_FOUND {
            return Err(self.refused("delete the secret values", &a));
        }
        Ok(())
    }
}

/// The token and lease of a login or renewal answer (`auth.client_token`, `lease_duration`,
/// `renewable`), with the Python store's timing: renew at 50 %, log in again at 80 %.
fn session_from_auth(body: &Value) -> Option<Session> {
    let auth = body.get("auth")?;
    let token = auth.get("client_token")?.as_str()?.to_string();
    let lease = auth.get("lease_duration").and_then(Value::as_f64).unwrap_or(0.0);
    let renewable = auth.get("renewable").and_then(Value::as_bool).unwrap_or(false);
    let now = Instant::now();
    let after = |f: f64| now + Duration::from_secs_f64(lease * f);
    Some(Session {
        token: Some(Secret(token)),
        renew_at: (renewable && lease > 0.0).then(|| after(0.5)),
        expires_at: (lease > 0.0).then(|| after(0.8)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn settings_as_the_python_store_names_them() {
        let c = VaultConfig::from_map(&env(&[
            ("ZENML_SECRETS_STORE_VAULT_ADDR", "http://vault:8200/"),
            ("ZENML_SECRETS_STORE_AUTH_METHOD", "app_role"),
            ("ZENML_SECRETS_STORE_APP_ROLE_ID", "role"),
            ("ZENML_SECRETS_STORE_APP_SECRET_ID", "very-secret"),
            ("ZENML_SECRETS_STORE_MOUNT_POINT", "kv"),
            ("ZENML_SECRETS_STORE_MAX_VERSIONS", "3"),
            ("ZENML_SECRETS_STORE_VAULT_NAMESPACE", "team"),
        ]))
        .unwrap();
        assert_eq!(c.vault_addr, "http://vault:8200");
        assert_eq!(c.auth_method, AuthMethod::AppRole);
        assert_eq!((c.mount_point.as_str(), c.max_versions), ("kv", 3));
        assert_eq!(c.vault_namespace.as_deref(), Some("team"));
        assert!(!format!("{c:?}").contains("very-secret"));
        let d = VaultConfig::from_map(&env(&[
            ("ZENML_SECRETS_STORE_VAULT_ADDR", "http://v"),
            ("ZENML_SECRETS_STORE_VAULT_TOKEN", "tok-123"),
        ]))
        .unwrap();
        assert_eq!((d.mount_point.as_str(), d.max_versions, d.auth_method), ("secret", 1, AuthMethod::Token));
        assert!(!format!("{d:?}").contains("tok-123"));
    }

    #[test]
    fn missing_settings_name_the_variable() {
        let e = VaultConfig::from_map(&env(&[])).unwrap_err();
        assert!(e.0.contains("ZENML_SECRETS_STORE_VAULT_ADDR"), "{e}");
        let e = VaultConfig::from_map(&env(&[("ZENML_SECRETS_STORE_VAULT_ADDR", "http://v")])).unwrap_err();
        assert!(e.0.contains("ZENML_SECRETS_STORE_VAULT_TOKEN"), "{e}");
        let e = VaultConfig::from_map(&env(&[
            ("ZENML_SECRETS_STORE_VAULT_ADDR", "http://v"),
            ("ZENML_SECRETS_STORE_AUTH_METHOD", "kerberos"),
        ]))
        .unwrap_err();
        assert!(e.0.contains("ZENML_SECRETS_STORE_AUTH_METHOD"), "{e}");
    }

    #[test]
    fn https_addresses_and_ca_settings() {
        let tok = ("ZENML_SECRETS_STORE_VAULT_TOKEN", "t");
        let c = VaultConfig::from_map(&env(&[("ZENML_SECRETS_STORE_VAULT_ADDR", "https://vault:8200"), tok])).unwrap();
        assert_eq!(c.vault_addr, "https://vault:8200");
        assert!(c.ca.source().is_none());
        let e = VaultConfig::from_map(&env(&[("ZENML_SECRETS_STORE_VAULT_ADDR", "vault:8200"), tok])).unwrap_err();
        assert!(e.0.contains("ZENML_SECRETS_STORE_VAULT_ADDR"), "{e}");
        let addr = ("ZENML_SECRETS_STORE_VAULT_ADDR", "https://v");
        let e = VaultConfig::from_map(&env(&[addr, tok, ("VAULT_CACERT", "/nonexistent/ca.pem")])).unwrap_err();
        assert!(e.0.contains("VAULT_CACERT") && e.0.contains("cannot be read"), "{e}");
        let e = VaultConfig::from_map(&env(&[addr, tok, ("VAULT_CLIENT_CERT", "/c.pem")])).unwrap_err();
        assert!(e.0.contains("VAULT_CLIENT_CERT") && e.0.contains("not supported"), "{e}");
    }

    #[test]
    fn lease_timing() {
        let s = session_from_auth(&json!({"auth": {"client_token": "t", "lease_duration": 100, "renewable": true}}))
            .unwrap();
        let (r, e) = (s.renew_at.unwrap(), s.expires_at.unwrap());
        assert!(r < e);
        let s = session_from_auth(&json!({"auth": {"client_token": "t", "lease_duration": 0}})).unwrap();
        assert!(s.renew_at.is_none() && s.expires_at.is_none());
    }
}
