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
}

/// Browser pages at the root (login, device approval).
pub fn root() -> Router<AppState> {
    Router::new().merge(crate::pages::router()).merge(device::pages())
}
