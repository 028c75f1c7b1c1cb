//! `ZENKEY_` API keys: `"ZENKEY_" + base64({"id": "<uuid>", "key": "<64 hex>"})`; only the
//! 64-hex secret is stored, bcrypt-hashed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use uuid::Uuid;
use zenpro_store::api_keys::ApiKeyRow;
use zenpro_store::users::UserRow;
use zenpro_types::{Error, time::utc_now};

use super::password;
use crate::state::AppState;

pub const PREFIX: &str = "ZENKEY_";

/// Random 64-hex secret.
pub fn new_secret() -> Result<String, Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The key string shown once to the user.
pub fn encode(id: Uuid, secret: &str) -> String {
    let json = format!(r#"{{"id":"{id}","key":"{secret}"}}"#);
    format!("{PREFIX}{}", STANDARD.encode(json))
}

/// Split a key string into (id, secret).
pub fn decode(key: &str) -> Option<(Uuid, String)> {
    let b64 = key.strip_prefix(PREFIX)?;
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let id = Uuid::parse_str(v.get("id")?.as_str()?).ok()?;
    Some((id, v.get("key")?.as_str()?.to_string()))
}

/// Whether the previous generation of a rotated key is still within its retention window.
fn previous_retained(key: &ApiKeyRow) -> bool {
    match (key.last_rotated, key.previous_key.as_ref()) {
        (Some(rotated), Some(_)) if key.retain_period > 0 => utc_now() < rotated + Duration::minutes(key.retain_period),
        _ => false,
    }
}

/// Checks shared by direct key use and key-derived tokens.
pub fn check_usable(account: &UserRow, key: &ApiKeyRow, token_generation: Option<i64>) -> Result<(), Error> {
    if !key.active {
        return Err(Error::credentials(format!(
            "Authentication error: API key {} associated with service account {} is not active",
            key.name, account.name
        )));
    }
    if !account.active {
        return Err(Error::credentials(format!(
            "Authentication error: service account {} associated with API key {} is not active",
            account.name, key.name
        )));
    }
    if let Some(generation) = token_generation {
        let ok = generation == key.key_generation || (generation == key.key_generation - 1 && previous_retained(key));
        if !ok {
            return Err(Error::credentials(format!(
                "Authentication error: API key {} associated with service account {} has been rotated",
                key.name, account.name
            )));
        }
    }
    Ok(())
}

/// Authenticate a `ZENKEY_` string; returns the service account, the key row and the
/// generation that matched.
pub async fn authenticate(state: &AppState, key: &str) -> Result<(UserRow, ApiKeyRow), Error> {
    let bad = || Error::credentials("Authentication error: error decoding API key");
    let (id, secret) = decode(key).ok_or_else(bad)?;
    let store = state.store();
    let Some(row) = store.find_api_key_by_id(id).await? else {
        password::verify(secret, None).await;
        return Err(Error::credentials(format!("Authentication error: error retrieving API key {id}")));
    };
    let account = store
        .find_account_by_id(zenpro_store::parse_id(&row.service_account_id))
        .await?
        .ok_or_else(|| Error::credentials(format!("Authentication error: error retrieving API key {id}")))?;
    check_usable(&account, &row, None)?;
    let mut ok = password::verify(secret.clone(), Some(row.key.clone())).await;
    if !ok && previous_retained(&row) {
        ok = password::verify(secret, row.previous_key.clone()).await;
    }
    if !ok {
        return Err(Error::credentials(format!(
            "Authentication error: invalid API key {} associated with service account {}",
            row.name, account.name
        )));
    }
    store.touch_api_key_login(id).await?;
    Ok((account, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format_round_trips() {
        let id = Uuid::new_v4();
        let s = new_secret().unwrap();
        assert_eq!(s.len(), 64);
        let k = encode(id, &s);
        assert!(k.starts_with("ZENKEY_"));
        assert_eq!(decode(&k), Some((id, s)));
        assert_eq!(decode("ZENKEY_!!!"), None);
    }
}
