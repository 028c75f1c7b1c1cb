//! Bad input gets a ZenML-shaped 4xx, never a 500, on both backends.
//!
//! Every status below was compared once with the Python reference server (zenml 0.98.0,
//! `ref-server.sh`, `GET/POST` with an admin token); the reference's answer is in the comment.
//! Two body shapes exist there, and zenpro follows them:
//! * FastAPI request validation (query parameter types and ranges, JSON bodies): 422 with a
//!   bare `["ValueError", "..."]` list;
//! * validation inside the filter model (sort field, filter values): 422 with
//!   `{"detail": ["ValueError", "1 validation error for UserFilter ..."]}`.

mod common;

use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// Status and body of `GET /api/v1/<path>` as the admin.
async fn get(app: &TestApp, tok: &str, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = app.get(&format!("/api/v1/{path}"), Some(tok)).await;
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
    (status, body)
}

/// A 422 of the filter model: `{"detail": ["ValueError", msg]}`.
fn assert_filter_error(path: &str, (status, body): &(StatusCode, Value), needle: &str) {
    assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(body["detail"][0], "ValueError", "{path}: {body}");
    let msg = body["detail"][1].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{path}: {msg:?} should mention {needle:?}");
}

/// A 422 of request validation: `["ValueError", msg]`.
fn assert_request_error(path: &str, (status, body): &(StatusCode, Value)) {
    assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(body[0], "ValueError", "{path}: {body}");
    assert!(body[1].as_str().is_some_and(|m| !m.is_empty()), "{path}: {body}");
}

backend_tests!(bad_filter_values, |app: TestApp| async move {
    let tok = app.admin().await;
    // Reference: 200, empty page. A UUID `equals` with a non-UUID matches nothing, the string
    // operators compare the hex text; values are bound, never spliced into SQL.
    for path in [
        "users?id=not-a-uuid",
        "users?id=startswith:zz",
        "users?id=startswith:'%20OR%201=1",
        "users?name=%27%20OR%20%271%27=%271",
    ] {
        let (status, body) = get(&app, &tok, path).await;
        assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(0)), "{path}: {body}");
    }
    // Reference: 200, everything: `%` and `_` are not escaped in LIKE patterns.
    let (status, body) = get(&app, &tok, "projects?id=contains:%25").await;
    assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(1)), "{body}");
    // Reference: 200, every user (unknown query keys are ignored, as FastAPI does).
    for path in ["users?bogus_key=1", "users?is_admin=True", "projects?user=nobody"] {
        let (status, body) = get(&app, &tok, path).await;
        assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(1)), "{path}: {body}");
    }
    // Reference: 422 {"detail": ["ValueError", "1 validation error for UserFilter\nsort_by\n
    //   Value error, You can only sort by valid fields of this resource ..."]}.
    for path in
        ["users?sort_by=bogus", "users?sort_by=desc:bogus", "projects?sort_by=asc:nosuchfield", "users?sort_by=page"]
    {
        assert_filter_error(path, &get(&app, &tok, path).await, "sort");
    }
    // Reference: 422 {"detail": ["ValueError", "... When you are using the 'oneof:'/'notoneof:'
    //   filtering make sure that the provided value is a json formatted list. ..."]}.
    for path in ["users?name=oneof:notjson", "users?name=notoneof:a,b", "projects?id=oneof:%7B%7D"] {
        assert_filter_error(path, &get(&app, &tok, path).await, "list");
    }
    // Reference: 422 {"detail": ["ValueError", "... The bool filter only works with boolean
    //   values. ..."]}.
    assert_filter_error("users?active=maybe", &get(&app, &tok, "users?active=maybe").await, "bool");
    // Reference: 422 {"detail": ["ValueError", "... The datetime filter only works with values
    //   in the following format: %Y-%m-%d %H:%M:%S ..."]}.
    for path in ["users?created=gte:2024-01-01T00:00:00", "users?created=yesterday"] {
        assert_filter_error(path, &get(&app, &tok, path).await, "%Y-%m-%d %H:%M:%S");
    }
    // Reference: 422 {"detail": ["ValueError", "... Two comma separated datetime values are
    //   required for the `in` operator. ..."]}.
    let path = "users?updated=in:2024-01-01%2000:00:00";
    assert_filter_error(path, &get(&app, &tok, path).await, "comma separated");
    // Reference: 400 {"detail": ["ValueError", "Failed to compare the column 'UserSchema.name'
    //   to the value 'abc' (must be numeric): could not convert string to float: 'abc'"]}: string
    //   fields compared with gt/lt are CAST to a number when the query is built.
    let (status, body) = get(&app, &tok, "users?name=gt:abc").await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::BAD_REQUEST, &json!("ValueError")), "{body}");
    assert!(body["detail"][1].as_str().unwrap().contains("must be numeric"), "{body}");
    let (status, body) = get(&app, &tok, "users?name=gt:5").await;
    assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(0)), "{body}");
});

backend_tests!(bad_query_parameters, |app: TestApp| async move {
    let tok = app.admin().await;
    // Reference: 422 ["ValueError", "1 validation error:\n  {'type': 'bool_parsing', 'loc':
    //   ('query', 'hydrate'), ...}"] (and the same bare list for the others).
    for path in [
        "users?hydrate=maybe",
        "users/default?hydrate=maybe",
        "projects?size=0",
        "projects?size=10001",
        "users?page=0",
        "users?page=-1",
        "users?size=twenty",
        "users?logical_operator=xor",
    ] {
        assert_request_error(path, &get(&app, &tok, path).await);
    }
    // Reference: 400 {"detail": ["ValueError", "Invalid page 5. The requested page size is 20
    //   and there are a total of 1 items for this query. The maximum page value therefore is
    //   1."]}.
    let (status, body) = get(&app, &tok, "users?page=5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["detail"][1],
        "Invalid page 5. The requested page size is 20 and there are a total of 1 items for this query. The maximum page value therefore is 1."
    );
    // Reference: 404 KeyError for a name or id that matches nothing.
    for path in ["projects/not-a-uuid-or-name", "users/00000000-0000-0000-0000-000000000000", "users/no%20such%20user"]
    {
        let (status, body) = get(&app, &tok, path).await;
        assert_eq!((status, &body["detail"][0]), (StatusCode::NOT_FOUND, &json!("KeyError")), "{path}: {body}");
    }
    // An unknown route: 404 {"detail": "Not Found"} (FastAPI's).
    let (status, body) = get(&app, &tok, "no-such-endpoint").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
});

backend_tests!(bad_bodies, |app: TestApp| async move {
    let tok = app.admin().await;
    // Reference: 422 ["ValueError", "1 validation error:\n  {'type': 'json_invalid', 'loc':
    //   ('body', 1), 'msg': 'JSON decode error', ...}"] for POST /users and POST /projects.
    // Reference: POST /projects with `[1]` is a 500 ("An unexpected error occurred.") there;
    // zenpro answers 422.
    for (method, path, body) in [
        (Method::POST, "/api/v1/users", "{bad json"),
        (Method::POST, "/api/v1/projects", "{bad json"),
        (Method::POST, "/api/v1/projects", "[1]"),
        (Method::POST, "/api/v1/projects", ""),
        (Method::POST, "/api/v1/users", r#"{"name": 5}"#),
        (Method::POST, "/api/v1/users", r#"{"full_name": "no name"}"#),
        (Method::PUT, "/api/v1/current-user", r#"{"default_project_id": "not-a-uuid"}"#),
        (Method::PUT, "/api/v1/projects/default", r#"{"name": ["x"]}"#),
    ] {
        let (status, _, resp) = app.send_raw(method.clone(), path, Some(&tok), "application/json", body).await;
        assert_request_error(&format!("{method} {path} {body}"), &(status, resp));
    }
    assert_eq!(app.count("SELECT count(*) FROM `user`").await, 1, "nothing was created");
    assert_eq!(app.count("SELECT count(*) FROM project").await, 1, "nothing was created");
    // A form login with a JSON body is a missing username: 400 {"detail": "Invalid request:
    // username is required."} on the reference.
    let (status, _, resp) =
        app.send_raw(Method::POST, "/api/v1/login", None, "application/json", r#"{"username": "default"}"#).await;
    assert_eq!((status, resp), (StatusCode::BAD_REQUEST, json!({"detail": "Invalid request: username is required."})));
});
