//! Request bodies and query strings with errors in ZenML's format.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;
use zenpro_types::Error;

/// 422 with `{"detail": ["ValueError", msg]}` (the body shape every CP error has).
pub fn unprocessable(msg: impl Into<String>) -> Error {
    Error::InvalidFilter(msg.into())
}

/// A JSON body; malformed JSON or a wrong field → 422 in ZenML's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(req, state).await.map_err(|e| unprocessable(format!("Cannot read the body: {e}")))?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| unprocessable(format!("Invalid request body: {e}")))
    }
}

/// A query string; bad parameters → 422.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(QueryParams)
            .map_err(|e| unprocessable(format!("Invalid query parameters: {e}")))
    }
}

/// An `application/x-www-form-urlencoded` body as name/value pairs; malformed → 422.
pub struct FormPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(req, state).await.map_err(|e| unprocessable(format!("Cannot read the body: {e}")))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(FormPairs)
            .map_err(|e| unprocessable(format!("Invalid form body: {e}")))
    }
}

/// Parse a UUID path/query value; 404 names the kind of thing asked for.
pub fn parse_uuid(s: &str, what: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(s).map_err(|_| Error::not_found(format!("No {what} with id '{s}'.")))
}
