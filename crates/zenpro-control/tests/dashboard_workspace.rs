//! The workspace views inside the control plane (`/workspaces/{name}/...`): a real control plane
//! and our workspace server in Pro mode (SQLite, serving on `127.0.0.1:0` so the control plane
//! can log in to it), a run recorded through the workspace API, then the pages as CP users: one
//! with a workspace role (runs list, run page with its DAG, model version page), one without
//! (refused), no session (to the login), a workspace that never enrolled and one that is not
//! reachable (clear pages, not 500s).

#[path = "../../zenpro-workspace/tests/pro_support/mod.rs"]
mod pro_support;

use std::net::SocketAddr;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use pro_support::*;
use serde_json::json;
use tower::ServiceExt;

/// A page of the control plane as a browser with the session cookie `token` sees it.
async fn page(cp: &Cp, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::COOKIE, format!("zenpro_session={t}"));
    }
    let resp = zenpro_control::router(cp.state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let location = resp.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, location, body)
}

#[tokio::test]
async fn cp_workspace_views() {
    let cp = Cp::start().await;
    let e = enroll(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("http://{}", listener.local_addr().unwrap());
    let ws = workspace(&cp, &e, &dir, &[("ZENML_SERVER_SERVER_URL", &ws_url)]).await.expect("the workspace enrolls");
    let app = zenpro_workspace::router(ws.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });

    // A run, a model version linked to it, recorded through the API by a workspace Admin.
    let (_, carol_cp) = cp_user(&cp, &e, "carol", Some("Admin")).await;
    let carol = ws_login(&ws, &carol_cp).await;
    let p1 = id_of(&ok(&ws, "/api/v1/projects", &carol, json!({"name": "p1", "display_name": "p1"})).await);
    let stack = id_of(&get(&ws, "/api/v1/stacks?name=default", Some(&carol)).await.json["items"][0]);
    let pipeline = id_of(&ok(&ws, "/api/v1/pipelines", &carol, json!({"project": p1, "name": "pl"})).await);
    let snap = id_of(&ok(&ws, "/api/v1/pipeline_snapshots", &carol, snapshot_body(&p1, &stack, &pipeline)).await);
    let run_body = json!({"project": p1, "name": "run-<one>", "snapshot": snap, "status": "running",
                          "orchestrator_run_id": "o1", "start_time": "2026-11-26T10:31:19.990385",
                          "orchestrator_environment": {}});
    let run = id_of(&ok(&ws, "/api/v1/runs", &carol, run_body).await[0]);
    let step_body = json!({"project": p1, "name": "s1", "start_time": "2026-11-26T10:31:26.178887",
                           "status": "running", "cache_key": "k1", "pipeline_run_id": run, "inputs": {}, "outputs": {}});
    let step = id_of(&ok(&ws, "/api/v1/steps", &carol, step_body).await);
    let model = id_of(&ok(&ws, "/api/v1/models", &carol, json!({"project": p1, "name": "m1"})).await);
    let mv =
        id_of(&ok(&ws, "/api/v1/model_versions", &carol, json!({"project": p1, "name": "v1", "model": model})).await);
    ok(&ws, "/api/v1/model_version_pipeline_runs", &carol, json!({"model_version": mv, "pipeline_run": run})).await;

    // Alice, a workspace Viewer on the control plane, browses it there.
    let (_, alice) = cp_user(&cp, &e, "alice", Some("Viewer")).await;
    let (s, _, body) = page(&cp, "/workspaces/ws1", Some(&alice)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"href="/workspaces/ws1/runs" id="views-runs""#), "{body}");

    let (s, _, body) = page(&cp, "/workspaces/ws1/runs", Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!(r#"href="/workspaces/ws1/runs/{run}""#)), "{body}");
    assert!(body.contains("run-&lt;one&gt;") || body.contains("run-&#60;one&#62;"), "escaped run name: {body}");
    assert!(!body.contains("run-<one>"));
    assert!(body.contains(r#"href="/workspaces/ws1/pipelines""#), "the nav stays inside the nest");
    assert!(body.contains(r#"href="/workspaces/ws1" id="views-home""#), "a link back to the CP page");
    assert!(body.contains(r#"action="/logout""#), "log out of the control plane");

    let (s, _, body) =
        page(&cp, &format!("/workspaces/ws1/runs?status=running&pipeline_id={pipeline}"), Some(&alice)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&run), "the filtered list still holds the run");
    let (s, _, body) = page(&cp, "/workspaces/ws1/runs?status=failed", Some(&alice)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(&format!("/runs/{run}")), "no failed run");

    let (s, _, body) = page(&cp, &format!("/workspaces/ws1/runs/{run}"), Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("<svg"), "the DAG: {body}");
    assert!(body.contains(&format!(r#"href="/workspaces/ws1/steps/{step}""#)), "{body}");

    let (s, _, body) = page(&cp, &format!("/workspaces/ws1/models/{model}"), Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!(r#"href="/workspaces/ws1/model_versions/{mv}""#)), "{body}");
    let (s, _, body) = page(&cp, &format!("/workspaces/ws1/model_versions/{mv}"), Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!(r#"href="/workspaces/ws1/runs/{run}""#)), "the linked run: {body}");
    assert!(body.contains(&format!(r#"href="/workspaces/ws1/models/{model}""#)), "{body}");

    for p in ["/", "/pipelines", "/artifacts", "/models", "/stacks", "/components", "/secrets"] {
        let (s, _, body) = page(&cp, &format!("/workspaces/ws1{p}"), Some(&alice)).await;
        assert_eq!(s, StatusCode::OK, "{p}: {body}");
    }
    let (s, _, body) = page(&cp, "/workspaces/ws1/runs/not-a-uuid", Some(&alice)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");

    // No session: the control plane's login, coming back here.
    let (s, loc, _) = page(&cp, "/workspaces/ws1/runs?page=2", None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc, "/login?next=%2Fworkspaces%2Fws1%2Fruns%3Fpage%3D2");

    // A user with no role at all does not see the workspace; an organization Member sees it but
    // has no access to its views.
    let (_, bob) = cp_user(&cp, &e, "bob", None).await;
    let (s, _, body) = page(&cp, "/workspaces/ws1/runs", Some(&bob)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("No workspace &#39;ws1&#39;") || body.contains("No workspace &#x27;ws1&#x27;"), "{body}");
    let (dave_id, dave) = cp_user(&cp, &e, "dave", None).await;
    cp.ok(Method::POST, "/role_assignments", json!({"role": "Member", "user": dave_id, "organization": e.org_id}))
        .await;
    let (s, _, body) = page(&cp, "/workspaces/ws1", Some(&dave)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("You have no role on this workspace") && !body.contains("views-runs"), "{body}");
    let (s, _, body) = page(&cp, "/workspaces/ws1/runs", Some(&dave)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("You have no access to the runs"), "{body}");
    assert!(!body.contains(&run));

    // A workspace that never enrolled, and one whose server is not reachable.
    let ws2 = cp.ok(Method::POST, "/workspaces", json!({"name": "ws2", "organization": "acme"})).await;
    cp.ok(Method::POST, "/role_assignments", json!({"role": "Viewer", "user": dave_id, "workspace": ws2["id"]})).await;
    let (s, _, body) = page(&cp, "/workspaces/ws2/runs", Some(&dave)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("has not enrolled"), "{body}");
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let e3 = Enrolled {
        org_id: e.org_id.clone(),
        ws_id: id_of(&ws2),
        ws_name: "ws2".into(),
        key: ws2["enrollment_key"].as_str().unwrap().to_string(),
    };
    let dir3 = tempfile::tempdir().unwrap();
    let _ws3 = workspace(&cp, &e3, &dir3, &[("ZENML_SERVER_SERVER_URL", &format!("http://{closed}"))]).await.unwrap();
    let (s, _, body) = page(&cp, "/workspaces/ws2/runs", Some(&dave)).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("not reachable"), "{body}");
    server.abort();
}
