//! The workspace views (`zenpro-dashboard`) mounted under `/workspaces/{name}/...` in Pro mode:
//! the control plane calls the workspace's public REST API as the signed-in user (external login).
//! Not built yet: this router is empty and `/workspaces/{name}` is served by `workspaces.rs`.

use axum::Router;

use crate::AppState;

/// Routes under `/workspaces/{name}/...` (other than the workspace page itself).
pub fn router() -> Router<AppState> {
    Router::new()
}
