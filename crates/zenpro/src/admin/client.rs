//! HTTP to the control plane's `/api/v1`: URL handling, bearer token, error bodies.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::Failure;

/// The control plane's base URL, normalised: no trailing `/`, no `/api/v1` suffix.
///
/// Tokens are stored under this string, and `api_url` is this plus `/api/v1`.
pub fn normalize_base(url: &str) -> Result<String, Failure> {
    let trimmed = url.trim();
    let parsed =
        Url::parse(trimmed).map_err(|e| Failure::Usage(format!("invalid control plane URL {trimmed:?}: {e}")))?;
    match parsed.scheme() {
        "http" => {}
        // reqwest is built without a TLS stack (no default features): say so plainly rather
        // than fail with a connection error.
        "https" => {
            return Err(Failure::Usage(format!(
                "{trimmed}: this zenpro binary has no TLS support; use an http:// URL \
                 (for example an in-cluster address or `kubectl port-forward`)"
            )));
        }
        other => {
            return Err(Failure::Usage(format!("invalid control plane URL {trimmed:?}: scheme {other:?} is not http")));
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Failure::Usage(format!("invalid control plane URL {trimmed:?}: no query or fragment allowed")));
    }
    let mut base = parsed.as_str().trim_end_matches('/').to_string();
    if let Some(stripped) = base.strip_suffix("/api/v1") {
        base = stripped.trim_end_matches('/').to_string();
    }
    Ok(base)
}

/// A client of one control plane, with an optional bearer token.
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// `base` as returned by [`normalize_base`].
    pub fn new(base: String, token: Option<String>) -> Result<Self, Failure> {
        let ca = zenpro_workspace::tls::CaBundle::from_process_env().map_err(Failure::Failed)?;
        let http = zenpro_workspace::tls::client_builder(&ca)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("zenpro-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Failed(format!("cannot create the HTTP client: {e}")))?;
        Ok(Api { base, http, token })
    }

    /// The normalised base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `<base>/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.base)
    }

    /// `<base>/api/v1/<segments...>?<query>`, each segment percent-encoded (names may hold any
    /// character).
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = Url::parse(&self.api_url()).expect("the base URL was parsed by normalize_base");
        url.path_segments_mut().expect("an http URL has a path").pop_if_empty().extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Value, Failure> {
        self.send(self.request(Method::GET, segments, query)?).await
    }

    pub async fn post_json(&self, segments: &[&str], body: &Value) -> Result<Value, Failure> {
        self.send(self.request(Method::POST, segments, &[])?.json(body)).await
    }

    /// A POST with an empty JSON object body (actions such as key rotation).
    pub async fn post_empty(&self, segments: &[&str]) -> Result<Value, Failure> {
        self.post_json(segments, &Value::Object(Default::default())).await
    }

    pub async fn post_form(&self, segments: &[&str], form: &[(&str, &str)]) -> Result<Value, Failure> {
        self.send(self.http.post(self.url(segments, &[])).form(form)).await
    }

    pub async fn delete(&self, segments: &[&str]) -> Result<Value, Failure> {
        self.send(self.request(Method::DELETE, segments, &[])?).await
    }

    fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let token = self.token.as_deref().ok_or_else(|| {
            Failure::Failed(format!(
                "not logged in to {}: run `zenpro admin --url {} login --username ... --password-stdin` \
                 or set ZENPRO_ADMIN_TOKEN",
                self.base, self.base
            ))
        })?;
        Ok(self.http.request(method, self.url(segments, query)).bearer_auth(token))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = request.send().await.map_err(|e| {
            Failure::Failed(format!("cannot reach the control plane at {}: {}", self.base, error_chain(&e)))
        })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| Failure::Failed(format!("reading the answer of {}: {}", self.base, error_chain(&e))))?;
        if !status.is_success() {
            let mut message = error_message(status, &body);
            if status == StatusCode::UNAUTHORIZED && self.token.is_some() {
                message.push_str(" (log in again, or check ZENPRO_ADMIN_TOKEN)");
            }
            return Err(Failure::Failed(message));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| {
            Failure::Failed(format!("the control plane answered {status} with a body that is not JSON: {e}"))
        })
    }
}

/// A reqwest error with its causes ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The server's error message: ZenML's `{"detail": ["Class", "message"]}` or
/// `{"detail": "message"}`, FastAPI's validation list, the OAuth `{"error_description"}`, else
/// the body itself; always with the HTTP status.
pub fn error_message(status: StatusCode, body: &str) -> String {
    let status_text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let detail = serde_json::from_str::<Value>(body).ok().and_then(|v| detail_of(&v));
    match detail {
        Some(message) => format!("{message} (HTTP {status_text})"),
        None => {
            let text = body.trim();
            if text.is_empty() {
                format!("the control plane answered HTTP {status_text}")
            } else {
                let short: String = text.chars().take(500).collect();
                format!("the control plane answered HTTP {status_text}: {short}")
            }
        }
    }
}

fn detail_of(value: &Value) -> Option<String> {
    if let Some(detail) = value.get("detail") {
        return match detail {
            Value::String(s) => Some(s.clone()),
            // ZenML: [ExceptionClass, message]; a KeyError's message is Python's repr, in quotes.
            Value::Array(items) if items.len() == 2 && items.iter().all(Value::is_string) => {
                let message = items[1].as_str().unwrap_or_default();
                let unquoted = (items[0] == "KeyError" && message.len() >= 2)
                    .then(|| ['\'', '"'].iter().find_map(|q| message.strip_prefix(*q).and_then(|m| m.strip_suffix(*q))))
                    .flatten();
                Some(unquoted.unwrap_or(message).to_string())
            }
            // FastAPI validation: [{loc, msg, type}, ...]
            Value::Array(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|item| match (item.get("loc"), item.get("msg").and_then(Value::as_str)) {
                        (Some(Value::Array(loc)), Some(msg)) => {
                            let loc: Vec<String> = loc
                                .iter()
                                .map(|l| l.as_str().map(str::to_string).unwrap_or_else(|| l.to_string()))
                                .collect();
                            format!("{}: {msg}", loc.join("."))
                        }
                        (_, Some(msg)) => msg.to_string(),
                        _ => item.as_str().map(str::to_string).unwrap_or_else(|| item.to_string()),
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            Value::Null => None,
            other => Some(other.to_string()),
        };
    }
    if let Some(description) = value.get("error_description").and_then(Value::as_str) {
        return Some(description.to_string());
    }
    value.get("error").and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        for (input, expected) in [
            ("http://cp:8080", "http://cp:8080"),
            ("http://cp:8080/", "http://cp:8080"),
            ("http://cp:8080/api/v1", "http://cp:8080"),
            ("http://cp:8080/api/v1/", "http://cp:8080"),
            (" http://CP.example/prefix/api/v1 ", "http://cp.example/prefix"),
            ("http://cp/prefix/", "http://cp/prefix"),
        ] {
            assert_eq!(normalize_base(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn bad_urls_are_usage_errors_and_https_says_why() {
        for bad in ["cp:8080", "ftp://cp", "not a url", "http://cp/?x=1"] {
            assert!(matches!(normalize_base(bad), Err(Failure::Usage(_))), "{bad}");
        }
        let Err(Failure::Usage(message)) = normalize_base("https://cp.example") else {
            panic!("https must be refused");
        };
        assert!(message.contains("no TLS support"), "{message}");
    }

    #[test]
    fn urls_encode_names_as_single_segments() {
        let api = Api::new("http://cp:8080/prefix".to_string(), None).expect("client");
        assert_eq!(api.api_url(), "http://cp:8080/prefix/api/v1");
        assert_eq!(
            api.url(&["workspaces", "a b/c", "enrollment_key"], &[]).as_str(),
            "http://cp:8080/prefix/api/v1/workspaces/a%20b%2Fc/enrollment_key"
        );
        assert_eq!(
            api.url(&["workspaces"], &[("organization_id", "x&y"), ("member_only", "False")]).as_str(),
            "http://cp:8080/prefix/api/v1/workspaces?organization_id=x%26y&member_only=False"
        );
    }

    #[test]
    fn error_bodies_yield_the_server_message() {
        let zenml = r#"{"detail": ["KeyError", "Organization 'nope' not found"]}"#;
        assert_eq!(error_message(StatusCode::NOT_FOUND, zenml), "Organization 'nope' not found (HTTP 404 Not Found)");
        assert_eq!(
            error_message(StatusCode::NOT_FOUND, r#"{"detail": ["KeyError", "'No workspace ws9'"]}"#),
            "No workspace ws9 (HTTP 404 Not Found)"
        );
        assert_eq!(
            error_message(StatusCode::NOT_FOUND, r#"{"detail": ["KeyError", "\"No team 'ml'.\""]}"#),
            "No team 'ml'. (HTTP 404 Not Found)"
        );
        assert_eq!(
            error_message(StatusCode::CONFLICT, r#"{"detail": ["EntityExistsError", "'x' exists"]}"#),
            "'x' exists (HTTP 409 Conflict)"
        );
        assert_eq!(
            error_message(StatusCode::FORBIDDEN, r#"{"detail": "not allowed"}"#),
            "not allowed (HTTP 403 Forbidden)"
        );
        let fastapi = r#"{"detail": [{"loc": ["body", "name"], "msg": "field required", "type": "missing"}]}"#;
        assert_eq!(
            error_message(StatusCode::UNPROCESSABLE_ENTITY, fastapi),
            "body.name: field required (HTTP 422 Unprocessable Entity)"
        );
        let oauth = r#"{"error": "invalid_client", "error_description": "bad secret"}"#;
        assert_eq!(error_message(StatusCode::UNAUTHORIZED, oauth), "bad secret (HTTP 401 Unauthorized)");
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, "<html>upstream down</html>"),
            "the control plane answered HTTP 502 Bad Gateway: <html>upstream down</html>"
        );
        assert_eq!(error_message(StatusCode::NOT_FOUND, ""), "the control plane answered HTTP 404 Not Found");
    }

    #[tokio::test]
    async fn commands_without_a_token_say_how_to_log_in() {
        let api = Api::new("http://127.0.0.1:9".to_string(), None).expect("client");
        let Err(Failure::Failed(message)) = api.get(&["organizations"], &[]).await else {
            panic!("must fail without a token");
        };
        assert!(message.contains("not logged in") && message.contains("ZENPRO_ADMIN_TOKEN"), "{message}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_failure_naming_the_url() {
        // A port that was just free: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let api = Api::new(base.clone(), Some("t".to_string())).expect("client");
        let Err(Failure::Failed(message)) = api.get(&["organizations"], &[]).await else {
            panic!("must fail");
        };
        assert!(message.starts_with(&format!("cannot reach the control plane at {base}")), "{message}");
    }
}
