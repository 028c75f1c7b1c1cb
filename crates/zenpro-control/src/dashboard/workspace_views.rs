//! The workspace views (`zenpro-dashboard`: projects, pipelines, runs with their DAG, steps,
//! artifacts, models and their versions, stacks, components, secrets) under
//! `/workspaces/{name}/...`: the same paths as a workspace server in OSS mode serves at `/`, with
//! the prefix. The views are a client of the workspace's public REST API; the control plane calls
//! it as the signed-in user:
//!
//! 1. the session cookie gives the user (no session → `/login?next=<this page>`);
//! 2. the workspace must be one the user sees (else 404, as the workspace page) and may log in
//!    to (else 403 saying so), enrolled (else 409) and with a known URL;
//! 3. **external login** (`pro-protocol.md` §1.6/§2.3): `POST {workspace}/api/v1/login`
//!    `grant_type=zenml-external` with the session's control-plane token as bearer; the workspace
//!    asks our `/users/authorize_server` and answers its own token (refusal → 403 page,
//!    unreachable → 502 page);
//! 4. that token is cached in memory per (session, workspace) until shortly before it expires
//!    (bounded; a miss — another replica, a restart — simply logs in again; a 401 from the API
//!    drops the entry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::request::Parts;
use http::{StatusCode, Uri};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use zenpro_dashboard::{ApiSource, ApiTarget, HttpClient, TargetFuture};
use zenpro_types::Error;

use super::{error_page, seg};
use crate::AppState;
use crate::pages::{self, SESSION_COOKIE};

/// Cached workspace tokens at most (the oldest-expiring go first when full).
const CACHE_CAP: usize = 1024;
/// A cached token is not used in its last minute (a page makes several calls).
const MARGIN: Duration = Duration::from_secs(60);

/// Routes under `/workspaces/{name}/...` (other than the workspace page itself and its POSTs):
/// the request goes, without the prefix, to the views' router.
pub fn router(ca: &zenpro_tls::CaBundle) -> Router<AppState> {
    let http = zenpro_dashboard::http_client(ca);
    let views: Router = zenpro_dashboard::workspace_views(Arc::new(CpSource::default()), http);
    let v2 = views.clone();
    Router::new()
        .route("/workspaces/{name}/", any(move |st, path, req| serve(views.clone(), st, path, req)))
        .route("/workspaces/{name}/{*rest}", any(move |st, path, req| serve(v2.clone(), st, path, req)))
}

/// What the source needs of the request, put into its extensions by [`serve`].
#[derive(Clone)]
struct CpReq {
    state: AppState,
    /// The workspace name or id as in the path.
    name: String,
    /// The original path and query (the login's return URL).
    original: String,
}

async fn serve(
    views: Router,
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let name = param("name");
    let rest = param("rest");
    let original = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let inner = match req.uri().query() {
        Some(q) => format!("/{}?{q}", seg_path(&rest)),
        None => format!("/{}", seg_path(&rest)),
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = match inner.parse::<Uri>() {
        Ok(u) => u,
        Err(_) => return error_page(StatusCode::NOT_FOUND, "No such page."),
    };
    // A fresh set: the outer route's path parameters must not reach the views' `Path`.
    parts.extensions = http::Extensions::new();
    parts.extensions.insert(CpReq { state, name, original });
    match views.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => super::secure_headers(r),
        Err(e) => match e {},
    }
}

/// The decoded rest of the path, re-encoded segment by segment.
fn seg_path(rest: &str) -> String {
    rest.split('/').map(seg).collect::<Vec<_>>().join("/")
}

/// A workspace token and when it stops being used.
struct Cached {
    token: String,
    until: Instant,
}

/// The control plane's [`ApiSource`]: session → user → workspace → external login (cached).
#[derive(Default)]
struct CpSource {
    /// (SHA-256 of the session token, workspace id) → workspace token.
    cache: Mutex<HashMap<(String, uuid::Uuid), Cached>>,
}

impl CpSource {
    fn cached(&self, key: &(String, uuid::Uuid)) -> Option<String> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).filter(|c| c.until > Instant::now()).map(|c| c.token.clone())
    }

    fn store(&self, key: (String, uuid::Uuid), token: String, expires_in: u64) {
        // `expires_in` 0 (not said): keep it for five minutes.
        let life = if expires_in == 0 { Duration::from_secs(300) } else { Duration::from_secs(expires_in) };
        let Some(until) = Instant::now().checked_add(life.saturating_sub(MARGIN)) else { return };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAP {
            let now = Instant::now();
            cache.retain(|_, c| c.until > now);
            while cache.len() >= CACHE_CAP {
                let Some(oldest) = cache.iter().min_by_key(|(_, c)| c.until).map(|(k, _)| k.clone()) else { break };
                cache.remove(&oldest);
            }
        }
        cache.insert(key, Cached { token, until });
    }

    async fn resolve(&self, req: &Parts, http: &HttpClient) -> Result<ApiTarget, Response> {
        let Some(cp) = req.extensions.get::<CpReq>() else {
            return Err(Error::internal("workspace views mounted without their request context").into_response());
        };
        let state = &cp.state;
        let headers = &req.headers;
        let back: Uri = cp.original.parse().unwrap_or_else(|_| Uri::from_static("/"));
        let c = super::ctx(state, headers, &back).await.map_err(|e| e.0)?;
        let session = pages::cookie(headers, SESSION_COOKIE).unwrap_or_default();
        let (w, _org) = super::form::checked_ws(state, &c, &cp.name, super::form::Need::See, super::workspaces::SEE_WS)
            .await
            .map_err(page)?;
        let ws_page = format!("/workspaces/{}", seg(&w.name));
        let refuse = |status: StatusCode, msg: String| error_page(status, &msg);
        let allowed = crate::routes::client::accessible_workspaces(state, &c.user)
            .await
            .map_err(page)?
            .iter()
            .any(|a| a.id == w.id);
        if w.status == "deactivated" || w.desired_state == "deactivated" {
            return Err(refuse(StatusCode::CONFLICT, format!("The workspace '{}' is deactivated.", w.name)));
        }
        if !allowed {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "You have no access to the runs, pipelines and artifacts of the workspace '{}': ask an \
                     admin of its organization for a role on it.",
                    w.name
                ),
            ));
        }
        if w.status == "not_initialized" {
            return Err(refuse(
                StatusCode::CONFLICT,
                format!(
                    "The workspace server of '{}' has not enrolled with this control plane yet: start it with \
                     its enrollment key, then reload this page.",
                    w.name
                ),
            ));
        }
        let Some(base_url) = w.server_url.clone().or_else(|| w.url.clone()).filter(|u| !u.is_empty()) else {
            return Err(refuse(
                StatusCode::CONFLICT,
                format!("The workspace server of '{}' has not reported its URL (ZENML_SERVER_SERVER_URL).", w.name),
            ));
        };
        let key = (hex_sha256(&session), w.id);
        let token = match self.cached(&key) {
            Some(t) => t,
            None => {
                let (token, expires_in) =
                    zenpro_dashboard::external_login(http, &base_url, &session).await.map_err(|e| match e {
                        Error::Unavailable(m) => error_page(StatusCode::BAD_GATEWAY, &m),
                        e => page(e),
                    })?;
                self.store(key, token.clone(), expires_in);
                token
            }
        };
        Ok(ApiTarget {
            base_url,
            token: Some(token),
            prefix: ws_page.clone(),
            login_url: format!("/login?next={}", pages::url_encode(&cp.original)),
            logout_url: "/logout".into(),
            home: Some((format!("← {} (control plane)", w.name), ws_page)),
        })
    }
}

impl ApiSource for CpSource {
    fn target<'a>(&'a self, req: &'a Parts, http: &'a HttpClient) -> TargetFuture<'a> {
        Box::pin(self.resolve(req, http))
    }

    fn invalidate(&self, target: &ApiTarget) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, c| Some(&c.token) != target.token.as_ref());
    }
}

/// An error as the control plane's error page (5xx logged, generic text).
fn page(e: Error) -> Response {
    super::PageError::from(e).0
}

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_and_expires() {
        let src = CpSource::default();
        let id = uuid::Uuid::new_v4();
        for i in 0..CACHE_CAP + 10 {
            src.store((format!("s{i}"), id), format!("t{i}"), 3600);
        }
        assert_eq!(src.cache.lock().unwrap().len(), CACHE_CAP);
        assert_eq!(src.cached(&(format!("s{}", CACHE_CAP + 9), id)).as_deref(), Some(&*format!("t{}", CACHE_CAP + 9)));
        // A token living less than the margin is never served.
        src.store(("short".into(), id), "t".into(), 30);
        assert_eq!(src.cached(&("short".into(), id)), None);
        let t = ApiTarget {
            base_url: String::new(),
            token: Some("t5".into()),
            prefix: String::new(),
            login_url: String::new(),
            logout_url: String::new(),
            home: None,
        };
        src.invalidate(&t);
        assert_eq!(src.cached(&("s5".into(), id)), None);
    }

    #[test]
    fn rest_of_path_is_re_encoded() {
        assert_eq!(seg_path("runs/abc"), "runs/abc");
        assert_eq!(seg_path("a b/c?d"), "a%20b/c%3Fd");
        assert_eq!(seg_path(""), "");
    }
}
