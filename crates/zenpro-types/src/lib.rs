//! Wire types of the ZenML 0.98 REST API shared by the zenpro servers, the dashboard and tests:
//! the one error type and its ZenML error envelope, the page envelope, and the query-string
//! filter syntax. This crate does no I/O and must not depend on the store or the servers.

pub mod error;
pub mod filter;
pub mod page;
pub mod time;

pub use error::{Error, Result};
pub use page::Page;
