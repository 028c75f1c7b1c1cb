//! The OAuth2 device authorization grant of the Pro login (pro-protocol §1.2):
//! `POST /api/v1/auth/device_authorization`, the `device_code` grant of `POST /api/v1/auth/login`
//! ([`device_code_grant`], called from the login handler) and the browser pages
//! `GET/POST /devices/verify` where a logged-in user approves the device and picks the workspace
//! that comes back as `device_metadata.tenant_id`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{NaiveDateTime, Utc};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::auth::TokenKind;
use crate::pages::{self, escape};
use crate::routes::auth::LoginForm;
use crate::store::devices::{DeviceRow, NewDevice};

/// `POST /auth/device_authorization` (under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/auth/device_authorization", post(device_authorization))
}

/// `GET/POST /devices/verify` (browser pages at the root).
pub fn pages() -> Router<AppState> {
    Router::new().route("/devices/verify", get(verify_form).post(verify_submit))
}

/// The parts of zenml's device `User-Agent` (`OAuthDeviceUserAgentHeader.decode`):
/// `Host/<h> ZenML/<v> Python/<v> OS/<os>`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UserAgentInfo {
    pub hostname: Option<String>,
    pub zenml_version: Option<String>,
    pub python_version: Option<String>,
    pub os: Option<String>,
}

impl UserAgentInfo {
    pub fn parse(header: &str) -> UserAgentInfo {
        let mut info = UserAgentInfo::default();
        for part in header.split_whitespace() {
            let Some((k, v)) = part.split_once('/') else { continue };
            let v = Some(v.chars().take(200).collect());
            match k {
                "Host" => info.hostname = v,
                "ZenML" => info.zenml_version = v,
                "Python" => info.python_version = v,
                "OS" => info.os = v,
                _ => {}
            }
        }
        info
    }
}

/// A user code: 8 letters of an alphabet without vowels or look-alikes, `XXXX-XXXX` (RFC 8628
/// §6.1), 20^8 ≈ 2.6·10^10 codes.
fn new_user_code() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut code = String::with_capacity(9);
    while code.len() < 9 {
        for b in zenpro_auth::secret::random_bytes(16)? {
            // 20 * 12 = 240: larger bytes would bias the first letters.
            if b < 240 && code.len() < 9 {
                if code.len() == 4 {
                    code.push('-');
                }
                code.push(ALPHABET[(b % 20) as usize] as char);
            }
        }
    }
    Ok(code)
}

/// A user code as typed: upper-case, without spaces, with the dash.
fn normalise_user_code(s: &str) -> String {
    let letters: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if letters.len() == 8 { format!("{}-{}", &letters[..4], &letters[4..]) } else { letters }
}

fn time_plus(seconds: i64) -> String {
    crate::time_text(Utc::now() + chrono::Duration::seconds(seconds))
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

fn expired(device: &DeviceRow) -> bool {
    crate::now_text() >= device.expires
}

#[derive(Deserialize)]
struct AuthorizationForm {
    client_id: Option<String>,
    device_id: Option<String>,
}

/// `POST /auth/device_authorization`: form `client_id` (the client's UUID), optional
/// `device_id` → 200 with the codes and absolute verification URIs on the dashboard.
async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: http::Extensions,
    Form(f): Form<AuthorizationForm>,
) -> Result<Json<serde_json::Value>, Error> {
    // Shown on the approval page so the user can recognise the request (the peer address).
    let ip_address = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let client_id = f.client_id.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let Some(client_id) = client_id else {
        return Err(Error::validation("client_id is required"));
    };
    if client_id.len() > 255 {
        return Err(Error::validation("client_id is too long"));
    }
    let device_id = f.device_id.filter(|d| !d.is_empty() && d.len() <= 255);
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(1024).collect());
    let ua = user_agent.as_deref().map(UserAgentInfo::parse).unwrap_or_default();
    let device_code = zenpro_auth::secret::random_b64(32)?;
    let cfg = &state.config;
    // Expired, unused devices are of no use to anyone: clear them out on the way.
    state.store.delete_expired_devices(&crate::now_text()).await?;
    let mut attempt = 0;
    let user_code = loop {
        let user_code = new_user_code()?;
        let d = NewDevice {
            id: Uuid::new_v4(),
            client_id: client_id.clone(),
            device_code_hash: zenpro_auth::secret::sha256_hex(&device_code),
            user_code: user_code.clone(),
            device_id: device_id.clone(),
            user_agent: user_agent.clone(),
            ip_address: ip_address.clone(),
            hostname: ua.hostname.clone(),
            os: ua.os.clone(),
            python_version: ua.python_version.clone(),
            zenml_version: ua.zenml_version.clone(),
            created: crate::now_text(),
            expires: time_plus(cfg.device_expires_in),
        };
        match state.store.create_device(&d).await {
            Ok(()) => break user_code,
            Err(Error::EntityExists(_)) if attempt < 3 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let verification_uri = format!("{}/devices/verify", cfg.dashboard_url());
    Ok(Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "expires_in": cfg.device_expires_in,
        "interval": cfg.device_interval,
    })))
}

/// A 400 OAuth error with exactly `error` and `error_description` (zenml's `OAuthError(**body)`
/// refuses other keys).
pub fn oauth_error(error: &str, description: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error, "error_description": description}))).into_response()
}

/// The `urn:ietf:params:oauth:grant-type:device_code` grant of `POST /auth/login`: form
/// `client_id`, `device_code`. 400 `authorization_pending` / `slow_down` / `expired_token` /
/// `access_denied` / `invalid_grant`, or 200 with a user token whose `device_metadata.tenant_id`
/// is the workspace the user chose.
pub async fn device_code_grant(state: &AppState, form: LoginForm) -> Result<Response, Error> {
    let (Some(device_code), Some(client_id)) = (form.device_code.as_deref(), form.client_id.as_deref()) else {
        return Ok(oauth_error("invalid_request", "device_code and client_id are required"));
    };
    let hash = zenpro_auth::secret::sha256_hex(device_code);
    let Some(device) = state.store.device_by_code_hash(&hash).await? else {
        return Ok(oauth_error("invalid_grant", "Unknown device code."));
    };
    if !zenpro_auth::secret::ct_eq(&device.client_id, client_id) {
        return Ok(oauth_error("invalid_grant", "The device code was issued to another client."));
    }
    if device.status == "used" {
        return Ok(oauth_error("invalid_grant", "The device code was already used."));
    }
    if expired(&device) {
        return Ok(oauth_error("expired_token", "The device code expired; log in again."));
    }
    let now = Utc::now().naive_utc();
    let too_soon = device
        .last_poll
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|last| (now - last).num_milliseconds() < state.config.device_interval * 1000 - 500);
    state.store.device_polled(device.id, &crate::time_text(Utc::now())).await?;
    match device.status.as_str() {
        "denied" => Ok(oauth_error("access_denied", "The login was denied in the browser.")),
        "pending" if too_soon => Ok(oauth_error("slow_down", "Polling too fast.")),
        "pending" => Ok(oauth_error("authorization_pending", "Waiting for the approval in the browser.")),
        "approved" => {
            let Some(user_id) = device.user_id else {
                return Err(Error::internal("an approved device has no user"));
            };
            if !state.store.use_device(device.id).await? {
                return Ok(oauth_error("invalid_grant", "The device code was already used."));
            }
            let expires_in = state.config.token_lifetime;
            let token = crate::auth::issue_token(&state.token_key, TokenKind::User, user_id, expires_in)?;
            let metadata = match device.workspace_id {
                Some(ws) => json!({"tenant_id": ws.to_string()}),
                None => json!({}),
            };
            Ok(Json(json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": expires_in,
                "device_id": device.id.to_string(),
                "device_metadata": metadata,
            }))
            .into_response())
        }
        _ => Ok(oauth_error("invalid_grant", "The device is in an unknown state.")),
    }
}

#[derive(Deserialize)]
struct VerifyQuery {
    user_code: Option<String>,
    workspace: Option<String>,
}

/// The page to type a user code into (when the link had none).
fn code_form(workspace: Option<&str>) -> Response {
    let ws = workspace.map(|w| format!("<input type=\"hidden\" name=\"workspace\" value=\"{}\">", escape(w)));
    pages::page(
        StatusCode::OK,
        "Authorize a device",
        &format!(
            "<form method=\"get\" action=\"/devices/verify\">{}<label for=\"user_code\">Code shown by the CLI</label>\
             <input id=\"user_code\" name=\"user_code\" required><button id=\"continue\" type=\"submit\">Continue</button></form>",
            ws.unwrap_or_default()
        ),
    )
}

/// A pending, unexpired device of a user code, or the page saying why not.
async fn pending_device(state: &AppState, user_code: &str) -> Result<Result<DeviceRow, Response>, Error> {
    let code = normalise_user_code(user_code);
    let Some(device) = state.store.device_by_user_code(&code).await? else {
        return Ok(Err(pages::message_page(
            StatusCode::NOT_FOUND,
            "Unknown code",
            "No device login with this code exists. Start the login again from the CLI.",
        )));
    };
    if device.status != "pending" {
        return Ok(Err(pages::message_page(
            StatusCode::CONFLICT,
            "Already decided",
            "This device login was already approved or denied.",
        )));
    }
    if expired(&device) {
        return Ok(Err(pages::message_page(
            StatusCode::GONE,
            "Code expired",
            "This device login expired. Start the login again from the CLI.",
        )));
    }
    Ok(Ok(device))
}

fn device_details(d: &DeviceRow) -> String {
    let row = |label: &str, id: &str, v: &Option<String>| match v {
        Some(v) => format!("<dt>{label}</dt><dd id=\"{id}\">{}</dd>", escape(v)),
        None => String::new(),
    };
    format!(
        "<dl>{}{}{}{}{}<dt>Code</dt><dd id=\"device-user-code\">{}</dd><dt>Requested</dt><dd>{} UTC</dd></dl>",
        row("Host", "device-hostname", &d.hostname),
        row("OS", "device-os", &d.os),
        row("Python", "device-python", &d.python_version),
        row("ZenML", "device-zenml", &d.zenml_version),
        row("IP address", "device-ip", &d.ip_address),
        escape(&d.user_code),
        escape(d.created.get(..19).unwrap_or(&d.created)),
    )
}

/// `GET /devices/verify?user_code=&workspace=`: the device's client info and a workspace
/// chooser listing the workspaces the user may log in to (`workspace` preselects one by name or
/// id). Without a session: to `/login?next=…`.
async fn verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, Error> {
    let Some(user) = pages::session_user(&state, &headers).await else {
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/devices/verify");
        return Ok(pages::to_login(target));
    };
    let Some(user_code) = q.user_code.filter(|c| !c.trim().is_empty()) else {
        return Ok(code_form(q.workspace.as_deref()));
    };
    let device = match pending_device(&state, &user_code).await? {
        Ok(d) => d,
        Err(page) => return Ok(page),
    };
    let (csrf, set) = pages::csrf_token(&state, &headers)?;
    let workspaces = crate::routes::client::accessible_workspaces(&state, &user).await?;
    let wanted = q.workspace.as_deref().map(str::trim).filter(|w| !w.is_empty());
    let chosen = wanted.and_then(|w| {
        workspaces.iter().find(|ws| ws.id.to_string() == w.to_ascii_lowercase() || ws.name == w).map(|ws| ws.id)
    });
    let chooser = if workspaces.is_empty() {
        "<p id=\"no-workspace\">You have no workspace yet: the CLI will be logged in to zenpro only.</p>".to_string()
    } else {
        let options: String = workspaces
            .iter()
            .map(|ws| {
                let selected = if Some(ws.id) == chosen { " selected" } else { "" };
                format!(
                    "<option value=\"{}\"{selected}>{} ({})</option>",
                    ws.id,
                    escape(&ws.name),
                    escape(&ws.organization_name)
                )
            })
            .collect();
        let note = match (wanted, chosen) {
            (Some(w), None) => format!(
                "<p class=\"error\" id=\"workspace-note\">The workspace “{}” is not one you can log in to; choose another.</p>",
                escape(w)
            ),
            _ => String::new(),
        };
        format!(
            "{note}<label for=\"workspace\">Workspace</label><select id=\"workspace\" name=\"workspace\" required>{options}</select>"
        )
    };
    let body = format!(
        "<p>A ZenML client asks to log in as <strong id=\"username-current\">{user}</strong>.</p>{details}\
         <form method=\"post\" action=\"/devices/verify\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"user_code\" value=\"{code}\">{chooser}\
         <button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Approve</button>\
         <button id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\" formnovalidate>Deny</button></form>",
        user = escape(&user.username),
        details = device_details(&device),
        csrf = escape(&csrf),
        code = escape(&device.user_code),
    );
    Ok(pages::with_cookie(pages::page(StatusCode::OK, "Authorize a device", &body), set))
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
    workspace: Option<String>,
    #[serde(default)]
    decision: String,
}

/// `POST /devices/verify`: approve the device with the chosen workspace, or deny it.
async fn verify_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<VerifyForm>,
) -> Result<Response, Error> {
    let Some(user) = pages::session_user(&state, &headers).await else {
        return Ok(pages::to_login(&format!("/devices/verify?user_code={}", pages::url_encode(&f.user_code))));
    };
    if !pages::csrf_ok(&headers, &f.csrf) {
        return Ok(pages::message_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form expired; open the link from the CLI again.",
        ));
    }
    let device = match pending_device(&state, &f.user_code).await? {
        Ok(d) => d,
        Err(page) => return Ok(page),
    };
    let approve = match f.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return Ok(pages::message_page(StatusCode::BAD_REQUEST, "Nothing decided", "Choose Approve or Deny.")),
    };
    let mut workspace = None;
    if approve {
        let workspaces = crate::routes::client::accessible_workspaces(&state, &user).await?;
        match f.workspace.as_deref().filter(|w| !w.is_empty()) {
            Some(w) => match workspaces.iter().find(|ws| ws.id.to_string() == w) {
                Some(ws) => workspace = Some(ws.id),
                None => {
                    return Ok(pages::message_page(
                        StatusCode::FORBIDDEN,
                        "Not allowed",
                        "You cannot log in to that workspace.",
                    ));
                }
            },
            None if !workspaces.is_empty() => {
                return Ok(pages::message_page(StatusCode::BAD_REQUEST, "Choose a workspace", "Choose a workspace."));
            }
            None => {}
        }
    }
    if !state.store.decide_device(device.id, approve, user.id, workspace).await? {
        return Ok(pages::message_page(
            StatusCode::CONFLICT,
            "Already decided",
            "This device login was already approved or denied.",
        ));
    }
    let (title, msg) = if approve {
        ("Device approved", "The device is logged in. You can close this window and return to the CLI.")
    } else {
        ("Device denied", "The login was denied. You can close this window.")
    };
    Ok(pages::page(
        StatusCode::OK,
        title,
        &format!("<p id=\"result\" data-decision=\"{}\">{}</p>", f.decision, escape(msg)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_parsed_like_zenml() {
        let ua = UserAgentInfo::parse("Host/box ZenML/0.98.0 Python/3.11.2 OS/Linux");
        assert_eq!(ua.hostname.as_deref(), Some("box"));
        assert_eq!(ua.zenml_version.as_deref(), Some("0.98.0"));
        assert_eq!(ua.python_version.as_deref(), Some("3.11.2"));
        assert_eq!(ua.os.as_deref(), Some("Linux"));
        assert_eq!(UserAgentInfo::parse("curl"), UserAgentInfo::default());
    }

    #[test]
    fn user_codes() {
        for _ in 0..50 {
            let c = new_user_code().unwrap();
            assert_eq!(c.len(), 9);
            assert_eq!(&c[4..5], "-");
            assert!(c.chars().all(|ch| ch == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(ch)));
            assert_eq!(normalise_user_code(&c.to_lowercase().replace('-', " ")), c);
        }
    }
}
