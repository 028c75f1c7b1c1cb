//! `/deployments`: create for a snapshot and a deployer, the deployer's status/url/metadata
//! updates, tags, lists by name/status/pipeline, delete, and bad input on both backends (the compat
//! suite runs the real `zenml pipeline deploy` with the local deployer).

mod common;

use common::runs::*;
use common::*;
use http::{Method, StatusCode};
use serde_json::json;

async fn deployer(app: &TestApp, f: &Flow) -> String {
    let (_, _, page) = app.get("/api/v1/components?type=deployer", Some(&f.token)).await;
    page["items"][0]["id"].as_str().expect("the default stack has a deployer").to_string()
}

backend_tests!(deployments_round_trip, |app: TestApp| async move {
    let f = flow(&app).await;
    let snap = snapshot(&app, &f, "trace_basic", &trace_basic()).await;
    let dep = deployer(&app, &f).await;
    let body = json!({"project": f.project, "name": "greeter", "snapshot_id": id(&snap), "deployer_id": dep,
        "auth_key": null, "tags": ["serving"]});
    let (s, _, d) = app.post_json("/api/v1/deployments", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["name"], "greeter");
    assert_eq!(d["body"]["status"], "unknown");
    assert_eq!(d["body"]["url"], json!(null));
    assert_eq!(d["metadata"], json!({"deployment_metadata": {}, "auth_key": null}));
    assert_eq!(d["resources"]["snapshot"]["id"], snap["id"]);
    assert_eq!(d["resources"]["deployer"]["id"], dep.as_str());
    assert_eq!(d["resources"]["pipeline"]["name"], "trace_basic");
    assert_eq!(d["resources"]["stack"]["id"], f.stack.as_str());
    assert_eq!(d["resources"]["tags"][0]["name"], "serving");
    let path = format!("/api/v1/deployments/{}", id(&d));

    let dup = app.post_json("/api/v1/deployments", Some(&f.token), &body).await;
    assert_eq!(dup.0, StatusCode::CONFLICT, "{}", dup.2);
    assert_eq!(
        dup.2["detail"][1],
        "Unable to create the requested deployment with name 'greeter': Found another existing deployment with the \
         same name in the 'default' project."
    );

    // What the local deployer reports.
    let upd = json!({"status": "running", "url": "http://127.0.0.1:8000",
        "deployment_metadata": {"pid": 4242, "port": 8000}, "add_tags": ["live"], "remove_tags": ["serving"]});
    let (s, _, d2) = app.put_json(&path, Some(&f.token), &upd).await;
    assert_eq!(s, StatusCode::OK, "{d2}");
    assert_eq!((&d2["body"]["status"], &d2["body"]["url"]), (&json!("running"), &json!("http://127.0.0.1:8000")));
    assert_eq!(d2["metadata"]["deployment_metadata"], json!({"pid": 4242, "port": 8000}));
    assert_eq!(d2["resources"]["tags"].as_array().unwrap().len(), 1);
    assert_eq!(d2["resources"]["tags"][0]["name"], "live");

    let pipeline = d["resources"]["pipeline"]["id"].as_str().unwrap();
    for q in ["name=greeter", "status=running", &format!("pipeline={pipeline}"), "url=contains:8000"] {
        let (s, _, page) = app.get(&format!("/api/v1/deployments?{q}"), Some(&f.token)).await;
        assert_eq!((s, &page["total"]), (StatusCode::OK, &json!(1)), "{q}: {page}");
    }
    let (_, _, page) = app.get("/api/v1/deployments?status=error", Some(&f.token)).await;
    assert_eq!(page["total"], 0);

    let (s, _, b) = app.delete(&path, Some(&f.token)).await;
    assert_eq!((s, b), (StatusCode::OK, json!(null)));
    assert_eq!(app.get(&path, Some(&f.token)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM tag_resource WHERE resource_type = 'deployment'").await, 0);
});

backend_tests!(deployments_bad_input, |app: TestApp| async move {
    let f = flow(&app).await;
    let snap = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let dep = deployer(&app, &f).await;
    let base = json!({"project": f.project, "name": "d1", "snapshot_id": snap, "deployer_id": dep});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, want) in [
        (with("snapshot_id", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (with("deployer_id", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (with("project", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (with("snapshot_id", json!("nope")), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"project": f.project, "name": "d1"}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, b) = app.call(Method::POST, "/api/v1/deployments", Some(&f.token), body.clone()).await;
        assert_eq!(s, want, "{body} -> {b}");
    }
    assert_eq!(app.count("SELECT count(*) FROM deployment").await, 0, "nothing written");
    let (s, _, d) = app.post_json("/api/v1/deployments", Some(&f.token), &base).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let path = format!("/api/v1/deployments/{}", id(&d));
    let (s, _) = app.call(Method::PUT, &path, Some(&f.token), json!({"status": "exploded"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.call(Method::PUT, &path, Some(&f.token), json!({"snapshot_id": uuid::Uuid::new_v4()})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, still) = app.get(&path, Some(&f.token)).await;
    assert_eq!(still["body"]["status"], "unknown", "refused updates change nothing");
    let missing = format!("/api/v1/deployments/{}", uuid::Uuid::new_v4());
    assert_eq!(app.call(Method::PUT, &missing, Some(&f.token), json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&missing, Some(&f.token)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/deployments/not-a-uuid", Some(&f.token)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/deployments?sort_by=bogus", Some(&f.token)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/deployments", None).await.0, StatusCode::UNAUTHORIZED);
});
