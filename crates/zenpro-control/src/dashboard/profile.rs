//! The user's own profile (`GET/POST /profile`, `POST /profile/password`), `POST /logout`, and
//! `GET /api/auth/login`: the browser login of a Python workspace server in Pro mode
//! (`external_login_url` = `{DASH}/api/auth/login`, sent without query parameters by zenml
//! 0.98.0). We also accept a target (`returnTo`, `return_to`, `redirect`, `redirect_url`,
//! `next`) or take the `Referer`: a path here, or a URL of one of our workspaces (→ its page
//! `/workspaces/{name}`); otherwise the organizations page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use zenpro_types::Error;

use super::form::CsrfForm;
use super::{Ctx, Nav, PageResult, ctx, non_empty, post_ctx, seg, when};
use crate::AppState;
use crate::auth::TokenKind;
use crate::pages::{self, SESSION_COOKIE};
use crate::routes::client::normalise_url;
use crate::store::users::UserUpdate;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile).post(update))
        .route("/profile/password", post(password))
        .route("/logout", post(logout))
        .route("/api/auth/login", get(browser_login))
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    title: &'static str,
    nav: Option<Nav>,
    username: String,
    full_name: String,
    email: String,
    superuser: bool,
    created: String,
    roles: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
}

fn profile_view(c: &Ctx, error: Option<String>, notice: Option<String>) -> ProfilePage {
    let roles = c.orgs.iter().filter_map(|o| c.org_role(o.id).map(|r| (o.name.clone(), r.to_string()))).collect();
    ProfilePage {
        title: "Your profile",
        nav: Some(c.nav.clone()),
        username: c.user.username.clone(),
        full_name: c.user.full_name.clone().unwrap_or_default(),
        email: c.user.email.clone().unwrap_or_default(),
        superuser: c.user.is_superuser,
        created: when(&c.user.created),
        roles,
        error,
        notice,
    }
}

async fn profile(State(state): State<AppState>, headers: HeaderMap, uri: http::Uri) -> PageResult {
    let c = ctx(&state, &headers, &uri).await?;
    Ok(c.render(StatusCode::OK, &profile_view(&c, None, None)))
}

#[derive(Deserialize)]
struct DetailsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
}

/// `POST /profile`: full name and e-mail.
async fn update(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<DetailsForm>) -> PageResult {
    let mut c = post_ctx(&state, &headers, "/profile", &f.csrf).await?;
    c.user = state
        .store
        .update_user(
            c.user.id,
            UserUpdate {
                full_name: Some(non_empty(&f.full_name)),
                email: Some(non_empty(&f.email)),
                ..Default::default()
            },
        )
        .await?;
    Ok(c.render(StatusCode::OK, &profile_view(&c, None, Some("Your details were saved.".into()))))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /profile/password`: needs the current password; older sessions and tokens of the user
/// stop working (`password_changed`), this browser gets a new session cookie.
async fn password(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<PasswordForm>) -> PageResult {
    let c = post_ctx(&state, &headers, "/profile", &f.csrf).await?;
    let refuse =
        |c: &Ctx, msg: &str| c.render(StatusCode::UNPROCESSABLE_ENTITY, &profile_view(c, Some(msg.into()), None));
    if !zenpro_auth::password::verify(f.current.clone(), c.user.password_hash.clone()).await {
        return Ok(refuse(&c, "The current password is wrong."));
    }
    if f.new.len() < 8 {
        return Ok(refuse(&c, "The new password must have at least 8 characters."));
    }
    if f.new != f.confirm {
        return Ok(refuse(&c, "The new passwords do not match."));
    }
    let hash = zenpro_auth::password::hash(f.new.clone()).await?;
    let user =
        state.store.update_user(c.user.id, UserUpdate { password_hash: Some(hash), ..Default::default() }).await?;
    let lifetime = state.config.token_lifetime;
    let token = crate::auth::issue_token(&state.token_key, TokenKind::User, user.id, lifetime)?;
    let mut c = c;
    c.user = user;
    let mut resp = c.render(StatusCode::OK, &profile_view(&c, None, Some("Your password was changed.".into())));
    resp.headers_mut().append(header::SET_COOKIE, pages::set_cookie(&state, SESSION_COOKIE, &token, lifetime, "Lax"));
    Ok(resp)
}

/// `POST /logout`: drop the session cookie (CSRF-checked, so no one else can sign you out).
async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> PageResult {
    if !pages::csrf_ok(&headers, &f.csrf) {
        return Err(super::csrf_refused());
    }
    let mut resp = Redirect::to("/login?signed_out=1").into_response();
    resp.headers_mut().append(header::SET_COOKIE, pages::set_cookie(&state, SESSION_COOKIE, "", 0, "Lax"));
    Ok(resp)
}

/// Where a browser login should land: a local path, a page of this dashboard, or the page of the
/// workspace whose URL `raw` is under; else `/`.
async fn landing(state: &AppState, raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    if raw.starts_with('/') {
        return Ok(pages::local_target(Some(raw)));
    }
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return Ok("/".into());
    }
    let url = normalise_url(raw);
    let dash = normalise_url(&state.config.dashboard_url());
    if let Some(rest) = url.strip_prefix(&dash)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Ok(pages::local_target(Some(if rest.is_empty() { "/" } else { rest })));
    }
    let workspaces = state.store.list_workspaces(None).await?;
    let hit = workspaces.iter().find(|w| {
        [&w.server_url, &w.url].into_iter().flatten().any(|base| {
            let base = normalise_url(base);
            url == base || url.starts_with(&format!("{base}/"))
        })
    });
    Ok(hit.map(|w| format!("/workspaces/{}", seg(&w.name))).unwrap_or_else(|| "/".into()))
}

/// `GET /api/auth/login`: sign in (if needed) and land on the right page.
async fn browser_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let wanted = ["returnTo", "return_to", "redirect", "redirect_url", "next"]
        .iter()
        .find_map(|k| q.get(*k).filter(|v| !v.is_empty()).cloned())
        .or_else(|| headers.get(header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_string));
    let target = match wanted {
        Some(w) => landing(&state, &w).await?,
        None => "/".into(),
    };
    if pages::session_user(&state, &headers).await.is_some() {
        return Ok(Redirect::to(&target).into_response());
    }
    Ok(pages::to_login(&target))
}
