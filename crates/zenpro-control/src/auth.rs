//! Credentials of the control plane: CP tokens (HS256, `docs/control-plane.md` §Credentials),
//! `ZENPROKEY_` API keys, and the [`Auth`] extractor that turns a bearer into a [`Principal`],
//! re-checking on every request that the principal still exists and is active.

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zenpro_auth::{jwt, secret};
use zenpro_types::Error;

use crate::AppState;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;

/// `iss` of every CP token.
pub const ISSUER: &str = "zenpro-control-plane";
/// Prefix of Pro API keys (the zenml client routes on it).
pub const API_KEY_PREFIX: &str = "ZENPROKEY_";

/// Who a CP token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A user or service account.
    User,
    /// A workspace server (client-credentials grant).
    Workspace,
}

/// Claims of a CP token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub sub: String,
    pub kind: TokenKind,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Sign a CP token for `sub` valid for `lifetime` seconds.
pub fn issue_token(key: &[u8], kind: TokenKind, sub: Uuid, lifetime: i64) -> Result<String, Error> {
    let now = chrono::Utc::now().timestamp();
    let claims = TokenClaims {
        iss: ISSUER.into(),
        sub: sub.to_string(),
        kind,
        iat: now,
        exp: now + lifetime,
        jti: secret::random_hex(16)?,
    };
    Ok(jwt::sign(&claims, key))
}

/// Verify a CP token's signature, issuer and expiry.
pub fn decode_token(key: &[u8], token: &str) -> Result<TokenClaims, Error> {
    let claims: TokenClaims = jwt::verify(token, key)?;
    if claims.iss != ISSUER {
        return Err(Error::credentials("Authentication error: invalid token issuer."));
    }
    if claims.exp <= chrono::Utc::now().timestamp() {
        return Err(Error::credentials("Authentication error: the access token has expired."));
    }
    Ok(claims)
}

/// A new API key for key id `id`: the full `ZENPROKEY_<id hex>_<secret>` (shown once) and the
/// SHA-256 of the secret (stored).
pub fn new_api_key(id: Uuid) -> Result<(String, String), Error> {
    let s = secret::random_b64(32)?;
    Ok((format!("{API_KEY_PREFIX}{}_{s}", id.simple()), secret::sha256_hex(&s)))
}

/// Split `ZENPROKEY_<32 hex>_<secret>` into key id and secret.
pub fn parse_api_key(key: &str) -> Option<(Uuid, &str)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = (rest.get(..32)?, rest.get(32..)?.strip_prefix('_')?);
    if secret.is_empty() {
        return None;
    }
    Some((Uuid::parse_str(id).ok()?, secret))
}

/// A new enrollment key (64 alphanumerics, shown once) and its SHA-256 (stored).
pub fn new_enrollment_key() -> Result<(String, String), Error> {
    let k = secret::random_alnum(64)?;
    let h = secret::sha256_hex(&k);
    Ok((k, h))
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user or a service account (`is_service_account`).
    User(UserRow),
    /// A workspace server.
    Workspace(WorkspaceRow),
}

/// The authenticated caller of a request, with the API key used (if any).
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
    pub api_key_id: Option<Uuid>,
}

impl Auth {
    /// The calling user or service account; 403 for a workspace.
    pub fn user(&self) -> Result<&UserRow, Error> {
        match &self.principal {
            Principal::User(u) => Ok(u),
            Principal::Workspace(_) => Err(Error::forbidden("This endpoint is for users, not workspaces.")),
        }
    }

    /// The calling workspace; 403 for a user.
    pub fn workspace(&self) -> Result<&WorkspaceRow, Error> {
        match &self.principal {
            Principal::Workspace(w) => Ok(w),
            Principal::User(_) => Err(Error::forbidden("This endpoint is for workspace servers.")),
        }
    }
}

/// A `ZENPROKEY_` key → its active service account. 401 for anything else.
pub async fn authenticate_api_key(state: &AppState, key: &str) -> Result<(UserRow, Uuid), Error> {
    let invalid = || Error::credentials("Authentication error: invalid API key.");
    let Some((id, s)) = parse_api_key(key) else {
        return Err(invalid());
    };
    let row = state.store.get_api_key(id).await?;
    let stored = row.as_ref().map(|r| r.secret_hash.clone()).unwrap_or_else(|| "0".repeat(64));
    let matches = secret::verify_sha256(s, &stored);
    let Some(row) = row.filter(|r| matches && r.active) else {
        return Err(invalid());
    };
    let user = state.store.get_user(row.user_id).await?.filter(|u| u.active).ok_or_else(invalid)?;
    state.store.touch_api_key(id).await?;
    Ok((user, id))
}

/// A bearer (CP token or `ZENPROKEY_` key) → the principal, re-checked against the database.
pub async fn authenticate_bearer(state: &AppState, bearer: &str) -> Result<Auth, Error> {
    if bearer.starts_with(API_KEY_PREFIX) {
        let (user, key) = authenticate_api_key(state, bearer).await?;
        return Ok(Auth { principal: Principal::User(user), api_key_id: Some(key) });
    }
    let claims = decode_token(&state.token_key, bearer)?;
    let gone =
        || Error::credentials("Authentication error: the account of this token no longer exists or is inactive.");
    let id = Uuid::parse_str(&claims.sub).map_err(|_| gone())?;
    let principal = match claims.kind {
        TokenKind::User => {
            let user = state.store.get_user(id).await?.filter(|u| u.active).ok_or_else(gone)?;
            if issued_before_password_change(&user, claims.iat) {
                return Err(Error::credentials(
                    "Authentication error: the password changed after this token was issued; log in again.",
                ));
            }
            Principal::User(user)
        }
        TokenKind::Workspace => Principal::Workspace(state.store.get_workspace(id).await?.ok_or_else(gone)?),
    };
    Ok(Auth { principal, api_key_id: None })
}

/// Whether a token issued at `iat` (whole seconds) predates the user's last password change
/// (a token from the same second is still accepted).
fn issued_before_password_change(user: &UserRow, iat: i64) -> bool {
    user.password_changed
        .as_deref()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .is_some_and(|t| iat < t.and_utc().timestamp())
}

/// The bearer of an `Authorization` header, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(Error::NotAuthenticated)?;
        authenticate_bearer(state, token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_shape() {
        let id = Uuid::new_v4();
        let (key, hash) = new_api_key(id).unwrap();
        let (pid, s) = parse_api_key(&key).unwrap();
        assert_eq!(pid, id);
        assert_eq!(s.len(), 43);
        assert!(secret::verify_sha256(s, &hash));
        assert!(parse_api_key("ZENPROKEY_abc").is_none());
        assert!(parse_api_key("ZENKEY_x").is_none());
    }

    #[test]
    fn tokens() {
        let id = Uuid::new_v4();
        let t = issue_token(b"k", TokenKind::Workspace, id, 60).unwrap();
        let c = decode_token(b"k", &t).unwrap();
        assert_eq!((c.sub, c.kind), (id.to_string(), TokenKind::Workspace));
        assert!(decode_token(b"other", &t).is_err());
        let t = issue_token(b"k", TokenKind::User, id, -1).unwrap();
        assert!(decode_token(b"k", &t).is_err());
    }
}
