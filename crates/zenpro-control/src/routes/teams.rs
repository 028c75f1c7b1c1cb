//! Admin API: teams of an organization and their members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zenpro_types::Error;

use super::users::check_name;
use crate::AppState;
use crate::access::{MANAGE, org_roles, require_org};
use crate::auth::Auth;
use crate::extract::{JsonBody, QueryParams, parse_uuid};
use crate::models;
use crate::store::teams::TeamRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route("/teams/{id}", get(read).delete(remove))
        .route("/teams/{id}/members", post(add_member))
        .route("/teams/{id}/members/{user}", delete(remove_member))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamCreate {
    name: String,
    organization: String,
    description: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<TeamCreate>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let org = state
        .store
        .get_organization_by_id_or_name(&body.organization)
        .await?
        .ok_or_else(|| Error::not_found(format!("No organization '{}'.", body.organization)))?;
    require_org(&state, caller, org.id, MANAGE, "create teams in this organization").await?;
    check_name(&body.name, "team")?;
    let t = state.store.create_team(org.id, &body.name, body.description).await?;
    Ok(Json(models::team(&t, Some(&[]))))
}

#[derive(Deserialize)]
struct TeamQuery {
    organization: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<TeamQuery>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let org = match &q.organization {
        Some(key) => Some(
            state
                .store
                .get_organization_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No organization '{key}'.")))?
                .id,
        ),
        None => None,
    };
    let mut teams = state.store.list_teams(org).await?;
    if !caller.is_superuser {
        let grants = state.store.grants_for_principal(caller.id).await?;
        let managed: Vec<Uuid> =
            org_roles(&grants).into_iter().filter(|(_, r)| MANAGE.contains(r)).map(|(o, _)| o).collect();
        if let Some(o) = org
            && !managed.contains(&o)
        {
            return Err(Error::forbidden("You are not allowed to list the teams of this organization."));
        }
        teams.retain(|t| managed.contains(&t.organization_id));
    }
    Ok(Json(teams.iter().map(|t| models::team(t, None)).collect()))
}

async fn find(state: &AppState, id: &str) -> Result<TeamRow, Error> {
    let id = parse_uuid(id, "team")?;
    state.store.get_team(id).await?.ok_or_else(|| Error::not_found(format!("No team with id '{id}'.")))
}

async fn read(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let t = find(&state, &id).await?;
    require_org(&state, caller, t.organization_id, MANAGE, "read this team").await?;
    let members = state.store.team_members(t.id).await?;
    Ok(Json(models::team(&t, Some(&members))))
}

async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode, Error> {
    let caller = auth.user()?;
    let t = find(&state, &id).await?;
    require_org(&state, caller, t.organization_id, MANAGE, "delete this team").await?;
    state.store.delete_team(t.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberAdd {
    user: String,
}

async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MemberAdd>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let t = find(&state, &id).await?;
    require_org(&state, caller, t.organization_id, MANAGE, "change this team").await?;
    let u = state
        .store
        .get_user_by_id_or_name(&body.user)
        .await?
        .ok_or_else(|| Error::not_found(format!("No user '{}'.", body.user)))?;
    state.store.add_team_member(t.id, u.id).await?;
    let members = state.store.team_members(t.id).await?;
    Ok(Json(models::team(&t, Some(&members))))
}

async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, user)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    let caller = auth.user()?;
    let t = find(&state, &id).await?;
    require_org(&state, caller, t.organization_id, MANAGE, "change this team").await?;
    let u = state
        .store
        .get_user_by_id_or_name(&user)
        .await?
        .ok_or_else(|| Error::not_found(format!("No user '{user}'.")))?;
    if !state.store.remove_team_member(t.id, u.id).await? {
        return Err(Error::not_found(format!("'{user}' is not a member of the team.")));
    }
    Ok(StatusCode::NO_CONTENT)
}
