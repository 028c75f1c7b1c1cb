//! HS256 JWTs as ZenML issues them (PyJWT): header `{"alg":"HS256","typ":"JWT"}`, claims
//! `sub`, `iss`, `aud`, float `iat`, optional int `exp`, plus the scoping claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use zenpro_types::Error;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Claims of a zenpro/ZenML access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_gen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl Claims {
    pub fn new(sub: impl Into<String>) -> Self {
        Claims {
            sub: sub.into(),
            iss: None,
            aud: None,
            exp: None,
            iat: None,
            device_id: None,
            api_key_id: None,
            key_gen: None,
            schedule_id: None,
            pipeline_run_id: None,
            deployment_id: None,
            session_id: None,
        }
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Sign claims.
pub fn encode(claims: &Claims, key: &[u8]) -> String {
    sign(claims, key)
}

/// Sign any JSON claims object with HS256 (the control plane has claims of its own).
pub fn sign<T: Serialize>(claims: &T, key: &[u8]) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    let sig = B64.encode(m.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Check an HS256 token's form and signature and return its payload; expiry, issuer and
/// audience are the caller's to check.
pub fn verify<T: serde::de::DeserializeOwned>(token: &str, key: &[u8]) -> Result<T, Error> {
    let invalid = |why: &str| Error::credentials(format!("Authentication error: error decoding access token: {why}."));
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("Not enough segments"));
    };
    let header: serde_json::Value =
        B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| invalid("Invalid header"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(invalid("The specified alg value is not allowed"));
    }
    let sig = B64.decode(s).map_err(|_| invalid("Invalid crypto padding"))?;
    let mut m = mac(key);
    m.update(format!("{h}.{p}").as_bytes());
    m.verify_slice(&sig).map_err(|_| invalid("Signature verification failed"))?;
    B64.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| invalid("Invalid payload"))
}

/// Verify the signature, issuer, audience and expiry (with leeway) of a token.
pub fn decode(
    token: &str,
    key: &[u8],
    issuer: &str,
    audience: &str,
    leeway_seconds: i64,
    now: f64,
) -> Result<Claims, Error> {
    let invalid = |why: &str| Error::credentials(format!("Authentication error: error decoding access token: {why}."));
    let claims: Claims = verify(token, key)?;
    if let Some(exp) = claims.exp
        && (exp + leeway_seconds) as f64 <= now
    {
        return Err(invalid("Signature has expired"));
    }
    if claims.aud.as_deref() != Some(audience) {
        return Err(invalid("Audience doesn't match"));
    }
    if claims.iss.as_deref() != Some(issuer) {
        return Err(invalid("Invalid issuer"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let mut c = Claims::new("u");
        c.iss = Some("s".into());
        c.aud = Some("s".into());
        c.iat = Some(1795688209.919978);
        let t = encode(&c, b"k");
        assert_eq!(decode(&t, b"k", "s", "s", 10, 0.0).unwrap(), c);
        assert!(decode(&t, b"other", "s", "s", 10, 0.0).is_err());
        assert!(decode(&t, b"k", "s", "x", 10, 0.0).is_err());
        assert!(decode("garbage", b"k", "s", "s", 10, 0.0).is_err());
        c.exp = Some(100);
        let t = encode(&c, b"k");
        assert!(decode(&t, b"k", "s", "s", 10, 105.0).is_ok());
        assert!(decode(&t, b"k", "s", "s", 10, 111.0).is_err());
    }
}
