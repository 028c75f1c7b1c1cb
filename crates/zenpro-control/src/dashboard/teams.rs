//! Teams of an organization, for its Admins and Managers (the rules of `routes/teams.rs`).
//!
//! `GET/POST /organizations/{org}/teams`, `GET /teams/{id}`, `POST /teams/{id}/members`,
//! `POST /teams/{id}/remove` (a member), `POST /teams/{id}/grants`, and
//! `GET/POST /teams/{id}/delete` (confirm, then the team goes with its memberships and grants;
//! the users stay).

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::HeaderMap;
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::Error;

use super::form::{Confirm, ConfirmForm, NamedForm, Need, form_status, org_form, org_page, outcome, owning_org};
use super::members::{GrantForm, GrantView, grant, grant_form, grant_views, principal_names};
use super::{Ctx, Nav, PageResult, ctx, non_empty, post_ctx, see_other, seg};
use crate::AppState;
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::GrantFilter;
use crate::store::teams::TeamRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{org}/teams", get(teams).post(create_team))
        .route("/teams/{id}", get(team))
        .route("/teams/{id}/members", post(team_add))
        .route("/teams/{id}/remove", post(team_remove))
        .route("/teams/{id}/grants", post(team_grant))
        .route("/teams/{id}/delete", get(ask_delete).post(delete))
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
    org_seg: String,
    tab: &'static str,
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
    let page = TeamsPage {
        title: format!("Teams of {}", o.name),
        nav: Some(c.nav.clone()),
        org_seg: seg(&o.name),
        tab: "teams",
        teams,
        error,
    };
    Ok(c.render(form_status(&page.error), &page))
}

async fn teams(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let (mut c, o) =
        org_page(&state, &headers, &uri, &org, Need::Manage, "manage the teams of this organization").await?;
    teams_view(&state, &mut c, &o, None).await
}

async fn create_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<NamedForm>,
) -> PageResult {
    let back = format!("/organizations/{}/teams", seg(&org));
    let (mut c, o) =
        org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, "create teams in this organization").await?;
    let name = f.name.trim();
    let made = match check_name(name, "team") {
        Ok(()) => state.store.create_team(o.id, name, non_empty(&f.description)).await,
        Err(e) => Err(e),
    };
    match outcome(made)? {
        Ok(t) => Ok(see_other(&format!("/teams/{}", t.id))),
        Err(reason) => teams_view(&state, &mut c, &o, Some(reason)).await,
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

/// The team of the path, for the Admins/Managers of its organization (404 for anyone else who
/// cannot see the organization).
async fn managed_team(state: &AppState, c: &Ctx, id: &str) -> Result<(TeamRow, OrganizationRow), Error> {
    let missing = || Error::not_found("No such team.");
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let t = state.store.get_team(id).await?.ok_or_else(missing)?;
    let o = owning_org(state, c, t.organization_id, Need::Manage, "manage this team", missing).await?;
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
    let names = principal_names(state, o).await?;
    let page = TeamPage {
        title: format!("Team {}", t.name),
        nav: Some(c.nav.clone()),
        team_id: t.id.to_string(),
        org: o.name.clone(),
        org_seg: seg(&o.name),
        description: t.description.clone().unwrap_or_default(),
        members,
        grants: grant_views(c, o, &names, &grants, &workspaces),
        form: grant_form(c, o, &workspaces),
        error,
        back: format!("/teams/{}", t.id),
    };
    Ok(c.render(form_status(&page.error), &page))
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
    match outcome(r)? {
        Ok(()) => Ok(see_other(&back)),
        Err(reason) => team_view(state, &mut c, &t, &o, Some(reason)).await,
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

/// The confirm page of deleting team `t`.
async fn delete_page(state: &AppState, c: &Ctx, t: &TeamRow, o: &OrganizationRow) -> Result<Confirm, Error> {
    let members = state.store.team_members(t.id).await?.len();
    let grants = state.store.list_grants(&GrantFilter { team_id: Some(t.id), ..Default::default() }).await?.len();
    Ok(Confirm::new(
        c,
        format!("Delete team {}", t.name),
        format!("Delete the team {} of {}?", t.name, o.name),
        format!("/teams/{}/delete", t.id),
        "Delete the team",
        format!("/teams/{}", t.id),
    )
    .consequence(format!(
        "Its {grants} role assignment(s) are deleted: its {members} member(s) lose the access they have through it."
    ))
    .consequence("The users themselves stay, with the roles granted to them directly."))
}

/// `GET /teams/{id}/delete`: the confirm page.
async fn ask_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(id): Path<String>,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let (t, o) = managed_team(&state, &c, &id).await?;
    c.set_current(o.id);
    Ok(delete_page(&state, &c, &t, &o).await?.show(&c, None))
}

/// `POST /teams/{id}/delete`: as `DELETE /api/v1/teams/{id}`; back to the organization's teams.
async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    let back = format!("/teams/{}/delete", seg(&id));
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let (t, o) = managed_team(&state, &c, &id).await?;
    c.set_current(o.id);
    let action = async {
        state.store.delete_team(t.id).await?;
        tracing::info!(team = %t.name, organization = %o.name, by = %c.user.username, "team deleted from the dashboard");
        Ok(())
    };
    let done = format!("/organizations/{}/teams", seg(&o.name));
    delete_page(&state, &c, &t, &o).await?.settle(&c, &f, action, &done).await
}
