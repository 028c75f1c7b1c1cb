//! Pro mode: a workspace server governed by a control plane (pro-protocol §2–§3).
//!
//! [`Pro::start`] enrolls at start-up (`PATCH /workspace_status`; a failure stops start-up) and
//! keeps a heartbeat task running for as long as the server state lives. [`authenticate`] turns
//! a control-plane credential (CP token or `ZENPROKEY_` key) into a local account, creating or
//! taking over users and service accounts as the reference does. [`disabled_endpoint`] lists
//! the endpoints the reference does not register in Pro mode. Only in-memory caches: replicas
//! share nothing but the database.

pub mod cache;
pub mod client;
pub mod rbac;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use http::{Method, StatusCode};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zenpro_store::users::{NewUser, UserRow, UserUpdate};
use zenpro_store::{NameOrId, parse_id};
use zenpro_types::Error;

use crate::config::ProConfig;
use crate::state::AppState;
use cache::TtlCache;
pub use client::{ExternalUser, ProClient};

/// Prefix of control-plane API keys; bearer tokens with it are checked by the control plane.
pub const PRO_API_KEY_PREFIX: &str = "ZENPROKEY_";
/// Most credentials remembered at once.
const USER_CACHE_SIZE: usize = 1024;

/// Aborts the heartbeat when the server state is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The Pro side of a workspace server's state.
pub struct Pro {
    pub config: ProConfig,
    pub client: Arc<ProClient>,
    /// SHA-256 of a credential → the local account it authenticated, for `cache_seconds`.
    users: TtlCache<Uuid>,
    /// RBAC decisions, allowed-id lists, entitlements and reported usage events.
    pub rbac: rbac::RbacCache,
    _heartbeat: AbortOnDrop,
}

impl Pro {
    /// Enroll with the control plane (the startup status update) and start the heartbeat.
    /// `server_url` is `ZENML_SERVER_SERVER_URL` (sent as `zenml-server-url`).
    pub async fn start(config: ProConfig, server_url: &str) -> Result<Pro, Error> {
        if server_url.is_empty() {
            tracing::warn!(
                "ZENML_SERVER_SERVER_URL is not set: the control plane will not learn this workspace's URL, so clients \
                 cannot find it (set it to the URL clients use)"
            );
        }
        let client = Arc::new(ProClient::new(&config, server_url)?);
        client.workspace_status().await.map_err(|e| {
            Error::Unavailable(format!(
                "cannot enroll with the ZenML Pro control plane at {} as workspace {}: {}",
                config.api_url,
                config.workspace_id,
                match &e {
                    Error::Unavailable(m) | Error::Internal(m) | Error::IllegalOperation(m) => m.clone(),
                    other => other.to_string(),
                }
            ))
        })?;
        tracing::info!(api_url = %config.api_url, workspace_id = %config.workspace_id, "enrolled with the control plane");
        let period = Duration::from_secs(config.heartbeat_seconds);
        let beat = client.clone();
        let heartbeat = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = beat.workspace_status().await {
                    tracing::warn!(error = %e, "heartbeat to the control plane failed; retrying next period");
                }
            }
        });
        let ttl = Duration::from_secs(config.cache_seconds);
        let refusals = client.refusals();
        Ok(Pro {
            config,
            client,
            users: TtlCache::new(ttl, USER_CACHE_SIZE).invalidated_by(refusals.clone()),
            rbac: rbac::RbacCache::new(ttl, refusals),
            _heartbeat: AbortOnDrop(heartbeat),
        })
    }
}

fn credential_key(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

/// Authenticate a control-plane credential presented to this workspace: ask the control plane
/// who it is (`GET /users/authorize_server`), then create or update the local account. With
/// `use_cache`, an answer less than `cache_seconds` old is reused (per-request `ZENPROKEY_`
/// bearers); logins always ask.
pub async fn authenticate(state: &AppState, pro: &Pro, credential: &str, use_cache: bool) -> Result<UserRow, Error> {
    let key = credential_key(credential);
    if use_cache
        && let Some(id) = pro.users.get(&key)
        && let Some(user) = state.store().find_account_by_id(id).await?
        && user.active
    {
        return Ok(user);
    }
    let ext = pro.client.authorize_server(credential).await?;
    let user = provision(state, &ext).await?;
    pro.users.insert(key, parse_id(&user.id));
    Ok(user)
}

/// Find the account of an external user by its control-plane id, else adopt a local account
/// of the same name (an OSS server moving to Pro keeps its users' runs), then bring it up to
/// date; create it when there is none (`authenticate_external_user`).
pub async fn provision(state: &AppState, ext: &ExternalUser) -> Result<UserRow, Error> {
    let store = state.store();
    let sa = ext.is_service_account;
    for attempt in 0..2 {
        let mut found = store.find_account_by_external_id(ext.id, sa).await?;
        if found.is_none() {
            found = store.find_account(&NameOrId::Name(ext.username.clone()), sa).await?;
            if let Some(u) = &found {
                if u.external_user_id.is_some() {
                    tracing::warn!(user = %u.name, "adopting an account that was linked to another control-plane id");
                } else {
                    tracing::info!(user = %u.name, "adopting a local account for its control-plane identity");
                }
            }
        }
        if let Some(u) = found {
            let update = if sa {
                UserUpdate {
                    name: Some(ext.username.clone()),
                    full_name: Some(ext.name.clone().unwrap_or_default()),
                    external_user_id: Some(Some(ext.id)),
                    active: Some(true),
                    avatar_url: Some(ext.avatar_url.clone()),
                    ..Default::default()
                }
            } else {
                UserUpdate {
                    name: Some(ext.username.clone()),
                    full_name: Some(ext.name.clone().unwrap_or_default()),
                    email_opted_in: Some(Some(true)),
                    active: Some(true),
                    email: Some(ext.email.clone()),
                    is_admin: Some(ext.is_superuser),
                    avatar_url: Some(ext.avatar_url.clone()),
                    external_user_id: Some(Some(ext.id)),
                    ..Default::default()
                }
            };
            return store.update_account(parse_id(&u.id), update).await;
        }
        let new = NewUser {
            name: ext.username.clone(),
            is_service_account: sa,
            full_name: ext.name.clone().unwrap_or_default(),
            email: if sa { None } else { ext.email.clone() },
            avatar_url: ext.avatar_url.clone(),
            active: true,
            email_opted_in: (!sa).then_some(true),
            external_user_id: Some(ext.id),
            is_admin: !sa && ext.is_superuser,
            ..Default::default()
        };
        match store.create_account(new).await {
            Ok(u) => return Ok(u),
            // Two first logins at once: the other one created it; take it on the next round.
            Err(Error::EntityExists(_)) if attempt == 0 => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::internal("external account provisioning did not settle"))
}

/// The endpoints the reference does not register in Pro mode (EXTERNAL auth scheme and an
/// external server id), with what it answers instead: 405 where another method of the path
/// exists, else 404. Device authorization answers 403. `path` is below `/api/v1`.
pub fn disabled_endpoint(method: &Method, path: &str) -> Option<(StatusCode, &'static str)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let not_allowed = (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    let not_found = (StatusCode::NOT_FOUND, "Not Found");
    match (method, parts.as_slice()) {
        (&Method::POST, ["users"]) => Some(not_allowed),
        (&Method::DELETE, ["users", _]) => Some(not_allowed),
        (&Method::PUT, ["users", _, "activate" | "deactivate" | "email-opt-in"]) => Some(not_found),
        (&Method::PUT, ["current-user"]) => Some(not_allowed),
        (&Method::PUT, ["activate"]) => Some(not_found),
        (_, ["settings"]) => Some(not_found),
        (&Method::POST, ["device_authorization"]) => {
            Some((StatusCode::FORBIDDEN, "Device authorization is not supported."))
        }
        _ => None,
    }
}

const SA_DEPRECATED: &str = "Workspace-level service accounts and API keys are deprecated in ZenML Pro workspaces. \
                             Use ZenML Pro organization service accounts and API keys instead.";

/// Whether a JSON update body changes nothing but `active` (nulls ignored, as `exclude_none`).
fn only_active(body: &serde_json::Value) -> bool {
    body.as_object().is_some_and(|o| {
        let set: Vec<&String> = o.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
        set.len() == 1 && set[0] == "active"
    })
}

/// Pro-mode rules of the account endpoints (after authentication; unauthenticated requests go
/// on to the handler's 401): workspace-level service accounts and API keys cannot be created,
/// rotated or changed beyond their active status, and `PUT /users/{id}` only sets
/// `default_project_id`.
pub async fn account_rules(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.pro().is_none() {
        return next.run(req).await;
    }
    let path = req.uri().path().strip_prefix("/api/v1").unwrap_or("").trim_matches('/').to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let method = req.method().clone();
    let rule = match (&method, parts.as_slice()) {
        (&Method::POST, ["service_accounts"])
        | (&Method::POST, ["service_accounts", _, "api_keys"])
        | (&Method::PUT, ["service_accounts", _, "api_keys", _, "rotate"]) => 1,
        (&Method::PUT, ["service_accounts", _]) | (&Method::PUT, ["service_accounts", _, "api_keys", _]) => 2,
        (&Method::PUT, ["users", _]) => 3,
        _ => 0,
    };
    if rule == 0 {
        return next.run(req).await;
    }
    let (mut head, body) = req.into_parts();
    if crate::auth::Auth::from_request_parts(&mut head, &state).await.is_err() {
        return next.run(axum::extract::Request::from_parts(head, body)).await;
    }
    let Ok(bytes) = axum::body::to_bytes(body, 2 * 1024 * 1024).await else {
        return Error::validation("Could not read the request body.").into_response();
    };
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let body = match rule {
        1 => return Error::forbidden(SA_DEPRECATED).into_response(),
        2 if !only_active(&json) => return Error::forbidden(SA_DEPRECATED).into_response(),
        3 => {
            let mut only = serde_json::Map::new();
            if let Some(v) = json.get("default_project_id") {
                only.insert("default_project_id".into(), v.clone());
            }
            axum::body::Body::from(serde_json::Value::Object(only).to_string())
        }
        _ => axum::body::Body::from(bytes),
    };
    next.run(axum::extract::Request::from_parts(head, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_endpoints_answer_like_the_reference() {
        let d = |m: Method, p: &str| disabled_endpoint(&m, p).map(|(s, _)| s.as_u16());
        assert_eq!(d(Method::POST, "/users"), Some(405));
        assert_eq!(d(Method::GET, "/users"), None);
        assert_eq!(d(Method::PUT, "/users/abc"), None);
        assert_eq!(d(Method::DELETE, "/users/abc"), Some(405));
        assert_eq!(d(Method::PUT, "/users/abc/activate"), Some(404));
        assert_eq!(d(Method::PUT, "/users/abc/email-opt-in"), Some(404));
        assert_eq!(d(Method::PUT, "/current-user"), Some(405));
        assert_eq!(d(Method::GET, "/current-user"), None);
        assert_eq!(d(Method::GET, "/settings"), Some(404));
        assert_eq!(d(Method::POST, "/device_authorization"), Some(403));
    }
}
