//! Helpers of the `auth_*` integration tests: an in-process app on a fresh database (a
//! temporary SQLite file, or a fresh MariaDB/MySQL database dropped afterwards) and small
//! request helpers. Included with `mod auth_common;`.
#![allow(dead_code)]

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zenpro_workspace::{AppState, Config};

pub const ADMIN: &str = "default";
pub const ADMIN_PASSWORD: &str = "pw";

/// An app under test and what keeps its database alive.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    dir: tempfile::TempDir,
    mysql: Option<MysqlDatabase>,
}

/// A MariaDB/MySQL database created for one test and dropped by [`TestApp::close`].
struct MysqlDatabase {
    server_url: String,
    name: String,
}

fn base_env(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("ZENPRO_DATA_DIR", dir.path().display().to_string()),
        ("ZENML_STORE_URL", format!("sqlite:///{}", dir.path().join("z.db").display())),
        ("ZENML_SERVER_AUTO_ACTIVATE", "true".into()),
        ("ZENML_DEFAULT_USER_PASSWORD", ADMIN_PASSWORD.into()),
        ("ZENML_SERVER_JWT_SECRET_KEY", "test-secret".into()),
        ("ZENML_ANALYTICS_OPT_IN", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

async fn start(env: HashMap<String, String>, dir: tempfile::TempDir, mysql: Option<MysqlDatabase>) -> TestApp {
    let config = Config::from_map(&env).expect("test configuration is valid");
    let state = zenpro_workspace::build(config).await.expect("the app builds on a fresh database");
    let router = zenpro_workspace::router(state.clone());
    TestApp { router, state, dir, mysql }
}

/// An app on a fresh SQLite file, with extra `ZENML_*` settings.
pub async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = base_env(&dir, extra);
    start(env, dir, None).await
}

pub async fn app() -> TestApp {
    app_with(&[]).await
}

/// `ZENPRO_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306`), when set.
pub fn mysql_url() -> Option<String> {
    std::env::var("ZENPRO_TEST_MYSQL_URL").ok().filter(|s| !s.trim().is_empty())
}

/// An app on a fresh database `zt_<random>` of the MySQL server at `server_url`.
pub async fn app_mysql(server_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = format!("zt_{}", uuid::Uuid::new_v4().simple());
    let server_url = server_url.trim_end_matches('/').to_string();
    let mut env = base_env(&dir, extra);
    env.insert("ZENML_STORE_URL".into(), format!("{server_url}/{name}"));
    start(env, dir, Some(MysqlDatabase { server_url, name })).await
}

impl TestApp {
    /// Close the pools and drop a MySQL test database.
    pub async fn close(self) {
        self.state.store().db.close().await;
        if let Some(m) = &self.mysql {
            let server = zenpro_store::Db::connect(&m.server_url).await.expect("connect to the MySQL server");
            let mut db = server.clone();
            db.execute(zenpro_store::db::Query::new(format!("DROP DATABASE IF EXISTS `{}`", m.name)))
                .await
                .expect("drop the test database");
            server.close().await;
        }
        drop(self.dir);
    }

    /// Send a request; returns status, headers and the JSON body (`Null` when empty).
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let resp = self.router.clone().oneshot(req).await.expect("the router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, body)
    }

    /// A JSON request (`body` may be `Null` for none).
    pub async fn json(&self, method: Method, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = if body.is_null() {
            b.body(Body::empty())
        } else {
            b.header("content-type", "application/json").body(Body::from(body.to_string()))
        }
        .expect("request");
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.json(Method::GET, uri, Some(token), Value::Null).await
    }

    /// A form post with optional extra headers.
    pub async fn form(
        &self,
        uri: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let body = serde_urlencoded::to_string(pairs).expect("form");
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }

    /// Log in with a password; returns the access token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let (status, _, body) = self
            .form("/api/v1/login", &[("grant_type", "password"), ("username", user), ("password", password)], &[])
            .await;
        assert_eq!(status, StatusCode::OK, "password login: {body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// `POST /login` with an API key.
    pub async fn login_api_key(&self, key: &str) -> (StatusCode, HeaderMap, Value) {
        self.form("/api/v1/login", &[("grant_type", "zenml-api-key"), ("password", key)], &[]).await
    }
}

/// The claims of a JWT (no signature check).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&raw).expect("JSON claims")
}

/// Run a test scenario on a spawned task, then close the app (dropping a MySQL test database)
/// whether the scenario passed or panicked, and re-raise its panic.
pub async fn run_then_close<F, Fut>(app: TestApp, scenario: F)
where
    F: FnOnce(std::sync::Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let app = std::sync::Arc::new(app);
    let outcome = tokio::spawn(scenario(app.clone())).await;
    if let Some(app) = std::sync::Arc::into_inner(app) {
        app.close().await;
    }
    if let Err(e) = outcome
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}
