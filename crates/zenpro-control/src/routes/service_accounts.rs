//! Admin API: service accounts of an organization and their `ZENPROKEY_` API keys.

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
use crate::auth::{Auth, new_api_key};
use crate::extract::{JsonBody, QueryParams, parse_uuid};
use crate::models;
use crate::store::users::{NewUser, UserRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service_accounts", get(list).post(create))
        .route("/service_accounts/{id}/api_keys", post(add_key).get(list_keys))
        .route("/service_accounts/{id}/api_keys/{key}", delete(revoke_key))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountCreate {
    name: String,
    organization: String,
    description: Option<String>,
}

/// A new key for the account: `(key metadata + api_key, …)`.
async fn issue_key(state: &AppState, account: &UserRow) -> Result<Value, Error> {
    let id = Uuid::new_v4();
    let (key, hash) = new_api_key(id)?;
    let row = state.store.create_api_key(id, account.id, &hash).await?;
    let mut v = models::api_key(&row);
    v["api_key"] = Value::String(key);
    Ok(v)
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<AccountCreate>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let org = state
        .store
        .get_organization_by_id_or_name(&body.organization)
        .await?
        .ok_or_else(|| Error::not_found(format!("No organization '{}'.", body.organization)))?;
    require_org(&state, caller, org.id, MANAGE, "create service accounts in this organization").await?;
    check_name(&body.name, "service account")?;
    let account = state
        .store
        .create_user(NewUser {
            username: body.name,
            full_name: body.description,
            is_service_account: true,
            organization_id: Some(org.id),
            active: true,
            ..Default::default()
        })
        .await?;
    let key = issue_key(&state, &account).await?;
    let mut v = models::user(&account);
    v["api_key"] = key["api_key"].clone();
    v["api_key_id"] = key["id"].clone();
    Ok(Json(v))
}

#[derive(Deserialize)]
struct AccountQuery {
    organization: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<AccountQuery>,
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
    let mut accounts = state.store.list_users(true, org).await?;
    if !caller.is_superuser {
        let grants = state.store.grants_for_principal(caller.id).await?;
        let managed: Vec<Uuid> =
            org_roles(&grants).into_iter().filter(|(_, r)| MANAGE.contains(r)).map(|(o, _)| o).collect();
        if let Some(o) = org
            && !managed.contains(&o)
        {
            return Err(Error::forbidden("You are not allowed to list the service accounts of this organization."));
        }
        accounts.retain(|a| a.organization_id.is_some_and(|o| managed.contains(&o)));
    }
    Ok(Json(accounts.iter().map(models::user).collect()))
}

/// The service account `id`, after checking the caller manages its organization.
async fn managed_account(state: &AppState, caller: &UserRow, id: &str) -> Result<UserRow, Error> {
    let id = parse_uuid(id, "service account")?;
    let account = state
        .store
        .get_user(id)
        .await?
        .filter(|u| u.is_service_account)
        .ok_or_else(|| Error::not_found(format!("No service account with id '{id}'.")))?;
    let org = account.organization_id.unwrap_or_default();
    require_org(state, caller, org, MANAGE, "manage this service account").await?;
    Ok(account)
}

async fn add_key(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let account = managed_account(&state, auth.user()?, &id).await?;
    Ok(Json(issue_key(&state, &account).await?))
}

async fn list_keys(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let account = managed_account(&state, auth.user()?, &id).await?;
    let keys = state.store.list_api_keys(account.id).await?;
    Ok(Json(keys.iter().map(models::api_key).collect()))
}

async fn revoke_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    let account = managed_account(&state, auth.user()?, &id).await?;
    let key_id = parse_uuid(&key, "API key")?;
    if !state.store.delete_api_key(account.id, key_id).await? {
        return Err(Error::not_found(format!("No API key with id '{key}'.")));
    }
    Ok(StatusCode::NO_CONTENT)
}
