//! bcrypt hashes as passlib writes them (`$2b$12$...`), verified the way ZenML does: always
//! run a hash check (even for unknown users) and hash a plaintext stored value on the fly.

use zenpro_types::Error;

/// Cost used for new hashes (passlib's default).
pub const COST: u32 = 12;

const DUMMY_HASH: &str = "$2b$12$cVQajv7xvevF84AiCodjie7u5J8DQ8N6vPuXcuLUR3Bmw8Q7iw2RS";

fn is_bcrypt(s: &str) -> bool {
    s.len() == 60 && (s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$"))
}

/// Hash a secret on a blocking thread (bcrypt is deliberately slow).
pub async fn hash(secret: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || bcrypt::hash(secret.as_bytes(), COST))
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
        .map_err(|e| Error::internal(format!("bcrypt failed: {e}")))
}

/// Verify `secret` against a stored value; `None` still costs a hash check.
pub async fn verify(secret: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(h) if is_bcrypt(&h) => bcrypt::verify(secret.as_bytes(), &h).unwrap_or(false),
        Some(plain) => {
            // A plaintext value in the database (ZenML hashes it before comparing).
            let h = bcrypt::hash(plain.as_bytes(), 4).unwrap_or_default();
            bcrypt::verify(secret.as_bytes(), &h).unwrap_or(false)
        }
        None => {
            let _ = bcrypt::verify(secret.as_bytes(), DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}
