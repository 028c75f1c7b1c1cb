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

/// `n` random bytes as lowercase hex (Python's `secrets.token_hex(n)`).
pub fn random_hex(n: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Random 64-hex secret.
pub fn new_secret() -> Result<String, Error> {
    random_hex(32)
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

/// Whether the previous generation of a rotated key is still within its retention window
/// (ZenML's `is_previous_key_retained`).
pub fn previous_retained(key: &ApiKeyRow) -> bool {
    match key.last_rotated {
        Some(rotated)
            if key.active && key.retain_period > 0 && key.key_generation > 1 && key.previous_key.is_some() =>
        {
            utc_now() - rotated < Duration::minutes(key.retain_period)
        }
        _ => false,
    }
}

/// Checks shared by direct key use and key-derived tokens: the service account and the key are
/// active and, for a token, the key generation it was issued for is still valid.
pub fn check_usable(account: &UserRow, key: &ApiKeyRow, token_generation: Option<i64>) -> Result<(), Error> {
    if !account.active {
        return Err(Error::credentials(format!(
            "Authentication error: service account {} associated with API key {} is not active",
            account.name, key.name
        )));
    }
    if !key.active {
        return Err(Error::credentials(format!(
            "Authentication error: API key {} associated with service account {} is not active",
            key.name, account.name
        )));
    }
    if let Some(generation) = token_generation {
        let ok = generation == key.key_generation || (generation == key.key_generation - 1 && previous_retained(key));
        if !ok {
            return Err(Error::credentials(format!(
                "Authentication error: access token for API key {} was issued for an API key generation that is \
                 no longer valid",
                key.name
            )));
        }
    }
    Ok(())
}

/// Authenticate a `ZENKEY_` string: returns the service account and the key row, and records
/// the login. Both the current and (when retained) the previous hash are always checked, so
/// the answer takes the same time whichever matched.
pub async fn authenticate(state: &AppState, key: &str) -> Result<(UserRow, ApiKeyRow), Error> {
    let (id, secret) = decode(key).ok_or_else(|| Error::credentials("Authentication error: error decoding API key"))?;
    let store = state.store();
    let retrieving = || Error::credentials(format!("Authentication error: error retrieving API key {id}"));
    let Some(row) = store.find_api_key_by_id(id).await? else {
        password::verify(secret, None).await;
        return Err(retrieving());
    };
    let account =
        store.find_account_by_id(zenpro_store::parse_id(&row.service_account_id)).await?.ok_or_else(retrieving)?;
    check_usable(&account, &row, None)?;
    let current = password::verify(secret.clone(), Some(row.key.clone())).await;
    let previous = password::verify(secret, row.previous_key.clone().filter(|_| previous_retained(&row))).await;
    if !(current || previous) {
        return Err(Error::credentials(format!(
            "Authentication error: could not verify key value for API key {}",
            row.name
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

    fn row(generation: i64, retain: i64, rotated_minutes_ago: Option<i64>) -> ApiKeyRow {
        let now = utc_now();
        ApiKeyRow {
            id: Uuid::new_v4().simple().to_string(),
            created: now,
            updated: now,
            name: "k".into(),
            description: None,
            key: "h".into(),
            previous_key: rotated_minutes_ago.map(|_| "old".into()),
            key_generation: generation,
            retain_period: retain,
            active: true,
            last_login: None,
            last_rotated: rotated_minutes_ago.map(|m| now - Duration::minutes(m)),
            service_account_id: Uuid::new_v4().simple().to_string(),
        }
    }

    #[test]
    fn previous_generation_is_retained_only_within_the_window() {
        assert!(!previous_retained(&row(1, 10, None)));
        assert!(previous_retained(&row(2, 10, Some(5))));
        assert!(!previous_retained(&row(2, 10, Some(11))));
        assert!(!previous_retained(&row(2, 0, Some(0))));
        let mut inactive = row(2, 10, Some(1));
        inactive.active = false;
        assert!(!previous_retained(&inactive));
    }
}
