//! Users (`/users`, `/current-user` updates). Service accounts have their own routes.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::users::{NewUser, UserRow, UserUpdate};
use zenpro_types::{Error, time::utc_now};

use crate::auth::{Auth, password};
use crate::extract::{JsonBody, QueryPairs};
use crate::models;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user}", get(get_user).put(update_user).delete(delete_user))
}

async fn list_users(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&zenpro_store::users::USER_LIST)?;
    let page = state.store().list_accounts(false, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|u| models::user(&u, params.hydrate))).unwrap_or_default()))
}

/// `UserRequest`.
#[derive(Deserialize)]
struct UserBody {
    name: String,
    #[serde(default)]
    full_name: String,
    email: Option<String>,
    email_opted_in: Option<bool>,
    password: Option<String>,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    is_admin: bool,
    avatar_url: Option<String>,
    external_user_id: Option<Uuid>,
    user_metadata: Option<Value>,
    default_project_id: Option<Uuid>,
    #[serde(default)]
    is_service_account: bool,
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::validation("The name must not be empty."));
    }
    if name.chars().count() > 255 {
        return Err(Error::validation("The name must be at most 255 characters long."));
    }
    Ok(())
}

async fn create_user(State(state): State<AppState>, auth: Auth, JsonBody(b): JsonBody<UserBody>) -> Result<Json<Value>, Error> {
    auth.require_admin("create users")?;
    if b.is_service_account {
        return Err(Error::validation("Use /service_accounts to create service accounts."));
    }
    check_name(&b.name)?;
    let pw = b.password.filter(|p| !p.is_empty());
    let password_hash = match &pw {
        Some(p) => Some(password::hash(p.clone()).await?),
        None => None,
    };
    let user = state
        .store()
        .create_account(NewUser {
            name: b.name,
            full_name: b.full_name,
            email: b.email,
            email_opted_in: b.email_opted_in,
            active: b.active || pw.is_some(),
            password_changed_at: pw.as_ref().map(|_| utc_now()),
            password_hash,
            is_admin: b.is_admin,
            avatar_url: b.avatar_url,
            external_user_id: b.external_user_id,
            user_metadata: b.user_metadata.map(|m| m.to_string()),
            default_project_id: b.default_project_id,
            ..Default::default()
        })
        .await?;
    Ok(Json(models::user(&user, true)))
}

async fn get_user(State(state): State<AppState>, _auth: Auth, Path(key): Path<String>, q: QueryPairs) -> Result<Json<Value>, Error> {
    let user = state.store().get_account(&NameOrId::parse(&key), false).await?;
    Ok(Json(models::user(&user, q.hydrate()?)))
}

/// `UserUpdate`: every field optional.
#[derive(Deserialize, Default)]
pub struct UserUpdateBody {
    name: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    email_opted_in: Option<bool>,
    password: Option<String>,
    old_password: Option<String>,
    active: Option<bool>,
    is_admin: Option<bool>,
    avatar_url: Option<String>,
    user_metadata: Option<Value>,
    default_project_id: Option<Uuid>,
    external_user_id: Option<Uuid>,
}

async fn apply_update(state: &AppState, auth: &Auth, target: &UserRow, b: UserUpdateBody) -> Result<UserRow, Error> {
    let is_self = target.id == auth.user.id;
    if !is_self {
        auth.require_admin("update other users")?;
    }
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    if b.is_admin.is_some() && !auth.is_admin() {
        return Err(Error::forbidden("Only admin users can change the admin status of a user."));
    }
    if is_self && b.active == Some(false) {
        return Err(Error::forbidden("Users cannot deactivate themselves."));
    }
    let mut u = UserUpdate {
        name: b.name,
        full_name: b.full_name,
        email: b.email.map(Some),
        email_opted_in: b.email_opted_in.map(Some),
        active: b.active,
        is_admin: b.is_admin,
        avatar_url: b.avatar_url.map(Some),
        user_metadata: b.user_metadata.map(|m| Some(m.to_string())),
        default_project_id: b.default_project_id.map(Some),
        external_user_id: b.external_user_id.map(Some),
        ..Default::default()
    };
    if let Some(pw) = b.password {
        if is_self {
            let old = b.old_password.unwrap_or_default();
            if !password::verify(old, target.password.clone()).await {
                return Err(Error::forbidden("The current password does not match: the password cannot be changed."));
            }
        }
        if pw.is_empty() {
            u.password_hash = Some(None);
        } else {
            u.password_hash = Some(Some(password::hash(pw).await?));
            u.password_changed_at = Some(utc_now());
        }
    }
    state.store().update_account(models::id_of(&target.id), u).await
}

async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    let user = apply_update(&state, &auth, &target, b).await?;
    Ok(Json(models::user(&user, true)))
}

/// `PUT /current-user`.
pub async fn update_current_user(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let target = auth.user.clone();
    let user = apply_update(&state, &auth, &target, b).await?;
    Ok(Json(models::user(&user, true)))
}

async fn delete_user(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    auth.require_admin("delete users")?;
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    if target.id == auth.user.id {
        return Err(Error::forbidden("Users cannot delete themselves."));
    }
    state.store().delete_account(models::id_of(&target.id)).await?;
    Ok(Json(Value::Null))
}
