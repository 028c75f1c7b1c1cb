//! `/projects`: register, read by name and id, list, update, delete.
//!
//! Reference (Python 0.98.0) answers, checked once with `ref-server.sh`:
//! * `POST /projects {"name":"proj-a",...}` twice: 409 `EntityExistsError` "Unable to create
//!   the requested project with name 'proj-a': Found another existing project with the same
//!   name."
//! * `{"name":"Bad Name"}`: 422 (pattern `^[a-z0-9_-]+$`); `{}`: 422 (name required);
//!   `{"display_name":"My Fancy Proj"}`: 200 with name `my-fancy-proj`.
//! * `PUT /projects/<id> {"name":"default"}`: 409; renaming the default project: 403 "The
//!   name of the default project cannot be changed."; other fields of it: 200.
//! * `DELETE /projects/default`: 403 "The default project cannot be deleted."; another:
//!   200 `null`, then 404.
//! * `PUT /projects/<name>`: 422 on the reference (the path must be a UUID there); zenpro also
//!   accepts a name, which no client relies on either way.

mod common;

use common::{TestApp, names};
use http::StatusCode;
use serde_json::json;

fn detail0(resp: &common::Resp) -> &serde_json::Value {
    &resp.2["detail"][0]
}

backend_tests!(register_read_update_delete, |app: TestApp| async move {
    let tok = app.admin().await;
    let (status, _, p) = app
        .post_json(
            "/api/v1/projects",
            Some(&tok),
            &json!({"name": "proj-a", "display_name": "Project A", "description": "d"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "proj-a");
    assert_eq!(p["body"]["display_name"], "Project A");
    assert_eq!(p["metadata"], json!({"description": "d", "project_metadata": {}}));
    assert_eq!(p["resources"], json!(null));
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["body", "metadata", "resources", "id", "permission_denied", "name"], "envelope key order");
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(app.count("SELECT count(*) FROM project WHERE name = 'proj-a' AND description = 'd'").await, 1);

    let dup = app.post_json("/api/v1/projects", Some(&tok), &json!({"name": "proj-a"})).await;
    assert_eq!((dup.0, detail0(&dup)), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{}", dup.2);
    assert_eq!(
        dup.2["detail"][1],
        "Unable to create the requested project with name 'proj-a': Found another existing project with the same name."
    );

    for key in ["proj-a", id.as_str()] {
        let (status, _, got) = app.get(&format!("/api/v1/projects/{key}"), Some(&tok)).await;
        assert_eq!((status, got["id"].as_str()), (StatusCode::OK, Some(id.as_str())), "{key}: {got}");
        assert!(got["metadata"].is_object());
    }
    let (_, _, got) = app.get("/api/v1/projects/proj-a?hydrate=False", Some(&tok)).await;
    assert_eq!(got["metadata"], json!(null));
    let missing = app.get("/api/v1/projects/nope", Some(&tok)).await;
    assert_eq!((missing.0, detail0(&missing)), (StatusCode::NOT_FOUND, &json!("KeyError")));
    let missing = app.get(&format!("/api/v1/projects/{}", uuid::Uuid::new_v4()), Some(&tok)).await;
    assert_eq!((missing.0, detail0(&missing)), (StatusCode::NOT_FOUND, &json!("KeyError")));

    // Lists: sorted, filtered, hydrated on request.
    let (status, _, page) = app.get("/api/v1/projects?sort_by=name", Some(&tok)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&page), ["default", "proj-a"]);
    assert!(page["items"][0]["metadata"].is_null());
    let (_, _, page) = app.get("/api/v1/projects?name=startswith:proj&hydrate=True", Some(&tok)).await;
    assert_eq!(names(&page), ["proj-a"]);
    assert_eq!(page["items"][0]["metadata"]["description"], "d");
    let (_, _, page) = app.get("/api/v1/projects?display_name=contains:project", Some(&tok)).await;
    assert_eq!(names(&page), ["proj-a"], "LIKE ignores ASCII case on both backends");

    let path = format!("/api/v1/projects/{id}");
    let (status, _, upd) = app
        .put_json(
            &path,
            Some(&tok),
            &json!({"display_name": "Project A2", "description": "d2", "project_metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!((&upd["body"]["display_name"], &upd["metadata"]["description"]), (&json!("Project A2"), &json!("d2")));
    assert_eq!(upd["metadata"]["project_metadata"], json!({"k": 1}));
    assert_eq!(upd["name"], "proj-a", "unchanged fields stay");

    let clash = app.put_json(&path, Some(&tok), &json!({"name": "default"})).await;
    assert_eq!((clash.0, detail0(&clash)), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{}", clash.2);
    let bad = app.put_json(&path, Some(&tok), &json!({"name": "Bad Name"})).await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.2);
    let (status, _, renamed) = app.put_json(&path, Some(&tok), &json!({"name": "proj-b"})).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("proj-b")), "{renamed}");
    assert_eq!(app.get("/api/v1/projects/proj-a", Some(&tok)).await.0, StatusCode::NOT_FOUND);

    let (status, _, body) = app.delete("/api/v1/projects/proj-b", Some(&tok)).await;
    assert_eq!((status, body), (StatusCode::OK, json!(null)));
    assert_eq!(app.get(&path, Some(&tok)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, Some(&tok)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM project").await, 1);
});

backend_tests!(default_project_is_protected, |app: TestApp| async move {
    let tok = app.admin().await;
    let (_, _, default) = app.get("/api/v1/projects/default", Some(&tok)).await;
    let path = format!("/api/v1/projects/{}", default["id"].as_str().unwrap());
    for resp in [app.delete("/api/v1/projects/default", Some(&tok)).await, app.delete(&path, Some(&tok)).await] {
        assert_eq!((resp.0, detail0(&resp)), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{}", resp.2);
        assert_eq!(resp.2["detail"][1], "The default project cannot be deleted.");
    }
    let resp = app.put_json(&path, Some(&tok), &json!({"name": "renamed"})).await;
    assert_eq!((resp.0, detail0(&resp)), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{}", resp.2);
    assert_eq!(resp.2["detail"][1], "The name of the default project cannot be changed.");
    let (status, _, upd) = app.put_json(&path, Some(&tok), &json!({"name": "default", "description": "x"})).await;
    assert_eq!((status, &upd["metadata"]["description"]), (StatusCode::OK, &json!("x")), "{upd}");
    assert_eq!(app.count("SELECT count(*) FROM project WHERE name = 'default'").await, 1);
});

backend_tests!(names_are_validated_or_derived, |app: TestApp| async move {
    let tok = app.admin().await;
    for body in [
        json!({"name": "Bad Name"}),
        json!({"name": "UPPER"}),
        json!({"name": "x".repeat(51)}),
        json!({}),
        json!({"name": "ok", "description": "d".repeat(256)}),
    ] {
        let (status, _, resp) = app.post_json("/api/v1/projects", Some(&tok), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
        assert_eq!(resp[0], "ValueError", "request validation errors are a bare list: {resp}");
    }
    assert_eq!(app.count("SELECT count(*) FROM project").await, 1);
    let (status, _, p) = app.post_json("/api/v1/projects", Some(&tok), &json!({"display_name": "My Fancy Proj"})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!((&p["name"], &p["body"]["display_name"]), (&json!("my-fancy-proj"), &json!("My Fancy Proj")));
    let (status, _, p) = app.post_json("/api/v1/projects", Some(&tok), &json!({"name": "under_score-9"})).await;
    assert_eq!((status, &p["body"]["display_name"]), (StatusCode::OK, &json!("under_score-9")), "{p}");
});

backend_tests!(projects_need_authentication, |app: TestApp| async move {
    assert_eq!(app.get("/api/v1/projects", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post_json("/api/v1/projects", None, &json!({"name": "x"})).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT count(*) FROM project").await, 1);
});
