//! HTTP routes, one module per resource, each `router() -> Router<AppState>`.

use axum::Router;

use crate::AppState;

/// Everything under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new()
}

/// Browser pages at the root (login, device approval).
pub fn root() -> Router<AppState> {
    Router::new()
}
