//! Server-rendered browser pages of the control plane (no JavaScript needed): the login form
//! (`GET/POST /login`, which sets an HttpOnly `SameSite=Lax` session cookie carrying a CP user
//! token) and the helpers the device approval pages of `routes::device` use: HTML escaping, the
//! page frame (the dashboard's, `crate::dashboard`), cookies and the CSRF double-submit token.
//!
//! CSRF: every form carries a hidden `csrf` field equal to the `zenpro_csrf` cookie (random,
//! HttpOnly, `SameSite=Strict`); a POST whose field and cookie differ is refused. Together with
//! the `SameSite=Lax` session cookie a cross-site form cannot act for the user.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use zenpro_types::Error;

use crate::AppState;
use crate::auth::{Principal, TokenKind};
use crate::store::users::UserRow;

/// The session cookie (a CP user token).
pub const SESSION_COOKIE: &str = "zenpro_session";
/// The CSRF double-submit cookie.
pub const CSRF_COOKIE: &str = "zenpro_csrf";

/// `GET/POST /login`.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_form).post(login_submit))
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a query value.
pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).map(|e| e[2..].to_string()).unwrap_or_default()
}

#[derive(askama::Template)]
#[template(path = "frame.html")]
struct Frame<'a> {
    title: &'a str,
    nav: Option<crate::dashboard::Nav>,
    body: &'a str,
}

/// A whole page in the dashboard's frame (no navigation: the visitor may not be signed in):
/// `title` is escaped here, `body` must already be safe HTML.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    crate::dashboard::render(status, &Frame { title, nav: None, body })
}

/// A page with one message paragraph (`id="message"`).
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, title, &format!("<p id=\"message\">{}</p>", escape(message)))
}

/// The value of a request cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// Whether cookies must be `Secure` (the pages are served over https).
fn secure(state: &AppState) -> bool {
    state.config.dashboard_url().starts_with("https://")
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64, same_site: &str) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The CSRF token of this browser: the cookie's value, or a new one (then `Some(Set-Cookie)`).
pub fn csrf_token(state: &AppState, headers: &HeaderMap) -> Result<(String, Option<HeaderValue>), Error> {
    if let Some(t) = cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 43) {
        return Ok((t, None));
    }
    let t = zenpro_auth::secret::random_b64(32)?;
    let c = set_cookie(state, CSRF_COOKIE, &t, 86400, "Strict");
    Ok((t, Some(c)))
}

/// Whether a posted CSRF field matches the cookie.
pub fn csrf_ok(headers: &HeaderMap, posted: &str) -> bool {
    match cookie(headers, CSRF_COOKIE) {
        Some(c) => !posted.is_empty() && zenpro_auth::secret::ct_eq(&c, posted),
        None => false,
    }
}

/// Add a `Set-Cookie` header to a response.
pub fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// A safe local redirect target: a path on this site (`/…`, not `//…` nor `/\…`), else `/`.
pub fn local_target(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains(['\r', '\n']) => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `303 See Other` to `/login?next=<target>`.
pub fn to_login(target: &str) -> Response {
    Redirect::to(&format!("/login?next={}", url_encode(target))).into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

fn login_html(csrf: &str, next: &str, username: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>\n", escape(e))).unwrap_or_default();
    format!(
        "{error}<form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button id=\"login\" type=\"submit\">Log in</button></form>",
        csrf = escape(csrf),
        next = escape(next),
        username = escape(username),
    )
}

/// `GET /login?next=`: the form (a valid session goes straight to `next`).
async fn login_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = local_target(q.next.as_deref());
    if session_user(&state, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    match csrf_token(&state, &headers) {
        Ok((csrf, set)) => {
            let mut body = login_html(&csrf, &next, "", None);
            if q.signed_out.is_some() {
                body.insert_str(0, "<p class=\"notice\" id=\"signed-out\">You are signed out.</p>");
            }
            with_cookie(page(StatusCode::OK, "Log in to zenpro", &body), set)
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: check the CSRF token and the password, set the session cookie, go to `next`.
async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: http::Extensions,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_target(f.next.as_deref());
    let (csrf, set) = match csrf_token(&state, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if !csrf_ok(&headers, &f.csrf) {
        let body = login_html(&csrf, &next, &f.username, Some("Your session form expired; please try again."));
        return with_cookie(page(StatusCode::FORBIDDEN, "Log in to zenpro", &body), set);
    }
    let address =
        ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into());
    match password_login(&state, &address, &f.username, &f.password).await {
        Ok((token, lifetime)) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &token, lifetime, "Lax"));
            resp
        }
        Err(e) => {
            let (status, msg) = match e.status() {
                StatusCode::FORBIDDEN => (StatusCode::TOO_MANY_REQUESTS, "Too many failed logins; try again later."),
                s if s.is_server_error() => (s, "The login failed; try again later."),
                _ => (StatusCode::UNAUTHORIZED, "Wrong username or password."),
            };
            let body = login_html(&csrf, &next, &f.username, Some(msg));
            with_cookie(page(status, "Log in to zenpro", &body), set)
        }
    }
}

/// The user of the session cookie, if it carries a valid CP token of an active user.
pub async fn session_user(state: &AppState, headers: &HeaderMap) -> Option<UserRow> {
    let token = cookie(headers, SESSION_COOKIE)?;
    if token.starts_with(crate::auth::API_KEY_PREFIX) {
        return None;
    }
    match crate::auth::authenticate_bearer(state, &token).await.ok()?.principal {
        Principal::User(u) if !u.is_service_account => Some(u),
        _ => None,
    }
}

/// Password login of a human user, rate-limited like `POST /auth/login` (same failure table and
/// limits): a user token and its lifetime.
async fn password_login(
    state: &AppState,
    address: &str,
    username: &str,
    password: &str,
) -> Result<(String, i64), Error> {
    let cfg = &state.config;
    let window_start = crate::time_text(chrono::Utc::now() - chrono::Duration::seconds(cfg.login_window));
    let (failures, _) = state.store.login_failures_since(username, address, &window_start).await?;
    if failures >= cfg.login_max_failures {
        tracing::warn!(username, address, "browser login rate limit reached");
        return Err(Error::forbidden("Too many failed logins."));
    }
    let user = state.store.get_user_by_id_or_name(username).await?.filter(|u| u.username == username);
    let stored = user.as_ref().filter(|u| u.active && !u.is_service_account).and_then(|u| u.password_hash.clone());
    let ok = zenpro_auth::password::verify(password.to_string(), stored.clone()).await && stored.is_some();
    let Some(user) = user.filter(|_| ok) else {
        state.store.record_login_failure(username, address, &window_start).await?;
        return Err(Error::credentials("Wrong username or password."));
    };
    state.store.clear_login_failures(username, address).await?;
    let token = crate::auth::issue_token(&state.token_key, TokenKind::User, user.id, cfg.token_lifetime)?;
    Ok((token, cfg.token_lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;");
    }

    #[test]
    fn redirects_stay_local() {
        assert_eq!(local_target(Some("/devices/verify?user_code=A")), "/devices/verify?user_code=A");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "/x\r\nSet-Cookie: a=b"] {
            assert_eq!(local_target(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_target(None), "/");
    }

    #[test]
    fn cookies_are_read() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; zenpro_session=tok; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(!csrf_ok(&h, "x"));
    }
}
