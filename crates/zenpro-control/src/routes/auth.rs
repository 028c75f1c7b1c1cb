//! `POST /auth/login`: password grant (user token), `ZENPROKEY_` exchange (service-account
//! token), client credentials (workspace token); the device-code grant is handed to
//! `routes::device::device_code_grant`. Failed password logins are rate-limited per
//! (username, client address) through the `login_failures` table, so the limit holds across
//! replicas.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest as _, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderValue, StatusCode};
use serde_json::json;
use uuid::Uuid;
use zenpro_auth::password;
use zenpro_types::Error;

use crate::AppState;
use crate::auth::{API_KEY_PREFIX, TokenKind, authenticate_api_key, issue_token};
use crate::extract::FormPairs;

/// The device-code grant type of RFC 8628.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The form of `POST /auth/login`, with every field the grants use.
#[derive(Debug, Clone, Default)]
pub struct LoginForm {
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub device_code: Option<String>,
    pub audience: Option<String>,
    /// The `Authorization: Bearer` value, if any.
    pub bearer: Option<String>,
    /// The client address (rate limiting), `unknown` when not known.
    pub address: String,
    /// Every field as sent.
    pub pairs: Vec<(String, String)>,
}

impl LoginForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> LoginForm {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        LoginForm {
            grant_type: get("grant_type"),
            username: get("username"),
            password: get("password"),
            client_id: get("client_id"),
            client_secret: get("client_secret"),
            device_code: get("device_code"),
            audience: get("audience"),
            bearer: None,
            address: "unknown".into(),
            pairs,
        }
    }
}

/// The OAuth2 token response every grant answers with.
pub fn token_response(access_token: String, expires_in: i64) -> serde_json::Value {
    json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": null,
        "scope": null,
        "device_id": null,
        "device_metadata": null,
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login))
}

async fn login(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let FormPairs(pairs) = FormPairs::from_request(req, &state).await?;
    let mut form = LoginForm::from_pairs(pairs);
    form.bearer = bearer;
    form.address = address;
    match form.grant_type.as_deref() {
        Some(DEVICE_CODE_GRANT) => device_code(&state, form).await,
        Some("client_credentials") => client_credentials(&state, &form).await,
        None | Some("password") => {
            let key =
                form.password.clone().filter(|p| p.starts_with(API_KEY_PREFIX)).or_else(|| {
                    form.bearer.clone().filter(|b| b.starts_with(API_KEY_PREFIX) && form.username.is_none())
                });
            match key {
                Some(key) => api_key_grant(&state, &key).await,
                None => password_grant(&state, &form).await,
            }
        }
        Some(other) => Err(Error::OAuth {
            error: "unsupported_grant_type",
            description: format!("Grant type '{other}' is not supported."),
        }),
    }
}

/// The device-code grant lives with the rest of the device flow.
async fn device_code(state: &AppState, form: LoginForm) -> Result<Response, Error> {
    crate::routes::device::device_code_grant(state, form).await
}

async fn api_key_grant(state: &AppState, key: &str) -> Result<Response, Error> {
    let (user, _) = authenticate_api_key(state, key).await?;
    let lifetime = state.config.api_key_token_lifetime;
    let token = issue_token(&state.token_key, TokenKind::User, user.id, lifetime)?;
    Ok(Json(token_response(token, lifetime)).into_response())
}

async fn client_credentials(state: &AppState, form: &LoginForm) -> Result<Response, Error> {
    let invalid = || Error::credentials("Authentication error: invalid client credentials.");
    let (Some(id), Some(secret)) = (form.client_id.as_deref(), form.client_secret.as_deref()) else {
        return Err(invalid());
    };
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    let ws = state.store.verify_enrollment_key(id, secret).await?.ok_or_else(invalid)?;
    let lifetime = state.config.workspace_token_lifetime;
    let token = issue_token(&state.token_key, TokenKind::Workspace, ws.id, lifetime)?;
    Ok(Json(token_response(token, lifetime)).into_response())
}

/// 429 in ZenML's error format with `Retry-After`.
fn too_many(retry_after: i64) -> Response {
    let body = json!({"detail": ["IllegalOperationError", format!(
        "Too many failed login attempts. Try again in {retry_after} seconds."
    )]});
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    resp
}

async fn password_grant(state: &AppState, form: &LoginForm) -> Result<Response, Error> {
    let (Some(username), Some(pw)) = (form.username.as_deref(), form.password.clone()) else {
        return Err(Error::OAuth {
            error: "invalid_request",
            description: "username and password are required.".into(),
        });
    };
    let cfg = &state.config;
    let now = chrono::Utc::now();
    let window_start = crate::time_text(now - chrono::Duration::seconds(cfg.login_window));
    let (failures, oldest) = state.store.login_failures_since(username, &form.address, &window_start).await?;
    if failures >= cfg.login_max_failures {
        let retry = oldest
            .and_then(|o| chrono::NaiveDateTime::parse_from_str(&o, "%Y-%m-%dT%H:%M:%S%.f").ok())
            .map(|o| (o.and_utc() + chrono::Duration::seconds(cfg.login_window) - now).num_seconds() + 1)
            .unwrap_or(cfg.login_window)
            .clamp(1, cfg.login_window);
        tracing::warn!(username, address = %form.address, "login rate limit reached");
        return Ok(too_many(retry));
    }
    let user = state.store.get_user_by_id_or_name(username).await?.filter(|u| u.username == username);
    let stored = user.as_ref().filter(|u| u.active && !u.is_service_account).and_then(|u| u.password_hash.clone());
    let ok = password::verify(pw, stored.clone()).await && stored.is_some();
    let Some(user) = user.filter(|_| ok) else {
        state.store.record_login_failure(username, &form.address, &window_start).await?;
        return Err(Error::credentials("Authentication error: invalid username or password."));
    };
    state.store.clear_login_failures(username, &form.address).await?;
    let token = issue_token(&state.token_key, TokenKind::User, user.id, cfg.token_lifetime)?;
    Ok(Json(token_response(token, cfg.token_lifetime)).into_response())
}
