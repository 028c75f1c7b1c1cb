//! The OAuth2 device flow (`/device_authorization`, `/devices/...`).

use axum::Router;
use axum::response::Response;
use zenpro_store::users::UserRow;
use zenpro_types::Error;

use crate::extract::FormPairs;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}

/// Checks of a device-bound token: the device is active, belongs to the user, not expired.
pub async fn check_token_device(_state: &AppState, _user: &UserRow, _device_id: &str) -> Result<(), Error> {
    Err(Error::NotImplemented("Device-flow tokens are not implemented yet.".into()))
}

/// The device-code grant of `POST /login`.
pub async fn device_token(_state: &AppState, _headers: &http::HeaderMap, _form: &FormPairs) -> Result<Response, Error> {
    Err(Error::NotImplemented("The OAuth2 device flow is not implemented yet.".into()))
}
