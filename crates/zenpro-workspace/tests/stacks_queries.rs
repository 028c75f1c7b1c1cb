//! List pages of stacks, components and flavors cost the same number of SQL statements
//! whatever their size: the page, then owners, flavors, stack members and secret links for
//! all items at once. Statements are counted from sqlx's `sqlx::query` log events, with a
//! process-wide subscriber, so this file holds a single test.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{AsAdmin, TestApp};
use http::Method;
use serde_json::json;
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

#[tokio::test]
async fn list_pages_cost_a_bounded_number_of_statements() {
    let statements = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(StatementCounter(statements.clone())).expect("the only subscriber");

    let app = AsAdmin::new(TestApp::sqlite(&[]).await).await;

    // 12 stacks of 2 new components each, with labels and several flavors.
    for i in 0..12 {
        let o = app.ok(Method::POST, "/api/v1/components", Some(json!({"name": format!("o{i}"),
            "type": "orchestrator", "flavor": if i % 2 == 0 { "local" } else { "local_docker" }, "configuration": {}, "labels": {"i": i}}))).await;
        let a = app
            .ok(
                Method::POST,
                "/api/v1/components",
                Some(json!({"name": format!("a{i}"),
            "type": "artifact_store", "flavor": "local", "configuration": {"path": format!("/tmp/{i}")}})),
            )
            .await;
        app.ok(
            Method::POST,
            "/api/v1/stacks",
            Some(json!({"name": format!("s{i}"),
            "components": {"orchestrator": [o["id"]], "artifact_store": [a["id"]]}})),
        )
        .await;
    }

    // The fewest statements of three requests: a connection the pool opens meanwhile (under load)
    // runs its own set-up statements, which are not the page's cost.
    let cost = |path: String| {
        let (app, statements) = (&app, statements.clone());
        async move {
            let mut fewest = (usize::MAX, 0);
            for _ in 0..3 {
                let before = statements.load(Ordering::SeqCst);
                let page = app.ok(Method::GET, &path, None).await;
                let n = statements.load(Ordering::SeqCst) - before;
                fewest = fewest.min((n, page["items"].as_array().map(Vec::len).unwrap_or(0)));
            }
            fewest
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
