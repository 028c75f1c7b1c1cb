//! Service accounts and their API keys (`/service_accounts/...`).

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
