//! Admin API: users (`/users/me`, `POST/GET /users`, `GET/PATCH /users/{id or name}`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use zenpro_auth::password;
use zenpro_types::Error;

use crate::AppState;
use crate::access::{MANAGE, require_any_org};
use crate::auth::Auth;
use crate::extract::{JsonBody, unprocessable};
use crate::models;
use crate::store::users::{NewUser, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users", get(list).post(create))
        .route("/users/{key}", get(read).patch(update))
}

async fn me(auth: Auth) -> Result<Json<Value>, Error> {
    Ok(Json(models::user(auth.user()?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserCreate {
    username: String,
    password: String,
    email: Option<String>,
    full_name: Option<String>,
    #[serde(default)]
    is_superuser: bool,
    active: Option<bool>,
}

/// Names are used in URLs and logins: non-empty, no surrounding spaces, no `/`.
pub fn check_name(name: &str, what: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 255 || name.trim() != name || name.contains('/') {
        return Err(unprocessable(format!(
            "Invalid {what} name '{name}': 1 to 255 characters, no '/' and no leading/trailing spaces."
        )));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<UserCreate>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    require_any_org(&state, caller, MANAGE, "create users").await?;
    if body.is_superuser && !caller.is_superuser {
        return Err(Error::forbidden("Only super-users can create super-users."));
    }
    check_name(&body.username, "user")?;
    if body.password.is_empty() {
        return Err(unprocessable("The password must not be empty."));
    }
    let u = state
        .store
        .create_user(NewUser {
            username: body.username,
            email: body.email,
            full_name: body.full_name,
            password_hash: Some(password::hash(body.password).await?),
            is_superuser: body.is_superuser,
            is_service_account: false,
            organization_id: None,
            active: body.active.unwrap_or(true),
        })
        .await?;
    Ok(Json(models::user(&u)))
}

async fn list(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    require_any_org(&state, caller, MANAGE, "list users").await?;
    let users = state.store.list_users(false, None).await?;
    Ok(Json(users.iter().map(models::user).collect()))
}

async fn read(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let missing = || Error::not_found(format!("No user '{key}'."));
    let u = state.store.get_user_by_id_or_name(&key).await?.ok_or_else(missing)?;
    if u.id != caller.id {
        require_any_org(&state, caller, MANAGE, "read other users").await?;
    }
    Ok(Json(models::user(&u)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    password: Option<String>,
    #[serde(default, with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    full_name: Option<Option<String>>,
    is_superuser: Option<bool>,
    active: Option<bool>,
}

/// `null` → `Some(None)` (clear), absent → `None` (keep).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<UserPatch>,
) -> Result<Json<Value>, Error> {
    let caller = auth.user()?;
    let missing = || Error::not_found(format!("No user '{key}'."));
    let u = state.store.get_user_by_id_or_name(&key).await?.ok_or_else(missing)?;
    if u.id != caller.id && !caller.is_superuser {
        return Err(Error::forbidden("Only super-users can change other users."));
    }
    if (body.is_superuser.is_some() || body.active.is_some()) && !caller.is_superuser {
        return Err(Error::forbidden("Only super-users can change is_superuser or active."));
    }
    if u.is_service_account && body.password.is_some() {
        return Err(unprocessable("Service accounts have no password; use API keys."));
    }
    let password_hash = match body.password {
        Some(p) if p.is_empty() => return Err(unprocessable("The password must not be empty.")),
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let u = state
        .store
        .update_user(
            u.id,
            UserUpdate {
                email: body.email,
                full_name: body.full_name,
                password_hash,
                is_superuser: body.is_superuser,
                active: body.active,
            },
        )
        .await?;
    Ok(Json(models::user(&u)))
}
