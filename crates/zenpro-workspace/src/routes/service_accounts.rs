//! Service accounts and their API keys (`/service_accounts/...`).
//!
//! OSS: everyone authenticated may read; writes are for admins (the server has no RBAC), as
//! ZenML's `verify_admin_status_if_no_rbac` does. Pro mode: the control plane decides on
//! `service_account/<id>` (read, update, delete; API keys: read/update on their account), and
//! creating or changing workspace-level accounts and keys is refused except switching them on
//! or off (`_ensure_workspace_service_account_mutation_allowed`). Accounts created through external
//! authentication (`external_user_id` set) cannot be changed here, except for switching their
//! keys on or off.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::api_keys::{ApiKeyUpdate, NewApiKey};
use zenpro_store::users::{NewUser, UserRow, UserUpdate};
use zenpro_types::Error;

use crate::auth::{Auth, api_key, password};
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::pro::rbac;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service_accounts", get(list_service_accounts).post(create_service_account))
        .route(
            "/service_accounts/{sa}",
            get(get_service_account).put(update_service_account).delete(delete_service_account),
        )
        .route("/service_accounts/{sa}/api_keys", get(list_api_keys).post(create_api_key))
        .route("/service_accounts/{sa}/api_keys/{key}", get(get_api_key).put(update_api_key).delete(delete_api_key))
        .route("/service_accounts/{sa}/api_keys/{key}/rotate", put(rotate_api_key))
}

/// `verify_admin_status_if_no_rbac` then, in Pro mode, the control plane's decision on the
/// service account (`verify_permission_for_model`).
async fn require_admin(
    state: &AppState,
    auth: &Auth,
    what: &str,
    action: &str,
    account: &UserRow,
) -> Result<(), Error> {
    rbac::service_account_permission(state, auth, what, action, models::id_of(&account.id)).await
}

const MAX_STR: usize = 255;
const MAX_TEXT: usize = 65535;

fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), Error> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(Error::validation(format!("The {field} must be at most {max} characters long.")))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Service accounts
// ---------------------------------------------------------------------------------------------

async fn find_service_account(state: &AppState, key: &NameOrId) -> Result<UserRow, Error> {
    state.store().find_account(key, true).await?.ok_or_else(|| {
        let shown = match key {
            NameOrId::Id(id) => id.to_string(),
            NameOrId::Name(n) => n.clone(),
        };
        Error::not_found(format!("No service account with the '{shown}' name or ID was found"))
    })
}

/// The service account of an `/api_keys` path (its id must be a UUID).
async fn service_account_by_id(state: &AppState, raw: &str) -> Result<UserRow, Error> {
    find_service_account(state, &NameOrId::Id(path_uuid(raw)?)).await
}

fn not_external(account: &UserRow, message: &str) -> Result<(), Error> {
    if account.external_user_id.is_some() { Err(Error::forbidden(message)) } else { Ok(()) }
}

async fn list_service_accounts(State(state): State<AppState>, auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let mut params = q.list(&zenpro_store::users::SERVICE_ACCOUNT_LIST)?;
    if let Some(r) = rbac::service_account_restriction(&state, &auth).await? {
        params.restrict = Some(r);
    }
    let page = state.store().list_accounts(true, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|u| models::service_account(&u, params.hydrate))).unwrap_or_default()))
}

/// `ServiceAccountRequest`.
#[derive(Deserialize)]
struct ServiceAccountBody {
    name: String,
    #[serde(default)]
    full_name: String,
    description: Option<String>,
    active: bool,
    avatar_url: Option<String>,
}

async fn create_service_account(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ServiceAccountBody>,
) -> Result<Json<Value>, Error> {
    rbac::workspace_account_mutation(&state, false)?;
    rbac::service_account_permission(&state, &auth, "create service account", "create", Uuid::nil()).await?;
    check_len("name", Some(&b.name), MAX_STR)?;
    check_len("full_name", Some(&b.full_name), MAX_STR)?;
    check_len("description", b.description.as_deref(), MAX_TEXT)?;
    let store = state.store();
    if store.find_account(&NameOrId::Name(b.name.clone()), true).await?.is_some() {
        return Err(Error::exists(format!(
            "Unable to create service account with name '{}': Found existing service account with this name.",
            b.name
        )));
    }
    let account = store
        .create_account(NewUser {
            name: b.name,
            is_service_account: true,
            full_name: b.full_name,
            description: Some(b.description.unwrap_or_default()),
            avatar_url: b.avatar_url,
            active: b.active,
            email_opted_in: Some(false),
            is_admin: false,
            ..Default::default()
        })
        .await?;
    Ok(Json(models::service_account(&account, true)))
}

async fn get_service_account(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let account = find_service_account(&state, &NameOrId::parse(&key)).await?;
    require_admin(&state, &auth, "get service account", "read", &account).await?;
    Ok(Json(models::service_account(&account, q.hydrate()?)))
}

/// `ServiceAccountUpdate`: every field optional; `null` keeps the value.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceAccountUpdateBody {
    name: Option<String>,
    full_name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
    avatar_url: Option<String>,
    external_user_id: Option<Uuid>,
}

async fn update_service_account(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<ServiceAccountUpdateBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", b.name.as_deref(), MAX_STR)?;
    check_len("full_name", b.full_name.as_deref(), MAX_STR)?;
    check_len("description", b.description.as_deref(), MAX_TEXT)?;
    let active_only = b.active.is_some()
        && b.name.is_none()
        && b.full_name.is_none()
        && b.description.is_none()
        && b.avatar_url.is_none()
        && b.external_user_id.is_none();
    rbac::workspace_account_mutation(&state, active_only)?;
    let account = find_service_account(&state, &NameOrId::parse(&key)).await?;
    not_external(&account, "Service accounts created via external authentication cannot be updated.")?;
    require_admin(&state, &auth, "update service account", "update", &account).await?;
    let store = state.store();
    if let Some(name) = b.name.as_ref().filter(|n| **n != account.name)
        && store.find_account(&NameOrId::Name(name.clone()), true).await?.is_some()
    {
        return Err(Error::exists(format!(
            "Unable to update service account with name '{name}': Found an existing service account with this name."
        )));
    }
    let updated = store
        .update_account(
            models::id_of(&account.id),
            UserUpdate {
                name: b.name,
                full_name: b.full_name,
                description: b.description.map(Some),
                active: b.active,
                avatar_url: b.avatar_url.map(Some),
                external_user_id: b.external_user_id.map(Some),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(models::service_account(&updated, true)))
}

async fn delete_service_account(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Value>, Error> {
    let account = find_service_account(&state, &NameOrId::parse(&key)).await?;
    not_external(&account, "Service accounts created via external authentication cannot be deleted.")?;
    require_admin(&state, &auth, "delete service account", "delete", &account).await?;
    let id = models::id_of(&account.id);
    if state.store().account_owns_resources(id).await? {
        return Err(Error::forbidden(
            "The service account has already been used to create other resources that it now owns and therefore \
             cannot be deleted. Please delete all resources owned by the service account or consider deactivating \
             it instead.",
        ));
    }
    // Removes its API keys (and devices) with it.
    state.store().delete_account(id).await?;
    rbac::service_account_deleted(&state, id).await;
    Ok(Json(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

/// `APIKeyRequest`.
#[derive(Deserialize)]
struct ApiKeyBody {
    name: String,
    description: Option<String>,
}

async fn create_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(sa): Path<String>,
    JsonBody(b): JsonBody<ApiKeyBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", Some(&b.name), MAX_STR)?;
    check_len("description", b.description.as_deref(), MAX_TEXT)?;
    rbac::workspace_account_mutation(&state, false)?;
    let account = service_account_by_id(&state, &sa).await?;
    not_external(&account, "Service accounts created via external authentication cannot have associated API keys.")?;
    require_admin(&state, &auth, "create API key", "update", &account).await?;
    let store = state.store();
    let account_id = models::id_of(&account.id);
    if store.find_api_key(account_id, &NameOrId::Name(b.name.clone())).await?.is_some() {
        return Err(Error::exists(format!(
            "Unable to register API key with name '{}': Found an existing API key with the same name configured for \
             the same '{}' service account.",
            b.name, account.name
        )));
    }
    let secret = api_key::new_secret()?;
    let key_hash = password::hash(secret.clone()).await?;
    let row = store
        .create_api_key(NewApiKey {
            service_account_id: account_id,
            name: b.name,
            description: b.description,
            key_hash,
        })
        .await?;
    let key = api_key::encode(models::id_of(&row.id), &secret);
    Ok(Json(models::api_key(&row, &account, Some(&key), true)))
}

async fn list_api_keys(
    State(state): State<AppState>,
    auth: Auth,
    Path(sa): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let account = service_account_by_id(&state, &sa).await?;
    require_admin(&state, &auth, "list API keys", "read", &account).await?;
    let params = q.list(&zenpro_store::api_keys::API_KEY_LIST)?;
    let page = state.store().list_api_keys(models::id_of(&account.id), &params).await?;
    let page = page.map(|k| models::api_key(&k, &account, None, params.hydrate));
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((sa, key)): Path<(String, String)>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let account = service_account_by_id(&state, &sa).await?;
    require_admin(&state, &auth, "get API key", "read", &account).await?;
    let row = state.store().get_api_key(models::id_of(&account.id), &NameOrId::parse(&key)).await?;
    Ok(Json(models::api_key(&row, &account, None, q.hydrate()?)))
}

/// `APIKeyUpdate`: `null` keeps the value.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiKeyUpdateBody {
    name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
}

async fn update_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((sa, key)): Path<(String, String)>,
    JsonBody(b): JsonBody<ApiKeyUpdateBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", b.name.as_deref(), MAX_STR)?;
    check_len("description", b.description.as_deref(), MAX_TEXT)?;
    let active_only = b.active.is_some() && b.name.is_none() && b.description.is_none();
    rbac::workspace_account_mutation(&state, active_only)?;
    let account = service_account_by_id(&state, &sa).await?;
    if !active_only {
        not_external(
            &account,
            "API keys associated with externally managed service accounts can only be activated, deactivated, or \
             deleted.",
        )?;
    }
    require_admin(&state, &auth, "update API key", "update", &account).await?;
    let store = state.store();
    let account_id = models::id_of(&account.id);
    let row = store.get_api_key(account_id, &NameOrId::parse(&key)).await?;
    if let Some(name) = b.name.as_ref().filter(|n| **n != row.name)
        && store.find_api_key(account_id, &NameOrId::Name(name.clone())).await?.is_some()
    {
        return Err(Error::exists(format!(
            "Unable to update API key with name '{name}': Found an existing API key with the same name configured \
             for the same '{}' service account.",
            account.name
        )));
    }
    let row = store
        .update_api_key(
            models::id_of(&row.id),
            ApiKeyUpdate { name: b.name, description: b.description.map(Some), active: b.active },
        )
        .await?;
    Ok(Json(models::api_key(&row, &account, None, true)))
}

/// `APIKeyRotateRequest`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RotateBody {
    retain_period_minutes: i64,
}

async fn rotate_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((sa, key)): Path<(String, String)>,
    JsonBody(b): JsonBody<RotateBody>,
) -> Result<Json<Value>, Error> {
    rbac::workspace_account_mutation(&state, false)?;
    let account = service_account_by_id(&state, &sa).await?;
    not_external(&account, "Service accounts created via external authentication cannot have associated API keys.")?;
    require_admin(&state, &auth, "rotate API key", "update", &account).await?;
    let store = state.store();
    let row = store.get_api_key(models::id_of(&account.id), &NameOrId::parse(&key)).await?;
    let secret = api_key::new_secret()?;
    let key_hash = password::hash(secret.clone()).await?;
    let row = store.rotate_api_key(models::id_of(&row.id), key_hash, b.retain_period_minutes).await?;
    let key = api_key::encode(models::id_of(&row.id), &secret);
    // ZenML answers a rotation without metadata.
    Ok(Json(models::api_key(&row, &account, Some(&key), false)))
}

async fn delete_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((sa, key)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    let account = service_account_by_id(&state, &sa).await?;
    require_admin(&state, &auth, "delete API key", "update", &account).await?;
    let store = state.store();
    let row = store.get_api_key(models::id_of(&account.id), &NameOrId::parse(&key)).await?;
    store.delete_api_key(models::id_of(&row.id)).await?;
    Ok(Json(Value::Null))
}
