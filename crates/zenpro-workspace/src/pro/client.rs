//! The HTTP client of the control plane (pro-protocol §2): the workspace's client-credentials
//! token (cached in memory, refreshed when less than 5 minutes remain, reset and the call retried
//! once on a 401), the `zenml-server-*` headers on every call, and the error mapping of §2.1.
//! It holds no state that matters across replicas: only the token and counters.
//!
//! Every refusal of the control plane (401 after the retry, 402, 403, refused workspace
//! credentials) moves [`ProClient::refusals`], which the workspace's caches follow: they forget
//! everything at once. Unreachability (connection errors, 502/503/504) does not: cached answers
//! keep serving until they expire, unknown ones fail closed with a 503 naming the control plane.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use uuid::Uuid;
use zenpro_types::Error;

use crate::config::{ProConfig, Secret};
use crate::routes::info::ZENML_VERSION;

/// Refresh the workspace token when less than this remains (as the reference).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Timeout of `GET /users/authorize_server` (`EXTERNAL_AUTHENTICATOR_TIMEOUT`).
const AUTHORIZE_TIMEOUT: Duration = Duration::from_secs(10);

/// What `GET /users/authorize_server` says about a credential (`ExternalUserModel`).
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalUser {
    pub id: Uuid,
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_superuser: bool,
    #[serde(default)]
    pub is_service_account: bool,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

struct Token {
    value: Secret,
    expires_at: Instant,
}

/// Client of one control plane, shared by all requests of a workspace server.
pub struct ProClient {
    http: reqwest::Client,
    api_url: String,
    workspace_id: Uuid,
    server_url: String,
    client_secret: Secret,
    audience: String,
    token: Mutex<Option<Token>>,
    calls: AtomicU64,
    refusals: Arc<AtomicU64>,
}

impl std::fmt::Debug for ProClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProClient").field("api_url", &self.api_url).field("workspace_id", &self.workspace_id).finish()
    }
}

/// The CP could not be reached, or answered as a proxy does when it is down.
fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %e, "control plane call failed: {what}");
    Error::Unavailable(format!("The ZenML Pro control plane is not reachable ({what}). Please try again later."))
}

/// A failed request: an untrusted TLS certificate says so (and how to fix it), anything else is
/// [`unavailable`].
fn send_failed(what: &str, e: reqwest::Error) -> Error {
    if crate::tls::is_certificate_error(&e) {
        tracing::warn!(error = ?e, "control plane call failed: {what}");
        return Error::Unavailable(format!(
            "The TLS certificate of the ZenML Pro control plane is not trusted ({what}): add its CA with \
             REQUESTS_CA_BUNDLE (trusted are the system store and that bundle)."
        ));
    }
    unavailable(what, e)
}

/// The `detail` of a ZenML error body, else the body as text.
fn detail(body: &Value) -> String {
    match body.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => {
            a.get(1).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| body.to_string())
        }
        _ => body.to_string(),
    }
}

impl ProClient {
    /// A client for `config`; `server_url` is this workspace's public URL (`zenml-server-url`).
    pub fn new(config: &ProConfig, server_url: &str) -> Result<ProClient, Error> {
        let http = crate::tls::client_builder(&config.ca)
            .timeout(Duration::from_secs(config.http_timeout_seconds))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the control plane HTTP client: {e}")))?;
        Ok(ProClient {
            http,
            api_url: config.api_url.clone(),
            workspace_id: config.workspace_id,
            server_url: server_url.trim_end_matches('/').to_string(),
            client_secret: config.oauth2_client_secret.clone(),
            audience: config.oauth2_audience.clone(),
            token: Mutex::new(None),
            calls: AtomicU64::new(0),
            refusals: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Number of HTTP calls made to the control plane so far (token fetches included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counter of control-plane refusals (401/402/403); caches built with
    /// [`super::cache::TtlCache::invalidated_by`] on it forget their entries when it moves.
    pub fn refusals(&self) -> Arc<AtomicU64> {
        self.refusals.clone()
    }

    fn refused(&self) {
        self.refusals.fetch_add(1, Ordering::AcqRel);
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// A request with the three `zenml-server-*` headers; `query` is URL-encoded onto the path.
    fn request(&self, method: Method, path: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut url = format!("{}{path}", self.api_url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&serde_urlencoded::to_string(query).unwrap_or_default());
        }
        let mut rb = self
            .http
            .request(method, url)
            .header("zenml-server-id", self.workspace_id.to_string())
            .header("zenml-server-version", ZENML_VERSION);
        if !self.server_url.is_empty() {
            rb = rb.header("zenml-server-url", &self.server_url);
        }
        rb
    }

    /// `POST /auth/login` with the client credentials (the enrollment key).
    async fn fetch_token(&self) -> Result<Token, Error> {
        let form = [
            ("client_id", self.workspace_id.to_string()),
            ("client_secret", self.client_secret.0.clone()),
            ("audience", self.audience.clone()),
            ("grant_type", "client_credentials".to_string()),
        ];
        let resp = self
            .request(Method::POST, "/auth/login", &[])
            .form(&form)
            .send()
            .await
            .map_err(|e| send_failed("workspace login", e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
            self.refused();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            tracing::error!(%status, detail = %detail(&body), "the control plane refused this workspace's credentials");
            return Err(Error::Unavailable(format!(
                "The ZenML Pro control plane at {} refused this workspace's credentials (HTTP {}: {}). Check \
                 ZENML_SERVER_PRO_WORKSPACE_ID and the enrollment key ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET.",
                self.api_url,
                status.as_u16(),
                detail(&body)
            )));
        }
        if !status.is_success() {
            return Err(unavailable("workspace login", format!("HTTP {status}")));
        }
        let body: Value = resp.json().await.map_err(|e| unavailable("workspace login", e))?;
        let access = body.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty());
        let expires_in = body.get("expires_in").and_then(Value::as_u64).filter(|n| *n > 0);
        match (access, expires_in) {
            (Some(a), Some(e)) => {
                Ok(Token { value: Secret(a.to_string()), expires_at: Instant::now() + Duration::from_secs(e) })
            }
            _ => Err(Error::internal("the control plane's token response has no access_token or expires_in")),
        }
    }

    /// The workspace token, fetched when missing or about to expire.
    async fn token(&self) -> Result<Secret, Error> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && t.expires_at > Instant::now() + REFRESH_MARGIN
        {
            return Ok(t.value.clone());
        }
        let t = self.fetch_token().await?;
        let v = t.value.clone();
        *guard = Some(t);
        Ok(v)
    }

    async fn reset_token(&self) {
        *self.token.lock().await = None;
    }

    /// A call with the workspace token; on a 401 the token is reset and the call retried once.
    /// Maps errors as the reference (§2.1): 402/403 → 403, unreachable/5xx gateway → 503, any
    /// other error → 500. Returns the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let mut rb = self.request(method.clone(), path, query).bearer_auth(&token.0);
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let resp = rb.send().await.map_err(|e| send_failed(path, e))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.reset_token().await;
                continue;
            }
            let text = resp.text().await.map_err(|e| unavailable(path, e))?;
            let json: Value =
                if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
            if status.is_success() {
                return Ok(json);
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::PAYMENT_REQUIRED | StatusCode::FORBIDDEN) {
                self.refused();
            }
            return Err(match status {
                StatusCode::PAYMENT_REQUIRED => {
                    Error::forbidden(format!("Subscription upgrade required: {}", detail(&json)))
                }
                StatusCode::FORBIDDEN => Error::forbidden(detail(&json)),
                StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                    unavailable(path, format!("HTTP {status}"))
                }
                _ => {
                    Error::internal(format!("control plane {method} {path} answered HTTP {status}: {}", detail(&json)))
                }
            });
        }
    }

    /// `PATCH /workspace_status`: the startup status update, and zenpro's heartbeat.
    pub async fn workspace_status(&self) -> Result<(), Error> {
        self.call(Method::PATCH, "/workspace_status", &[], None).await.map(|_| ())
    }

    /// `GET /users/authorize_server` with the caller's own credential (a CP token or a
    /// `ZENPROKEY_` key). Errors as the reference's `authenticate_external_user`, as 401s;
    /// an unreachable control plane is a 503.
    pub async fn authorize_server(&self, credential: &str) -> Result<ExternalUser, Error> {
        let resp = self
            .request(Method::GET, "/users/authorize_server", &[("server_id", self.workspace_id.to_string())])
            .bearer_auth(credential)
            .timeout(AUTHORIZE_TIMEOUT)
            .send()
            .await
            .map_err(|e| send_failed("user authorization", e))?;
        let status = resp.status();
        if status.is_success() {
            let body: Value =
                resp.json().await.map_err(|_| Error::credentials("Unknown external authenticator error"))?;
            return serde_json::from_value(body)
                .map_err(|_| Error::credentials("Unknown external authenticator error"));
        }
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Error::credentials("Not authorized to access this server.")
            }
            StatusCode::NOT_FOUND => Error::credentials("External authenticator did not recognize this server."),
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                unavailable("user authorization", format!("HTTP {status}"))
            }
            _ => {
                tracing::error!(%status, "error fetching user information from the control plane");
                Error::credentials("Error fetching user information from external authenticator.")
            }
        })
    }
}
