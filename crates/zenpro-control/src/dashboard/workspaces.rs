//! `POST /organizations/{org}/workspaces` (create; the answer is the only page that ever shows
//! the enrollment key), `GET /workspaces/{name}` (the page a Pro workspace server sends its
//! browser users to: `workspace_dashboard_url` = `{DASH}/workspaces/{name}`) and
//! `POST /workspaces/{name}/enrollment_key` (rotate; the new key is shown once the same way).

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use zenpro_types::Error;

use super::enroll::Enrollment;
use super::form::{CsrfForm, Need, checked_ws, org_form, outcome};
use super::orgs::{WsView, org_view};
use super::{Ctx, Nav, PageResult, ctx, post_ctx, seg, when};
use crate::AppState;
use crate::auth::new_enrollment_key;
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::workspaces::WorkspaceRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{org}/workspaces", post(create))
        .route("/workspaces/{name}", get(page))
        .route("/workspaces/{name}/enrollment_key", post(rotate))
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
}

/// The configured URL: empty, or `http(s)://…` without a trailing `/` (as the admin API).
fn check_url(url: &str) -> Result<Option<String>, Error> {
    match url.trim() {
        "" => Ok(None),
        u if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(u.trim_end_matches('/').to_string())),
        u => Err(Error::validation(format!("Invalid workspace URL '{u}': use http(s)://host[:port][/path]."))),
    }
}

#[derive(Template)]
#[template(path = "ws_key.html")]
struct KeyPage {
    title: String,
    nav: Option<Nav>,
    workspace: String,
    ws_href: String,
    org: String,
    rotated: bool,
    key: String,
    helm: String,
    env: String,
}

fn key_page(state: &AppState, c: &Ctx, w: &WorkspaceRow, o: &OrganizationRow, key: &str, rotated: bool) -> KeyPage {
    let e = Enrollment {
        organization_id: o.id.to_string(),
        organization_name: &o.name,
        workspace_id: w.id.to_string(),
        workspace_name: &w.name,
        enrollment_key: key,
        api_url: state.config.api_url(),
        dashboard_url: state.config.dashboard_url(),
        workspace_url: w.url.as_deref().unwrap_or(""),
    };
    KeyPage {
        title: if rotated {
            format!("New enrollment key of {}", w.name)
        } else {
            format!("Workspace {} created", w.name)
        },
        nav: Some(c.nav.clone()),
        workspace: w.name.clone(),
        ws_href: format!("/workspaces/{}", seg(&w.name)),
        org: o.name.clone(),
        rotated,
        key: key.to_string(),
        helm: e.helm_values(),
        env: e.env_vars(),
    }
}

/// `POST /organizations/{org}/workspaces` (Admin/Manager of the organization).
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<CreateForm>,
) -> PageResult {
    let back = format!("/organizations/{}", seg(&org));
    let (mut c, o) =
        org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, "create workspaces in this organization")
            .await?;
    let name = f.name.trim();
    let made = async {
        check_name(name, "workspace")?;
        let url = check_url(&f.url)?;
        let (key, hash) = new_enrollment_key()?;
        let w = state.store.create_workspace(o.id, name, super::non_empty(&f.description), url, &hash).await?;
        Ok::<_, Error>((w, key))
    }
    .await;
    match outcome(made)? {
        Ok((w, key)) => Ok(c.render(StatusCode::OK, &key_page(&state, &c, &w, &o, &key, false))),
        Err(reason) => Ok(org_view(&state, &mut c, &o, Some(reason), (&f.name, &f.url)).await?),
    }
}

/// Completes "You are not allowed to …" for the workspace page and views (never shown in
/// practice: whoever sees a workspace sees its organization).
pub(super) const SEE_WS: &str = "see this workspace";

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    title: String,
    nav: Option<Nav>,
    ws: WsView,
    id: String,
    org: String,
    org_href: String,
    description: String,
    configured_url: String,
    desired_state: String,
    state_reason: String,
    created: String,
    /// May rotate the key, deactivate and reactivate (Admin or Manager of the organization).
    can_manage: bool,
    /// May delete the workspace (organization Admin).
    can_admin: bool,
    can_log_in: bool,
}

/// `GET /workspaces/{name or id}`.
async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(name): Path<String>,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let (w, o) = checked_ws(&state, &c, &name, Need::See, SEE_WS).await?;
    c.set_current(o.id);
    let can_log_in = crate::routes::client::accessible_workspaces(&state, &c.user).await?.iter().any(|a| a.id == w.id);
    let p = WorkspacePage {
        title: format!("Workspace {}", w.name),
        nav: Some(c.nav.clone()),
        ws: WsView::of(&w),
        id: w.id.to_string(),
        org: o.name.clone(),
        org_href: format!("/organizations/{}", seg(&o.name)),
        description: w.description.clone().unwrap_or_default(),
        configured_url: w.url.clone().unwrap_or_default(),
        desired_state: w.desired_state.clone(),
        state_reason: w.state_reason.clone().unwrap_or_default(),
        created: when(&w.created),
        can_manage: c.may(o.id, Need::Manage),
        can_admin: c.may(o.id, Need::Admin),
        can_log_in,
    };
    Ok(c.render(StatusCode::OK, &p))
}

/// `POST /workspaces/{name}/enrollment_key`: a new key, the old one stops working at once.
async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let back = format!("/workspaces/{}", seg(&name));
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let (w, o) = checked_ws(&state, &c, &name, Need::Manage, "rotate this workspace's enrollment key").await?;
    c.set_current(o.id);
    let (key, hash) = new_enrollment_key()?;
    state.store.set_enrollment_key_hash(w.id, &hash).await?;
    Ok(c.render(StatusCode::OK, &key_page(&state, &c, &w, &o, &key, true)))
}
