//! Pro mode against our real control plane (`zenpro-control`), both in-process: the control
//! plane on `127.0.0.1:0` over HTTP (the workspace calls it with its HTTP client), the workspace
//! driven with `oneshot`. Each test has its own control plane and workspace database (SQLite).

mod pro_support;

use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use pro_support::*;
use serde_json::json;

#[tokio::test]
async fn pro_enrollment_info_and_redirect() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    assert_eq!(cp.workspace_row(&e.ws_id).await.status, "not_initialized");
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.expect("the workspace enrolls");
    let row = cp.workspace_row(&e.ws_id).await;
    assert_eq!(row.status, "available");
    assert_eq!(row.server_url.as_deref(), Some("http://ws1.example:8080"));
    assert_eq!(row.version.as_deref(), Some("0.98.0"));

    let info = get(&ws, "/api/v1/info", None).await;
    assert_eq!(info.status, 200);
    let i = info.json;
    assert_eq!(i["id"], json!(e.ws_id), "a fresh Pro database takes the workspace id");
    assert_eq!(i["deployment_type"], "cloud");
    assert_eq!(i["auth_scheme"], "EXTERNAL");
    assert_eq!(i["active"], true);
    assert_eq!(i["dashboard_url"], json!(format!("{}/workspaces/ws1", cp.dash)));
    assert_eq!(i["pro_api_url"], json!(cp.api));
    assert_eq!(i["pro_dashboard_url"], json!(cp.dash));
    assert_eq!(i["pro_organization_id"], json!(e.org_id));
    assert_eq!(i["pro_organization_name"], "acme");
    assert_eq!(i["pro_workspace_id"], json!(e.ws_id));
    assert_eq!(i["pro_workspace_name"], "ws1");
    assert_eq!(
        i["metadata"],
        json!({"account_id": e.org_id, "organization_id": e.org_id, "workspace_id": e.ws_id,
               "organization_name": "acme", "workspace_name": "ws1"})
    );
    // No default user and no default project in Pro mode.
    assert_eq!(ws.store().count_users().await.unwrap(), 0);
    assert!(ws.store().find_project(&zenpro_store::NameOrId::Name("default".into())).await.unwrap().is_none());

    let root = get(&ws, "/", None).await;
    assert_eq!(root.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(root.headers[header::LOCATION], format!("{}/workspaces/ws1", cp.dash).as_str());
}

#[tokio::test]
async fn pro_wrong_enrollment_key_stops_start_up() {
    let cp = Cp::start().await;
    let mut e = enroll(&cp).await;
    e.key = "not-the-enrollment-key".into();
    let dir = tempfile::tempdir().unwrap();
    let err = workspace(&cp, &e, &dir, &[]).await.err().expect("start-up must fail");
    let msg = err.to_string();
    assert!(msg.contains("cannot enroll") && msg.contains("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"), "{msg}");
    assert!(!msg.contains("not-the-enrollment-key"), "the key is not echoed: {msg}");
    assert_eq!(cp.workspace_row(&e.ws_id).await.status, "not_initialized");
}

#[tokio::test]
async fn pro_unreachable_control_plane_stops_start_up() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = format!("http://{closed}/api/v1");
    let err = workspace(&cp, &e, &dir, &[("ZENML_SERVER_PRO_API_URL", &url)]).await.err().expect("must fail");
    assert!(err.to_string().contains("not reachable"), "{err}");
}

#[tokio::test]
async fn pro_external_login() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (alice_id, alice) = cp_user(&cp, &e, "alice", Some("Viewer")).await;

    // Without credentials: where to log in.
    let r = post_login(&ws, None, "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"authorization_url": format!("{}/api/auth/login", cp.dash)}));

    // With a CP token: a workspace JWT and the cookie.
    let r = post_login(&ws, Some(&alice), "grant_type=zenml-external").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let token = r.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(r.json["expires_in"], 3600);
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with(&format!("zenml-server-{}={token}", e.ws_id)), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let me = get(&ws, "/api/v1/current-user", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["name"], "alice");
    let local_id = me.json["id"].as_str().unwrap().to_string();
    let row = ws.store().find_account_by_id(uuid::Uuid::parse_str(&local_id).unwrap()).await.unwrap().unwrap();
    assert_eq!(
        row.external_user_id.as_deref().map(zenpro_store::parse_id),
        Some(uuid::Uuid::parse_str(&alice_id).unwrap())
    );
    assert_eq!(row.email.as_deref(), Some("alice@x.io"));
    assert!(!row.is_admin, "a workspace Viewer is no admin");

    // Implicit grant (no form at all), a second time: the same local user.
    let r = post_login(&ws, Some(&alice), "").await;
    assert_eq!(r.status, 200);
    let again = get(&ws, "/api/v1/current-user", r.json["access_token"].as_str()).await;
    assert_eq!(again.json["id"], json!(local_id));

    // A CP user without any grant on the workspace cannot enter.
    let (_, bob) = cp_user(&cp, &e, "bob", None).await;
    let r = post_login(&ws, Some(&bob), "grant_type=zenml-external").await;
    assert_eq!(r.status, 401, "{}", r.json);
    assert_eq!(r.json["detail"][1], "Not authorized to access this server.");
    // A garbage token is refused by the control plane.
    let r = post_login(&ws, Some("not-a-token"), "").await;
    assert_eq!(r.status, 401);
    // Passwords and device codes are not offered.
    let r = post_login(&ws, None, "username=alice&password=x").await;
    assert_eq!((r.status.as_u16(), r.json["detail"].as_str()), (400, Some("Unsupported grant type: password.")));
    let r = post_login(&ws, None, "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=x&client_id=y")
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn pro_adopts_local_accounts_and_refuses_local_tokens() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    // A user of the OSS days, with a token issued before the switch to Pro.
    let local = ws
        .store()
        .create_account(zenpro_store::users::NewUser { name: "carol".into(), active: true, ..Default::default() })
        .await
        .unwrap();
    let local_id = zenpro_store::parse_id(&local.id);
    let (old_token, _) = zenpro_workspace::routes::login::issue_token(&ws, local_id, |_| {});
    let r = get(&ws, "/api/v1/current-user", Some(&old_token)).await;
    assert_eq!(r.status, 401, "local accounts cannot use workspace tokens in Pro mode");
    assert!(r.json["detail"][1].as_str().unwrap().contains("local account carol"), "{}", r.json);

    let (_, carol) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let r = post_login(&ws, Some(&carol), "").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let me = get(&ws, "/api/v1/current-user", r.json["access_token"].as_str()).await;
    assert_eq!(me.json["id"], json!(local_id.to_string()), "the OSS account is taken over (runs stay hers)");
    assert_eq!(me.json["body"]["is_admin"], true, "a workspace Admin is admin");
    // Once linked, her old workspace token works again.
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&old_token)).await.status, 200);
    // Device-bound tokens are refused.
    let (dev_token, _) = zenpro_workspace::routes::login::issue_token(&ws, local_id, |c| {
        c.device_id = Some(uuid::Uuid::new_v4().to_string());
    });
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&dev_token)).await.status, 401);
}

#[tokio::test]
async fn pro_api_key_bearer_and_login() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let sa = cp.ok(Method::POST, "/service_accounts", json!({"name": "robot", "organization": "acme"})).await;
    let key = sa["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ZENPROKEY_"));
    cp.ok(Method::POST, "/role_assignments", json!({"role": "Developer", "user": sa["id"], "workspace": e.ws_id}))
        .await;

    let calls = ws.pro().unwrap().client.calls();
    let r = get(&ws, "/api/v1/current-user", Some(&key)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], "robot");
    assert_eq!(ws.pro().unwrap().client.calls(), calls + 1, "one authorize_server call");
    // A key bearer shows the service account as the reference's `to_user_model` (found by the
    // OSS-to-Pro compat test: we showed the stored row's null email and external id).
    assert_eq!(r.json["body"]["email_opted_in"], json!(false), "{}", r.json);
    assert_eq!(r.json["metadata"]["email"], json!(""), "{}", r.json);
    assert_eq!(r.json["metadata"]["external_user_id"], json!(null), "{}", r.json);
    let r = get(&ws, "/api/v1/current-user", Some(&key)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(ws.pro().unwrap().client.calls(), calls + 1, "the answer is cached");
    let sa_row = ws.store().find_account(&zenpro_store::NameOrId::Name("robot".into()), true).await.unwrap().unwrap();
    assert!(sa_row.is_service_account && sa_row.external_user_id.is_some());

    // `password=ZENPROKEY_…` at /login gives a workspace token (no cookie).
    let r = post_login(&ws, None, &format!("password={key}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let me = get(&ws, "/api/v1/current-user", r.json["access_token"].as_str()).await;
    assert_eq!(me.json["name"], "robot");
    // A workspace token shows the stored row (its control-plane id).
    assert_eq!(
        me.json["metadata"]["external_user_id"],
        json!(zenpro_store::parse_id(sa_row.external_user_id.as_deref().unwrap()).to_string()),
        "{}",
        me.json
    );

    // A key the control plane does not know.
    let r = get(&ws, "/api/v1/current-user", Some("ZENPROKEY_00000000000000000000000000000000_nope")).await;
    assert_eq!(r.status, 401, "{}", r.json);
}

#[tokio::test]
async fn pro_disabled_endpoints() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, alice) = cp_user(&cp, &e, "alice", Some("Admin")).await;
    let token = post_login(&ws, Some(&alice), "").await.json["access_token"].as_str().unwrap().to_string();
    let me = get(&ws, "/api/v1/current-user", Some(&token)).await.json["id"].as_str().unwrap().to_string();
    for (method, path, status) in [
        (Method::POST, "/api/v1/users".to_string(), 405),
        (Method::DELETE, format!("/api/v1/users/{me}"), 405),
        (Method::PUT, format!("/api/v1/users/{me}/activate"), 404),
        (Method::PUT, format!("/api/v1/users/{me}/deactivate"), 404),
        (Method::PUT, format!("/api/v1/users/{me}/email-opt-in"), 404),
        (Method::PUT, "/api/v1/current-user".to_string(), 405),
        (Method::PUT, "/api/v1/activate".to_string(), 404),
        (Method::GET, "/api/v1/settings".to_string(), 404),
        (Method::PUT, "/api/v1/settings".to_string(), 404),
        (Method::POST, "/api/v1/device_authorization".to_string(), 403),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let r = send(&ws, req).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.json);
    }
    // What stays: reading users and oneself.
    assert_eq!(get(&ws, "/api/v1/users", Some(&token)).await.status, 200);
    // PUT /users/{id} only sets the default project.
    let r = send_json(&ws, Method::PUT, &format!("/api/v1/users/{me}"), &token, json!({"full_name": "Changed"})).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["body"]["full_name"], "");
    // Workspace-level service accounts and keys are deprecated in Pro mode.
    let r =
        send_json(&ws, Method::POST, "/api/v1/service_accounts", &token, json!({"name": "sa", "active": true})).await;
    assert_eq!(r.status, 403, "{}", r.json);
    assert!(r.json["detail"][1].as_str().unwrap().contains("deprecated in ZenML Pro workspaces"));
    // Without credentials the handler's 401 comes first.
    let r = send(&ws, Request::post("/api/v1/service_accounts").body(Body::from("{}")).unwrap()).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn pro_heartbeat_updates_last_seen() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[("ZENPRO_PRO_HEARTBEAT_SECONDS", "1")]).await.unwrap();
    let first = cp.workspace_row(&e.ws_id).await.last_seen.expect("set by the enrollment");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = cp.workspace_row(&e.ws_id).await.last_seen.unwrap();
    assert!(later > first, "{later} > {first}");
    // Stopping the server (dropping its state) stops the heartbeat.
    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = cp.workspace_row(&e.ws_id).await.last_seen.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(cp.workspace_row(&e.ws_id).await.last_seen.unwrap(), stopped);
}
