//! Credential primitives shared by the workspace server and the control plane: HS256 JWTs
//! ([`jwt`]), bcrypt ([`password`]), high-entropy secrets stored as SHA-256 ([`secret`]) and the
//! signing key generated once into a file when none is configured ([`key_file`], the only file
//! I/O here); no knowledge of either server's schema.

pub mod jwt;
pub mod key_file;
pub mod password;
pub mod secret;
