//! Members (role assignments) and teams of an organization, for its Admins and Managers — the
//! rules of `routes/roles.rs` and `routes/teams.rs`: Managers grant everything but the
//! organization Admin role, which only Admins grant or revoke.
//!
//! `GET/POST /organizations/{org}/members` (list; add a member = grant a role to an existing or
//! new user), `POST /organizations/{org}/revoke`, `GET/POST /organizations/{org}/teams`,
//! `GET /teams/{id}`, `POST /teams/{id}/members`, `POST /teams/{id}/remove`,
//! `POST /teams/{id}/grants`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::Error;

use super::orgs::find_org;
use super::{Ctx, Nav, PageResult, ctx, non_empty, post_ctx, see_other, seg, when};
use crate::AppState;
use crate::access::{ORG_ROLES, WORKSPACE_ROLES};
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::{GrantFilter, GrantRow, NewGrant};
use crate::store::teams::TeamRow;
use crate::store::users::NewUser;
use crate::store::workspaces::WorkspaceRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{org}/members", get(members).post(add_member))
        .route("/organizations/{org}/revoke", post(revoke))
        .route("/organizations/{org}/teams", get(teams).post(create_team))
        .route("/teams/{id}", get(team))
        .route("/teams/{id}/members", post(team_add))
        .route("/teams/{id}/remove", post(team_remove))
        .route("/teams/{id}/grants", post(team_grant))
}

/// A choice of the scope `<select>`: `organization` or a workspace id.
pub struct ScopeOption {
    pub value: String,
    pub label: String,
}

/// A role assignment in a table.
pub struct GrantView {
    pub id: String,
    pub principal: String,
    pub kind: String,
    pub role: String,
    pub scope: String,
    pub created: String,
    pub can_revoke: bool,
}

/// The scope choices and role names the grant forms offer.
pub struct GrantForm {
    pub scopes: Vec<ScopeOption>,
    pub org_roles: Vec<&'static str>,
    pub ws_roles: Vec<&'static str>,
}

fn grant_form(c: &Ctx, org: &OrganizationRow, workspaces: &[WorkspaceRow]) -> GrantForm {
    let mut scopes = vec![ScopeOption { value: "organization".into(), label: format!("Organization {}", org.name) }];
    scopes.extend(
        workspaces.iter().map(|w| ScopeOption { value: w.id.to_string(), label: format!("Workspace {}", w.name) }),
    );
    let org_roles = ORG_ROLES.iter().rev().copied().filter(|r| *r != "Admin" || c.is_admin(org.id)).collect();
    GrantForm { scopes, org_roles, ws_roles: WORKSPACE_ROLES.to_vec() }
}

/// Only an organization Admin may grant or revoke organization Admin; Managers the rest.
fn may_grant(c: &Ctx, org: Uuid, scope: &str, role: &str) -> bool {
    if scope == "organization" && role == "Admin" { c.is_admin(org) } else { c.can_manage(org) }
}

/// Grant `role` at `scope` (`organization` or a workspace id of `org`) to a user or a team.
async fn grant(
    state: &AppState,
    c: &Ctx,
    org: &OrganizationRow,
    user_id: Option<Uuid>,
    team_id: Option<Uuid>,
    role: &str,
    scope: &str,
) -> Result<GrantRow, Error> {
    let workspace = match scope {
        "organization" => None,
        id => {
            let id = Uuid::parse_str(id)
                .map_err(|_| Error::validation("Choose the organization or one of its workspaces."))?;
            let w = state.store.get_workspace(id).await?.filter(|w| w.organization_id == org.id);
            Some(w.ok_or_else(|| Error::validation("That workspace is not in this organization."))?)
        }
    };
    let scope_name = if workspace.is_some() { "workspace" } else { "organization" };
    let valid: &[&str] = if workspace.is_some() { &WORKSPACE_ROLES } else { &ORG_ROLES };
    if !valid.contains(&role) {
        return Err(Error::validation(format!("'{role}' is not a {scope_name} role (one of: {}).", valid.join(", "))));
    }
    if !may_grant(c, org.id, scope_name, role) {
        return Err(Error::forbidden("You are not allowed to grant this role here."));
    }
    state
        .store
        .create_grant(NewGrant {
            role: role.to_string(),
            scope: scope_name.into(),
            organization_id: org.id,
            workspace_id: workspace.map(|w| w.id),
            project_id: None,
            user_id,
            team_id,
        })
        .await
}

/// Grants as table rows, principals and workspaces resolved with one query each.
async fn grant_views(
    state: &AppState,
    c: &Ctx,
    org: &OrganizationRow,
    grants: &[GrantRow],
    workspaces: &[WorkspaceRow],
) -> Result<Vec<GrantView>, Error> {
    let mut names: HashMap<Uuid, (String, &'static str)> = HashMap::new();
    for u in state.store.list_users(false, None).await? {
        names.insert(u.id, (u.username, "user"));
    }
    for u in state.store.list_users(true, Some(org.id)).await? {
        names.insert(u.id, (u.username, "service account"));
    }
    for t in state.store.list_teams(Some(org.id)).await? {
        names.insert(t.id, (t.name, "team"));
    }
    Ok(grants
        .iter()
        .map(|g| {
            let (principal, kind) = g
                .user_id
                .or(g.team_id)
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| ("(unknown)".into(), "user"));
            let scope = match (g.workspace_id, g.project_id) {
                (None, _) => "Organization".to_string(),
                (Some(w), p) => {
                    let name = workspaces.iter().find(|x| x.id == w).map(|x| x.name.clone()).unwrap_or_default();
                    match p {
                        Some(p) => format!("Workspace {name}, project {p}"),
                        None => format!("Workspace {name}"),
                    }
                }
            };
            GrantView {
                id: g.id.to_string(),
                principal,
                kind: kind.to_string(),
                role: g.role.clone(),
                scope,
                created: when(&g.created),
                can_revoke: may_grant(c, org.id, &g.scope, &g.role),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    title: String,
    nav: Option<Nav>,
    org: String,
    org_seg: String,
    grants: Vec<GrantView>,
    form: GrantForm,
    error: Option<String>,
    notice: Option<String>,
    back: String,
}

async fn members_view(
    state: &AppState,
    c: &mut Ctx,
    o: &OrganizationRow,
    error: Option<String>,
    notice: Option<String>,
) -> PageResult {
    c.set_current(o.id);
    let workspaces = state.store.list_workspaces(Some(o.id)).await?;
    let grants = state.store.list_grants(&GrantFilter { organization_id: Some(o.id), ..Default::default() }).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = MembersPage {
        title: format!("Members of {}", o.name),
        nav: Some(c.nav.clone()),
        org: o.name.clone(),
        org_seg: seg(&o.name),
        grants: grant_views(state, c, o, &grants, &workspaces).await?,
        form: grant_form(c, o, &workspaces),
        error,
        notice,
        back: format!("/organizations/{}/members", seg(&o.name)),
    };
    Ok(c.render(status, &page))
}

/// The organization of the path, for its Admins/Managers only.
async fn managed_org(state: &AppState, c: &Ctx, key: &str, what: &str) -> Result<OrganizationRow, Error> {
    let o = find_org(state, c, key).await?;
    c.require_manage(o.id, what)?;
    Ok(o)
}

async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let o = managed_org(&state, &c, &org, "manage the members of this organization").await?;
    members_view(&state, &mut c, &o, None, None).await
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

/// `POST /organizations/{org}/members`: grant a role to a user, creating the user first when it
/// does not exist and a password is given.
async fn add_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<MemberForm>,
) -> PageResult {
    let back = format!("/organizations/{}/members", seg(&org));
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let o = managed_org(&state, &c, &org, "manage the members of this organization").await?;
    let username = f.username.trim().to_string();
    let result = async {
        let user = match state.store.get_user_by_id_or_name(&username).await? {
            Some(u) if u.is_service_account && u.organization_id != Some(o.id) => {
                return Err(Error::validation("That service account belongs to another organization."));
            }
            Some(u) => u,
            None if f.password.is_empty() => {
                return Err(Error::validation(format!("No user '{username}': give a password to create it.")));
            }
            None => {
                check_name(&username, "user")?;
                let hash = zenpro_auth::password::hash(f.password.clone()).await?;
                state
                    .store
                    .create_user(NewUser {
                        username: username.clone(),
                        password_hash: Some(hash),
                        active: true,
                        ..Default::default()
                    })
                    .await?
            }
        };
        grant(&state, &c, &o, Some(user.id), None, &f.role, &f.scope).await?;
        Ok(format!("Granted {} to {}.", f.role, user.username))
    }
    .await;
    match result {
        Ok(notice) => members_view(&state, &mut c, &o, None, Some(notice)).await,
        Err(e) if super::on_form(&e) => members_view(&state, &mut c, &o, Some(e.to_string()), None).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grant: String,
    #[serde(default)]
    back: String,
}

/// `POST /organizations/{org}/revoke`: delete a role assignment of this organization.
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<RevokeForm>,
) -> PageResult {
    let back = crate::pages::local_target(Some(&f.back));
    let c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let o = managed_org(&state, &c, &org, "manage the members of this organization").await?;
    let missing = || Error::not_found("No such role assignment in this organization.");
    let id = Uuid::parse_str(&f.grant).map_err(|_| missing())?;
    let g = state.store.get_grant(id).await?.filter(|g| g.organization_id == o.id).ok_or_else(missing)?;
    if !may_grant(&c, o.id, &g.scope, &g.role) {
        return Err(Error::forbidden("You are not allowed to revoke this role.").into());
    }
    state.store.delete_grant(g.id).await?;
    Ok(see_other(&back))
}

/// A team in a list.
pub struct TeamView {
    pub name: String,
    pub href: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    title: String,
    nav: Option<Nav>,
    org: String,
    org_seg: String,
    teams: Vec<TeamView>,
    error: Option<String>,
}

async fn teams_view(state: &AppState, c: &mut Ctx, o: &OrganizationRow, error: Option<String>) -> PageResult {
    c.set_current(o.id);
    let teams = state
        .store
        .list_teams(Some(o.id))
        .await?
        .into_iter()
        .map(|t| TeamView {
            href: format!("/teams/{}", t.id),
            name: t.name,
            description: t.description.unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = TeamsPage {
        title: format!("Teams of {}", o.name),
        nav: Some(c.nav.clone()),
        org: o.name.clone(),
        org_seg: seg(&o.name),
        teams,
        error,
    };
    Ok(c.render(status, &page))
}

async fn teams(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let o = managed_org(&state, &c, &org, "manage the teams of this organization").await?;
    teams_view(&state, &mut c, &o, None).await
}

#[derive(Deserialize)]
struct TeamForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<TeamForm>,
) -> PageResult {
    let back = format!("/organizations/{}/teams", seg(&org));
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let o = managed_org(&state, &c, &org, "create teams in this organization").await?;
    let name = f.name.trim();
    let made = match check_name(name, "team") {
        Ok(()) => state.store.create_team(o.id, name, non_empty(&f.description)).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(t) => Ok(see_other(&format!("/teams/{}", t.id))),
        Err(e) if super::on_form(&e) => teams_view(&state, &mut c, &o, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    title: String,
    nav: Option<Nav>,
    team_id: String,
    org: String,
    org_seg: String,
    description: String,
    members: Vec<String>,
    grants: Vec<GrantView>,
    form: GrantForm,
    error: Option<String>,
    back: String,
}

/// The team of the path, for the Admins/Managers of its organization.
async fn managed_team(state: &AppState, c: &Ctx, id: &str) -> Result<(TeamRow, OrganizationRow), Error> {
    let missing = || Error::not_found("No such team.");
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let t = state.store.get_team(id).await?.ok_or_else(missing)?;
    let o = state.store.get_organization(t.organization_id).await?.ok_or_else(missing)?;
    if !c.sees_org(o.id) {
        return Err(missing());
    }
    c.require_manage(o.id, "manage this team")?;
    Ok((t, o))
}

async fn team_view(
    state: &AppState,
    c: &mut Ctx,
    t: &TeamRow,
    o: &OrganizationRow,
    error: Option<String>,
) -> PageResult {
    c.set_current(o.id);
    let workspaces = state.store.list_workspaces(Some(o.id)).await?;
    let grants = state.store.list_grants(&GrantFilter { team_id: Some(t.id), ..Default::default() }).await?;
    let members = state.store.team_members(t.id).await?.into_iter().map(|u| u.username).collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = TeamPage {
        title: format!("Team {}", t.name),
        nav: Some(c.nav.clone()),
        team_id: t.id.to_string(),
        org: o.name.clone(),
        org_seg: seg(&o.name),
        description: t.description.clone().unwrap_or_default(),
        members,
        grants: grant_views(state, c, o, &grants, &workspaces).await?,
        form: grant_form(c, o, &workspaces),
        error,
        back: format!("/teams/{}", t.id),
    };
    Ok(c.render(status, &page))
}

async fn team(State(state): State<AppState>, headers: HeaderMap, uri: http::Uri, Path(id): Path<String>) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let (t, o) = managed_team(&state, &c, &id).await?;
    team_view(&state, &mut c, &t, &o, None).await
}

#[derive(Deserialize)]
struct TeamMemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
}

/// Run a team change and show the team page (with the error of a refused change).
async fn team_change<F, Fut>(state: &AppState, headers: &HeaderMap, id: &str, csrf: &str, change: F) -> PageResult
where
    F: FnOnce(Ctx, TeamRow, OrganizationRow) -> Fut,
    Fut: std::future::Future<Output = (Ctx, Result<(), Error>)>,
{
    let back = format!("/teams/{}", seg(id));
    let c = post_ctx(state, headers, &back, csrf).await?;
    let (t, o) = managed_team(state, &c, id).await?;
    let (mut c, r) = change(c, t.clone(), o.clone()).await;
    match r {
        Ok(()) => Ok(see_other(&back)),
        Err(e) if super::on_form(&e) => team_view(state, &mut c, &t, &o, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}

async fn team_add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TeamMemberForm>,
) -> PageResult {
    let st = state.clone();
    team_change(&state, &headers, &id, &f.csrf, |c, t, _o| async move {
        let name = f.username.trim();
        let r = async {
            let u = st.store.get_user_by_id_or_name(name).await?.filter(|u| !u.is_service_account);
            let u = u.ok_or_else(|| Error::validation(format!("No user '{name}'.")))?;
            st.store.add_team_member(t.id, u.id).await
        }
        .await;
        (c, r)
    })
    .await
}

async fn team_remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TeamMemberForm>,
) -> PageResult {
    let st = state.clone();
    team_change(&state, &headers, &id, &f.csrf, |c, t, _o| async move {
        let r = async {
            let u = st.store.get_user_by_id_or_name(f.username.trim()).await?;
            let u = u.ok_or_else(|| Error::validation("No such member."))?;
            st.store.remove_team_member(t.id, u.id).await.map(|_| ())
        }
        .await;
        (c, r)
    })
    .await
}

#[derive(Deserialize)]
struct TeamGrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

async fn team_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TeamGrantForm>,
) -> PageResult {
    let st = state.clone();
    team_change(&state, &headers, &id, &f.csrf, |c, t, o| async move {
        let r = grant(&st, &c, &o, None, Some(t.id), &f.role, &f.scope).await.map(|_| ());
        (c, r)
    })
    .await
}
