//! Members (role assignments) of an organization, for its Admins and Managers — the rules of
//! `routes/roles.rs`: Managers grant everything but the organization Admin role, which only
//! Admins grant or revoke. Also the grant forms and tables the team pages reuse (`teams.rs`).
//!
//! `GET/POST /organizations/{org}/members` (list; add a member = grant a role to an existing or
//! new user), `POST /organizations/{org}/revoke` (one role assignment),
//! `GET/POST /organizations/{org}/members/{user id}/remove` (confirm, then every role assignment
//! of the user in the organization and its memberships of the organization's teams go).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::HeaderMap;
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::Error;

use super::form::{Confirm, ConfirmForm, Need, form_status, org_form, org_page, outcome};
use super::{Ctx, Nav, PageResult, see_other, seg, when};
use crate::AppState;
use crate::access::{ORG_ROLES, WORKSPACE_ROLES};
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::{GrantFilter, GrantRow, NewGrant};
use crate::store::users::NewUser;
use crate::store::workspaces::WorkspaceRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{org}/members", get(members).post(add_member))
        .route("/organizations/{org}/revoke", post(revoke))
        .route("/organizations/{org}/members/{user}/remove", get(ask_remove).post(remove))
}

/// Completes "You are not allowed to …" on the members pages.
const MEMBERS_WHAT: &str = "manage the members of this organization";

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

pub(super) fn grant_form(c: &Ctx, org: &OrganizationRow, workspaces: &[WorkspaceRow]) -> GrantForm {
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
pub(super) async fn grant(
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

/// Names of the principals a grant of `org` may name: users, its service accounts, its teams.
pub(super) type Names = HashMap<Uuid, (String, &'static str)>;

/// [`Names`], with one query per kind.
pub(super) async fn principal_names(state: &AppState, org: &OrganizationRow) -> Result<Names, Error> {
    let mut names = Names::new();
    for u in state.store.list_users(false, None).await? {
        names.insert(u.id, (u.username, "user"));
    }
    for u in state.store.list_users(true, Some(org.id)).await? {
        names.insert(u.id, (u.username, "service account"));
    }
    for t in state.store.list_teams(Some(org.id)).await? {
        names.insert(t.id, (t.name, "team"));
    }
    Ok(names)
}

/// The scope of a grant for people: `Organization`, `Workspace prod`, `Workspace prod, project …`.
fn scope_text(g: &GrantRow, workspaces: &[WorkspaceRow]) -> String {
    match (g.workspace_id, g.project_id) {
        (None, _) => "Organization".to_string(),
        (Some(w), p) => {
            let name = workspaces.iter().find(|x| x.id == w).map(|x| x.name.clone()).unwrap_or_default();
            match p {
                Some(p) => format!("Workspace {name}, project {p}"),
                None => format!("Workspace {name}"),
            }
        }
    }
}

/// Grants as table rows.
pub(super) fn grant_views(
    c: &Ctx,
    org: &OrganizationRow,
    names: &Names,
    grants: &[GrantRow],
    workspaces: &[WorkspaceRow],
) -> Vec<GrantView> {
    grants
        .iter()
        .map(|g| {
            let (principal, kind) = g
                .user_id
                .or(g.team_id)
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| ("(unknown)".into(), "user"));
            GrantView {
                id: g.id.to_string(),
                principal,
                kind: kind.to_string(),
                role: g.role.clone(),
                scope: scope_text(g, workspaces),
                created: when(&g.created),
                can_revoke: may_grant(c, org.id, &g.scope, &g.role),
            }
        })
        .collect()
}

/// A user or service account of the organization: what it holds directly and its teams there.
pub struct MemberView {
    pub name: String,
    pub kind: String,
    pub roles: String,
    pub teams: String,
    /// `Some(confirm page)` when this user may remove the member.
    pub remove_href: Option<String>,
}

/// A member of an organization: its direct grants there and the organization's teams it is in.
struct Member {
    id: Uuid,
    grants: Vec<GrantRow>,
    teams: Vec<String>,
}

/// The members of `org` by id: holders of a direct grant there, and members of its teams.
async fn org_members(state: &AppState, org: &OrganizationRow, grants: &[GrantRow]) -> Result<Vec<Member>, Error> {
    let mut out: Vec<Member> = Vec::new();
    fn entry(out: &mut Vec<Member>, id: Uuid) -> &mut Member {
        match out.iter().position(|m| m.id == id) {
            Some(i) => &mut out[i],
            None => {
                out.push(Member { id, grants: Vec::new(), teams: Vec::new() });
                out.last_mut().expect("just pushed")
            }
        }
    }
    for g in grants {
        if let Some(u) = g.user_id {
            entry(&mut out, u).grants.push(g.clone());
        }
    }
    for t in state.store.list_teams(Some(org.id)).await? {
        for u in state.store.team_members(t.id).await? {
            entry(&mut out, u.id).teams.push(t.name.clone());
        }
    }
    Ok(out)
}

/// Whether `c` may remove `m` from `org`: a manager who may revoke each of its grants (so only an
/// Admin removes an organization Admin).
fn may_remove(c: &Ctx, org: &OrganizationRow, m: &Member) -> bool {
    c.can_manage(org.id) && m.grants.iter().all(|g| may_grant(c, org.id, &g.scope, &g.role))
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    title: String,
    nav: Option<Nav>,
    org_seg: String,
    tab: &'static str,
    members: Vec<MemberView>,
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
    let names = principal_names(state, o).await?;
    let mut members: Vec<MemberView> = org_members(state, o, &grants)
        .await?
        .iter()
        .map(|m| {
            let (name, kind) = names.get(&m.id).cloned().unwrap_or_else(|| ("(unknown)".into(), "user"));
            let roles: Vec<String> =
                m.grants.iter().map(|g| format!("{} ({})", g.role, scope_text(g, &workspaces))).collect();
            MemberView {
                name,
                kind: kind.to_string(),
                roles: if roles.is_empty() { "through teams only".into() } else { roles.join(", ") },
                teams: m.teams.join(", "),
                remove_href: may_remove(c, o, m)
                    .then(|| format!("/organizations/{}/members/{}/remove", seg(&o.name), m.id)),
            }
        })
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let page = MembersPage {
        title: format!("Members of {}", o.name),
        nav: Some(c.nav.clone()),
        org_seg: seg(&o.name),
        tab: "members",
        members,
        grants: grant_views(c, o, &names, &grants, &workspaces),
        form: grant_form(c, o, &workspaces),
        back: format!("/organizations/{}/members", seg(&o.name)),
        notice,
        error,
    };
    Ok(c.render(form_status(&page.error), &page))
}

async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let (mut c, o) = org_page(&state, &headers, &uri, &org, Need::Manage, MEMBERS_WHAT).await?;
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
    let (mut c, o) = org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, MEMBERS_WHAT).await?;
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
    match outcome(result)? {
        Ok(notice) => members_view(&state, &mut c, &o, None, Some(notice)).await,
        Err(reason) => members_view(&state, &mut c, &o, Some(reason), None).await,
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
    let (c, o) = org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, MEMBERS_WHAT).await?;
    let missing = || Error::not_found("No such role assignment in this organization.");
    let id = Uuid::parse_str(&f.grant).map_err(|_| missing())?;
    let g = state.store.get_grant(id).await?.filter(|g| g.organization_id == o.id).ok_or_else(missing)?;
    if !may_grant(&c, o.id, &g.scope, &g.role) {
        return Err(Error::forbidden("You are not allowed to revoke this role.").into());
    }
    state.store.delete_grant(g.id).await?;
    Ok(see_other(&back))
}

/// The member `user` (an id) of `org` and its confirm page: 404 when not a member, 403 when this
/// user may not remove it.
async fn removal(state: &AppState, c: &Ctx, o: &OrganizationRow, user: &str) -> Result<Confirm, Error> {
    let missing = || Error::not_found("No such member of this organization.");
    let id = Uuid::parse_str(user).map_err(|_| missing())?;
    let grants = state
        .store
        .list_grants(&GrantFilter { organization_id: Some(o.id), user_id: Some(id), ..Default::default() })
        .await?;
    let m = org_members(state, o, &grants).await?.into_iter().find(|m| m.id == id).ok_or_else(missing)?;
    if !may_remove(c, o, &m) {
        return Err(Error::forbidden("Only an organization Admin can remove an organization Admin."));
    }
    let u = state.store.get_user(id).await?.ok_or_else(missing)?;
    let workspaces = state.store.list_workspaces(Some(o.id)).await?;
    let org_seg = seg(&o.name);
    let mut page = Confirm::new(
        c,
        format!("Remove {} from {}", u.username, o.name),
        format!("Remove {} from the organization {}?", u.username, o.name),
        format!("/organizations/{org_seg}/members/{id}/remove"),
        "Remove from the organization",
        format!("/organizations/{org_seg}/members"),
    );
    for g in &m.grants {
        page = page.consequence(format!("The role {} on {} is revoked.", g.role, scope_text(g, &workspaces)));
    }
    for t in &m.teams {
        page = page.consequence(format!("{} leaves the team {} (and the roles it has through it).", u.username, t));
    }
    page = page.consequence(if u.is_service_account {
        "The service account and its API keys stay; it can no longer do anything here.".to_string()
    } else {
        format!("The user {} stays and can be added again; roles in other organizations are not touched.", u.username)
    });
    if u.id == c.user.id {
        page =
            page.consequence("This is you: you lose your access to this organization (unless you are a super-user).");
    }
    Ok(page)
}

/// `GET /organizations/{org}/members/{user}/remove`: the confirm page.
async fn ask_remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path((org, user)): Path<(String, String)>,
) -> PageResult {
    let (c, o) = org_page(&state, &headers, &uri, &org, Need::Manage, MEMBERS_WHAT).await?;
    Ok(removal(&state, &c, &o, &user).await?.show(&c, None))
}

/// `POST /organizations/{org}/members/{user}/remove`: revoke its grants and team memberships here.
async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, user)): Path<(String, String)>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    let back = format!("/organizations/{}/members/{}/remove", seg(&org), seg(&user));
    let (c, o) = org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, MEMBERS_WHAT).await?;
    let page = removal(&state, &c, &o, &user).await?;
    let id = Uuid::parse_str(&user).map_err(|_| Error::not_found("No such member of this organization."))?;
    let action = async {
        let (grants, teams) = state.store.remove_org_member(o.id, id).await?;
        tracing::info!(organization = %o.name, member = %id, grants, teams, by = %c.user.username, "member removed from the dashboard");
        Ok(())
    };
    page.settle(&c, &f, action, &format!("/organizations/{}/members", seg(&o.name))).await
}
