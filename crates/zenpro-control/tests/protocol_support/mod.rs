//! Set-up shared by the `protocol_*` tests: organizations, enrolled workspaces, users, grants and
//! teams made directly through the store (so these tests do not depend on the admin API), and
//! requests as a workspace server sends them (workspace bearer + `zenml-server-*` headers).

#![allow(dead_code)]

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::Value;
use uuid::Uuid;
use zenpro_control::auth::{TokenKind, issue_token, new_api_key, new_enrollment_key};
use zenpro_control::store::roles::NewGrant;
use zenpro_control::store::users::NewUser;

use crate::common::{Resp, TestApp};

/// An enrolled workspace: ids, its enrollment key and a client-credentials token.
#[derive(Debug, Clone)]
pub struct Ws {
    pub id: Uuid,
    pub org: Uuid,
    pub name: String,
    pub key: String,
    pub token: String,
    pub url: String,
}

pub async fn org(app: &TestApp, name: &str) -> Uuid {
    app.state.store.create_organization(name, None).await.expect("organization").id
}

/// A workspace created in the store (`not_initialized`), not yet reported.
pub async fn new_workspace(app: &TestApp, org: Uuid, name: &str) -> Ws {
    let (key, hash) = new_enrollment_key().expect("key");
    let ws = app.state.store.create_workspace(org, name, None, None, &hash).await.expect("workspace");
    let r = app
        .form_login(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &ws.id.to_string()),
                ("client_secret", &key),
                ("audience", "http://127.0.0.1:8080/api/v1"),
            ],
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "client credentials: {}", r.2);
    let token = r.2["access_token"].as_str().expect("access_token").to_string();
    let url = format!("http://{name}.example.test:8080");
    Ws { id: ws.id, org, name: name.to_string(), key, token, url }
}

/// A workspace that has reported its status (`available`), as the zenml server does at start.
pub async fn workspace(app: &TestApp, org: Uuid, name: &str) -> Ws {
    let ws = new_workspace(app, org, name).await;
    let r = ws_call(app, &ws, Method::PATCH, "/workspace_status", None).await;
    assert_eq!(r.0, StatusCode::OK, "workspace_status: {}", r.2);
    ws
}

/// A request as the workspace server sends it.
pub async fn ws_call(app: &TestApp, ws: &Ws, method: Method, path: &str, body: Option<Value>) -> Resp {
    ws_call_as(app, ws, &ws.token.clone(), method, path, body).await
}

/// A request with the workspace's headers and any bearer.
pub async fn ws_call_as(app: &TestApp, ws: &Ws, bearer: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header("authorization", format!("Bearer {bearer}"))
        .header("zenml-server-id", ws.id.to_string())
        .header("zenml-server-version", "0.98.0")
        .header("zenml-server-url", &ws.url);
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("a request");
    app.send(req).await
}

/// A user (not a super-user unless asked) and a CP user token for it.
pub async fn user(app: &TestApp, name: &str, superuser: bool) -> (Uuid, String) {
    let u = app
        .state
        .store
        .create_user(NewUser {
            username: name.to_string(),
            email: Some(format!("{name}@example.test")),
            full_name: Some(format!("{name} full")),
            is_superuser: superuser,
            active: true,
            ..NewUser::default()
        })
        .await
        .expect("user");
    (u.id, token_for(app, u.id))
}

/// A user token for an existing user.
pub fn token_for(app: &TestApp, id: Uuid) -> String {
    issue_token(&app.state.token_key, TokenKind::User, id, 3600).expect("token")
}

/// A service account in `org` with a `ZENPROKEY_` key.
pub async fn service_account(app: &TestApp, org: Uuid, name: &str) -> (Uuid, String) {
    let u = app
        .state
        .store
        .create_user(NewUser {
            username: name.to_string(),
            is_service_account: true,
            organization_id: Some(org),
            active: true,
            ..NewUser::default()
        })
        .await
        .expect("service account");
    let key_id = Uuid::new_v4();
    let (key, hash) = new_api_key(key_id).expect("key");
    app.state.store.create_api_key(key_id, u.id, &hash).await.expect("api key");
    (u.id, key)
}

/// Grant a role to a user or team.
pub async fn grant(
    app: &TestApp,
    role: &str,
    org: Uuid,
    workspace: Option<Uuid>,
    project: Option<Uuid>,
    user: Option<Uuid>,
    team: Option<Uuid>,
) {
    let scope = match (workspace, project) {
        (None, _) => "organization",
        (Some(_), None) => "workspace",
        (Some(_), Some(_)) => "project",
    };
    app.state
        .store
        .create_grant(NewGrant {
            role: role.to_string(),
            scope: scope.to_string(),
            organization_id: org,
            workspace_id: workspace,
            project_id: project,
            user_id: user,
            team_id: team,
        })
        .await
        .expect("grant");
}

pub async fn grant_ws(app: &TestApp, ws: &Ws, role: &str, user: Uuid) {
    grant(app, role, ws.org, Some(ws.id), None, Some(user), None).await;
}

pub async fn grant_project(app: &TestApp, ws: &Ws, project: Uuid, role: &str, user: Uuid) {
    grant(app, role, ws.org, Some(ws.id), Some(project), Some(user), None).await;
}

pub async fn grant_org(app: &TestApp, org: Uuid, role: &str, user: Uuid) {
    grant(app, role, org, None, None, Some(user), None).await;
}

/// A team of `org` with these members.
pub async fn team(app: &TestApp, org: Uuid, name: &str, members: &[Uuid]) -> Uuid {
    let t = app.state.store.create_team(org, name, None).await.expect("team");
    for m in members {
        app.state.store.add_team_member(t.id, *m).await.expect("member");
    }
    t.id
}

/// `POST /rbac/check_permissions` as the workspace: the answer map.
pub async fn check(app: &TestApp, ws: &Ws, user: Uuid, action: &str, resources: &[String]) -> Value {
    let r = ws_call(
        app,
        ws,
        Method::POST,
        &format!("/rbac/check_permissions?user_id={user}&action={action}"),
        Some(serde_json::json!(resources)),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "check_permissions: {}", r.2);
    r.2
}

/// Whether one resource is allowed.
pub async fn can(app: &TestApp, ws: &Ws, user: Uuid, action: &str, resource: &str) -> bool {
    check(app, ws, user, action, &[resource.to_string()]).await[resource].as_bool().expect("a boolean for the key")
}

/// `GET /rbac/allowed_resource_ids` as the workspace.
pub async fn allowed(app: &TestApp, ws: &Ws, user: Uuid, action: &str, resource: &str) -> Value {
    let q = serde_urlencoded::to_string([
        ("user_id", user.to_string().as_str()),
        ("resource", resource),
        ("action", action),
    ])
    .expect("query");
    let r = ws_call(app, ws, Method::GET, &format!("/rbac/allowed_resource_ids?{q}"), None).await;
    assert_eq!(r.0, StatusCode::OK, "allowed_resource_ids: {}", r.2);
    r.2
}
