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
        .route("/users/{user}/activate", axum::routing::put(activate_user))
        .route("/users/{user}/deactivate", axum::routing::put(deactivate_user))
        .route("/users/{user}/email-opt-in", axum::routing::put(email_opt_in))
}

/// A new activation token (`secrets.token_hex(32)`): the clear token for the response and
/// its bcrypt hash for the `activation_token` column.
async fn new_activation_token() -> Result<(String, String), Error> {
    let token = crate::auth::api_key::new_secret()?;
    let hash = password::hash(token.clone()).await?;
    Ok((token, hash))
}

/// The user response with the clear activation token, shown only when it is made.
fn with_activation_token(user: &UserRow, token: Option<String>) -> Value {
    let mut v = models::user(user, true);
    if let Some(t) = token {
        v["body"]["activation_token"] = Value::String(t);
    }
    v
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

async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<UserBody>,
) -> Result<Json<Value>, Error> {
    require_admin(&auth, "create user")?;
    if b.is_service_account {
        return Err(Error::validation("Use /service_accounts to create service accounts."));
    }
    check_name(&b.name)?;
    // As the reference: a password (even an empty one) makes the account active; without
    // one it is inactive, whatever `active` says, and gets an activation token that the
    // response shows once (the dashboard's invitation link).
    let active = b.password.is_some();
    let activation = if active { None } else { Some(new_activation_token().await?) };
    let password_changed_at = b.password.as_deref().filter(|p| !p.is_empty()).map(|_| utc_now());
    let password_hash = match b.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let user = state
        .store()
        .create_account(NewUser {
            name: b.name,
            full_name: b.full_name,
            email: b.email,
            email_opted_in: b.email_opted_in,
            active,
            password_changed_at,
            password_hash,
            is_admin: b.is_admin,
            avatar_url: b.avatar_url,
            external_user_id: b.external_user_id,
            user_metadata: b.user_metadata.map(|m| m.to_string()),
            default_project_id: b.default_project_id,
            activation_token_hash: activation.as_ref().map(|(_, h)| h.clone()),
            ..Default::default()
        })
        .await?;
    Ok(Json(with_activation_token(&user, activation.map(|(t, _)| t))))
}

async fn get_user(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
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
    /// Only read by `/users/{id}/activate`.
    activation_token: Option<String>,
}

/// Which endpoint an update came through: the reference applies different rules to
/// `PUT /users/{id}` and `PUT /current-user`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Users,
    CurrentUser,
}

/// Only admins may act on other accounts (`verify_admin_status_if_no_rbac`).
fn require_admin(auth: &Auth, action: &str) -> Result<(), Error> {
    if auth.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!("Only admin users can perform `{action}` without RBAC enabled.")))
    }
}

/// The checks of the reference's `update_user` / `update_myself`: `external_user_id` (and
/// `activation_token`, `oidc_claims`) are never taken from the request; a password changes
/// only for oneself and with the current password; through `/users` one's own admin or
/// active status cannot change and another user's email settings cannot be touched; through
/// `/current-user` admin and active status are silently ignored.
async fn apply_update(
    state: &AppState,
    auth: &Auth,
    target: &UserRow,
    b: UserUpdateBody,
    via: Via,
) -> Result<UserRow, Error> {
    let is_self = target.id == auth.user.id;
    if !is_self {
        require_admin(auth, "update other user account")?;
    }
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    let mut u = UserUpdate {
        name: b.name,
        full_name: b.full_name,
        avatar_url: b.avatar_url.map(Some),
        user_metadata: b.user_metadata.map(|m| Some(m.to_string())),
        default_project_id: b.default_project_id.map(Some),
        ..Default::default()
    };
    if let Some(pw) = b.password {
        if !is_self {
            return Err(Error::forbidden(
                "Users cannot change the password of other users. Use the account deactivation and activation flow instead.",
            ));
        }
        let Some(old) = b.old_password else {
            return Err(Error::forbidden("The current password must be supplied when changing the password."));
        };
        if !password::verify(old, target.password.clone()).await {
            return Err(Error::forbidden("The current password is incorrect."));
        }
        u.password_hash = Some(Some(password::hash(pw).await?));
        u.password_changed_at = Some(utc_now());
    }
    if via == Via::Users {
        if let Some(admin) = b.is_admin.filter(|a| *a != target.is_admin) {
            if is_self {
                return Err(Error::forbidden("Cannot change the admin status of your own user account."));
            }
            u.is_admin = Some(admin);
        }
        if let Some(active) = b.active.filter(|a| *a != target.active) {
            if is_self {
                return Err(Error::forbidden("Cannot change the active status of your own user account."));
            }
            u.active = Some(active);
        }
        if (b.email.is_some() || b.email_opted_in.is_some()) && !is_self {
            return Err(Error::forbidden(
                "Cannot change the private user account information for another user account.",
            ));
        }
    }
    // (Through `/users` the reference then drops email changes by accident; they are applied
    // here, as `/current-user` does.)
    u.email = b.email.map(Some);
    u.email_opted_in = b.email_opted_in.map(Some);
    state.store().update_account(models::id_of(&target.id), u).await
}

async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    let user = apply_update(&state, &auth, &target, b, Via::Users).await?;
    Ok(Json(models::user(&user, true)))
}

/// `PUT /users/{user}/email-opt-in`: one's own email and opt-in answer. As the reference, the
/// user must be named by id (it compares the path with the caller's id) and only `email` and
/// `email_opted_in` of the body are applied.
async fn email_opt_in(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    if key.parse::<uuid::Uuid>().ok() != Some(models::id_of(&auth.user.id)) {
        return Err(Error::credentials("Users can not opt in on behalf of another user."));
    }
    let u = UserUpdate { email: b.email.map(Some), email_opted_in: b.email_opted_in.map(Some), ..Default::default() };
    let user = state.store().update_account(models::id_of(&target.id), u).await?;
    Ok(Json(models::user_private(&user, true)))
}

/// `PUT /current-user`.
pub async fn update_current_user(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let target = auth.user.clone();
    let user = apply_update(&state, &auth, &target, b, Via::CurrentUser).await?;
    Ok(Json(models::user(&user, true)))
}

/// `PUT /users/{user}/activate` (no token: the activation token is the credential). Sets the
/// profile fields and password of an inactive user holding a valid activation token.
async fn activate_user(
    State(state): State<AppState>,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<UserUpdateBody>,
) -> Result<Json<Value>, Error> {
    let user = state.store().get_account(&NameOrId::parse(&key), false).await?;
    // Always one hash check, whether or not the user can be activated at all.
    let stored = user.activation_token.clone().filter(|_| !user.active && !user.is_service_account);
    let Some(token) = b.activation_token.clone() else {
        return Err(Error::credentials("Authentication error: no credentials provided"));
    };
    if !password::verify(token, stored).await {
        return Err(Error::credentials(format!("Authentication error: invalid activation token for user {key}")));
    }
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    let mut u = UserUpdate {
        name: b.name,
        full_name: b.full_name,
        email: b.email.map(Some),
        email_opted_in: b.email_opted_in.map(Some),
        avatar_url: b.avatar_url.map(Some),
        user_metadata: b.user_metadata.map(|m| Some(m.to_string())),
        default_project_id: b.default_project_id.map(Some),
        active: Some(true),
        activation_token_hash: Some(None),
        ..Default::default()
    };
    if let Some(pw) = b.password {
        u.password_hash = Some(Some(password::hash(pw).await?));
        u.password_changed_at = Some(utc_now());
    }
    let user = state.store().update_account(models::id_of(&user.id), u).await?;
    Ok(Json(models::user(&user, true)))
}

/// `PUT /users/{user}/deactivate`: deactivate a user and hand out a new activation token.
async fn deactivate_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Value>, Error> {
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    if target.id == auth.user.id {
        return Err(Error::forbidden("Cannot deactivate yourself."));
    }
    require_admin(&auth, "deactivate user")?;
    let (token, hash) = new_activation_token().await?;
    let u = UserUpdate { active: Some(false), activation_token_hash: Some(Some(hash)), ..Default::default() };
    let user = state.store().update_account(models::id_of(&target.id), u).await?;
    Ok(Json(with_activation_token(&user, Some(token))))
}

async fn delete_user(State(state): State<AppState>, auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    let target = state.store().get_account(&NameOrId::parse(&key), false).await?;
    if target.id == auth.user.id {
        return Err(Error::forbidden(
            "You cannot delete the user account currently used to authenticate to the ZenML server. If you wish to \
             delete this account, please authenticate with another account or contact your ZenML administrator.",
        ));
    }
    require_admin(&auth, "delete user")?;
    state.store().delete_account(models::id_of(&target.id)).await?;
    Ok(Json(Value::Null))
}
