//! The OAuth2 device flow (RFC 8628) as ZenML runs it: `POST /device_authorization` starts
//! it, the dashboard verifies the user code with `PUT /devices/{id}/verify`, the client polls
//! `POST /login` with the device-code grant ([`device_token`]) and gets a token bound to the
//! device; [`check_token_device`] checks such tokens on every request. `/devices` lets a user
//! see, lock and remove their own devices.
//!
//! Device status: `pending` → (verify) `verified` → (token) `active`; too many wrong codes →
//! `locked`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::devices::{DeviceRow, DeviceUpdate, NewDevice, status};
use zenpro_store::settings::SettingsUpdate;
use zenpro_store::users::UserRow;
use zenpro_types::Error;
use zenpro_types::time::utc_now;

use crate::auth::{Auth, api_key, password};
use crate::extract::{FormPairs, JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::routes::login;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/device_authorization", post(device_authorization))
        .route("/devices", get(list_devices))
        .route("/devices/{device_id}", get(get_device).put(update_device).delete(delete_device))
        .route("/devices/{device_id}/verify", put(verify_device))
}

/// Device authorization is refused with these auth schemes.
fn device_flow_supported(state: &AppState) -> bool {
    !matches!(state.config().auth_scheme.to_ascii_uppercase().as_str(), "NO_AUTH" | "EXTERNAL")
}

/// What the client's `User-Agent` says about it: `Host/<hostname> ZenML/<v> Python/<v> OS/<os>`.
#[derive(Debug, Default, PartialEq)]
pub struct UserAgentInfo {
    pub hostname: Option<String>,
    pub zenml_version: Option<String>,
    pub python_version: Option<String>,
    pub os: Option<String>,
}

impl UserAgentInfo {
    pub fn parse(header: &str) -> UserAgentInfo {
        let mut info = UserAgentInfo::default();
        for part in header.trim().split(' ') {
            let Some((key, value)) = part.split_once('/') else {
                continue;
            };
            let slot = match key {
                "Host" => &mut info.hostname,
                "ZenML" => &mut info.zenml_version,
                "Python" => &mut info.python_version,
                "OS" => &mut info.os,
                _ => continue,
            };
            *slot = Some(value.to_string());
        }
        info
    }
}

/// The client address: the peer (when the server runs with connection info), or, for a peer
/// on the loopback interface (a local reverse proxy), the first `X-Forwarded-For` entry, as
/// uvicorn trusts it by default. Empty when unknown.
pub fn client_ip(headers: &http::HeaderMap, peer: Option<SocketAddr>) -> String {
    let forwarded = || {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|s| s.parse::<IpAddr>().is_ok())
            .map(str::to_string)
    };
    match peer {
        Some(p) if p.ip().is_loopback() => forwarded().unwrap_or_else(|| p.ip().to_string()),
        Some(p) => p.ip().to_string(),
        None => forwarded().unwrap_or_default(),
    }
}

/// `OAuthDeviceAuthorizationResponse`, with relative URIs unless a dashboard or server URL is
/// configured.
async fn device_authorization(
    State(state): State<AppState>,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    form: FormPairs,
) -> Result<Json<Value>, Error> {
    if !device_flow_supported(&state) {
        return Err(Error::forbidden("Device authorization is not supported."));
    }
    let client_id =
        form.get("client_id").ok_or_else(|| Error::validation("The form field 'client_id' is required.")).and_then(
            |c| Uuid::parse_str(c.trim()).map_err(|_| Error::validation("The form field 'client_id' must be a UUID.")),
        )?;
    let config = state.config();
    let store = state.store();
    if let Err(e) = store.delete_expired_devices().await {
        tracing::error!(error = %e, "failed to delete expired devices");
    }
    let agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(UserAgentInfo::parse)
        .unwrap_or_default();
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = client_ip(&headers, peer);
    let user_code = api_key::random_hex(16)?;
    let device_code = api_key::random_hex(32)?;
    let user_code_hash = password::hash(user_code.clone()).await?;
    let device_code_hash = password::hash(device_code.clone()).await?;
    let device = match store.find_device_by_client_id(client_id).await? {
        None => {
            store
                .create_device(NewDevice {
                    client_id,
                    user_code_hash,
                    device_code_hash,
                    expires_in: config.device_auth_timeout,
                    os: agent.os,
                    ip_address: Some(ip),
                    hostname: agent.hostname,
                    python_version: agent.python_version,
                    zenml_version: agent.zenml_version,
                    city: Some(String::new()),
                    region: Some(String::new()),
                    country: Some(String::new()),
                })
                .await?
        }
        // A known client: back to pending with new codes (the old ones stop working).
        Some(existing) => store
            .update_device(
                models::id_of(&existing.id),
                DeviceUpdate {
                    status: Some(status::PENDING),
                    trusted_device: Some(false),
                    expires: Some(Some(utc_now() + Duration::seconds(config.device_auth_timeout))),
                    failed_auth_attempts: Some(0),
                    code_hashes: Some((user_code_hash, device_code_hash)),
                    ip_address: Some(ip),
                    city: Some(String::new()),
                    region: Some(String::new()),
                    country: Some(String::new()),
                    os: agent.os,
                    hostname: agent.hostname,
                    python_version: agent.python_version,
                    zenml_version: agent.zenml_version,
                    ..Default::default()
                },
                None,
            )
            .await?
            .ok_or_else(|| Error::internal("device vanished during authorization"))?,
    };
    let base = [&config.dashboard_url, &config.server_url]
        .into_iter()
        .map(|u| u.trim_start_matches('/').trim_end_matches('/'))
        .find(|u| !u.is_empty())
        .unwrap_or("");
    let verification_uri = format!("{base}/devices/verify");
    let complete = format!("{verification_uri}?device_id={}&user_code={user_code}", models::id_of(&device.id));
    Ok(Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": config.device_auth_timeout,
        "interval": config.device_auth_polling_interval,
    })))
}

fn oauth(error: &'static str, description: String) -> Error {
    tracing::info!(error, %description, "device token refused");
    Error::OAuth { error, description }
}

/// The error for a device that is not (or no longer) `verified`.
fn not_verified(client_id: Uuid, device_status: &str) -> Error {
    let error = match device_status {
        status::PENDING => "authorization_pending",
        status::LOCKED => "access_denied",
        _ => "expired_token",
    };
    oauth(error, format!("Authentication error: device with client ID {client_id} is {device_status}."))
}

/// Count a wrong code on a device; the error message says whether it is now locked.
async fn count_failure(state: &AppState, device: &DeviceRow) -> Result<bool, Error> {
    let max = state.config().max_failed_device_auth_attempts;
    let after = state.store().record_failed_device_attempt(models::id_of(&device.id), max).await?;
    Ok(after.status == status::LOCKED)
}

/// The device-code grant of `POST /login`: exchange a verified device's code for a token
/// bound to the device.
pub async fn device_token(state: &AppState, _headers: &http::HeaderMap, form: &FormPairs) -> Result<Response, Error> {
    if !device_flow_supported(state) {
        return Err(Error::forbidden("Device authorization is not supported."));
    }
    let (Some(device_code), Some(client_id)) =
        (form.get("device_code").filter(|s| !s.is_empty()), form.get("client_id").filter(|s| !s.is_empty()))
    else {
        return Err(Error::bad_request("Invalid request: device code and client ID are required."));
    };
    let client_id =
        Uuid::parse_str(client_id).map_err(|_| Error::bad_request("Invalid request: invalid client ID."))?;
    let store = state.store();
    let Some(device) = store.find_device_by_client_id(client_id).await? else {
        return Err(oauth(
            "invalid_client",
            format!("Authentication error: error retrieving device with client ID {client_id}"),
        ));
    };
    if device.status != status::VERIFIED {
        return Err(not_verified(client_id, &device.status));
    }
    if device.is_expired(utc_now()) {
        return Err(oauth(
            "expired_token",
            format!("Authentication error: device for client ID {client_id} has expired"),
        ));
    }
    if !password::verify(device_code.to_string(), Some(device.device_code.clone())).await {
        let locked = count_failure(state, &device).await?;
        let why = if locked {
            "has been locked due to too many failed authentication attempts."
        } else {
            "has an invalid device code."
        };
        return Err(oauth("access_denied", format!("Authentication error: device for client ID {client_id} {why}")));
    }
    // The device only gets an expiry when tokens expire at all (§4.4).
    let config = state.config();
    let minutes = match config.jwt_expire_minutes {
        Some(_) if device.trusted_device => config.trusted_device_expiration_minutes.unwrap_or(0),
        Some(_) => config.device_expiration_minutes.unwrap_or(0),
        None => 0,
    };
    let expires = (minutes > 0).then(|| utc_now() + Duration::minutes(minutes));
    let device_id = models::id_of(&device.id);
    let update = DeviceUpdate { status: Some(status::ACTIVE), expires: Some(expires), ..Default::default() };
    let Some(device) = store.update_device(device_id, update, Some(status::VERIFIED)).await? else {
        // Another poll got there first.
        let now = store.find_device_by_id(device_id).await?.map(|d| d.status).unwrap_or_default();
        return Err(not_verified(client_id, &now));
    };
    let user_id = zenpro_store::parse_opt_id(&device.user_id).ok_or_else(|| {
        oauth("invalid_client", format!("Authentication error: device for client ID {client_id} has no user"))
    })?;
    // The token expires with the device, and never when the device does not.
    let exp = device.expires.map(|e| e.and_utc().timestamp());
    let (token, _) = login::issue_token(state, user_id, |c| {
        c.device_id = Some(device_id.to_string());
        c.exp = exp;
    });
    let expires_in = exp.map(|e| (e - chrono::Utc::now().timestamp()).max(0));
    store.touch_user_activity().await?;
    // ZenML leaves `device_id` out of the token response (the claim carries it).
    Ok(Json(login::token_response(&token, expires_in, None)).into_response())
}

/// Checks of a device-bound token: the device exists, belongs to the user, is active and not
/// expired; then its `last_login` is updated.
pub async fn check_token_device(state: &AppState, user: &UserRow, device_id: &str) -> Result<(), Error> {
    let fail = |why: String| Err(Error::credentials(format!("Authentication error: {why}")));
    if !device_flow_supported(state) {
        return fail("device authorization is not supported.".into());
    }
    let device = match Uuid::parse_str(device_id) {
        Ok(id) => state.store().find_device_by_id(id).await?,
        Err(_) => None,
    };
    let Some(device) = device else {
        return fail(format!("error retrieving token device {device_id}"));
    };
    if device.user_id.is_none() || zenpro_store::parse_opt_id(&device.user_id) != Some(models::id_of(&user.id)) {
        return fail(format!("device {device_id} does not belong to user {}", user.name));
    }
    if device.status != status::ACTIVE {
        return fail(format!("device {device_id} is not active"));
    }
    if device.is_expired(utc_now()) {
        return fail(format!("device {device_id} has expired"));
    }
    state.store().touch_device_login(models::id_of(&device.id)).await
}

// ---------------------------------------------------------------------------------------------
// /devices
// ---------------------------------------------------------------------------------------------

fn no_such_device(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get device with ID {id}: No device with this ID found."))
}

async fn load_device(state: &AppState, raw: &str) -> Result<DeviceRow, Error> {
    let id = path_uuid(raw)?;
    state.store().find_device_by_id(id).await?.ok_or_else(|| {
        Error::not_found(format!(
            "Unable to get authorized device with ID '{id}': No authorized device with this ID found"
        ))
    })
}

/// A device of the caller (404 for anyone else's, so ids do not leak).
async fn own_device(state: &AppState, auth: &Auth, raw: &str) -> Result<DeviceRow, Error> {
    let device = load_device(state, raw).await?;
    if zenpro_store::parse_opt_id(&device.user_id) != Some(auth.user_id()) {
        return Err(no_such_device(models::id_of(&device.id)));
    }
    Ok(device)
}

async fn device_json(state: &AppState, device: &DeviceRow, hydrate: bool) -> Result<Value, Error> {
    let owner = match zenpro_store::parse_opt_id(&device.user_id) {
        Some(id) => state.store().find_account_by_id(id).await?,
        None => None,
    };
    Ok(models::device(device, owner.as_ref(), hydrate))
}

async fn list_devices(State(state): State<AppState>, auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&zenpro_store::devices::DEVICE_LIST)?;
    let page = state.store().list_devices(auth.user_id(), &params).await?;
    // Every listed device belongs to the caller.
    let page = page.map(|d| models::device(&d, Some(&auth.user), params.hydrate));
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_device(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let device = load_device(&state, &raw).await?;
    let visible = match zenpro_store::parse_opt_id(&device.user_id) {
        // Not verified yet: only with its user code.
        None => match q.get("user_code") {
            Some(code) => password::verify(code.to_string(), Some(device.user_code.clone())).await,
            None => false,
        },
        Some(owner) => owner == auth.user_id(),
    };
    if !visible {
        return Err(no_such_device(models::id_of(&device.id)));
    }
    Ok(Json(device_json(&state, &device, q.hydrate()?).await?))
}

/// `OAuthDeviceUpdate`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DeviceUpdateBody {
    locked: Option<bool>,
}

async fn update_device(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(b): JsonBody<DeviceUpdateBody>,
) -> Result<Json<Value>, Error> {
    let device = own_device(&state, &auth, &raw).await?;
    let new_status = b.locked.map(|locked| if locked { status::LOCKED } else { status::ACTIVE });
    let device = state
        .store()
        .update_device(models::id_of(&device.id), DeviceUpdate { status: new_status, ..Default::default() }, None)
        .await?
        .ok_or_else(|| no_such_device(models::id_of(&device.id)))?;
    Ok(Json(device_json(&state, &device, true).await?))
}

async fn delete_device(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, Error> {
    let device = own_device(&state, &auth, &raw).await?;
    state.store().delete_device(models::id_of(&device.id)).await?;
    Ok(Json(Value::Null))
}

/// `OAuthDeviceVerificationRequest`.
#[derive(Deserialize)]
struct VerifyBody {
    user_code: String,
    #[serde(default)]
    trusted_device: bool,
}

/// The dashboard's half of the flow: the signed-in user confirms the user code shown by the
/// client, and the device becomes theirs (`verified`).
async fn verify_device(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(b): JsonBody<VerifyBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&raw)?;
    let store = state.store();
    let device = store.find_device_by_id(id).await?.ok_or_else(|| no_such_device(id))?;
    if device.status != status::PENDING {
        return Err(Error::bad_request("Invalid request: device not pending verification."));
    }
    if device.expires.is_some_and(|e| e < utc_now()) {
        return Err(Error::bad_request("Invalid request: device verification expired."));
    }
    if device.user_id.is_some() && zenpro_store::parse_opt_id(&device.user_id) != Some(auth.user_id()) {
        return Err(Error::bad_request("Invalid request: this device is associated with another user."));
    }
    if !password::verify(b.user_code, Some(device.user_code.clone())).await {
        if count_failure(&state, &device).await? {
            return Err(Error::bad_request(
                "Invalid request: device locked due to too many failed authentication attempts.",
            ));
        }
        return Err(Error::bad_request("Invalid request: invalid user code."));
    }
    let update = DeviceUpdate {
        status: Some(status::VERIFIED),
        user_id: Some(auth.user_id()),
        failed_auth_attempts: Some(0),
        trusted_device: Some(b.trusted_device),
        ..Default::default()
    };
    let Some(device) = store.update_device(id, update, Some(status::PENDING)).await? else {
        return Err(Error::bad_request("Invalid request: device not pending verification."));
    };
    if let Err(e) = complete_onboarding_step(&state, "device_verified").await {
        tracing::warn!(error = %e, "could not update the onboarding state");
    }
    Ok(Json(models::device(&device, Some(&auth.user), true)))
}

/// Add a step to `server_settings.onboarding_state` (a JSON list, written as Python's
/// `json.dumps` does).
async fn complete_onboarding_step(state: &AppState, step: &str) -> Result<(), Error> {
    let settings = state.store().settings().await?;
    let mut steps: Vec<String> =
        settings.onboarding_state.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    if steps.iter().any(|s| s == step) {
        return Ok(());
    }
    steps.push(step.to_string());
    let text = format!(
        "[{}]",
        steps.iter().map(|s| serde_json::to_string(s).unwrap_or_default()).collect::<Vec<_>>().join(", ")
    );
    state.store().update_settings(SettingsUpdate { onboarding_state: Some(text), ..Default::default() }).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_parsed_like_zenml() {
        let info = UserAgentInfo::parse("Host/vm ZenML/0.98.0 Python/3.11.7 OS/Linux");
        assert_eq!(
            info,
            UserAgentInfo {
                hostname: Some("vm".into()),
                zenml_version: Some("0.98.0".into()),
                python_version: Some("3.11.7".into()),
                os: Some("Linux".into()),
            }
        );
        assert_eq!(UserAgentInfo::parse("python-requests/2.34.2"), UserAgentInfo::default());
    }

    #[test]
    fn client_ip_trusts_forwarding_only_from_loopback() {
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "198.51.100.2:5000".parse().unwrap();
        assert_eq!(client_ip(&h, Some(local)), "203.0.113.7");
        assert_eq!(client_ip(&h, Some(remote)), "198.51.100.2");
        assert_eq!(client_ip(&http::HeaderMap::new(), Some(local)), "127.0.0.1");
        assert_eq!(client_ip(&http::HeaderMap::new(), None), "");
    }
}
