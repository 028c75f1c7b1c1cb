//! Test harness of the workspace server: the real app (`zenpro_workspace::build` +
//! `router`) in-process, driven with `tower::ServiceExt::oneshot`, on a fresh database per test,
//! on SQLite and on MariaDB/MySQL.
//!
//! * SQLite: a temporary file `sqlite:////<tmp>/z.db`, removed with the temporary folder.
//! * MariaDB/MySQL: the server in `ZENPRO_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`,
//!   no database part). Each test creates a database `zt_<random hex>` and drops it when the
//!   [`TestDb`] is dropped, also when the test fails. The account needs `CREATE` and `DROP` on
//!   `zt_%` databases. On a server where root has a password or only `unix_socket` auth, create
//!   an account and point the variable at it, e.g.
//!   `CREATE USER 'zenpro_test'@'%' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO 'zenpro_test'@'%';`
//!   and `ZENPRO_TEST_MYSQL_URL=mysql://zenpro_test:pw@127.0.0.1:3306`.
//!   When the server cannot be reached the MariaDB variants print a note and pass, unless the
//!   environment variable `CI` is set: in CI they must run, so they fail instead.
//!
//! Define a test once for both backends with [`backend_tests!`]:
//! `backend_tests!(name, |app| async move { ... });` makes `name::sqlite` and `name::mariadb`
//! (run one with `cargo test name::`). `backend_tests!(@db name, |db| async move { ... })` hands
//! over a fresh, not yet initialised [`TestDb`] instead, for start-up tests.

#![allow(dead_code)]

pub mod runs;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zenpro_store::{Backend, Db};
use zenpro_workspace::{AppState, Config};

/// Password of the auto-activated admin `default`.
pub const ADMIN: &str = "default";
pub const ADMIN_PW: &str = "pw";
/// `ZENML_SERVER_JWT_SECRET_KEY` of every test app.
pub const JWT_KEY: &str = "test-key";

const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty())
}

/// The MySQL server URL without a database part.
fn mysql_server_url() -> String {
    let url = std::env::var("ZENPRO_TEST_MYSQL_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_MYSQL_URL.to_string());
    let (scheme, rest) = url.split_once("://").expect("ZENPRO_TEST_MYSQL_URL must be mysql://user[:pw]@host:port");
    let host_part = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{host_part}")
}

fn random_hex(n: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string()[..n].to_string()
}

/// Drop a MySQL database, on a thread of its own: this runs from `Drop`, possibly inside a
/// runtime that must not be blocked on.
fn drop_mysql_database(server_url: String, name: String) {
    let result = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for cleanup");
        rt.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::MySqlConnection::connect(&server_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(&mut conn).await?;
            conn.close().await
        })
    })
    .join();
    if let Ok(Err(e)) = result {
        eprintln!("note: could not drop the test database: {e}");
    }
}

/// A fresh, empty database for one test, removed on drop.
pub struct TestDb {
    pub backend: Backend,
    /// `ZENML_STORE_URL`.
    pub url: String,
    /// Temporary folder: the SQLite file and `ZENPRO_DATA_DIR` (shared by [`TestDb::share`]).
    pub dir: std::sync::Arc<tempfile::TempDir>,
    /// (server URL, database name) of a MySQL database to drop.
    mysql: Option<(String, String)>,
}

impl TestDb {
    /// A fresh database on `backend`; `None` when MySQL is unreachable outside CI (a note is
    /// printed). In CI an unreachable MySQL server fails the test.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("a temporary folder"));
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:///{}", dir.path().join("z.db").display());
                Some(TestDb { backend, url, dir, mysql: None })
            }
            Backend::MySql => {
                let server = mysql_server_url();
                let reachable = tokio::time::timeout(Duration::from_secs(5), async {
                    use sqlx::Connection;
                    sqlx::MySqlConnection::connect(&server).await?.close().await
                })
                .await;
                match reachable {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) if !in_ci() => {
                        eprintln!(
                            "note: skipping a MariaDB test: {} is not reachable ({e}); set ZENPRO_TEST_MYSQL_URL",
                            zenpro_store::db::redact_url(&server)
                        );
                        return None;
                    }
                    Err(_) if !in_ci() => {
                        eprintln!("note: skipping a MariaDB test: connecting timed out");
                        return None;
                    }
                    Ok(Err(e)) => panic!("CI is set and the MySQL server of ZENPRO_TEST_MYSQL_URL is unreachable: {e}"),
                    Err(_) => panic!("CI is set and connecting to the MySQL server of ZENPRO_TEST_MYSQL_URL timed out"),
                }
                let name = format!("zt_{}", random_hex(16));
                let url = format!("{server}/{name}");
                Some(TestDb { backend, url, dir, mysql: Some((server, name)) })
            }
        }
    }

    /// A fresh database on the MySQL server at `server_url` (e.g. from [`mysql_url`]), without
    /// the reachability check of [`TestDb::new`]: building an app on it fails when the server
    /// is unreachable.
    pub fn on_mysql_server(server_url: &str) -> TestDb {
        let server = server_url.trim_end_matches('/').to_string();
        let name = format!("zt_{}", random_hex(32));
        let url = format!("{server}/{name}");
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("a temporary folder"));
        TestDb { backend: Backend::MySql, url, dir, mysql: Some((server, name)) }
    }

    /// The same database once more (for a second app with other settings); only the original
    /// drops it.
    pub fn share(&self) -> TestDb {
        TestDb { backend: self.backend, url: self.url.clone(), dir: self.dir.clone(), mysql: None }
    }

    /// The test variables plus `extra` (which override them).
    pub fn env(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("ZENML_STORE_URL", self.url.as_str()),
            ("ZENPRO_DATA_DIR", &self.dir.path().join("data").display().to_string()),
            ("ZENML_SERVER_AUTO_ACTIVATE", "true"),
            ("ZENML_DEFAULT_USER_NAME", ADMIN),
            ("ZENML_DEFAULT_USER_PASSWORD", ADMIN_PW),
            ("ZENML_SERVER_JWT_SECRET_KEY", JWT_KEY),
            ("ZENML_ANALYTICS_OPT_IN", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        Config::from_map(&self.env(extra)).expect("the test configuration is valid")
    }

    /// A separate pool on the database, for setting up and checking rows directly.
    pub async fn raw(&self) -> Db {
        Db::connect(&self.url).await.expect("the test database opens")
    }

    /// Run `zenpro_workspace::build` on this database.
    pub async fn build(&self, extra: &[(&str, &str)]) -> Result<AppState, zenpro_types::Error> {
        zenpro_workspace::build(self.config(extra)).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.mysql.take() {
            drop_mysql_database(server, name);
        }
    }
}

/// A response: status, headers and the body as JSON (`Value::String` when it is not JSON,
/// `Value::Null` when empty).
pub type Resp = (StatusCode, HeaderMap, Value);

/// The app of one test.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    /// Declared last so the database outlives the app's pool handles.
    pub db: TestDb,
}

impl TestApp {
    /// A ready app on a fresh database (`None`: MySQL skipped, see [`TestDb::new`]).
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with_env(backend, &[]).await
    }

    pub async fn with_env(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        Some(Self::on(db, extra).await)
    }

    /// Build the app on an existing test database.
    pub async fn on(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
        let state = db.build(extra).await.unwrap_or_else(|e| panic!("the app builds: {e}"));
        let router = zenpro_workspace::router(state.clone());
        TestApp { state, router, db }
    }

    /// A ready app on a fresh SQLite file.
    pub async fn sqlite(extra: &[(&str, &str)]) -> TestApp {
        Self::with_env(Backend::Sqlite, extra).await.expect("SQLite is always available")
    }

    /// A ready app on a fresh database of the MySQL server at `server_url` (see
    /// [`TestDb::on_mysql_server`]: no skip, an unreachable server fails).
    pub async fn mysql_at(server_url: &str, extra: &[(&str, &str)]) -> TestApp {
        Self::on(TestDb::on_mysql_server(server_url), extra).await
    }

    /// A second app on the database of this one, with its own settings.
    pub async fn on_same_db(&self, extra: &[(&str, &str)]) -> TestApp {
        Self::on(self.db.share(), extra).await
    }

    /// Close the app's pool, then drop a MySQL test database.
    pub async fn close(self) {
        self.state.store().db.close().await;
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// The app's own pool.
    pub fn pool(&self) -> Db {
        self.state.store().db.clone()
    }

    /// `SELECT count(*) ...` on the app's database.
    pub async fn count(&self, sql: &str) -> i64 {
        self.pool().fetch_i64(zenpro_store::Query::new(sql)).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Send a request through the router.
    pub async fn request(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("the router is infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("the body is readable").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, body)
    }

    fn builder(method: Method, path: &str, token: Option<&str>) -> http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Self::builder(Method::GET, path, token).body(Body::empty()).unwrap()).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Self::builder(Method::DELETE, path, token).body(Body::empty()).unwrap()).await
    }

    /// A request with a raw body and content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Resp {
        let req =
            Self::builder(method, path, token).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap();
        self.request(req).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_raw(Method::POST, path, token, "application/json", body.to_string()).await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_raw(Method::PUT, path, token, "application/json", body.to_string()).await
    }

    /// A JSON request (`Null` body: none, without a content type); returns status and body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let b = Self::builder(method, path, token);
        let req = if body.is_null() {
            b.body(Body::empty())
        } else {
            b.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
        }
        .expect("a valid request");
        let (status, _, body) = self.request(req).await;
        (status, body)
    }

    /// `GET` as `token`; returns status and body.
    pub async fn get_as(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), Value::Null).await
    }

    /// A form post without a token but with extra headers.
    pub async fn post_form_headers(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(form).expect("form pairs encode");
        let mut b =
            Self::builder(Method::POST, path, None).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.request(b.body(Body::from(body)).expect("a valid request")).await
    }

    /// Password login with an explicit `grant_type=password`; panics unless it succeeds.
    pub async fn login_password_grant(&self, user: &str, pw: &str) -> String {
        let (status, _, body) = self
            .post_form("/api/v1/login", None, &[("grant_type", "password"), ("username", user), ("password", pw)])
            .await;
        assert_eq!(status, StatusCode::OK, "login of {user} failed: {body}");
        body["access_token"].as_str().expect("an access token").to_string()
    }

    /// A token of the auto-activated admin, logged in with `grant_type=password`.
    pub async fn admin_token(&self) -> String {
        self.login_password_grant(ADMIN, ADMIN_PW).await
    }

    /// `POST /login` with an API key.
    pub async fn login_api_key(&self, key: &str) -> Resp {
        self.post_form("/api/v1/login", None, &[("grant_type", "zenml-api-key"), ("password", key)]).await
    }

    /// Create an active (non-admin) user as `admin_token` and log in as them (password grant).
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
        self.login_password_grant(name, password).await
    }

    /// A form post (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(form).expect("form pairs encode");
        self.send_raw(Method::POST, path, token, "application/x-www-form-urlencoded", body).await
    }

    /// Password login; panics unless it succeeds.
    pub async fn login(&self, user: &str, pw: &str) -> String {
        let (status, _, body) = self.post_form("/api/v1/login", None, &[("username", user), ("password", pw)]).await;
        assert_eq!(status, StatusCode::OK, "login of {user} failed: {body}");
        body["access_token"].as_str().expect("an access token").to_string()
    }

    /// A token of the auto-activated admin.
    pub async fn admin(&self) -> String {
        self.login(ADMIN, ADMIN_PW).await
    }

    /// Create a user through the API (as `token`), returning the response body.
    pub async fn create_user(&self, token: &str, body: Value) -> Value {
        let (status, _, resp) = self.post_json("/api/v1/users", Some(token), &body).await;
        assert_eq!(status, StatusCode::OK, "creating {body} failed: {resp}");
        resp
    }
}

/// An app and the admin's token, for tests that act only as the admin.
pub struct AsAdmin {
    pub app: TestApp,
    pub token: String,
}

impl AsAdmin {
    /// Log the admin in on `app`.
    pub async fn new(app: TestApp) -> AsAdmin {
        let token = app.admin().await;
        AsAdmin { app, token }
    }

    /// A request as the admin (`None`: no body).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.call(method, path, Some(&self.token), body.unwrap_or(Value::Null)).await
    }

    /// A request that must succeed.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
        v
    }

    /// A `GET` that must succeed.
    pub async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    /// The number a counting query finds on the app's database.
    pub async fn count(&self, q: zenpro_store::Query) -> i64 {
        self.app.pool().fetch_i64(q).await.expect("the count query runs")
    }
}

/// `ZENPRO_TEST_MYSQL_URL` when set (tests that run on MySQL only when it is set use this and
/// [`TestApp::mysql_at`]).
pub fn mysql_url() -> Option<String> {
    std::env::var("ZENPRO_TEST_MYSQL_URL").ok().filter(|s| !s.trim().is_empty())
}

/// Run a scenario on a spawned task, then close the app (dropping a MySQL test database)
/// whether it passed or panicked, and re-raise its panic.
pub async fn run_then_close<F, Fut>(app: TestApp, scenario: F)
where
    F: FnOnce(std::sync::Arc<TestApp>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
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

/// The claims of a JWT (no signature check).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&raw).expect("JSON claims")
}

/// Run a test body on a fresh app on `backend` (skipped when MySQL is unavailable outside CI).
pub async fn run_app<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(app) = TestApp::new(backend).await {
        f(app).await;
    }
}

/// Run a test body on a fresh, empty database on `backend`.
pub async fn run_db<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(db) = TestDb::new(backend).await {
        f(db).await;
    }
}

/// Define a test once and run it on SQLite (`name::sqlite`) and MariaDB (`name::mariadb`).
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $f:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_app(zenpro_store::Backend::Sqlite, $f).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                $crate::common::run_app(zenpro_store::Backend::MySql, $f).await;
            }
        }
    };
    (@db $name:ident, $f:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_db(zenpro_store::Backend::Sqlite, $f).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                $crate::common::run_db(zenpro_store::Backend::MySql, $f).await;
            }
        }
    };
}

/// Assert a status, showing the body when it differs.
#[macro_export]
macro_rules! assert_status {
    ($resp:expr, $status:expr) => {{
        let r = &$resp;
        assert_eq!(r.0, $status, "unexpected status; body: {}", r.2);
    }};
}

/// Names of the items of a page.
pub fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).expect("encodes")[2..].to_string()
}
