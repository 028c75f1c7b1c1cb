//! Admin API: `GET /roles` (the table of `rbac.rs`) and role assignments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::access::{MANAGE, ORG_ROLES, PROJECT_ROLES, WORKSPACE_ROLES, org_roles, require_org};
use crate::auth::Auth;
use crate::extract::{JsonBody, QueryParams, parse_uuid, unprocessable};
use crate::models;
use crate::store::roles::{GrantFilter, NewGrant};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(roles))
        .route("/role_assignments", get(list).post(create))
        .route("/role_assignments/{id}", delete(remove))
}

async fn roles(_auth: Auth) -> Json<Value> {
    Json(serde_json::to_value(crate::rbac::role_table()).unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantCreate {
    role: String,
    user: Option<String>,
    team: Option<String>,
    organization: Option<String>,
    workspace: Option<String>,
    project: Option<String>,
}

/// Only an organization Admin (or a super-user) may grant or revoke organization Admin;
/// Managers may do everything else.
async fn require_grant_rights(
    state: &AppState,
    caller: &crate::store::users::UserRow,
    org: Uuid,
    scope: &str,
    role: &str,
) -> Result<(), Error> {
    let allowed: &[&str] = if scope == "organization" && role == "Admin" { &["Admin"] } else { MANAGE };
    require_org(state, caller, org, allowed, "manage role assignments here").await
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<GrantCreate>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let (user_id, team_id) = match (&b.user, &b.team) {
        (Some(u), None) => {
            let u = state
                .store
                .get_user_by_id_or_name(u)
                .await?
                .ok_or_else(|| Error::not_found(format!("No user '{u}'.")))?;
            (Some(u.id), None)
        }
        (None, Some(t)) => {
            let id = parse_uuid(t, "team")?;
            let t =
                state.store.get_team(id).await?.ok_or_else(|| Error::not_found(format!("No team with id '{id}'.")))?;
            (None, Some(t))
        }
        _ => return Err(unprocessable("Give exactly one of user and team.")),
    };
    let org = match &b.organization {
        Some(key) => Some(
            state
                .store
                .get_organization_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No organization '{key}'.")))?,
        ),
        None => None,
    };
    let ws = match &b.workspace {
        Some(key) => Some(
            state
                .store
                .get_workspace_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No workspace '{key}'.")))?,
        ),
        None => None,
    };
    let project = match &b.project {
        Some(p) => Some(Uuid::parse_str(p).map_err(|_| unprocessable(format!("Invalid project id '{p}': a UUID.")))?),
        None => None,
    };
    let (scope, org_id) = match (&org, &ws, project) {
        (_, Some(w), Some(_)) => ("project", w.organization_id),
        (_, None, Some(_)) => return Err(unprocessable("A project grant needs its workspace.")),
        (_, Some(w), None) => ("workspace", w.organization_id),
        (Some(o), None, None) => ("organization", o.id),
        (None, None, None) => {
            return Err(unprocessable("Give the scope: organization, workspace or workspace + project."));
        }
    };
    if let (Some(o), Some(w)) = (&org, &ws)
        && o.id != w.organization_id
    {
        return Err(unprocessable("The workspace does not belong to that organization."));
    }
    let valid: &[&str] = match scope {
        "organization" => &ORG_ROLES,
        "workspace" => &WORKSPACE_ROLES,
        _ => &PROJECT_ROLES,
    };
    if !valid.contains(&b.role.as_str()) {
        return Err(unprocessable(format!("'{}' is not a {scope} role (one of: {}).", b.role, valid.join(", "))));
    }
    if let Some(t) = &team_id
        && t.organization_id != org_id
    {
        return Err(unprocessable("The team belongs to another organization."));
    }
    require_grant_rights(&state, caller, org_id, scope, &b.role).await?;
    let g = state
        .store
        .create_grant(NewGrant {
            role: b.role,
            scope: scope.into(),
            organization_id: org_id,
            workspace_id: ws.map(|w| w.id),
            project_id: project,
            user_id,
            team_id: team_id.map(|t| t.id),
        })
        .await?;
    Ok(Json(models::grant(&g)))
}

#[derive(Deserialize)]
struct GrantQuery {
    organization: Option<String>,
    workspace: Option<String>,
    project: Option<String>,
    user: Option<String>,
    team: Option<String>,
    role: Option<String>,
    scope: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<GrantQuery>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let mut f = GrantFilter { role: q.role, scope: q.scope, ..Default::default() };
    if let Some(key) = &q.organization {
        f.organization_id = Some(
            state
                .store
                .get_organization_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No organization '{key}'.")))?
                .id,
        );
    }
    if let Some(key) = &q.workspace {
        f.workspace_id = Some(
            state
                .store
                .get_workspace_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No workspace '{key}'.")))?
                .id,
        );
    }
    if let Some(p) = &q.project {
        f.project_id = Some(Uuid::parse_str(p).map_err(|_| unprocessable(format!("Invalid project id '{p}'.")))?);
    }
    if let Some(key) = &q.user {
        f.user_id = Some(
            state
                .store
                .get_user_by_id_or_name(key)
                .await?
                .ok_or_else(|| Error::not_found(format!("No user '{key}'.")))?
                .id,
        );
    }
    if let Some(t) = &q.team {
        f.team_id = Some(parse_uuid(t, "team")?);
    }
    let mut grants = state.store.list_grants(&f).await?;
    if !caller.is_superuser {
        let own = state.store.grants_for_principal(caller.id).await?;
        let managed: Vec<Uuid> =
            org_roles(&own).into_iter().filter(|(_, r)| MANAGE.contains(r)).map(|(o, _)| o).collect();
        if let Some(o) = f.organization_id
            && !managed.contains(&o)
        {
            return Err(Error::forbidden("You are not allowed to list the role assignments of this organization."));
        }
        grants.retain(|g| managed.contains(&g.organization_id));
    }
    Ok(Json(grants.iter().map(models::grant).collect()))
}

async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode, Error> {
    let caller = auth.user()?;
    let id = parse_uuid(&id, "role assignment")?;
    let g = state
        .store
        .get_grant(id)
        .await?
        .ok_or_else(|| Error::not_found(format!("No role assignment with id '{id}'.")))?;
    require_grant_rights(&state, caller, g.organization_id, &g.scope, &g.role).await?;
    state.store.delete_grant(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
