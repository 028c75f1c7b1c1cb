//! Secrets: `/secrets` and `/secrets/{secret_id}`. The row is in SQL; the values are kept by the
//! configured secrets store (`crate::secrets_backend`): the SQL store (values in the `secret` row,
//! AES-GCM encrypted when `ZENML_SECRETS_STORE_ENCRYPTION_KEY` applies) or HashiCorp Vault.
//!
//! Lists never carry values (`body.values` is `{}`); a single `GET` returns them in clear.
//! Private secrets are visible to their owner only; internal secrets (service-connector
//! credentials) to nobody. Secret values are never logged.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use zenpro_store::secrets::{NewSecret, SECRET_LIST, SecretUpdate, SecretValues, ValuesUpdate};
use zenpro_store::users::UserRow;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::state::AppState;

/// `STR_FIELD_MAX_LENGTH`.
const NAME_MAX_LENGTH: usize = 255;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/secrets", get(list).post(create))
        .route("/secrets/{secret_id}", get(get_one).put(update).delete(delete))
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.chars().count() > NAME_MAX_LENGTH {
        return Err(Error::validation(format!("The secret name must be at most {NAME_MAX_LENGTH} characters long.")));
    }
    Ok(())
}

/// `Dict[str, Optional[SecretStr]]`: each value a string or null.
fn value_entries(values: Map<String, Value>) -> Result<Vec<(String, Option<String>)>, Error> {
    values
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, Some(s))),
            Value::Null => Ok((k, None)),
            _ => {
                Err(Error::validation(format!("Invalid request body: the value of secret key '{k}' must be a string.")))
            }
        })
        .collect()
}

/// `SecretRequest`; `user` and unknown fields are ignored (the owner is the caller).
#[derive(Deserialize)]
struct SecretBody {
    name: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    values: Map<String, Value>,
}

/// `SecretUpdate`: every field optional.
#[derive(Deserialize)]
struct SecretUpdateBody {
    name: Option<String>,
    private: Option<bool>,
    values: Option<Map<String, Value>>,
}

async fn owner(state: &AppState, user_id: &str) -> Result<Option<UserRow>, Error> {
    state.store().find_account_by_id(models::id_of(user_id)).await
}

async fn list(State(state): State<AppState>, auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    state.secrets().check()?;
    let params = q.list(&SECRET_LIST)?;
    let page = state.store().list_secrets(&params, auth.user_id()).await?;
    let mut ids: Vec<uuid::Uuid> = page.items.iter().map(|s| models::id_of(&s.user_id)).collect();
    ids.sort();
    ids.dedup();
    let users: HashMap<uuid::Uuid, UserRow> =
        state.store().accounts_by_ids(&ids).await?.into_iter().map(|u| (models::id_of(&u.id), u)).collect();
    let page = page.map(|s| models::secret(&s, None, users.get(&models::id_of(&s.user_id)), params.hydrate));
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<SecretBody>,
) -> Result<Json<Value>, Error> {
    state.secrets().check()?;
    check_name(&b.name)?;
    let values: SecretValues = value_entries(b.values)?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    let (row, values) = state
        .secrets()
        .create(state.store(), NewSecret { name: b.name, private: b.private, user_id: auth.user_id(), values })
        .await?;
    Ok(Json(models::secret(&row, Some(&values), Some(&auth.user), true)))
}

async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(secret_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    state.secrets().check()?;
    let id = path_uuid(&secret_id)?;
    let hydrate = q.hydrate()?;
    let (row, values) = state.secrets().get(state.store(), id, auth.user_id()).await?;
    let user = owner(&state, &row.user_id).await?;
    Ok(Json(models::secret(&row, Some(&values), user.as_ref(), hydrate)))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(secret_id): Path<String>,
    q: QueryPairs,
    JsonBody(b): JsonBody<SecretUpdateBody>,
) -> Result<Json<Value>, Error> {
    state.secrets().check()?;
    let id = path_uuid(&secret_id)?;
    let patch = q.flag("patch_values", false)?;
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    let values = match b.values {
        Some(v) => Some(ValuesUpdate { entries: value_entries(v)?, replace: !patch }),
        None => None,
    };
    let (row, values) = state
        .secrets()
        .update(state.store(), id, auth.user_id(), SecretUpdate { name: b.name, private: b.private, values })
        .await?;
    let user = owner(&state, &row.user_id).await?;
    Ok(Json(models::secret(&row, Some(&values), user.as_ref(), true)))
}

async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(secret_id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.secrets().check()?;
    let id = path_uuid(&secret_id)?;
    state.secrets().delete(state.store(), id, auth.user_id()).await?;
    Ok(Json(Value::Null))
}
