//! `POST /login` (OAuth2 form: password, `zenml-api-key` and device-code grants),
//! `/logout`, `/current-user`, `/api_token`.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::users::UserRow;
use zenpro_types::Error;

use crate::auth::jwt::{self, Claims};
use crate::auth::{Auth, api_key, password};
use crate::extract::{FormPairs, QueryPairs};
use crate::models;
use crate::state::AppState;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", get(logout).post(logout))
        .route("/current-user", get(current_user).put(crate::routes::users::update_current_user))
        .route("/api_token", get(api_token))
}

fn now_f64() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Issue an access token for an account.
pub fn issue_token(state: &AppState, user_id: Uuid, configure: impl FnOnce(&mut Claims)) -> (String, Option<i64>) {
    let mut c = Claims::new(user_id.to_string());
    c.iss = Some(state.issuer());
    c.aud = Some(state.audience());
    c.iat = Some(now_f64());
    let mut expires_in = state.config().jwt_expire_minutes.map(|m| m * 60);
    if let Some(secs) = expires_in {
        c.exp = Some(chrono::Utc::now().timestamp() + secs);
    }
    configure(&mut c);
    if let Some(exp) = c.exp {
        expires_in = Some(exp - chrono::Utc::now().timestamp());
    }
    (jwt::encode(&c, &state.inner.jwt_key), expires_in)
}

/// The OAuth token response body.
pub fn token_response(token: &str, expires_in: Option<i64>, device_id: Option<Uuid>) -> Value {
    json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": null,
        "csrf_token": null,
        "scope": null,
        "device_id": device_id.map(|d| d.to_string()),
        "device_metadata": null,
    })
}

async fn password_login(state: &AppState, username: &str, pw: &str) -> Result<UserRow, Error> {
    let user = state.store().find_account(&NameOrId::Name(username.to_string()), false).await?;
    let stored = user.as_ref().and_then(|u| u.password.clone());
    let ok = password::verify(pw.to_string(), stored).await;
    let Some(user) = user.filter(|_| ok) else {
        return Err(Error::credentials("Authentication error: invalid username or password"));
    };
    if !user.active {
        return Err(Error::credentials(format!("Authentication error: user {} is not active", user.name)));
    }
    Ok(user)
}

/// A malformed login form: `400 {"detail": "<message>"}`, as FastAPI's `HTTPException` in the
/// reference's `OAuthLoginRequestForm`.
fn bad_form(msg: impl Into<String>) -> Response {
    (http::StatusCode::BAD_REQUEST, Json(json!({"detail": msg.into()}))).into_response()
}

/// The grant of a login form. Without `grant_type` it is detected as the reference does: a
/// username means a password login, else a lone password is an API key, else a device code.
fn grant_type(form: &FormPairs, external: bool) -> &str {
    match form.get("grant_type").filter(|g| !g.is_empty()) {
        Some(g) => g,
        None if form.get("username").is_some() => "password",
        None if form.get("password").is_some_and(|p| !p.is_empty()) => "zenml-api-key",
        None if form.get("device_code").is_some_and(|d| !d.is_empty()) => DEVICE_CODE_GRANT,
        None if external => "zenml-external",
        None => "password",
    }
}

/// Set the auth cookie on a token response (`generate_access_token`).
fn with_cookie(state: &AppState, mut resp: Response, token: &str, expires_in: Option<i64>) -> Response {
    let mut cookie = format!("{}={}; HttpOnly; Path=/; SameSite=lax", state.cookie_name(), token);
    if let Some(secs) = expires_in {
        cookie.push_str(&format!("; Max-Age={secs}"));
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    resp
}

/// `grant_type=zenml-external` (Pro mode): the caller presents a control-plane token as
/// `Authorization: Bearer`; without one the answer is where to log in.
async fn external_login(state: &AppState, headers: &http::HeaderMap) -> Result<Response, Error> {
    let Some(pro) = state.pro() else {
        return Ok(bad_form("Unsupported grant type: zenml-external."));
    };
    let Some(header) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(Json(json!({"authorization_url": pro.config.external_login_url()})).into_response());
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, tok)| scheme.eq_ignore_ascii_case("bearer") && !tok.trim().is_empty())
        .map(|(_, tok)| tok.trim().to_string())
        .ok_or_else(|| Error::credentials("Invalid request: invalid authorization header."))?;
    let user = crate::pro::authenticate(state, pro, &token, false).await?;
    state.store().touch_user_activity().await?;
    let (token, expires_in) = issue_token(state, models::id_of(&user.id), |_| {});
    let resp = Json(token_response(&token, expires_in, None)).into_response();
    Ok(with_cookie(state, resp, &token, expires_in))
}

async fn login(State(state): State<AppState>, headers: http::HeaderMap, form: FormPairs) -> Result<Response, Error> {
    let pro = state.config().is_pro();
    match grant_type(&form, pro) {
        // The EXTERNAL scheme offers neither passwords nor device authorization.
        "password" if pro => Ok(bad_form("Unsupported grant type: password.")),
        DEVICE_CODE_GRANT if pro => {
            Ok((http::StatusCode::FORBIDDEN, Json(json!({"detail": "Device authorization is not supported."})))
                .into_response())
        }
        "zenml-api-key"
            if let Some(p) = state.pro()
                && let Some(key) = form.get("password").filter(|k| k.starts_with(crate::pro::PRO_API_KEY_PREFIX)) =>
        {
            // A control-plane API key: no cookie (tokens for keys are for non-web clients).
            let user = crate::pro::authenticate(&state, p, key, true).await.map_err(|e| match e {
                Error::CredentialsNotValid(m) => Error::credentials(format!("Authentication error: {m}")),
                other => other,
            })?;
            state.store().touch_user_activity().await?;
            let (token, expires_in) = issue_token(&state, models::id_of(&user.id), |_| {});
            Ok(Json(token_response(&token, expires_in, None)).into_response())
        }
        "zenml-external" => external_login(&state, &headers).await,
        "password" => {
            let username = form.get("username").unwrap_or("");
            if username.is_empty() {
                return Ok(bad_form("Invalid request: username is required."));
            }
            let pw = form.get("password").unwrap_or("");
            let user = password_login(&state, username, pw).await?;
            state.store().touch_user_activity().await?;
            let (token, expires_in) = issue_token(&state, models::id_of(&user.id), |_| {});
            let mut resp = Json(token_response(&token, expires_in, None)).into_response();
            let cookie = format!("{}={}; HttpOnly; Path=/; SameSite=lax", state.cookie_name(), token);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(http::header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        "zenml-api-key" => {
            let key = form.get("password").unwrap_or("");
            if key.is_empty() {
                return Ok(bad_form("API key is required."));
            }
            let (account, row) = api_key::authenticate(&state, key).await?;
            // A token from a previous generation only while the old key is retained.
            let generation = row.key_generation;
            let (token, expires_in) = issue_token(&state, models::id_of(&account.id), |c| {
                c.api_key_id = Some(models::id_of(&row.id).to_string());
                c.key_gen = Some(generation);
            });
            state.store().touch_user_activity().await?;
            Ok(Json(token_response(&token, expires_in, None)).into_response())
        }
        DEVICE_CODE_GRANT => crate::routes::devices::device_token(&state, &headers, &form).await,
        other => Ok(bad_form(format!("Unsupported grant type: {other}"))),
    }
}

async fn logout(State(state): State<AppState>) -> Response {
    let mut resp = Json(Value::Null).into_response();
    let cookie =
        format!("{}=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=lax", state.cookie_name());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    resp
}

async fn current_user(auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let mut user = models::user_private(&auth.user, q.hydrate()?);
    // An API key used directly as the bearer (no JWT) authenticates the service account as
    // its user model; a workspace token shows the stored row.
    if auth.user.is_service_account && auth.claims.is_none() {
        service_account_as_user(&mut user);
    }
    Ok(Json(user))
}

/// A service account authenticated by an API key bearer, as the reference shows it as the
/// current user (`ServiceAccountResponse.to_user_model`): never opted in, email `""`, no default project,
/// no external user id (even for an organization service account of the control plane).
fn service_account_as_user(user: &mut Value) {
    user["body"]["email_opted_in"] = Value::Bool(false);
    user["body"]["default_project_id"] = Value::Null;
    if let Some(metadata) = user.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("email".into(), Value::String(String::new()));
        metadata.insert("external_user_id".into(), Value::Null);
        metadata.insert("password_changed_at".into(), Value::Null);
    }
}

/// `GET /api_token`: a (workload) token for the caller, optionally scoped and expiring.
async fn api_token(State(state): State<AppState>, auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let token_type = q.get("token_type").unwrap_or("generic");
    if !matches!(token_type, "generic" | "workload") {
        return Err(Error::validation(format!("Invalid token_type '{token_type}': use generic or workload.")));
    }
    let expires_in: Option<i64> = q
        .get("expires_in")
        .map(|v| v.parse().map_err(|_| Error::validation("expires_in must be an integer number of seconds.")))
        .transpose()?;
    let scope = |key: &str| -> Result<Option<Uuid>, Error> { q.get(key).map(crate::extract::path_uuid).transpose() };
    let (run, schedule, deployment) = (scope("pipeline_run_id")?, scope("schedule_id")?, scope("deployment_id")?);
    if token_type == "generic" && expires_in.is_none() {
        return Err(Error::validation("Generic API tokens need an expiration (expires_in)."));
    }
    let (token, _) = issue_token(&state, auth.user_id(), |c| {
        c.exp = expires_in.map(|s| chrono::Utc::now().timestamp() + s);
        c.pipeline_run_id = run.map(|u| u.to_string());
        c.schedule_id = schedule.map(|u| u.to_string());
        c.deployment_id = deployment.map(|u| u.to_string());
        c.api_key_id = auth.claims.as_ref().and_then(|c| c.api_key_id.clone());
        c.key_gen = auth.claims.as_ref().and_then(|c| c.key_gen);
        c.device_id = auth.claims.as_ref().and_then(|c| c.device_id.clone());
    });
    Ok(Json(json!(token)))
}
