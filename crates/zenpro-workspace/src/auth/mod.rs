//! Authentication: who is calling. The [`Auth`] extractor runs before a handler body and
//! yields the authenticated account, so authorization is in the handler's signature.

pub mod api_key;
pub use zenpro_auth::jwt;
pub use zenpro_auth::password;

use axum::extract::FromRequestParts;
use http::request::Parts;
use uuid::Uuid;
use zenpro_store::parse_id;
use zenpro_store::users::UserRow;
use zenpro_types::Error;

use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: UserRow,
    /// Claims of the access token, when one was used.
    pub claims: Option<jwt::Claims>,
    /// The API key used (directly or through its token).
    pub api_key_id: Option<Uuid>,
}

impl Auth {
    pub fn user_id(&self) -> Uuid {
        parse_id(&self.user.id)
    }
    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }
    /// Refuse non-admin callers (`IllegalOperationError`, 403).
    pub fn require_admin(&self, what: &str) -> Result<(), Error> {
        if self.user.is_admin { Ok(()) } else { Err(Error::forbidden(format!("Only admin users can {what}."))) }
    }
}

fn now_f64() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// The bearer token of a request: the auth cookie when it is set and not empty, else
/// `Authorization: Bearer` (`CookieOAuth2TokenBearer`: the cookie wins when both are sent).
fn bearer(parts: &Parts, cookie_name: &str) -> Option<String> {
    for header in parts.headers.get_all(http::header::COOKIE) {
        let Ok(s) = header.to_str() else { continue };
        for c in s.split(';') {
            if let Some((k, v)) = c.trim().split_once('=')
                && k == cookie_name
                && !v.is_empty()
            {
                return Some(v.to_string());
            }
        }
    }
    let v = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    let mut it = v.splitn(2, ' ');
    match (it.next(), it.next()) {
        (Some(scheme), Some(tok)) if scheme.eq_ignore_ascii_case("bearer") && !tok.trim().is_empty() => {
            Some(tok.trim().to_string())
        }
        _ => None,
    }
}

/// Authenticate an access token (a JWT, or a `ZENKEY_` API key used directly).
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<Auth, Error> {
    if let Some(pro) = state.pro()
        && token.starts_with(crate::pro::PRO_API_KEY_PREFIX)
    {
        // A control-plane API key used in place of an access token: the control plane says who.
        let user = crate::pro::authenticate(state, pro, token, true).await.map_err(|e| match e {
            Error::CredentialsNotValid(m) => Error::credentials(format!("Authentication error: {m}")),
            other => other,
        })?;
        return Ok(Auth { user, claims: None, api_key_id: None });
    }
    if token.starts_with(api_key::PREFIX) {
        let (user, key) = api_key::authenticate(state, token).await?;
        return Ok(Auth { user, claims: None, api_key_id: Some(parse_id(&key.id)) });
    }
    let claims = jwt::decode(
        token,
        &state.inner.jwt_key,
        &state.issuer(),
        &state.audience(),
        state.config().jwt_leeway_seconds,
        now_f64(),
    )?;
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| {
        Error::credentials(format!("Authentication error: error retrieving token account {}", claims.sub))
    })?;
    let user =
        state.store().find_account_by_id(user_id).await?.ok_or_else(|| {
            Error::credentials(format!("Authentication error: error retrieving token account {user_id}"))
        })?;
    if !user.active {
        return Err(Error::credentials(format!("Authentication error: account {} is not active", user.name)));
    }
    if state.config().is_pro() {
        if user.external_user_id.is_none() && !user.is_service_account {
            return Err(Error::credentials(format!(
                "Authentication error: local account {} is not allowed to authenticate with external authentication",
                user.name
            )));
        }
        if claims.device_id.is_some() {
            return Err(Error::credentials("Authentication error: device authorization is not supported."));
        }
    }
    if !user.is_service_account
        && let (Some(changed), Some(iat)) = (user.password_changed_at, claims.iat)
    {
        let changed_ts = changed.and_utc().timestamp_micros() as f64 / 1e6;
        if iat < changed_ts {
            return Err(Error::credentials(
                "Authentication error: the access token was issued before the last password change. Please log in again.",
            ));
        }
    }
    let mut api_key_id = None;
    if let Some(kid) = &claims.api_key_id {
        let kid = Uuid::parse_str(kid)
            .map_err(|_| Error::credentials("Authentication error: invalid API key id in token"))?;
        let key = state
            .store()
            .find_api_key_by_id(kid)
            .await?
            .ok_or_else(|| Error::credentials(format!("Authentication error: error retrieving API key {kid}")))?;
        api_key::check_usable(&user, &key, claims.key_gen)?;
        state.store().touch_api_key_login(kid).await?;
        api_key_id = Some(kid);
    }
    if let Some(did) = &claims.device_id {
        crate::routes::devices::check_token_device(state, &user, did).await?;
    }
    Ok(Auth { user, claims: Some(claims), api_key_id })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let token = bearer(parts, &state.cookie_name()).ok_or(Error::NotAuthenticated)?;
        let auth = authenticate_token(state, &token).await?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}
