//! Pro-mode RBAC against our real control plane: role grants decide what a workspace user may
//! create, read, update and delete; lists are restricted to the allowed ids plus owned rows;
//! reportable creates report a usage event; decisions are cached.

mod pro_support;

use http::{Method, StatusCode};
use pro_support::*;
use serde_json::{Value, json};

fn names(page: &Value) -> Vec<String> {
    let mut v: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn pro_rbac_roles_decide() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let alice = ws_login(&ws, &alice_cp).await;

    // A workspace Admin creates projects; each creation is reported once.
    let mut ids = Vec::new();
    for name in ["p1", "p2"] {
        let r =
            send_json(&ws, Method::POST, "/api/v1/projects", &carol, json!({"name": name, "display_name": name})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        ids.push(r.json["id"].as_str().unwrap().to_string());
    }
    let ws_uuid = uuid::Uuid::parse_str(&e.ws_id).unwrap();
    let reported = cp.state.store.usage_events(ws_uuid).await.unwrap();
    assert_eq!(reported.len(), 2, "one usage event per created project");

    // A workspace Viewer reads everything but writes nothing.
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p3"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][1], "Insufficient permissions to CREATE resource 'project'.");
    let list = get(&ws, "/api/v1/projects", Some(&alice)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(names(&list.json), ["p1", "p2"]);
    assert_eq!(get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&alice)).await.status, StatusCode::OK);
    let r =
        send_json(&ws, Method::PUT, &format!("/api/v1/projects/{}", ids[0]), &alice, json!({"description": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(r.json["detail"][1], format!("Insufficient permissions to UPDATE resource 'project/{}'.", ids[0]));
    let r = send_json(&ws, Method::POST, "/api/v1/secrets", &alice, json!({"name": "s", "values": {"a": "b"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // Decisions are cached: the same requests again make no control-plane call.
    let calls = ws.pro().unwrap().client.calls();
    get(&ws, "/api/v1/projects", Some(&alice)).await;
    get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&alice)).await;
    send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p3"})).await;
    assert_eq!(ws.pro().unwrap().client.calls(), calls);

    // A user with a project role only lists that project.
    let (bob_id, _) = cp_user(&cp, &e, "bob", None).await;
    cp.ok(
        Method::POST,
        "/role_assignments",
        json!({"role": "Viewer", "user": bob_id, "workspace": e.ws_id, "project": ids[1]}),
    )
    .await;
    let bob = ws_login(&ws, &cp.login("bob", "pw-of-user-1").await).await;
    let list = get(&ws, "/api/v1/projects", Some(&bob)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(names(&list.json), ["p2"]);
    assert_eq!(list.json["total"], 1);
    let r = get(&ws, &format!("/api/v1/projects/{}", ids[0]), Some(&bob)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);

    // The Admin deletes; the control plane forgets the resource's shares.
    let r = send_json(&ws, Method::DELETE, &format!("/api/v1/projects/{}", ids[0]), &carol, Value::Null).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

#[tokio::test]
async fn pro_rbac_owner_skips_the_control_plane() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&cp, &e, &dir, &[]).await.unwrap();
    let (_, dev_cp) = cp_user(&cp, &e, "dev", Some("Stack Admin")).await;
    let (_, viewer_cp) = cp_user(&cp, &e, "viewer", Some("Viewer")).await;
    let dev = ws_login(&ws, &dev_cp).await;
    let viewer = ws_login(&ws, &viewer_cp).await;
    // A Stack Admin creates a secret: the owner reads and updates it without asking again.
    let r = send_json(
        &ws,
        Method::POST,
        "/api/v1/secrets",
        &dev,
        json!({"name": "s1", "values": {"k": "v"}, "private": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let sid = r.json["id"].as_str().unwrap().to_string();
    let calls = ws.pro().unwrap().client.calls();
    assert_eq!(get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&dev)).await.status, StatusCode::OK);
    assert_eq!(ws.pro().unwrap().client.calls(), calls, "owners skip the control plane");
    // A Viewer reads it but cannot delete it.
    assert_eq!(get(&ws, &format!("/api/v1/secrets/{sid}"), Some(&viewer)).await.status, StatusCode::OK);
    let r = send_json(&ws, Method::DELETE, &format!("/api/v1/secrets/{sid}"), &viewer, Value::Null).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
}
