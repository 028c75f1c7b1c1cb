//! The one error type of zenpro, rendered the way ZenML renders errors:
//! `{"detail": ["<ExceptionClassName>", "<message>"]}` with the status the client maps back
//! (see `zenml/zen_server/exceptions.py` in the 0.98.0 package).

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Result alias used across zenpro.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a request can end in. The variant fixes the HTTP status and the ZenML
/// exception class name the Python client rebuilds from the response.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials at all: `401 {"detail": "Not authenticated"}` + `WWW-Authenticate: Bearer`.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// Credentials given but not valid (wrong password, expired or revoked token).
    /// 401 + `WWW-Authenticate: Bearer`, so the client re-authenticates.
    #[error("{0}")]
    CredentialsNotValid(String),
    /// Authenticated but not allowed: 403 `IllegalOperationError`.
    #[error("{0}")]
    IllegalOperation(String),
    /// 404 `KeyError`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `EntityExistsError`.
    #[error("{0}")]
    EntityExists(String),
    /// 400 `ValueError`: a well-formed request the server refuses.
    #[error("{0}")]
    BadRequest(String),
    /// 422 `ValueError`: the request does not validate (bad query parameter, body field).
    #[error("{0}")]
    Validation(String),
    /// 422 `ValueError` raised while validating a list's filter model (sort field, filter
    /// values). The reference wraps these in `detail`, unlike FastAPI's request validation.
    #[error("{0}")]
    InvalidFilter(String),
    /// OAuth2 token endpoint error (`POST /login` of the device flow):
    /// `400 {"error": .., "error_description": .., "error_uri": null}`.
    #[error("{error}: {description}")]
    OAuth { error: &'static str, description: String },
    /// 501 `NotImplementedError`: an endpoint or option zenpro does not implement.
    #[error("{0}")]
    NotImplemented(String),
    /// 503: a dependency (database, control plane, Vault) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500 with a generic body; the cause is logged once when the response is built.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn exists(msg: impl Into<String>) -> Self {
        Error::EntityExists(msg.into())
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }
    pub fn validation(msg: impl Into<String>) -> Self {
        Error::Validation(msg.into())
    }
    pub fn invalid_filter(msg: impl Into<String>) -> Self {
        Error::InvalidFilter(msg.into())
    }
    pub fn credentials(msg: impl Into<String>) -> Self {
        Error::CredentialsNotValid(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Error::IllegalOperation(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotAuthenticated | Error::CredentialsNotValid(_) => StatusCode::UNAUTHORIZED,
            Error::IllegalOperation(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::EntityExists(_) => StatusCode::CONFLICT,
            Error::BadRequest(_) | Error::OAuth { .. } => StatusCode::BAD_REQUEST,
            Error::Validation(_) | Error::InvalidFilter(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body ZenML sends for this error.
    pub fn body(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Error::NotAuthenticated => json!({"detail": "Not authenticated"}),
            Error::CredentialsNotValid(m) => json!({"detail": ["CredentialsNotValid", m]}),
            Error::IllegalOperation(m) => json!({"detail": ["IllegalOperationError", m]}),
            // Python's `str(KeyError(msg))` is the repr of the message: the reference's body
            // carries it quoted.
            Error::NotFound(m) => json!({"detail": ["KeyError", python_repr(m)]}),
            Error::EntityExists(m) => json!({"detail": ["EntityExistsError", m]}),
            Error::BadRequest(m) => json!({"detail": ["ValueError", m]}),
            // FastAPI request validation errors come back as a bare list (SUMMARY G5).
            Error::Validation(m) => json!(["ValueError", m]),
            Error::InvalidFilter(m) => json!({"detail": ["ValueError", m]}),
            Error::OAuth { error, description } => {
                json!({"error": error, "error_description": description, "error_uri": null})
            }
            Error::NotImplemented(m) => json!({"detail": ["NotImplementedError", m]}),
            Error::Unavailable(m) => json!({"detail": ["RuntimeError", m]}),
            Error::Internal(_) => json!({"detail": ["RuntimeError", "Internal server error"]}),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            tracing::error!(%cause, "request failed with an internal error");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = Response::new(axum_core::body::Body::from(body));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// `repr()` of a Python `str`: single quotes unless the text has a single quote and no double
/// quote; backslashes, the chosen quote and control characters escaped.
pub fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_errors_carry_www_authenticate() {
        let resp = Error::credentials("Authentication error: bad").into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let resp = Error::not_found("x").into_response();
        assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn not_found_messages_are_quoted_like_python_key_errors() {
        assert_eq!(python_repr("No project 'x'"), "\"No project 'x'\"");
        assert_eq!(python_repr("a"), "'a'");
        assert_eq!(python_repr("it's \"q\""), "'it\\'s \"q\"'");
        assert_eq!(Error::not_found("a").body(), serde_json::json!({"detail": ["KeyError", "'a'"]}));
    }

    #[test]
    fn bodies_follow_the_zenml_envelope() {
        assert_eq!(Error::exists("dup").body(), serde_json::json!({"detail": ["EntityExistsError", "dup"]}));
        assert_eq!(Error::validation("v").body(), serde_json::json!(["ValueError", "v"]));
        assert_eq!(Error::invalid_filter("f").body(), serde_json::json!({"detail": ["ValueError", "f"]}));
        assert_eq!(Error::invalid_filter("f").status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            Error::Internal("db exploded".into()).body(),
            serde_json::json!({"detail": ["RuntimeError", "Internal server error"]})
        );
    }
}
