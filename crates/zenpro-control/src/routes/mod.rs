//! HTTP routes, one module per resource, each `router() -> Router<AppState>`.

pub mod auth;

use axum::Router;

use crate::AppState;

/// Everything under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new().merge(auth::router())
}

/// Browser pages at the root (login, device approval).
pub fn root() -> Router<AppState> {
    Router::new()
}
