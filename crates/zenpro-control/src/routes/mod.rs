//! HTTP routes, one module per resource, each `router() -> Router<AppState>`.

pub mod auth;
pub mod client;
pub mod device;
pub mod protocol;

use axum::Router;

use crate::AppState;

/// Everything under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new().merge(auth::router()).merge(device::router()).merge(client::router()).merge(protocol::router())
}

/// Browser pages at the root (login, device approval).
pub fn root() -> Router<AppState> {
    Router::new().merge(crate::pages::router()).merge(device::pages())
}
