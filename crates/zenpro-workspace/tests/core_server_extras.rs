//! Smaller server endpoints: `GET /statistics`, `GET /projects/{p}/statistics`, the deprecated
//! `/workspaces` name of projects, `PUT /users/{id}/email-opt-in`, and the 501 answer of the
//! reference endpoints zenpro does not implement.
//!
//! Reference (Python 0.98.0): `ServerStatistics {stacks, components, projects}` and
//! `ProjectStatistics {pipelines, runs}`; email-opt-in compares the path with the caller's id
//! ("Users can not opt in on behalf of another user.", 401 otherwise).

mod common;

use common::{TestApp, names};
use http::{Method, StatusCode};
use serde_json::json;

backend_tests!(statistics_count_what_is_there, |app: TestApp| async move {
    let tok = app.admin().await;
    let (status, _, s) = app.get("/api/v1/statistics", Some(&tok)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let stacks = app.count("SELECT count(*) FROM stack").await;
    let components = app.count("SELECT count(*) FROM stack_component").await;
    assert_eq!(s, json!({"stacks": stacks, "components": components, "projects": 1}));
    assert!(stacks >= 1 && components >= 2, "the default stack and its components: {s}");

    let (status, _, p) = app.post_json("/api/v1/projects", Some(&tok), &json!({"name": "stats"})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (_, _, s) = app.get("/api/v1/statistics", Some(&tok)).await;
    assert_eq!(s["projects"], 2);
    for key in ["stats", p["id"].as_str().unwrap()] {
        let (status, _, ps) = app.get(&format!("/api/v1/projects/{key}/statistics"), Some(&tok)).await;
        assert_eq!((status, ps), (StatusCode::OK, json!({"pipelines": 0, "runs": 0})));
    }
    let (status, _, ps) = app.get("/api/v1/workspaces/stats/statistics", Some(&tok)).await;
    assert_eq!((status, ps), (StatusCode::OK, json!({"pipelines": 0, "runs": 0})));
    let missing = app.get("/api/v1/projects/nope/statistics", Some(&tok)).await;
    assert_eq!((missing.0, &missing.2["detail"][0]), (StatusCode::NOT_FOUND, &json!("KeyError")));
    assert_eq!(app.get("/api/v1/statistics", None).await.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(workspaces_is_the_old_name_of_projects, |app: TestApp| async move {
    let tok = app.admin().await;
    let (status, _, p) = app.post_json("/api/v1/workspaces", Some(&tok), &json!({"name": "legacy"})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (_, _, page) = app.get("/api/v1/workspaces?sort_by=name", Some(&tok)).await;
    assert_eq!(names(&page), ["default", "legacy"]);
    let (status, _, got) = app.get("/api/v1/workspaces/legacy", Some(&tok)).await;
    assert_eq!((status, &got["id"]), (StatusCode::OK, &p["id"]));
    let path = format!("/api/v1/workspaces/{}", p["id"].as_str().unwrap());
    let (status, _, upd) = app.put_json(&path, Some(&tok), &json!({"description": "old"})).await;
    assert_eq!((status, &upd["metadata"]["description"]), (StatusCode::OK, &json!("old")));
    assert_eq!(app.delete(&path, Some(&tok)).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/projects/legacy", Some(&tok)).await.0, StatusCode::NOT_FOUND);
});

backend_tests!(email_opt_in_only_for_oneself_by_id, |app: TestApp| async move {
    let tok = app.admin().await;
    let (_, _, me) = app.get("/api/v1/current-user", Some(&tok)).await;
    let my_id = me["id"].as_str().unwrap().to_string();
    let body = json!({"email": "admin@example.com", "email_opted_in": true, "name": "ignored"});
    let (status, _, got) = app.put_json(&format!("/api/v1/users/{my_id}/email-opt-in"), Some(&tok), &body).await;
    assert_eq!((status, got["name"].as_str()), (StatusCode::OK, Some("default")), "{got}");
    assert_eq!(got["metadata"]["email"], "admin@example.com", "{got}");
    let (_, _, me) = app.get("/api/v1/current-user", Some(&tok)).await;
    assert_eq!(me["metadata"]["email"], "admin@example.com", "{me}");
    assert_eq!(me["body"]["email_opted_in"], true, "{me}");

    // By name, or for somebody else: refused as the reference does.
    let by_name = app.put_json("/api/v1/users/default/email-opt-in", Some(&tok), &body).await;
    assert_eq!(by_name.0, StatusCode::UNAUTHORIZED, "{}", by_name.2);
    assert_eq!(by_name.2["detail"][1], "Users can not opt in on behalf of another user.");
    let other = app.create_user(&tok, json!({"name": "other", "password": "Other-pw1", "is_admin": false})).await;
    let path = format!("/api/v1/users/{}/email-opt-in", other["id"].as_str().unwrap());
    let (status, _) = app.call(Method::PUT, &path, Some(&tok), body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::PUT, &format!("/api/v1/users/{}/email-opt-in", uuid::Uuid::new_v4()), Some(&tok), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

backend_tests!(unimplemented_endpoints_say_so, |app: TestApp| async move {
    let tok = app.admin().await;
    let run = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::POST, format!("/api/v1/runs/{run}/stop")),
        (Method::GET, "/api/v1/services".to_string()),
        (Method::PUT, "/api/v1/secrets_operations/backup".to_string()),
        (Method::GET, format!("/api/v1/workspaces/{run}/runs")),
    ] {
        let (status, body) = app.call(method.clone(), &path, Some(&tok), json!({})).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{method} {path}: {body}");
        assert_eq!(body["detail"][0], "NotImplementedError");
        let msg = body["detail"][1].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("{method} /api/v1/")) && msg.ends_with("is not implemented by zenpro"),
            "{msg}"
        );
        // Anonymous callers learn nothing more than on any other endpoint.
        let (status, _) = app.call(method, &path, None, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
});
