//! Credential primitives shared by the workspace server and the control plane: HS256 JWTs
//! ([`jwt`]), bcrypt ([`password`]) and high-entropy secrets stored as SHA-256 ([`secret`]).
//! No I/O besides the blocking-thread hop of bcrypt; no knowledge of either server's schema.

pub mod jwt;
pub mod password;
pub mod secret;
