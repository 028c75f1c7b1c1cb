//! Concurrent `POST /runs` for one snapshot and orchestrator run id (several orchestrator
//! processes or retried requests): exactly one run, one `created: true` answer, never an
//! error. On SQLite and on MariaDB/MySQL (`ZENPRO_TEST_MYSQL_URL`).

mod common;

use axum::body::Body;
use common::runs::*;
use common::*;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PARALLEL: usize = 8;

/// `PARALLEL` identical requests at once; their answers.
async fn race(app: &TestApp, f: &Flow, body: Value) -> Vec<(StatusCode, Value)> {
    let mut handles = Vec::new();
    for _ in 0..PARALLEL {
        let router = app.router.clone();
        let req = Request::post("/api/v1/runs")
            .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        handles.push(tokio::spawn(async move {
            let resp = router.oneshot(req).await.expect("infallible");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("the request task ends"));
    }
    out
}

fn check_one_run(answers: &[(StatusCode, Value)]) -> String {
    for (s, b) in answers {
        assert_eq!(*s, StatusCode::OK, "{b}");
    }
    let ids: std::collections::HashSet<String> = answers.iter().map(|(_, b)| id(&b[0])).collect();
    assert_eq!(ids.len(), 1, "one run for all: {answers:?}");
    let created = answers.iter().filter(|(_, b)| b[1] == json!(true)).count();
    assert_eq!(created, 1, "exactly one answer says created");
    ids.into_iter().next().unwrap()
}

backend_tests!(parallel_orchestrator_requests_make_one_run, |app: TestApp| async move {
    let f = flow(&app).await;

    // Without a placeholder (e.g. a scheduled run): one insert wins, the others read it back.
    let snap = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let answers = race(&app, &f, run_body(&f, &snap, "scheduled-run", Some("orch-a"))).await;
    let run = check_one_run(&answers);
    let hex = snap.replace('-', "");
    assert_eq!(app.count(&format!("SELECT count(*) FROM pipeline_run WHERE snapshot_id = '{hex}'")).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM pipeline WHERE name = 'trace_basic' AND run_count = 1").await, 1);

    // With a placeholder: one request claims it, the others get the claimed run.
    let snap2 = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let (s, placeholder) = post_run(&app, &f, &snap2, "placeholder-run", None).await;
    assert_eq!(s, StatusCode::OK, "{placeholder}");
    let answers = race(&app, &f, run_body(&f, &snap2, "orchestrator-run", Some("orch-b"))).await;
    let claimed = check_one_run(&answers);
    assert_eq!(claimed, id(&placeholder[0]), "the placeholder is the run");
    assert_ne!(claimed, run);
    let hex = snap2.replace('-', "");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM pipeline_run WHERE snapshot_id = '{hex}' AND orchestrator_run_id = 'orch-b' \
             AND status = 'running'"
        ))
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM pipeline WHERE name = 'trace_basic' AND run_count = 2").await, 1);
});
