//! `GET /api/v1/openapi.json` and `GET /ready`: the document is served, and every operation it
//! lists is routed (no fallback 404, no 405), so it cannot promise an endpoint that is not there.

mod common;

use common::{Backend, TestApp, TestDb};
use http::{Method, StatusCode};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_router() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let app = TestApp::start(db, &[]).await;
    let common::Resp(status, headers, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, ops) in paths {
        for (method, _) in ops.as_object().expect("operations") {
            operations += 1;
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
            let common::Resp(status, _, body) = app.call(method.clone(), &concrete, Some(&app.admin_token), None).await;
            let fallback = status == StatusCode::NOT_FOUND && body["detail"][1] == "'Not found'";
            assert!(!fallback && status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {status} {body}");
            assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
        }
    }
    assert!(operations >= 40, "{operations} operations documented");

    // The fallback itself is what the check above tells apart.
    let common::Resp(status, _, body) = app.call(Method::GET, "/no-such-endpoint", None, None).await;
    assert_eq!((status, &body["detail"][1]), (StatusCode::NOT_FOUND, &Value::from("'Not found'")));

    // Readiness answers from the database.
    let req = http::Request::get("/ready").body(axum::body::Body::empty()).unwrap();
    let common::Resp(status, _, body) = app.send(req).await;
    assert_eq!((status, body), (StatusCode::OK, Value::from("OK")));
}
