//! The workspace views (`zenpro-dashboard`) mounted at `/` in OSS mode: the app is served on
//! `127.0.0.1:0` (the views call this server's own REST API over HTTP), runs are made through the
//! API as the client makes them, and the pages are fetched with the login cookie.

mod common;

use common::runs::*;
use common::*;
use http::StatusCode;
use serde_json::json;

struct Served {
    app: TestApp,
    base: String,
    http: reqwest::Client,
    cookie: String,
}

async fn serve() -> Served {
    let app = TestApp::sqlite(&[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let cookie = app.state.cookie_name();
    Served { app, base, http, cookie }
}

impl Served {
    async fn page(&self, path: &str, token: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("{}={token}", self.cookie))
            .send()
            .await
            .expect("the page answers");
        let code = StatusCode::from_u16(r.status().as_u16()).expect("a status");
        (code, r.text().await.expect("a body"))
    }
}

/// One 3-step run: produce_int completed, produce_text cached, combine failed.
async fn seed_run(app: &TestApp, f: &Flow, name: &str) -> (String, Vec<String>) {
    let snap = snapshot(app, f, "dash_pipe", &trace_basic()).await;
    let (s, run) = post_run(app, f, &id(&snap), name, Some(&format!("orch-{name}"))).await;
    assert_eq!(s, StatusCode::OK, "{run}");
    let run_id = id(&run[0]);
    let a = artifact(app, f, "trace_int", "1").await;
    let mut steps = Vec::new();
    for (step, status) in [("produce_int", "completed"), ("produce_text", "cached"), ("combine", "failed")] {
        let outputs = if step == "produce_int" { json!({"trace_int": [a]}) } else { json!({}) };
        let (s, b) =
            post_step(app, f, &run_id, step, status, &format!("k-{name}-{step}"), json!({}), outputs, None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        steps.push(id(&b));
    }
    (run_id, steps)
}

#[tokio::test]
async fn views_render_runs_dag_filters_and_escaping() {
    let sv = serve().await;
    let app = &sv.app;
    let f = flow(app).await;
    let (run_id, steps) = seed_run(app, &f, "dash-run-1").await;
    // A second run with an HTML-looking name, and a tag on the first.
    let snap = snapshot(app, &f, "dash_pipe", &trace_basic()).await;
    let (s, r2) = post_run(app, &f, &id(&snap), "<script>alert(1)</script>", None).await;
    assert_eq!(s, StatusCode::OK, "{r2}");

    // Not logged in: redirect to the login page.
    let r = sv.http.get(format!("{}/runs", sv.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");

    let t = &f.token;
    let (s, html) = sv.page("/runs", t).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("dash-run-1") && html.contains(&format!("/runs/{run_id}")), "{html}");
    // Escaped (askama writes `&#60;`/`&#62;`), never raw.
    assert!(
        (html.contains("&lt;script&gt;alert(1)") || html.contains("&#60;script&#62;alert(1)"))
            && !html.contains("<script>alert(1)"),
        "{html}"
    );
    assert!(html.contains("status-failed"), "the failed run is shown failed");
    assert!(html.contains("Page 1 of 1 (2 items)"), "{html}");

    // Filter by status goes to the API: only the failed run remains.
    let (_, html) = sv.page("/runs?status=failed", t).await;
    assert!(html.contains("dash-run-1") && !html.contains("alert(1)"), "{html}");
    assert!(html.contains("(1 items)"));
    let (_, html) = sv.page("/runs?status=completed", t).await;
    assert!(html.contains("(0 items)") && html.contains("Nothing here yet."));
    // Created since: tomorrow → nothing; long ago → both.
    let (_, html) = sv.page("/runs?since=2999-01-01", t).await;
    assert!(html.contains("(0 items)"), "{html}");
    let (_, html) = sv.page("/runs?since=2000-01-01", t).await;
    assert!(html.contains("(2 items)"));
    // Bad input is a 400 page, not a 500.
    let (s, _) = sv.page("/runs?since=yesterday", t).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = sv.page("/runs/not-a-uuid", t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The run page: DAG nodes with statuses, the artifact-labelled edges, the cached mark.
    let (s, html) = sv.page(&format!("/runs/{run_id}"), t).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<svg"));
    assert_eq!(html.matches("<g class=\"node").count(), 3, "{html}");
    assert!(html.contains(r#"class="node status-completed" data-step="produce_int""#));
    assert!(html.contains(r#"class="node status-cached" data-step="produce_text""#));
    assert!(html.contains(r#"class="node status-failed" data-step="combine""#));
    assert!(html.contains("stroke-dasharray"), "cached steps are marked");
    assert!(html.contains(r#"data-from="produce_int" data-to="combine""#));
    assert!(html.contains(r#"data-from="produce_text" data-to="combine""#));
    assert_eq!(html.matches("<g class=\"edge\"").count(), 2);
    assert!(html.contains(">trace_int</text>") && html.contains(">trace_text</text>"), "edges carry artifacts");
    assert!(html.contains(&format!("/steps/{}", steps[0])));

    // The step page: its output artifact version.
    let (s, html) = sv.page(&format!("/steps/{}", steps[0]), t).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Step produce_int") && html.contains("trace_int"), "{html}");
    assert!(html.contains("/artifact_versions/"));

    // The other views.
    for (path, want) in [
        ("/", "default"),
        ("/pipelines", "dash_pipe"),
        ("/artifacts", "trace_int"),
        ("/stacks", "default"),
        ("/components", "artifact_store"),
        ("/secrets", "Secrets"),
        ("/models", "Models"),
    ] {
        let (s, html) = sv.page(path, t).await;
        assert_eq!(s, StatusCode::OK, "{path}: {html}");
        assert!(html.contains(want), "{path} shows {want}: {html}");
    }
}

#[tokio::test]
async fn runs_pagination_and_login_logout() {
    let sv = serve().await;
    let app = &sv.app;
    let f = flow(app).await;
    let snap = snapshot(app, &f, "many", &trace_basic()).await;
    for i in 0..27 {
        let (s, b) = post_run(app, &f, &id(&snap), &format!("many-{i:02}"), None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (_, html) = sv.page("/runs", &f.token).await;
    assert!(html.contains("Page 1 of 2 (27 items)") && html.contains("rel=\"next\""), "{html}");
    assert_eq!(html.matches("href=\"/runs/").count(), 25);
    let (_, html) = sv.page("/runs?page=2", &f.token).await;
    assert!(html.contains("Page 2 of 2") && html.contains("rel=\"prev\""));
    assert_eq!(html.matches("href=\"/runs/").count(), 2);

    // Login form: CSRF cookie + field required; the right password sets the auth cookie.
    let r = sv.http.get(format!("{}/login", sv.base)).send().await.unwrap();
    let csrf_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(csrf_cookie.contains("SameSite=Lax"));
    let csrf = csrf_cookie.split(';').next().unwrap().trim_start_matches("zenpro_csrf=").to_string();
    let form = |pw: &str, tok: &str| {
        vec![("username", ADMIN.to_string()), ("password", pw.to_string()), ("csrf", tok.to_string())]
    };
    let post = |form: Vec<(&'static str, String)>| {
        sv.http.post(format!("{}/login", sv.base)).header("cookie", format!("zenpro_csrf={csrf}")).form(&form).send()
    };
    assert_eq!(post(form(ADMIN_PW, "wrong")).await.unwrap().status().as_u16(), 403);
    assert_eq!(post(form("nope", &csrf)).await.unwrap().status().as_u16(), 401);
    let r = post(form(ADMIN_PW, &csrf)).await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with(&format!("{}=", sv.cookie)) && set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    let (s, html) = sv.page("/pipelines", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("many"));

    // Logout clears the cookie (with the CSRF token only).
    let out = |tok: &str| {
        sv.http
            .post(format!("{}/logout", sv.base))
            .header("cookie", format!("zenpro_csrf={csrf}; {}={token}", sv.cookie))
            .form(&[("csrf", tok.to_string())])
            .send()
    };
    assert_eq!(out("x").await.unwrap().status().as_u16(), 403);
    let r = out(&csrf).await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}
