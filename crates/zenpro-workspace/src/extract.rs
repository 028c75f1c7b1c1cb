//! Request extractors whose rejections are ZenML errors (422 `ValueError`), never axum's
//! plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;
use zenpro_store::list::{ListParams, ListSpec, Restriction, parse_bool_param};
use zenpro_types::Error;

/// All query pairs, in order, repeated keys kept; in Pro mode also the RBAC restriction of the
/// request's list (set by `pro::rbac`), applied by [`QueryPairs::list`].
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>, pub Option<std::sync::Arc<Restriction>>);

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// A boolean parameter with a default (`hydrate=True`).
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, Error> {
        self.get(key).map(|v| parse_bool_param(key, v)).transpose().map(|o| o.unwrap_or(default))
    }
    /// `hydrate` for single-entity GETs (default true).
    pub fn hydrate(&self) -> Result<bool, Error> {
        self.flag("hydrate", true)
    }
    /// List parameters against a spec.
    pub fn list(&self, spec: &ListSpec) -> Result<ListParams, Error> {
        let mut params = ListParams::parse(&self.0, spec)?;
        params.restrict = self.1.clone();
        Ok(params)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(|pairs| QueryPairs(pairs, parts.extensions.get::<std::sync::Arc<Restriction>>().cloned()))
            .map_err(|e| Error::validation(format!("Invalid query string: {e}")))
    }
}

/// A JSON body; invalid JSON or fields give 422 with the reason.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Error::validation(format!("Invalid request body: {e}")))
    }
}

/// A `application/x-www-form-urlencoded` body as pairs.
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))?;
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map(FormPairs)
            .map_err(|e| Error::validation(format!("Invalid form body: {e}")))
    }
}

/// Parse a path segment that must be a UUID (422 otherwise, as FastAPI does).
pub fn path_uuid(s: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(s).map_err(|_| Error::validation(format!("Invalid UUID in path: '{s}'.")))
}
