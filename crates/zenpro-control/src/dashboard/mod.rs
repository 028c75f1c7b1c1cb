//! The control plane's web UI: server-rendered pages (askama templates in `templates/`, htmx and
//! our stylesheet served from the binary, no CDN) over the same store and permission checks as
//! the admin API (`access.rs`): a page never shows an action its user may not post, and every
//! POST re-checks the permission and the CSRF token (`pages::csrf_ok`).
//!
//! Pages (docs/control-plane.md "Dashboard" has who sees what):
//!
//! * `/` (organizations; super-users create them), `/switch` (the org switcher);
//! * `/organizations/{org}` (workspaces, their htmx-polled table; Admins/Managers create them),
//!   its members, teams and service accounts (`members.rs`, `teams.rs`, `accounts.rs`);
//! * `/workspaces/{name}` (`workspaces.rs`: details, enrollment key rotation; the page a Pro
//!   workspace server redirects `/` to) and its actions `/workspaces/{name}/deactivate`,
//!   `…/reactivate`, `…/delete` (`ws_admin.rs`);
//! * `/workspaces/{name}/...` (`workspace_views.rs`): the workspace views of `zenpro-dashboard`
//!   (runs with their DAG, pipelines, artifacts, models and model versions, stacks, components,
//!   secrets), fetched from the workspace server as the signed-in user through external login,
//!   the workspace token cached per (session, workspace);
//! * `/profile`, `POST /logout`, and `/api/auth/login` (the browser login a Python workspace in
//!   Pro mode sends its users to).
//!
//! Destructive actions (deactivate or delete a workspace, delete a team or an organization,
//! remove a member) have a confirm page first (`form::Confirm`). Every page works without
//! JavaScript; htmx only refreshes the workspace table and `cp.js` only adds the copy buttons and
//! the auto-submitting org switcher.
//!
//! `form.rs` holds what every page and form repeats: the organization (or workspace, team) of the
//! path checked for a role, the CSRF-checked POST, how a refused change ends, the confirm step.

mod accounts;
pub mod enroll;
mod form;
mod members;
mod orgs;
mod profile;
mod teams;
mod workspace_views;
mod workspaces;
mod ws_admin;

use askama::Template;
use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::access::{ADMIN, MANAGE, org_roles};
use crate::pages;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::GrantRow;
use crate::store::users::UserRow;

/// Our stylesheet (one column on a phone).
pub const CP_CSS: &str = include_str!("cp.css");
/// Copy buttons and the org switcher's auto-submit (progressive enhancement only).
pub const CP_JS: &str = include_str!("cp.js");

/// The Content-Security-Policy of every page: our own scripts and styles only.
pub const CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; \
                       connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// All dashboard routes (at the root), plus the shared assets of `zenpro-dashboard`.
pub fn router(config: &crate::config::Config) -> Router<AppState> {
    Router::new()
        .route("/static/cp.css", get(|| async { asset("text/css; charset=utf-8", CP_CSS) }))
        .route("/static/cp.js", get(|| async { asset("text/javascript; charset=utf-8", CP_JS) }))
        .merge(zenpro_dashboard::assets_router())
        .merge(orgs::router())
        .merge(workspaces::router())
        .merge(members::router())
        .merge(teams::router())
        .merge(ws_admin::router())
        .merge(accounts::router())
        .merge(profile::router())
        .merge(workspace_views::router(&config.ca))
}

fn asset(ctype: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response()
}

/// One entry of the organization switcher.
#[derive(Debug, Clone)]
pub struct NavOrg {
    pub name: String,
    pub href: String,
    pub current: bool,
}

/// What the page frame shows about the signed-in user.
#[derive(Debug, Clone)]
pub struct Nav {
    pub username: String,
    pub csrf: String,
    pub orgs: Vec<NavOrg>,
    pub superuser: bool,
}

/// The signed-in user of a page, their grants (direct and through teams) and the nav.
pub struct Ctx {
    pub user: UserRow,
    pub grants: Vec<GrantRow>,
    pub orgs: Vec<OrganizationRow>,
    pub nav: Nav,
    set_cookie: Option<HeaderValue>,
}

impl Ctx {
    /// The user's strongest organization role in `org`.
    pub fn org_role(&self, org: Uuid) -> Option<&str> {
        org_roles(&self.grants).into_iter().find(|(o, _)| *o == org).map(|(_, r)| r)
    }

    fn has_role(&self, org: Uuid, roles: &[&str]) -> bool {
        self.user.is_superuser || self.org_role(org).is_some_and(|r| roles.contains(&r))
    }

    /// Admin or Manager of `org` (or a super-user): may manage workspaces, members, teams, accounts.
    pub fn can_manage(&self, org: Uuid) -> bool {
        self.has_role(org, MANAGE)
    }

    /// Admin of `org` (or a super-user).
    pub fn is_admin(&self, org: Uuid) -> bool {
        self.has_role(org, ADMIN)
    }

    /// 403 unless the user manages `org` (the same rule as the admin API).
    pub fn require_manage(&self, org: Uuid, what: &str) -> Result<(), Error> {
        self.require(org, form::Need::Manage, what)
    }

    /// Whether the user belongs to `org` at all (any grant there) or is a super-user.
    pub fn sees_org(&self, org: Uuid) -> bool {
        self.user.is_superuser || self.grants.iter().any(|g| g.organization_id == org)
    }

    /// Mark `current` in the switcher.
    pub fn set_current(&mut self, org: Uuid) {
        for (o, n) in self.orgs.iter().zip(self.nav.orgs.iter_mut()) {
            n.current = o.id == org;
        }
    }

    /// Render a page for this user (with the CSRF cookie when it was new).
    pub fn render<T: Template>(&self, status: StatusCode, t: &T) -> Response {
        pages::with_cookie(render(status, t), self.set_cookie.clone())
    }
}

/// Render a template with the headers of every page (no-store, CSP, no framing).
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => secure_headers((status, Html(html)).into_response()),
        Err(e) => Error::internal(format!("template: {e}")).into_response(),
    }
}

/// The headers every page carries.
pub fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    resp
}

/// The organizations a user belongs to (any grant there), all of them for a super-user.
async fn visible_orgs(state: &AppState, user: &UserRow, grants: &[GrantRow]) -> Result<Vec<OrganizationRow>, Error> {
    if user.is_superuser {
        return state.store.list_organizations(None).await;
    }
    let mut ids: Vec<Uuid> = grants.iter().map(|g| g.organization_id).collect();
    ids.sort();
    ids.dedup();
    state.store.list_organizations(Some(&ids)).await
}

/// A path segment (names may hold spaces, `?`, `#`).
pub fn seg(s: &str) -> String {
    pages::url_encode(s).replace('+', "%20")
}

/// The page context of a signed-in user, or the redirect to `/login?next=<this page>`.
pub async fn ctx(state: &AppState, headers: &HeaderMap, uri: &http::Uri) -> Result<Ctx, PageError> {
    let Some(user) = pages::session_user(state, headers).await else {
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Err(PageError(pages::to_login(target)));
    };
    let (csrf, set_cookie) = pages::csrf_token(state, headers)?;
    let grants = state.store.grants_for_principal(user.id).await?;
    let orgs = visible_orgs(state, &user, &grants).await?;
    let nav = Nav {
        username: user.username.clone(),
        csrf,
        orgs: orgs
            .iter()
            .map(|o| NavOrg { name: o.name.clone(), href: format!("/organizations/{}", seg(&o.name)), current: false })
            .collect(),
        superuser: user.is_superuser,
    };
    Ok(Ctx { user, grants, orgs, nav, set_cookie })
}

/// The context of a form POST: a session (else to `/login`) and a matching CSRF token (else 403).
pub async fn post_ctx(state: &AppState, headers: &HeaderMap, back: &str, csrf: &str) -> Result<Ctx, PageError> {
    let Some(_) = pages::session_user(state, headers).await else {
        return Err(PageError(pages::to_login(back)));
    };
    if !pages::csrf_ok(headers, csrf) {
        return Err(csrf_refused());
    }
    let uri: http::Uri = back.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
    ctx(state, headers, &uri).await
}

/// The answer to a POST whose CSRF token is missing or not this browser's: 403, nothing changed.
pub fn csrf_refused() -> PageError {
    PageError(error_page(
        StatusCode::FORBIDDEN,
        "The form expired or did not come from this site; reload the page and try again.",
    ))
}

/// `303 See Other` after a successful POST.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    nav: Option<Nav>,
    message: &'a str,
}

/// A page saying what went wrong (5xx: a generic text; the cause is logged).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::CONFLICT => "Already exists",
        s if s.is_server_error() => "Something went wrong",
        _ => "Cannot do that",
    };
    render(status, &ErrorPage { title, nav: None, message })
}

/// A failed page: a redirect to the login or an error page.
pub struct PageError(pub Response);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        let status = e.status();
        if status.is_server_error() {
            tracing::error!(error = %e, "dashboard page failed");
            return PageError(error_page(status, "The request failed; try again later."));
        }
        if status == StatusCode::UNAUTHORIZED {
            return PageError(pages::to_login("/"));
        }
        PageError(error_page(status, &e.to_string()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0
    }
}

/// The result of a page handler.
pub type PageResult = Result<Response, PageError>;

/// Form checkbox/text helper: trimmed, `None` when empty.
pub fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A stored UTC time for people: `2026-11-26 18:40:57 UTC`.
pub fn when(t: &str) -> String {
    match t.get(..19) {
        Some(s) => format!("{} UTC", s.replace('T', " ")),
        None => t.to_string(),
    }
}

/// Whether a refused change is shown on its form (bad input, a taken name) rather than as an
/// error page (not allowed, not found, server errors).
pub fn on_form(e: &Error) -> bool {
    matches!(e.status(), StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::BAD_REQUEST)
}
