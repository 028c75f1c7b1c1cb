//! HTTP routes, one module per resource, each `router() -> Router<AppState>`.

pub mod auth;
pub mod client;
pub mod device;
pub mod organizations;
pub mod protocol;
pub mod roles;
pub mod service_accounts;
pub mod teams;
pub mod users;
pub mod workspaces;

use axum::Router;

use crate::AppState;

/// Everything under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(device::router())
        .merge(client::router())
        .merge(protocol::router())
        .merge(users::router())
        .merge(organizations::router())
        .merge(workspaces::router())
        .merge(teams::router())
        .merge(roles::router())
        .merge(service_accounts::router())
        .route("/openapi.json", axum::routing::get(openapi))
}

/// The OpenAPI document of the API (`src/openapi.json`; a test checks that every operation it
/// lists is routed).
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// `GET /ready`: 200 when the database answers, 503 otherwise.
pub async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, zenpro_types::Error> {
    state.store.ping().await.map_err(|e| zenpro_types::Error::Unavailable(format!("database not ready: {e}")))?;
    Ok(axum::Json(serde_json::json!("OK")))
}

/// Browser pages at the root (login, device approval).
pub fn root() -> Router<AppState> {
    Router::new().merge(crate::pages::router()).merge(device::pages())
}
