//! Unauthenticated discovery (`/api/v1/info`), health and readiness, and server settings.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use zenpro_store::settings::SettingsUpdate;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs};
use crate::models::{dt, json_text};
use crate::state::AppState;

pub const ZENML_VERSION: &str = "0.98.0";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/info", get(info))
        .route("/version", get(version))
        .route("/settings", get(get_settings).put(update_settings))
        .route("/onboarding_state", get(onboarding_state))
        .route("/activate", axum::routing::put(activate))
}

/// The reference's `skip_health_middleware` answer to `/health` and `/ready`.
fn plain_ok() -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response()
}

/// `GET /health` (outside `/api/v1`): `200 text/plain "ok"`, as the reference.
pub async fn health() -> axum::response::Response {
    plain_ok()
}

/// `GET /ready`: `200 text/plain "ok"` once the database answers (the reference does not
/// look at the database; a readiness probe is more useful when it does).
pub async fn ready(State(state): State<AppState>) -> Result<axum::response::Response, Error> {
    state.store().settings().await?;
    Ok(plain_ok())
}

async fn version() -> Json<Value> {
    Json(json!(ZENML_VERSION))
}

async fn info(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let s = state.store().settings().await?;
    let c = state.config();
    let secrets = match &c.secrets_store_type {
        crate::config::SecretsStoreType::Sql => "sql".to_string(),
        crate::config::SecretsStoreType::Other(t) => t.clone(),
        crate::config::SecretsStoreType::None => "none".to_string(),
    };
    let pro = c.pro.as_ref();
    let mut metadata = json!({});
    if let Some(p) = pro {
        metadata = json!({
            "account_id": p.organization_id.to_string(),
            "organization_id": p.organization_id.to_string(),
            "workspace_id": p.workspace_id.to_string(),
        });
        if let Some(n) = &p.organization_name {
            metadata["organization_name"] = json!(n);
        }
        if let Some(n) = &p.workspace_name {
            metadata["workspace_name"] = json!(n);
        }
    }
    Ok(Json(json!({
        "id": state.server_id().to_string(),
        "name": s.server_name,
        "version": ZENML_VERSION,
        "active": s.active,
        "debug": false,
        "deployment_type": c.deployment_type,
        "database_type": state.store().backend().name(),
        "secrets_store_type": secrets,
        "auth_scheme": c.auth_scheme,
        "server_url": c.server_url,
        "dashboard_url": c.dashboard_url,
        "analytics_enabled": s.enable_analytics,
        "metadata": metadata,
        "last_user_activity": dt(&s.last_user_activity),
        "pro_dashboard_url": pro.map(|p| p.dashboard_url.clone()),
        "pro_api_url": pro.map(|p| p.api_url.clone()),
        "pro_organization_id": pro.map(|p| p.organization_id.to_string()),
        "pro_organization_name": pro.and_then(|p| p.organization_name.clone()),
        "pro_workspace_id": pro.map(|p| p.workspace_id.to_string()),
        "pro_workspace_name": pro.and_then(|p| p.workspace_name.clone()),
    })))
}

/// `ServerSettingsResponse`: `{body, metadata, resources}`; no `id`/`permission_denied` (it is
/// no named entity), `resources` always `{}`, `metadata` `{}` when hydrated.
fn settings_json(state: &AppState, s: &zenpro_store::settings::SettingsRow, hydrate: bool) -> Value {
    let metadata = hydrate.then(|| json!({}));
    json!({
        "body": {
            "server_id": state.server_id().to_string(),
            "server_name": s.server_name,
            "logo_url": s.logo_url,
            "active": s.active,
            "enable_analytics": s.enable_analytics,
            "display_announcements": s.display_announcements,
            "display_updates": s.display_updates,
            "last_user_activity": dt(&s.last_user_activity),
            "updated": dt(&s.updated),
        },
        "metadata": metadata,
        "resources": {},
    })
}

async fn get_settings(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let hydrate = q.hydrate()?;
    let s = state.store().settings().await?;
    Ok(Json(settings_json(&state, &s, hydrate)))
}

/// `GET /onboarding_state`: the completed onboarding steps.
async fn onboarding_state(State(state): State<AppState>, _auth: Auth) -> Result<Json<Value>, Error> {
    let s = state.store().settings().await?;
    Ok(Json(json_text(&s.onboarding_state, json!([]))))
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or set.
fn explicit<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `ServerSettingsUpdate`. Other keys (also `onboarding_state`) are ignored, as pydantic
/// ignores them there.
#[derive(Deserialize)]
struct SettingsBody {
    server_name: Option<String>,
    #[serde(default, deserialize_with = "explicit")]
    logo_url: Option<Option<String>>,
    enable_analytics: Option<bool>,
    display_announcements: Option<bool>,
    display_updates: Option<bool>,
}

async fn update_settings(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<SettingsBody>,
) -> Result<Json<Value>, Error> {
    let changes_something = b.server_name.is_some()
        || b.logo_url.as_ref().is_some_and(Option::is_some)
        || b.enable_analytics.is_some()
        || b.display_announcements.is_some()
        || b.display_updates.is_some();
    if changes_something && !auth.is_admin() {
        return Err(Error::forbidden("Only admins can update server settings."));
    }
    let s = state
        .store()
        .update_settings(SettingsUpdate {
            server_name: b.server_name,
            logo_url: b.logo_url,
            enable_analytics: b.enable_analytics,
            display_announcements: b.display_announcements,
            display_updates: b.display_updates,
            ..Default::default()
        })
        .await?;
    Ok(Json(settings_json(&state, &s, true)))
}

#[derive(Deserialize)]
struct ActivationBody {
    server_name: Option<String>,
    logo_url: Option<String>,
    enable_analytics: Option<bool>,
    display_announcements: Option<bool>,
    display_updates: Option<bool>,
    admin_username: Option<String>,
    admin_password: Option<String>,
}

/// `PUT /activate` (unauthenticated, once): activate a fresh server and create its admin.
async fn activate(State(state): State<AppState>, JsonBody(b): JsonBody<ActivationBody>) -> Result<Json<Value>, Error> {
    let store = state.store();
    if store.settings().await?.active {
        return Err(Error::forbidden("The server is already active."));
    }
    let admin = match (b.admin_username, b.admin_password) {
        (Some(name), Some(pw)) if !name.is_empty() => {
            let password_set = !pw.is_empty();
            Some(zenpro_store::users::NewUser {
                name,
                full_name: String::new(),
                active: true,
                is_admin: true,
                password_changed_at: password_set.then(zenpro_types::time::utc_now),
                password_hash: Some(crate::auth::password::hash(pw).await?),
                ..Default::default()
            })
        }
        _ => None,
    };
    store
        .update_settings(SettingsUpdate {
            server_name: b.server_name,
            logo_url: b.logo_url.map(Some),
            enable_analytics: b.enable_analytics,
            display_announcements: b.display_announcements,
            display_updates: b.display_updates,
            active: Some(true),
            ..Default::default()
        })
        .await?;
    match admin {
        Some(u) => Ok(Json(crate::models::user(&store.create_account(u).await?, true))),
        None => Ok(Json(Value::Null)),
    }
}
