//! Pro mode when the control plane goes away and comes back (issue 6 point 3): cached answers
//! keep serving until they expire, logins and unknown decisions fail closed with a 503 naming
//! the control plane, the server recovers by itself, and a refusal (401/403) from the control
//! plane forgets every cached answer at once.
//!
//! Our real control plane runs in-process (`pro_support::Cp`); the workspace reaches it through
//! a gate on its own local port that can be shut (listener closed, established connections cut:
//! what the workspace sees when the control plane process stops) and opened again on the same
//! port.

mod pro_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use pro_support::*;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use zenpro_workspace::AppState;

/// A TCP gate in front of the control plane.
struct Gate {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gate {
    async fn new(target: SocketAddr) -> Gate {
        let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let mut g = Gate { addr, target, task: None };
        g.open().await;
        g
    }

    async fn open(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("the gate's port is free again");
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when the task is aborted) cuts every proxied connection.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut down, _)) = listener.accept().await else { continue };
                while conns.try_join_next().is_some() {}
                conns.spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
        }));
    }

    async fn shut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The control plane, a gate in front of it, and a workspace calling it through the gate.
async fn setup(cache_seconds: u64) -> (Cp, Enrolled, Gate, AppState, tempfile::TempDir) {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let url = reqwest::Url::parse(&cp.api).unwrap();
    let target: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap();
    let gate = Gate::new(target).await;
    let via_gate = cp.api.replacen(&target.to_string(), &gate.addr.to_string(), 1);
    assert_ne!(via_gate, cp.api);
    let dir = tempfile::tempdir().unwrap();
    let ttl = cache_seconds.to_string();
    let ws = workspace(
        &cp,
        &e,
        &dir,
        &[
            ("ZENML_SERVER_PRO_API_URL", &via_gate),
            ("ZENPRO_PRO_CACHE_SECONDS", &ttl),
            ("ZENPRO_PRO_HEARTBEAT_SECONDS", "3600"),
        ],
    )
    .await
    .expect("the workspace enrolls through the gate");
    (cp, e, gate, ws, dir)
}

fn calls(ws: &AppState) -> u64 {
    ws.pro().unwrap().client.calls()
}

fn assert_unreachable(r: &Resp) {
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.json);
    let msg = r.json["detail"][1].as_str().unwrap_or_default();
    assert!(msg.contains("ZenML Pro control plane is not reachable"), "{}", r.json);
}

#[tokio::test]
async fn pro_outage_cached_answers_serve_unknown_fail_closed_and_recovery() {
    let ttl = 8;
    let (cp, e, mut gate, ws, _dir) = setup(ttl).await;
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let (_, alice_cp) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let sa = cp.ok(Method::POST, "/service_accounts", json!({"name": "robot", "organization": "acme"})).await;
    let key = sa["api_key"].as_str().unwrap().to_string();
    cp.ok(Method::POST, "/role_assignments", json!({"role": "Viewer", "user": sa["id"], "workspace": e.ws_id})).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &carol, json!({"name": "p1"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let p1 = r.json["id"].as_str().unwrap().to_string();
    let alice = ws_login(&ws, &alice_cp).await;

    // Warm the caches: a list (allowed ids), a read and a refused create (decisions), a
    // ZENPROKEY_ bearer (external user lookup).
    let warmed = Instant::now();
    let project = format!("/api/v1/projects/{p1}");
    assert_eq!(get(&ws, "/api/v1/projects", Some(&alice)).await.status, StatusCode::OK);
    assert_eq!(get(&ws, &project, Some(&alice)).await.status, StatusCode::OK);
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p2"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&key)).await.json["name"], "robot");

    gate.shut().await;
    let before = calls(&ws);
    // Cached answers keep serving, without a control-plane call.
    let list = get(&ws, "/api/v1/projects", Some(&alice)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(list.json["items"][0]["id"], json!(p1));
    assert_eq!(get(&ws, &project, Some(&alice)).await.status, StatusCode::OK);
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &alice, json!({"name": "p2"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a cached refusal stays a refusal: {}", r.json);
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&key)).await.json["name"], "robot");
    assert_eq!(calls(&ws), before, "all answered from the caches");

    // Unknown decisions and new logins fail closed.
    assert_unreachable(&get(&ws, "/api/v1/stacks", Some(&alice)).await);
    assert_unreachable(&send_json(&ws, Method::PUT, &project, &alice, json!({"description": "x"})).await);
    assert_unreachable(&post_login(&ws, Some(&alice_cp), "").await);
    assert_unreachable(&get(&ws, "/api/v1/current-user", Some(&format!("{key}x"))).await);
    assert!(calls(&ws) > before, "unknown answers were asked for");
    // A failed call does not throw the cached answers away.
    assert_eq!(get(&ws, "/api/v1/projects", Some(&alice)).await.status, StatusCode::OK);
    // Nor does the workspace's own token matter: the local JWT of a logged-in user still works
    // where no decision is needed.
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&alice)).await.status, StatusCode::OK);

    // Once they expire, cached answers fail closed too.
    tokio::time::sleep(Duration::from_secs(ttl).saturating_sub(warmed.elapsed()) + Duration::from_millis(200)).await;
    assert_unreachable(&get(&ws, "/api/v1/projects", Some(&alice)).await);
    assert_unreachable(&get(&ws, &project, Some(&alice)).await);
    assert_unreachable(&get(&ws, "/api/v1/current-user", Some(&key)).await);

    // The control plane comes back: everything works again without a restart.
    gate.open().await;
    let list = get(&ws, "/api/v1/projects", Some(&alice)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.json);
    assert_eq!(list.json["items"][0]["id"], json!(p1));
    assert_eq!(get(&ws, "/api/v1/stacks", Some(&alice)).await.status, StatusCode::OK);
    assert_eq!(get(&ws, "/api/v1/current-user", Some(&key)).await.json["name"], "robot");
    let again = ws_login(&ws, &alice_cp).await;
    assert_eq!(get(&ws, &project, Some(&again)).await.status, StatusCode::OK);
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &carol, json!({"name": "p3"})).await;
    assert_eq!(r.status, StatusCode::OK, "creates (entitlement + usage event) work again: {}", r.json);
    // The heartbeat's call works again too.
    ws.pro().unwrap().client.workspace_status().await.expect("the status update goes through");
}

#[tokio::test]
async fn pro_refusal_forgets_every_cached_answer() {
    let (cp, e, _gate, ws, _dir) = setup(600).await;
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let sa = cp.ok(Method::POST, "/service_accounts", json!({"name": "robot", "organization": "acme"})).await;
    let key = sa["api_key"].as_str().unwrap().to_string();
    cp.ok(Method::POST, "/role_assignments", json!({"role": "Viewer", "user": sa["id"], "workspace": e.ws_id})).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let r = send_json(&ws, Method::POST, "/api/v1/projects", &carol, json!({"name": "p1"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    // The robot's list: its identity and its allowed ids are cached.
    assert_eq!(get(&ws, "/api/v1/projects", Some(&key)).await.status, StatusCode::OK);
    let before = calls(&ws);
    assert_eq!(get(&ws, "/api/v1/projects", Some(&key)).await.status, StatusCode::OK);
    assert_eq!(calls(&ws), before, "cached");

    // The control plane drops the workspace: its token and credentials are refused from now on.
    let (s, v) = cp.call(Method::DELETE, &format!("/workspaces/{}", e.ws_id), Value::Null).await;
    assert!((200..300).contains(&s), "{s} {v}");
    // Still cached until some call meets the refusal...
    assert_eq!(get(&ws, "/api/v1/projects", Some(&key)).await.status, StatusCode::OK);
    // ... an unknown decision does: 401, token reset, retry, the workspace login refused.
    let r = get(&ws, "/api/v1/stacks", Some(&key)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.json);
    assert!(r.json["detail"][1].as_str().unwrap().contains("refused this workspace's credentials"), "{}", r.json);
    assert!(!r.json.to_string().contains(&e.key), "the enrollment key is not echoed");
    // From then on nothing cached is trusted: decisions and the external user are asked again.
    let before = calls(&ws);
    let r = get(&ws, "/api/v1/projects", Some(&key)).await;
    assert_ne!(r.status, StatusCode::OK, "{}", r.json);
    assert!(calls(&ws) > before, "the control plane was asked again");
}
