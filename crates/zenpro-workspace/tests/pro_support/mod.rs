//! Shared by the `pro_*` tests: our control plane (`zenpro-control`) serving on `127.0.0.1:0`
//! over HTTP (the workspace calls it with its own HTTP client) with its bootstrap admin logged in,
//! an organization + workspace + enrollment key made through its admin API, and a workspace
//! server in Pro mode driven in-process with `oneshot`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use zenpro_workspace::AppState;

pub const CP_ADMIN_PW: &str = "cp-admin-password";

/// A control plane serving on a free local port, with its bootstrap super-user logged in.
pub struct Cp {
    pub api: String,
    pub dash: String,
    pub admin: String,
    pub state: zenpro_control::AppState,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Cp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Cp {
    pub async fn start() -> Cp {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let env: HashMap<String, String> = [
            ("ZENPRO_CP_DATABASE_URL", format!("sqlite://{}", dir.path().join("cp.db").display())),
            ("ZENPRO_DATA_DIR", dir.path().display().to_string()),
            ("ZENPRO_CP_ADMIN_PASSWORD", CP_ADMIN_PW.to_string()),
            ("ZENPRO_CP_TOKEN_SECRET", "cp-test-token-secret".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut config = zenpro_control::Config::from_map(&env).unwrap();
        config.port = port;
        let state = zenpro_control::build(config).await.unwrap();
        let app = zenpro_control::router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        let api = state.config.api_url();
        let dash = state.config.dashboard_url();
        let mut cp = Cp { api, dash, admin: String::new(), state, http: reqwest::Client::new(), _dir: dir, server };
        cp.admin = cp.login("admin", CP_ADMIN_PW).await;
        cp
    }

    /// A CP user token from a password login.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/auth/login", self.api))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "CP login of {username}");
        r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    }

    pub async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&s), "CP {method} {path}: {s} {v}");
        v
    }

    pub async fn workspace_row(&self, id: &str) -> zenpro_control::store::workspaces::WorkspaceRow {
        self.state.store.get_workspace_by_id_or_name(id).await.unwrap().unwrap()
    }
}

/// An organization and a workspace created through the admin API.
pub struct Enrolled {
    pub org_id: String,
    pub ws_id: String,
    pub ws_name: String,
    pub key: String,
}

pub async fn enroll(cp: &Cp) -> Enrolled {
    let org = cp.ok(Method::POST, "/organizations", json!({"name": "acme"})).await;
    let ws = cp.ok(Method::POST, "/workspaces", json!({"name": "ws1", "organization": "acme"})).await;
    Enrolled {
        org_id: org["id"].as_str().unwrap().to_string(),
        ws_id: ws["id"].as_str().unwrap().to_string(),
        ws_name: "ws1".into(),
        key: ws["enrollment_key"].as_str().unwrap().to_string(),
    }
}

/// A workspace server in Pro mode, with its database in `dir`.
pub async fn workspace(
    cp: &Cp,
    e: &Enrolled,
    dir: &tempfile::TempDir,
    extra: &[(&str, &str)],
) -> Result<AppState, zenpro_types::Error> {
    let mut env: HashMap<String, String> = [
        ("ZENML_STORE_URL", format!("sqlite:///{}", dir.path().join("z.db").display())),
        ("ZENPRO_DATA_DIR", dir.path().display().to_string()),
        ("ZENML_SERVER_JWT_SECRET_KEY", "ws-test-key".into()),
        ("ZENML_SERVER_SERVER_URL", "http://ws1.example:8080".into()),
        ("ZENML_SERVER_DEPLOYMENT_TYPE", "cloud".into()),
        ("ZENML_SERVER_PRO_API_URL", format!("{}/", cp.api)),
        ("ZENML_SERVER_PRO_DASHBOARD_URL", cp.dash.clone()),
        ("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", e.key.clone()),
        ("ZENML_SERVER_PRO_OAUTH2_AUDIENCE", cp.api.clone()),
        ("ZENML_SERVER_PRO_ORGANIZATION_ID", e.org_id.clone()),
        ("ZENML_SERVER_PRO_ORGANIZATION_NAME", "acme".into()),
        ("ZENML_SERVER_PRO_WORKSPACE_ID", e.ws_id.clone()),
        ("ZENML_SERVER_PRO_WORKSPACE_NAME", e.ws_name.clone()),
        ("ZENML_SERVER_PRO_HTTP_TIMEOUT", "5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    zenpro_workspace::build(zenpro_workspace::Config::from_map(&env).unwrap()).await
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub json: Value,
}

pub async fn send(state: &AppState, req: Request<Body>) -> Resp {
    let resp = zenpro_workspace::router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

pub async fn get(state: &AppState, path: &str, bearer: Option<&str>) -> Resp {
    let mut b = Request::get(path);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(state, b.body(Body::empty()).unwrap()).await
}

pub async fn post_login(state: &AppState, bearer: Option<&str>, form: &str) -> Resp {
    let mut b = Request::post("/api/v1/login").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(state, b.body(Body::from(form.to_string())).unwrap()).await
}

/// A CP user with a workspace role (or none), and its CP token.
pub async fn cp_user(cp: &Cp, e: &Enrolled, name: &str, role: Option<&str>) -> (String, String) {
    let u = cp
        .ok(
            Method::POST,
            "/users",
            json!({"username": name, "password": "pw-of-user-1", "email": format!("{name}@x.io")}),
        )
        .await;
    let id = u["id"].as_str().unwrap().to_string();
    if let Some(role) = role {
        cp.ok(Method::POST, "/role_assignments", json!({"role": role, "user": id, "workspace": e.ws_id})).await;
    }
    (id, cp.login(name, "pw-of-user-1").await)
}

/// A request with a JSON body as `bearer`.
pub async fn send_json(state: &AppState, method: Method, path: &str, bearer: &str, body: Value) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(state, req).await
}

/// Log in to the workspace with a CP token; the workspace JWT.
pub async fn ws_login(state: &AppState, cp_token: &str) -> String {
    let r = post_login(state, Some(cp_token), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    r.json["access_token"].as_str().unwrap().to_string()
}

/// The `id` of a response model.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// `POST` as `token`, expecting 200; the response body.
pub async fn ok(ws: &AppState, path: &str, token: &str, body: Value) -> Value {
    let r = send_json(ws, Method::POST, path, token, body).await;
    assert_eq!(r.status, StatusCode::OK, "POST {path}: {}", r.json);
    r.json
}

/// A one-step snapshot body as the 0.98.0 client sends it (trimmed).
pub fn snapshot_body(project: &str, stack: &str, pipeline: &str) -> Value {
    let source = |a: &str| json!({"module": "p", "attribute": a, "type": "user"});
    let spec = json!({"source": source("s1"), "upstream_steps": [], "inputs": {}, "invocation_id": "s1",
                      "enable_heartbeat": false, "parameter_spec": {}});
    let config = json!({"enable_cache": null, "step_operator": null, "parameters": {}, "settings": {}, "environment": {},
           "secrets": [], "extra": {}, "failure_hook_source": null, "model": null, "retry": null,
           "substitutions": {}, "cache_policy": {"include_step_code": true, "ignored_inputs": null},
           "heartbeat_healthy_threshold": 30, "outputs": {}, "name": "s1", "step_type": null});
    json!({
        "project": project, "run_name_template": "pl-{date}-{time}",
        "pipeline_configuration": {"enable_cache": null, "enable_heartbeat": null, "environment": {}, "secrets": [],
            "execution_mode": "continue_on_failure", "settings": {}, "tags": null, "extra": {}, "model": null,
            "parameters": {}, "retry": null, "substitutions": {}, "cache_policy": null, "name": "pl",
            "steps_to_skip": [], "skip_successful_steps": false, "step_input_overrides": {},
            "step_default_input_overrides": {}},
        "step_configurations": {"s1": {"spec": spec, "config": config, "step_config_overrides": config}},
        "client_environment": {}, "client_version": "0.98.0", "server_version": "0.98.0",
        "pipeline_version_hash": "059737cf2cb83b8e10083ecbec2fe929",
        "pipeline_spec": {"version": "0.5", "source": source("pl"), "parameters": {}, "steps": [spec], "outputs": []},
        "is_dynamic": false, "name": null, "description": null, "source_code": "", "stack": stack, "pipeline": pipeline,
    })
}
