//! The dashboard: static assets served from the binary (stylesheet, vendored htmx 2.0.11) and the
//! workspace views, which are a **client of the public ZenML REST API** over HTTP only: they never
//! touch a store, so the same views work against our workspace server and against the Python one.
//!
//! # Mounting
//!
//! [`workspace_views`] returns a `Router<S>` for any state; the caller chooses where the API is and
//! whose token is used through an [`ApiSource`]:
//!
//! * OSS mode (our workspace server at `/`): [`OssSource`] — the workspace's own URL and the
//!   token from its login cookie (`zenml-server-<id>`, the same cookie `POST /api/v1/login` sets);
//!   [`login_router`] adds `GET/POST /login` (the form posts to the workspace's own
//!   `/api/v1/login`) and `POST /logout`.
//! * Pro mode (the control plane, `zenpro-control` `dashboard/workspace_views.rs`): its source
//!   looks the session up, resolves and checks the workspace, logs in to it with
//!   [`external_login`] (the user's control-plane token), caches the workspace token, and returns
//!   `prefix = "/workspaces/{name}"` so links stay inside the nest.
//!
//! Every page is a bounded number of API calls (lists are fetched hydrated, one page at a time);
//! askama escapes every value, the DAG SVG is built from escaped text ([`dag`]).

pub mod dag;
mod views;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderMap;
use http::request::Parts;
use zenpro_types::Error;

/// The views' HTTP client type (sources log in with it).
pub use reqwest::Client as HttpClient;
pub use views::{login_router, workspace_views};

/// htmx 2.0.11 (npm `htmx.org`, BSD-2-Clause, see `assets/htmx-LICENSE`), vendored: no CDN.
pub const HTMX_JS: &str = include_str!("../assets/htmx-2.0.11.min.js");
/// The workspace views' stylesheet.
pub const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");

/// The URL prefix the assets are served under (by both servers).
pub const ASSETS_PREFIX: &str = "/static";

/// `GET /static/htmx.min.js` and `/static/dashboard.css`, cached for a day (the file names carry no
/// version).
pub fn assets_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    fn asset(ct: &'static str, body: &'static str) -> axum::response::Response {
        ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response()
    }
    Router::new()
        .route("/static/htmx.min.js", get(|| async { asset("text/javascript; charset=utf-8", HTMX_JS) }))
        .route("/static/dashboard.css", get(|| async { asset("text/css; charset=utf-8", DASHBOARD_CSS) }))
}

/// Where one request's API calls go and as whom.
#[derive(Debug, Clone)]
pub struct ApiTarget {
    /// The workspace server's URL without `/api/v1` (e.g. `http://127.0.0.1:8080`).
    pub base_url: String,
    /// The bearer token of the logged-in user; `None` → redirect to the login page.
    pub token: Option<String>,
    /// Prefix of the views' links (`""` at `/`, `/workspaces/{name}` under the control plane).
    pub prefix: String,
    /// Where to send a visitor who is not logged in (or whose token the API refused).
    pub login_url: String,
    /// Where the "Log out" form posts (with the `csrf` field of the `zenpro_csrf` cookie).
    pub logout_url: String,
    /// A link back to the page the views belong to (text, href), e.g. the control plane's
    /// workspace page.
    pub home: Option<(String, String)>,
}

/// What [`ApiSource::target`] returns: the target, or the response to send instead (a redirect
/// to a login page, a page saying why the workspace cannot be reached).
pub type TargetFuture<'a> = Pin<Box<dyn Future<Output = Result<ApiTarget, Response>> + Send + 'a>>;

/// Gives, per request, the API base URL and the bearer token to use.
pub trait ApiSource: Send + Sync + 'static {
    /// Resolve the target of a request from its parts (cookies, host, extensions the mounting
    /// server added); `http` is the views' client (for a login to the workspace).
    fn target<'a>(&'a self, req: &'a Parts, http: &'a reqwest::Client) -> TargetFuture<'a>;
    /// The cookie to set after a successful login through [`login_router`] (name, value); `None`
    /// when this source does not log in itself.
    fn session_cookie_name(&self) -> Option<String> {
        None
    }
    /// The API refused `target`'s token (401): forget it if it was cached.
    fn invalidate(&self, _target: &ApiTarget) {}
}

/// OSS mode: the workspace's own URL (configured, else `http://<Host>`) and its login cookie.
#[derive(Debug, Clone)]
pub struct OssSource {
    /// `ZENML_SERVER_SERVER_URL` when set.
    pub base_url: Option<String>,
    /// The workspace's auth cookie name (`zenml-server-<server id>`).
    pub cookie_name: String,
}

impl OssSource {
    fn target_of(&self, headers: &HeaderMap) -> ApiTarget {
        let base_url = match &self.base_url {
            Some(u) if !u.is_empty() => u.trim_end_matches('/').to_string(),
            _ => {
                // Only a host[:port] is accepted from the Host header.
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
                    .unwrap_or("127.0.0.1");
                format!("http://{host}")
            }
        };
        ApiTarget {
            base_url,
            token: cookie(headers, &self.cookie_name),
            prefix: String::new(),
            login_url: "/login".into(),
            logout_url: "/logout".into(),
            home: None,
        }
    }
}

impl ApiSource for OssSource {
    fn target<'a>(&'a self, req: &'a Parts, _http: &'a reqwest::Client) -> TargetFuture<'a> {
        let t = self.target_of(&req.headers);
        Box::pin(async move { Ok(t) })
    }
    fn session_cookie_name(&self) -> Option<String> {
        Some(self.cookie_name.clone())
    }
}

/// The HTTP client of the views: trusts the system store plus the operator's CA bundle (the
/// same `zenpro_tls` settings as the workspace's other outgoing calls), 30 s per request. Building
/// only fails when the TLS backend cannot start; that client then has reqwest's defaults.
pub fn http_client(ca: &zenpro_tls::CaBundle) -> reqwest::Client {
    zenpro_tls::client_builder(ca)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// External login (Pro mode, `pro-protocol.md` §1.6/§2.3): `POST {base_url}/api/v1/login` with
/// `grant_type=zenml-external` and the user's control-plane token as bearer; the workspace asks
/// the control plane who that is and whether they may use it, and answers its own token.
/// `Ok((access_token, expires_in seconds))`; a refusal (401/403) is `Forbidden` with the
/// workspace's reason, an unreachable or failing workspace `Unavailable`.
pub async fn external_login(http: &reqwest::Client, base_url: &str, cp_token: &str) -> Result<(String, u64), Error> {
    let url = format!("{}/api/v1/login", base_url.trim_end_matches('/'));
    let resp = http
        .post(&url)
        .bearer_auth(cp_token)
        .header(header::USER_AGENT, "zenpro-dashboard")
        .form(&[("grant_type", "zenml-external")])
        .send()
        .await
        .map_err(|e| Error::Unavailable(format!("The workspace server at {base_url} is not reachable: {e}")))?;
    let code = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    match code.as_u16() {
        200..=299 => match body["access_token"].as_str() {
            Some(t) if !t.is_empty() => Ok((t.to_string(), body["expires_in"].as_u64().unwrap_or(0))),
            _ => Err(Error::Unavailable(format!(
                "The workspace server at {base_url} did not answer a token; is it in Pro mode?"
            ))),
        },
        401 | 403 => {
            Err(Error::forbidden(format!("The workspace server refused your login: {}", views::detail(&body))))
        }
        _ => Err(Error::Unavailable(format!("The workspace server at {base_url} answered {code} to the login."))),
    }
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Shared handle of the views.
pub type SharedSource = Arc<dyn ApiSource>;
