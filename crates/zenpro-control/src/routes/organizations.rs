//! Admin API: `POST /organizations`, `PATCH/DELETE /organizations/{id or name}` (the client
//! views `GET /organizations[/{id}]` are in `client.rs`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use zenpro_types::Error;

use super::users::check_name;
use crate::AppState;
use crate::access::{ADMIN, require_org, require_superuser};
use crate::auth::Auth;
use crate::extract::JsonBody;
use crate::models;

pub fn router() -> Router<AppState> {
    Router::new().route("/organizations", post(create)).route("/organizations/{key}", patch(update).delete(delete))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgCreate {
    name: String,
    description: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<OrgCreate>,
) -> Result<Json<Value>, Error> {
    require_superuser(auth.user()?, "create organizations")?;
    check_name(&body.name, "organization")?;
    let o = state.store.create_organization(&body.name, body.description).await?;
    Ok(Json(models::organization_read(&o)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgPatch {
    name: Option<String>,
    description: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<OrgPatch>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let o = state
        .store
        .get_organization_by_id_or_name(&key)
        .await?
        .ok_or_else(|| Error::not_found(format!("No organization '{key}'.")))?;
    require_org(&state, caller, o.id, ADMIN, "change this organization").await?;
    if let Some(n) = &body.name {
        check_name(n, "organization")?;
    }
    let o = state.store.update_organization(o.id, body.name.as_deref(), body.description.map(Some)).await?;
    Ok(Json(models::organization_read(&o)))
}

async fn delete(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<StatusCode, Error> {
    require_superuser(auth.user()?, "delete organizations")?;
    let o = state
        .store
        .get_organization_by_id_or_name(&key)
        .await?
        .ok_or_else(|| Error::not_found(format!("No organization '{key}'.")))?;
    state.store.delete_organization(o.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
