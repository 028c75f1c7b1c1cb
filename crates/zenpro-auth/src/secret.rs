//! Random secrets (API keys, enrollment keys, device codes): generated from the OS RNG, stored
//! as SHA-256 hex, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use zenpro_types::Error;

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// 32 random bytes as 43 base64url characters.
pub fn random_b64(n: usize) -> Result<String, Error> {
    Ok(B64.encode(random_bytes(n)?))
}

/// `len` random characters from `[A-Za-z0-9]` (rejection sampling, no modulo bias).
pub fn random_alnum(len: usize) -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes(len * 2)? {
            // 62 * 4 = 248: bytes ≥ 248 would bias the first characters.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// 32 random hex characters (16 bytes).
pub fn random_hex(n_bytes: usize) -> Result<String, Error> {
    Ok(random_bytes(n_bytes)?.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of a secret, lowercase hex (what the database stores).
pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two strings (length leaks, contents do not).
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `secret` hashes to the stored SHA-256 hex, compared in constant time.
pub fn verify_sha256(secret: &str, stored_hex: &str) -> bool {
    ct_eq(&sha256_hex(secret), stored_hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_verification() {
        let k = random_alnum(64).unwrap();
        assert_eq!(k.len(), 64);
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(random_b64(32).unwrap().len(), 43);
        assert_eq!(random_hex(16).unwrap().len(), 32);
        let h = sha256_hex(&k);
        assert!(verify_sha256(&k, &h));
        assert!(!verify_sha256("other", &h));
        assert!(!ct_eq("a", "ab"));
    }
}
