//! Admin API: `POST /workspaces`, `PATCH/DELETE /workspaces/{id or name}`,
//! `POST /workspaces/{id or name}/enrollment_key` (the client views are in `client.rs`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use zenpro_types::Error;

use super::users::check_name;
use crate::AppState;
use crate::access::{ADMIN, MANAGE, require_org};
use crate::auth::{Auth, new_enrollment_key};
use crate::extract::{JsonBody, unprocessable};
use crate::models;
use crate::store::workspaces::{WorkspaceRow, WorkspaceUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", post(create))
        .route("/workspaces/{key}", patch(update).delete(delete))
        .route("/workspaces/{key}/enrollment_key", post(rotate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceCreate {
    name: String,
    organization: String,
    url: Option<String>,
    description: Option<String>,
}

fn check_url(url: &Option<String>) -> Result<Option<String>, Error> {
    match url.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            Ok(Some(u.trim_end_matches('/').to_string()))
        }
        Some(u) => Err(unprocessable(format!("Invalid workspace URL '{u}': use http(s)://host[:port][/path]."))),
    }
}

async fn read_with_org(state: &AppState, w: &WorkspaceRow) -> Result<Value, Error> {
    let org = state
        .store
        .get_organization(w.organization_id)
        .await?
        .ok_or_else(|| Error::not_found("The workspace's organization is gone."))?;
    Ok(models::workspace_read(w, &org))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<WorkspaceCreate>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let org = state
        .store
        .get_organization_by_id_or_name(&body.organization)
        .await?
        .ok_or_else(|| Error::not_found(format!("No organization '{}'.", body.organization)))?;
    require_org(&state, caller, org.id, MANAGE, "create workspaces in this organization").await?;
    check_name(&body.name, "workspace")?;
    let url = check_url(&body.url)?;
    let (key, hash) = new_enrollment_key()?;
    let w = state.store.create_workspace(org.id, &body.name, body.description, url, &hash).await?;
    let mut v = models::workspace_read(&w, &org);
    v["enrollment_key"] = Value::String(key);
    Ok(Json(v))
}

async fn find(state: &AppState, key: &str) -> Result<WorkspaceRow, Error> {
    state
        .store
        .get_workspace_by_id_or_name(key)
        .await?
        .ok_or_else(|| Error::not_found(format!("No workspace '{key}'.")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspacePatch {
    url: Option<String>,
    description: Option<String>,
    desired_state: Option<String>,
    state_reason: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<WorkspacePatch>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let w = find(&state, &key).await?;
    require_org(&state, caller, w.organization_id, MANAGE, "change this workspace").await?;
    if let Some(s) = &body.desired_state
        && s != "available"
        && s != "deactivated"
    {
        return Err(unprocessable(format!("Invalid desired_state '{s}': available or deactivated.")));
    }
    let url = match &body.url {
        Some(_) => Some(check_url(&body.url)?),
        None => None,
    };
    let w = state
        .store
        .update_workspace(
            w.id,
            WorkspaceUpdate {
                url,
                description: body.description.map(Some),
                desired_state: body.desired_state,
                state_reason: body.state_reason.map(Some),
            },
        )
        .await?;
    Ok(Json(read_with_org(&state, &w).await?))
}

async fn delete(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<StatusCode, Error> {
    let caller = auth.user()?;
    let w = find(&state, &key).await?;
    require_org(&state, caller, w.organization_id, ADMIN, "delete this workspace").await?;
    state.store.delete_workspace(w.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let w = find(&state, &key).await?;
    require_org(&state, caller, w.organization_id, MANAGE, "rotate this workspace's enrollment key").await?;
    let (key, hash) = new_enrollment_key()?;
    state.store.set_enrollment_key_hash(w.id, &hash).await?;
    let mut v = read_with_org(&state, &w).await?;
    v["enrollment_key"] = Value::String(key);
    Ok(Json(v))
}
