//! Test harness of the control plane: the same app in-process on a fresh database per test.
//!
//! * SQLite: a file in a temporary folder.
//! * PostgreSQL: the server in `ZENPRO_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`);
//!   each test creates a database `zt_<random hex>` and drops it afterwards (also on failure).
//! * MariaDB/MySQL: the server in `ZENPRO_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`),
//!   same scheme.
//!
//! An unreachable server skips that variant with a note, unless `CI` is set (then it fails).
//! `backend_tests!(name, |app| async move { ... })` defines `name::{sqlite, postgres, mariadb}`;
//! `backend_tests!(name, [("VAR", "value")], |app| ...)` adds configuration variables.

#![allow(dead_code)]

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zenpro_control::{AppState, Config};

pub const ADMIN: &str = "admin";
pub const ADMIN_PW: &str = "admin-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| default.to_string())
}

fn server_url(backend: Backend) -> String {
    let url = match backend {
        Backend::Postgres => env_or("ZENPRO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
        _ => env_or("ZENPRO_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
    };
    let (scheme, rest) = url.split_once("://").expect("test database URLs are scheme://user@host:port");
    format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or(rest))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty())
}

async fn admin_sql(backend: Backend, server: &str, sql: String) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    match backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await?;
            c.close().await
        }
        _ => {
            let mut c = sqlx::MySqlConnection::connect(server).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await?;
            c.close().await
        }
    }
}

/// A fresh database, dropped with this value.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    server: Option<(Backend, String, String)>,
}

impl TestDb {
    /// `None` when the server is unreachable outside CI (the test is skipped).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}", dir.path().join("cp.db").display());
            return Some(TestDb { url, dir, server: None });
        }
        let server = server_url(backend);
        let name = format!("zt_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let create = match backend {
            Backend::Postgres => format!("CREATE DATABASE {name}"),
            _ => format!("CREATE DATABASE `{name}`"),
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), admin_sql(backend, &server, create)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if !in_ci() => {
                eprintln!("note: skipping a {backend:?} test: cannot create a database ({e})");
                return None;
            }
            Ok(Err(e)) => panic!("CI is set and the {backend:?} test server is unusable: {e}"),
            Err(_) if !in_ci() => {
                eprintln!("note: skipping a {backend:?} test: connecting timed out");
                return None;
            }
            Err(_) => panic!("CI is set and connecting to the {backend:?} test server timed out"),
        }
        Some(TestDb { url: format!("{server}/{name}"), dir, server: Some((backend, server, name)) })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((backend, server, name)) = self.server.take() else { return };
        let sql = match backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        // A runtime of its own: Drop may run inside or outside the test's runtime.
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(admin_sql(backend, &server, sql))
        })
        .join();
        if let Ok(Err(e)) = r {
            eprintln!("note: could not drop the test database: {e}");
        }
    }
}

/// A response: status, headers, JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp(pub StatusCode, pub HeaderMap, pub Value);

/// The app under test with a logged-in super-user.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub admin_token: String,
    pub db: TestDb,
    pub env: HashMap<String, String>,
}

impl TestApp {
    /// Build the app on `db` with the default test configuration plus `extra` variables.
    pub async fn start(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
        let mut env: HashMap<String, String> = [
            ("ZENPRO_DATA_DIR", db.dir.path().to_str().expect("utf-8 temp path")),
            ("ZENPRO_CP_DATABASE_URL", db.url.as_str()),
            ("ZENPRO_CP_ADMIN_USERNAME", ADMIN),
            ("ZENPRO_CP_ADMIN_PASSWORD", ADMIN_PW),
            ("ZENPRO_CP_TOKEN_SECRET", "test-token-secret"),
            ("ZENPRO_CP_URL", "http://127.0.0.1:8080"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_map(&env).expect("test configuration");
        let state = zenpro_control::build(config).await.expect("the control plane starts");
        let router = zenpro_control::router(state.clone());
        let mut app = TestApp { router, state, admin_token: String::new(), db, env };
        app.admin_token = app.login(ADMIN, ADMIN_PW).await;
        app
    }

    /// Send a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(format!("/api/v1{path}"));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("a request");
        self.send(req).await
    }

    /// Send a raw body.
    pub async fn call_raw(&self, method: Method, path: &str, token: Option<&str>, body: &str, ctype: &str) -> Resp {
        let mut req = Request::builder().method(method).uri(format!("/api/v1{path}")).header("content-type", ctype);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.send(req.body(Body::from(body.to_string())).expect("a request")).await
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("the router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp(status, headers, json)
    }

    /// `POST /auth/login` with form fields and an optional bearer.
    pub async fn form_login(&self, pairs: &[(&str, &str)], bearer: Option<&str>) -> Resp {
        let body = serde_urlencoded::to_string(pairs).expect("form");
        self.call_raw(Method::POST, "/auth/login", bearer, &body, "application/x-www-form-urlencoded").await
    }

    /// Log in with a password; panics unless 200.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.form_login(&[("username", username), ("password", password)], None).await;
        assert_eq!(r.0, StatusCode::OK, "login of {username} failed: {}", r.2);
        r.2["access_token"].as_str().expect("access_token").to_string()
    }

    /// As the super-user; asserts the status and returns the body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>, expect: StatusCode) -> Value {
        let r = self.call(method.clone(), path, Some(&self.admin_token.clone()), body).await;
        assert_eq!(r.0, expect, "{method} {path}: {}", r.2);
        r.2
    }

    pub async fn as_user(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: StatusCode,
    ) -> Value {
        let r = self.call(method.clone(), path, Some(token), body).await;
        assert_eq!(r.0, expect, "{method} {path}: {}", r.2);
        r.2
    }

    /// Create a user (as the super-user) and log in as them.
    pub async fn user(&self, name: &str) -> (String, String) {
        let u = self
            .admin(
                Method::POST,
                "/users",
                Some(serde_json::json!({"username": name, "password": format!("{name}-password")})),
                StatusCode::OK,
            )
            .await;
        let token = self.login(name, &format!("{name}-password")).await;
        (u["id"].as_str().expect("id").to_string(), token)
    }

    /// Create an organization (as the super-user); its id.
    pub async fn org(&self, name: &str) -> String {
        let o =
            self.admin(Method::POST, "/organizations", Some(serde_json::json!({"name": name})), StatusCode::OK).await;
        o["id"].as_str().expect("id").to_string()
    }

    /// Grant `role` to a user on an organization (as the super-user).
    pub async fn grant_org(&self, user_id: &str, org_id: &str, role: &str) -> Value {
        self.admin(
            Method::POST,
            "/role_assignments",
            Some(serde_json::json!({"role": role, "user": user_id, "organization": org_id})),
            StatusCode::OK,
        )
        .await
    }
}

/// Run `f` on a fresh app of `backend` (skipped when the server is unreachable outside CI).
pub async fn run_app<F, Fut>(backend: Backend, extra: &[(&str, &str)], f: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(db) = TestDb::new(backend).await else { return };
    let app = TestApp::start(db, extra).await;
    f(app).await;
}

/// One test body on the three backends.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, [$(($k:expr, $v:expr)),* $(,)?], $f:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_app($crate::common::Backend::Sqlite, &[$(($k, $v)),*], $f).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run_app($crate::common::Backend::Postgres, &[$(($k, $v)),*], $f).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                $crate::common::run_app($crate::common::Backend::MariaDb, &[$(($k, $v)),*], $f).await;
            }
        }
    };
    ($name:ident, $f:expr) => {
        $crate::backend_tests!($name, [], $f);
    };
}
