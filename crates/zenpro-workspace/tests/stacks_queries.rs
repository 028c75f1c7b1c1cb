//! List pages of stacks, components and flavors cost the same number of SQL statements
//! whatever their size: the page, then owners, flavors, stack members and secret links for
//! all items at once. Statements are counted from sqlx's `sqlx::query` log events, with a
//! process-wide subscriber, so this file holds a single test.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

/// Counts sqlx statement events; everything else is disabled.
struct StatementCounter(Arc<AtomicUsize>);

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == "sqlx::query"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        if e.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn call(router: &Router, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    v
}

#[tokio::test]
async fn list_pages_cost_a_bounded_number_of_statements() {
    let statements = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(StatementCounter(statements.clone())).expect("the only subscriber");

    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        ("ZENML_STORE_URL", format!("sqlite:///{}", dir.path().join("z.db").display())),
        ("ZENML_SERVER_AUTO_ACTIVATE", "true".into()),
        ("ZENML_DEFAULT_USER_PASSWORD", "pw".into()),
        ("ZENML_SERVER_JWT_SECRET_KEY", "k".into()),
        ("ZENPRO_DATA_DIR", dir.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let state = zenpro_workspace::build(zenpro_workspace::Config::from_map(&env).unwrap()).await.unwrap();
    let router = zenpro_workspace::router(state);
    let login = Request::post("/api/v1/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("username=default&password=pw"))
        .unwrap();
    let resp = router.clone().oneshot(login).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let token = serde_json::from_slice::<Value>(&bytes).unwrap()["access_token"].as_str().unwrap().to_string();

    // 12 stacks of 2 new components each, with labels and several flavors.
    for i in 0..12 {
        let o = call(&router, &token, Method::POST, "/api/v1/components", Some(json!({"name": format!("o{i}"),
            "type": "orchestrator", "flavor": if i % 2 == 0 { "local" } else { "local_docker" }, "configuration": {}, "labels": {"i": i}}))).await;
        let a = call(
            &router,
            &token,
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": format!("a{i}"),
            "type": "artifact_store", "flavor": "local", "configuration": {"path": format!("/tmp/{i}")}})),
        )
        .await;
        call(
            &router,
            &token,
            Method::POST,
            "/api/v1/stacks",
            Some(json!({"name": format!("s{i}"),
            "components": {"orchestrator": [o["id"]], "artifact_store": [a["id"]]}})),
        )
        .await;
    }

    let cost = |path: String| {
        let (router, token, statements) = (router.clone(), token.clone(), statements.clone());
        async move {
            let before = statements.load(Ordering::SeqCst);
            let page = call(&router, &token, Method::GET, &path, None).await;
            (statements.load(Ordering::SeqCst) - before, page["items"].as_array().map(Vec::len).unwrap_or(0))
        }
    };
    for (small, large, min_items) in [
        // Newest first, so the small page has owners too (pages without any skip that query).
        ("/api/v1/components?hydrate=True&size=2&sort_by=desc:created", "/api/v1/components?hydrate=True&size=100", 27),
        (
            "/api/v1/components?hydrate=False&size=2&sort_by=desc:created",
            "/api/v1/components?hydrate=False&size=100",
            27,
        ),
        ("/api/v1/stacks?hydrate=True&size=2&sort_by=desc:created", "/api/v1/stacks?hydrate=True&size=100", 13),
        ("/api/v1/stacks?hydrate=False&size=2&sort_by=desc:created", "/api/v1/stacks?hydrate=False&size=100", 13),
        ("/api/v1/flavors?hydrate=True&size=2", "/api/v1/flavors?hydrate=True&size=100", 82),
    ] {
        let (n_small, _) = cost(small.to_string()).await;
        let (n_large, items) = cost(large.to_string()).await;
        assert!(items >= min_items, "{large}: {items} items");
        assert_eq!(n_small, n_large, "{small} costs {n_small} statements, {large} costs {n_large}");
        // Authentication (one account lookup) plus at most five list statements.
        assert!(n_large <= 6, "{large} costs {n_large} statements");
        eprintln!("{large}: {items} items in {n_large} statements");
    }
}
