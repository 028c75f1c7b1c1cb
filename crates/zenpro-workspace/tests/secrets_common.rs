//! Helpers of the `secrets_*` integration tests: the app in-process on a fresh database (a
//! temporary SQLite file, or a fresh MariaDB/MySQL database `zt_<random>` dropped afterwards)
//! and request helpers. Included with `mod secrets_common;`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
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
    pub dir: Arc<tempfile::TempDir>,
    mysql: Option<(String, String)>,
}

/// The variables every test app gets, plus `extra`.
fn env_for(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("ZENPRO_DATA_DIR", dir.path().display().to_string()),
        ("ZENML_STORE_URL", format!("sqlite:///{}", dir.path().join("z.db").display())),
        ("ZENML_SERVER_AUTO_ACTIVATE", "true".into()),
        ("ZENML_DEFAULT_USER_PASSWORD", ADMIN_PASSWORD.into()),
        ("ZENML_SERVER_JWT_SECRET_KEY", "k".into()),
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

async fn start(env: HashMap<String, String>, dir: Arc<tempfile::TempDir>, mysql: Option<(String, String)>) -> TestApp {
    let config = Config::from_map(&env).expect("test configuration is valid");
    let state = zenpro_workspace::build(config).await.expect("the app builds");
    let router = zenpro_workspace::router(state.clone());
    TestApp { router, state, dir, mysql }
}

/// An app on a fresh SQLite file (`ZENML_SECRETS_STORE_*` etc. in `extra`).
pub async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    start(env_for(&dir, extra), dir, None).await
}

/// A second app on the database of `other` (SQLite), with its own settings.
pub async fn app_on_same_db(other: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    start(env_for(&other.dir, extra), other.dir.clone(), None).await
}

/// `ZENPRO_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306`), when set.
pub fn mysql_url() -> Option<String> {
    std::env::var("ZENPRO_TEST_MYSQL_URL").ok().filter(|s| !s.trim().is_empty())
}

/// An app on a fresh database `zt_<random>` of the MySQL/MariaDB server at `server_url`.
pub async fn app_mysql(server_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let name = format!("zt_{}", uuid::Uuid::new_v4().simple());
    let server_url = server_url.trim_end_matches('/').to_string();
    let mut env = env_for(&dir, extra);
    env.insert("ZENML_STORE_URL".into(), format!("{server_url}/{name}"));
    start(env, dir, Some((server_url, name))).await
}

impl TestApp {
    /// Close the pool and drop a MySQL test database.
    pub async fn close(self) {
        self.state.store().db.close().await;
        if let Some((server_url, name)) = &self.mysql {
            let server = zenpro_store::Db::connect(server_url).await.expect("connect to the MySQL server");
            server
                .clone()
                .execute(zenpro_store::q!(format!("DROP DATABASE IF EXISTS `{name}`")))
                .await
                .expect("drop the test database");
            server.close().await;
        }
    }

    /// A JSON request (`Null` body: none); returns the status and the JSON answer.
    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
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
        let resp = self.router.clone().oneshot(req).await.expect("the router answers");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, body)
    }

    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Some(token), Value::Null).await
    }

    /// Log in with a password; returns the access token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let form =
            serde_urlencoded::to_string([("grant_type", "password"), ("username", user), ("password", password)])
                .expect("form");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("the router answers");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body: Value = serde_json::from_slice(&bytes).expect("JSON login answer");
        assert_eq!(status, StatusCode::OK, "login of {user}: {body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Create a (non-admin) user as admin and log in as them.
    pub async fn new_user(&self, admin_token: &str, name: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/users",
                Some(admin_token),
                serde_json::json!({"name": name, "password": password, "active": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "create user {name}: {body}");
        self.login(name, password).await
    }
}

/// Run a scenario on a spawned task, then close the app (dropping a MySQL test database)
/// whether it passed or panicked, and re-raise its panic.
pub async fn run_then_close<F, Fut>(app: TestApp, scenario: F)
where
    F: FnOnce(Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let app = Arc::new(app);
    let outcome = tokio::spawn(scenario(app.clone())).await;
    if let Some(app) = Arc::into_inner(app) {
        app.close().await;
    }
    if let Err(e) = outcome
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}
