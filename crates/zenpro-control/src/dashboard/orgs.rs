//! `/` (the user's organizations; super-users create them here), `/switch` (the org switcher),
//! `/organizations/{org}` (its workspaces; managers create them here), the htmx partial
//! `/organizations/{org}/workspaces_table` that refreshes the status column, and
//! `/organizations/{org}/delete` (super-users, as `DELETE /api/v1/organizations/{org}`: a confirm
//! page, then the organization goes with its workspaces, teams, grants and service accounts).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use zenpro_types::Error;

use super::form::{Confirm, ConfirmForm, Need, org_form, org_page, outcome};
use super::{Ctx, Nav, PageResult, ctx, post_ctx, see_other, seg, when};
use crate::AppState;
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::GrantFilter;
use crate::store::workspaces::WorkspaceRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/switch", get(switch))
        .route("/organizations", post(create))
        .route("/organizations/{org}", get(show))
        .route("/organizations/{org}/workspaces_table", get(table))
        .route("/organizations/{org}/delete", get(ask_delete).post(delete))
}

/// An organization in a list.
pub struct OrgView {
    pub name: String,
    pub href: String,
    pub role: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    title: &'static str,
    nav: Option<Nav>,
    orgs: Vec<OrgView>,
    can_create: bool,
    error: Option<String>,
}

fn home_view(c: &Ctx, error: Option<String>) -> Home {
    let orgs = c
        .orgs
        .iter()
        .map(|o| OrgView {
            name: o.name.clone(),
            href: format!("/organizations/{}", seg(&o.name)),
            role: match (c.org_role(o.id), c.user.is_superuser) {
                (Some(r), _) => r.to_string(),
                (None, true) => "super-user".into(),
                (None, false) => "workspace access".into(),
            },
            description: o.description.clone().unwrap_or_default(),
        })
        .collect();
    Home { title: "Organizations", nav: Some(c.nav.clone()), orgs, can_create: c.user.is_superuser, error }
}

async fn home(State(state): State<AppState>, headers: HeaderMap, uri: http::Uri) -> PageResult {
    let c = ctx(&state, &headers, &uri).await?;
    Ok(c.render(StatusCode::OK, &home_view(&c, None)))
}

#[derive(Deserialize)]
struct SwitchQuery {
    #[serde(default)]
    org: String,
}

/// `GET /switch?org=<name>`: the switcher's form target (works without JavaScript).
async fn switch(Query(q): Query<SwitchQuery>) -> PageResult {
    Ok(see_other(&if q.org.is_empty() { "/".to_string() } else { format!("/organizations/{}", seg(&q.org)) }))
}

#[derive(Deserialize)]
struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /organizations` (super-users, as `POST /api/v1/organizations`).
async fn create(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<OrgForm>) -> PageResult {
    let c = post_ctx(&state, &headers, "/", &f.csrf).await?;
    crate::access::require_superuser(&c.user, "create organizations")?;
    let name = f.name.trim();
    let created = match check_name(name, "organization") {
        Ok(()) => state.store.create_organization(name, super::non_empty(&f.description)).await,
        Err(e) => Err(e),
    };
    match outcome(created)? {
        Ok(o) => Ok(see_other(&format!("/organizations/{}", seg(&o.name)))),
        Err(reason) => Ok(c.render(StatusCode::UNPROCESSABLE_ENTITY, &home_view(&c, Some(reason)))),
    }
}

/// A workspace row of the table.
pub struct WsView {
    pub name: String,
    pub href: String,
    pub url: String,
    pub status: String,
    pub last_seen: String,
    pub version: String,
    /// Deactivated by a manager (`desired_state`): the table offers "Reactivate".
    pub deactivated: bool,
}

impl WsView {
    pub fn of(w: &WorkspaceRow) -> WsView {
        WsView {
            name: w.name.clone(),
            href: format!("/workspaces/{}", seg(&w.name)),
            url: w.server_url.clone().or_else(|| w.url.clone()).unwrap_or_default(),
            status: w.status.clone(),
            last_seen: w.last_seen.as_deref().map(when).unwrap_or_else(|| "never".into()),
            version: w.version.clone().unwrap_or_else(|| "—".into()),
            deactivated: w.desired_state == "deactivated",
        }
    }
}

/// The workspaces of `org` the user may see: all with an organization role, else those a grant
/// names (the rule of `GET /workspaces?member_only=false`).
async fn visible_workspaces(state: &AppState, c: &Ctx, org: &OrganizationRow) -> Result<Vec<WorkspaceRow>, Error> {
    let all = state.store.list_workspaces(Some(org.id)).await?;
    if c.user.is_superuser || c.org_role(org.id).is_some() {
        return Ok(all);
    }
    Ok(all.into_iter().filter(|w| c.grants.iter().any(|g| g.workspace_id == Some(w.id))).collect())
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    title: String,
    nav: Option<Nav>,
    org_seg: String,
    tab: &'static str,
    description: String,
    role: String,
    workspaces: Vec<WsView>,
    can_manage: bool,
    /// May delete workspaces (organization Admin).
    can_admin: bool,
    /// May delete the organization (super-user).
    can_delete: bool,
    error: Option<String>,
    form_name: String,
    form_url: String,
    status_ok: bool,
}

#[derive(Template)]
#[template(path = "ws_table.html")]
struct WsTable {
    org_seg: String,
    workspaces: Vec<WsView>,
    can_manage: bool,
    can_admin: bool,
}

pub async fn org_view(
    state: &AppState,
    c: &mut Ctx,
    o: &OrganizationRow,
    error: Option<String>,
    form: (&str, &str),
) -> Result<Response, Error> {
    c.set_current(o.id);
    let workspaces = visible_workspaces(state, c, o).await?.iter().map(WsView::of).collect();
    let page = OrgPage {
        title: format!("Organization {}", o.name),
        nav: Some(c.nav.clone()),
        org_seg: seg(&o.name),
        tab: "workspaces",
        description: o.description.clone().unwrap_or_default(),
        role: c
            .org_role(o.id)
            .map(str::to_string)
            .unwrap_or_else(|| if c.user.is_superuser { "super-user".into() } else { "workspace access only".into() }),
        workspaces,
        can_manage: c.can_manage(o.id),
        can_admin: c.is_admin(o.id),
        can_delete: c.user.is_superuser,
        form_name: form.0.to_string(),
        form_url: form.1.to_string(),
        status_ok: error.is_none(),
        error,
    };
    let status = if page.status_ok { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(c.render(status, &page))
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let (mut c, o) = org_page(&state, &headers, &uri, &org, Need::See, "see this organization").await?;
    Ok(org_view(&state, &mut c, &o, None, ("", "")).await?)
}

/// `GET /organizations/{org}/workspaces_table`: the table alone (htmx polls it).
async fn table(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    // htmx polls this: a lapsed session answers 401 (htmx swaps nothing) instead of the login page.
    if headers.contains_key("hx-request") && crate::pages::session_user(&state, &headers).await.is_none() {
        return Ok(StatusCode::UNAUTHORIZED.into_response());
    }
    let (c, o) = org_page(&state, &headers, &uri, &org, Need::See, "see this organization").await?;
    let workspaces = visible_workspaces(&state, &c, &o).await?.iter().map(WsView::of).collect();
    let t = WsTable { org_seg: seg(&o.name), workspaces, can_manage: c.can_manage(o.id), can_admin: c.is_admin(o.id) };
    Ok(c.render(StatusCode::OK, &t))
}

const DELETE_WHAT: &str = "delete organizations";

/// The confirm page of deleting `o`: what goes with it, counted.
async fn delete_page(state: &AppState, c: &Ctx, o: &OrganizationRow) -> Result<Confirm, Error> {
    let workspaces = state.store.list_workspaces(Some(o.id)).await?;
    let teams = state.store.list_teams(Some(o.id)).await?.len();
    let accounts = state.store.list_users(true, Some(o.id)).await?.len();
    let grants = state.store.list_grants(&GrantFilter { organization_id: Some(o.id), ..Default::default() }).await?;
    let org_seg = seg(&o.name);
    let mut page = Confirm::new(
        c,
        format!("Delete organization {}", o.name),
        format!("Delete the organization {} and everything it holds here?", o.name),
        format!("/organizations/{org_seg}/delete"),
        "Delete the organization",
        format!("/organizations/{org_seg}"),
    )
    .consequence(format!(
        "Its {} workspace(s) are deleted{}: their servers can no longer enroll or log anyone in through this control plane.",
        workspaces.len(),
        if workspaces.is_empty() {
            String::new()
        } else {
            format!(" ({})", workspaces.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", "))
        }
    ))
    .consequence(format!("Its {teams} team(s), {accounts} service account(s) with their API keys and {} role assignment(s) are deleted.", grants.len()))
    .consequence("Users stay, without their roles here. The workspace servers' own data (runs, artifacts, stacks, secrets) is not touched.")
    .consequence("This cannot be undone.");
    if let Some(live) = workspaces.iter().find(|w| w.status == "available") {
        page = page.consequence(format!(
            "Workspace {} is running (last heartbeat {}); deactivate it first if you only want to stop access.",
            live.name,
            live.last_seen.as_deref().map(when).unwrap_or_else(|| "never".into())
        ));
    }
    Ok(page.typed(&o.name))
}

/// `GET /organizations/{org}/delete`: the confirm page (super-users).
async fn ask_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let (c, o) = org_page(&state, &headers, &uri, &org, Need::Superuser, DELETE_WHAT).await?;
    Ok(delete_page(&state, &c, &o).await?.show(&c, None))
}

/// `POST /organizations/{org}/delete`: with the name typed again, delete it; back to `/`.
async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    let back = format!("/organizations/{}/delete", seg(&org));
    let (c, o) = org_form(&state, &headers, &back, &f.csrf, &org, Need::Superuser, DELETE_WHAT).await?;
    let action = async {
        state.store.delete_organization(o.id).await?;
        tracing::info!(organization = %o.name, by = %c.user.username, "organization deleted from the dashboard");
        Ok(())
    };
    delete_page(&state, &c, &o).await?.settle(&c, &f, action, "/").await
}
