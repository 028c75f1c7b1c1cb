//! Stacks, stack components and flavors through the HTTP API, in-process, against a fresh
//! database: a temporary SQLite file, and the same core scenario on MariaDB/MySQL when
//! `ZENPRO_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306`) is set (a database
//! `zt_<random>` is created through it and dropped afterwards).

mod common;

use common::{AsAdmin, TestApp, mysql_url};
use http::{Method, StatusCode};
use serde_json::{Value, json};

async fn sqlite_app() -> AsAdmin {
    AsAdmin::new(TestApp::sqlite(&[]).await).await
}

/// A fresh database on the MySQL server of `ZENPRO_TEST_MYSQL_URL`, or `None` when unset.
async fn mysql_app() -> Option<AsAdmin> {
    Some(AsAdmin::new(TestApp::mysql_at(&mysql_url()?, &[]).await).await)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

fn detail(v: &Value) -> (&str, &str) {
    (v["detail"][0].as_str().unwrap_or(""), v["detail"][1].as_str().unwrap_or(""))
}

/// What `zenml status`/every client start reads: the default stack, hydrated, and its
/// components by `stack_id`.
async fn default_stack_reads(app: &AsAdmin) -> String {
    let page =
        app.get("/api/v1/stacks?hydrate=True&sort_by=created&logical_operator=and&page=1&size=20&name=default").await;
    assert_eq!(page["total"], 1);
    let sid = id(&page["items"][0]);
    let s = app.get(&format!("/api/v1/stacks/{sid}?hydrate=True")).await;
    assert_eq!(keys(&s), ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    assert_eq!(keys(&s["body"]), ["created", "updated", "user_id"]);
    assert_eq!(s["name"], "default");
    assert_eq!(s["body"]["user_id"], Value::Null);
    assert_eq!(s["resources"], json!({"user": null}));
    let md = &s["metadata"];
    assert_eq!(keys(md), ["components", "description", "stack_spec_path", "environment", "secrets", "labels"]);
    assert_eq!(keys(&md["components"]), ["artifact_store", "deployer", "orchestrator"]);
    assert_eq!((&md["description"], &md["labels"], &md["environment"]), (&json!(""), &json!({}), &json!({})));
    assert_eq!(md["secrets"], json!([]));
    let orch = &md["components"]["orchestrator"][0];
    assert_eq!(orch["name"], "default");
    assert_eq!((&orch["metadata"], &orch["resources"]), (&Value::Null, &Value::Null));
    assert_eq!(
        keys(&orch["body"]),
        ["created", "updated", "user_id", "type", "flavor_name", "integration", "logo_url"]
    );
    assert_eq!(orch["body"]["flavor_name"], "local");
    assert_eq!(orch["body"]["integration"], "built-in");
    assert_eq!(
        orch["body"]["logo_url"],
        "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/orchestrator/local.png"
    );
    // Not hydrated: no metadata, resources still there.
    let s = app.get(&format!("/api/v1/stacks/{sid}?hydrate=False")).await;
    assert_eq!((&s["metadata"], &s["resources"]), (&Value::Null, &json!({"user": null})));

    let comps = app.get(&format!("/api/v1/components?hydrate=True&sort_by=created&stack_id={sid}")).await;
    assert_eq!(comps["total"], 3);
    let a = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"]["type"] == "artifact_store")
        .expect("an artifact store");
    assert_eq!(
        keys(&a["metadata"]),
        ["configuration", "environment", "secrets", "labels", "connector_resource_id", "connector"]
    );
    assert_eq!(a["metadata"]["configuration"], json!({}));
    assert_eq!(a["metadata"]["environment"], json!({}));
    assert_eq!(a["metadata"]["labels"], Value::Null);
    assert_eq!(keys(&a["resources"]), ["user", "flavor"]);
    let f = &a["resources"]["flavor"];
    assert_eq!((f["name"].as_str(), f["body"]["display_name"].as_str()), (Some("local"), Some("Local")));
    assert_eq!(f["body"]["source"], "zenml.artifact_stores.local_artifact_store.LocalArtifactStoreFlavor");
    assert_eq!((&f["metadata"], &f["resources"]), (&Value::Null, &Value::Null));
    let single = app.get(&format!("/api/v1/components/{}", id(a))).await;
    assert_eq!(single, *a);
    sid
}

async fn flavor_reads(app: &AsAdmin) {
    let all = app.get("/api/v1/flavors?size=1000").await;
    assert_eq!(all["total"], 82);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(82));
    let orch = app
        .get("/api/v1/flavors?hydrate=False&sort_by=created&logical_operator=and&page=1&size=20&type=orchestrator")
        .await;
    assert_eq!(orch["total"], 19);
    assert!(
        orch["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["body"]["type"] == "orchestrator" && f["metadata"].is_null())
    );
    assert_eq!(app.get("/api/v1/flavors?type=artifact_store").await["total"], 6);
    let vm = app.get("/api/v1/flavors?name=vm_kubernetes").await;
    assert_eq!(vm["items"][0]["body"]["display_name"], "Vm Kubernetes");
    let local = app.get("/api/v1/flavors?hydrate=True&name=local&type=artifact_store").await;
    assert_eq!(local["total"], 1);
    let f = &local["items"][0];
    assert_eq!(
        keys(&f["body"]),
        ["created", "updated", "user_id", "type", "display_name", "integration", "source", "logo_url", "is_custom"]
    );
    assert_eq!(f["resources"], json!({"user": null}));
    let one = app.get(&format!("/api/v1/flavors/{}", id(f))).await;
    let md = &one["metadata"];
    assert_eq!(
        keys(md),
        [
            "config_schema",
            "connector_type",
            "connector_resource_type",
            "connector_resource_id_attr",
            "docs_url",
            "sdk_docs_url"
        ]
    );
    assert_eq!(md["config_schema"]["title"], "LocalArtifactStoreConfig");
    assert!(md["config_schema"]["properties"].is_object());
    assert_eq!(md["docs_url"], "https://docs.zenml.io/stack-components/artifact-stores/local");
    assert_eq!(app.get("/api/v1/flavors?integration=aws&type=orchestrator").await["items"][0]["name"], "sagemaker");
    let (status, _) = app.call(Method::GET, "/api/v1/flavors/00000000-0000-0000-0000-000000000000", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Register, list, update and delete components and a stack, with the reference's errors.
async fn component_and_stack_lifecycle(app: &AsAdmin, default_stack: &str) {
    let me = app.get("/api/v1/current-user").await;
    let store_body = json!({"name": "s1", "type": "artifact_store", "flavor": "local", "environment": {}, "secrets": [],
        "configuration": {"path": "/tmp/zenpro-test-store"}, "connector_resource_id": null, "labels": {}, "connector": null});
    let s1 = app.ok(Method::POST, "/api/v1/components", Some(store_body.clone())).await;
    assert_eq!(s1["body"]["user_id"], me["id"]);
    assert_eq!(s1["metadata"]["configuration"], json!({"path": "/tmp/zenpro-test-store"}));
    assert_eq!(s1["metadata"]["labels"], json!({}));
    assert_eq!(s1["resources"]["user"]["name"], "default");
    assert_eq!(s1["resources"]["flavor"]["name"], "local");
    // Stored the way Python stores it: base64(json.dumps(...)).
    let stored = app
        .count(zenpro_store::q!(
            "SELECT count(*) FROM `stack_component` WHERE `name` = ? AND `configuration` = ? AND `labels` = ? AND `environment` = ?",
            "s1",
            b"eyJwYXRoIjogIi90bXAvemVucHJvLXRlc3Qtc3RvcmUifQ==".to_vec(),
            b"e30=".to_vec(),
            b"e30=".to_vec()
        ))
        .await;
    assert_eq!(stored, 1);

    let (status, err) = app.call(Method::POST, "/api/v1/components", Some(store_body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&err),
        (
            "EntityExistsError",
            "Unable to register 'artifact_store' component with name 's1': Found an existing component with the same name and type."
        )
    );
    let mut bad = store_body.clone();
    bad["name"] = json!("s2");
    bad["flavor"] = json!("nope");
    let (status, err) = app.call(Method::POST, "/api/v1/components", Some(bad.clone())).await;
    assert_eq!(
        (status, detail(&err).1),
        (StatusCode::NOT_FOUND, "\"No flavor with name 'nope' and type 'artifact_store' exists.\"")
    );
    bad["flavor"] = json!("local");
    bad["configuration"] = json!({"path": "/x", "colour": "red"});
    let (status, err) = app.call(Method::POST, "/api/v1/components", Some(bad)).await;
    assert_eq!(
        (status, detail(&err)),
        (StatusCode::BAD_REQUEST, ("ValueError", "Invalid configuration keys ['colour'] for local artifact_store."))
    );

    let o1 = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "o1", "type": "orchestrator", "flavor": "local", "configuration": {}})),
        )
        .await;
    assert_eq!(o1["metadata"]["labels"], Value::Null);
    let found = app.get("/api/v1/components?hydrate=True&scope_type=orchestrator&name=equals:o1").await;
    assert_eq!((found["total"].as_i64(), found["items"][0]["id"].as_str()), (Some(1), o1["id"].as_str()));
    assert_eq!(app.get("/api/v1/components?scope_type=artifact_store&name=equals:o1").await["total"], 0);
    let stores = app.get("/api/v1/components?hydrate=False&sort_by=desc:created&type=artifact_store").await;
    assert_eq!(stores["total"], 2);
    // (MySQL keeps whole seconds, so `created` may tie: compare without order.)
    let mut names: Vec<&str> = stores["items"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["default", "s1"]);
    assert_eq!(stores["items"][0]["metadata"], Value::Null);
    assert_eq!(app.get("/api/v1/components?user=default").await["total"], 2);

    // Stacks need an orchestrator and an artifact store.
    let (status, _) = app
        .call(Method::POST, "/api/v1/stacks", Some(json!({"name": "st", "components": {"artifact_store": [id(&s1)]}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let stack_body = json!({"name": "st", "description": "", "stack_spec_path": null,
        "components": {"artifact_store": [id(&s1)], "orchestrator": [id(&o1)]},
        "environment": {}, "secrets": [], "labels": {}, "service_connectors": []});
    let st = app.ok(Method::POST, "/api/v1/stacks", Some(stack_body.clone())).await;
    assert_eq!(keys(&st["metadata"]["components"]), ["artifact_store", "orchestrator"]);
    assert_eq!(st["metadata"]["components"]["orchestrator"][0]["id"], o1["id"]);
    assert_eq!(st["resources"]["user"]["id"], me["id"]);
    let (status, err) = app.call(Method::POST, "/api/v1/stacks", Some(stack_body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&err),
        (
            "EntityExistsError",
            "Unable to create the requested stack with name 'st': Found another existing stack with the same name."
        )
    );
    let sid = id(&st);
    let by_name = app.get("/api/v1/stacks?hydrate=True&name=equals:st").await;
    assert_eq!(by_name["items"][0]["metadata"]["components"], st["metadata"]["components"]);
    assert_eq!(app.get(&format!("/api/v1/stacks?component_id={}", id(&o1))).await["items"][0]["id"], st["id"]);
    assert_eq!(app.get("/api/v1/stacks?component=o1").await["total"], 1);
    assert_eq!(app.get("/api/v1/stacks?id=startswith:st").await["total"], 0);
    let listed = app.get("/api/v1/stacks?hydrate=False&sort_by=desc:created").await;
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["metadata"], Value::Null);
    assert_eq!(app.get("/api/v1/stacks?sort_by=name").await["items"][1]["name"], "st");

    // Updates.
    let up = app
        .ok(
            Method::PUT,
            &format!("/api/v1/stacks/{sid}"),
            Some(json!({"description": "stack for tracing", "stack_spec_path": null, "labels": {"env": "trace"}})),
        )
        .await;
    assert_eq!(
        (&up["metadata"]["description"], &up["metadata"]["labels"]),
        (&json!("stack for tracing"), &json!({"env": "trace"}))
    );
    assert_eq!(
        app.count(zenpro_store::q!(
            "SELECT count(*) FROM `stack` WHERE `name` = ? AND `labels` = ?",
            "st",
            b"eyJlbnYiOiAidHJhY2UifQ==".to_vec()
        ))
        .await,
        1
    );
    let up = app
        .ok(
            Method::PUT,
            &format!("/api/v1/components/{}", id(&o1)),
            Some(json!({"connector_resource_id": null, "labels": {"env": "trace"}, "connector": null})),
        )
        .await;
    assert_eq!(up["metadata"]["labels"], json!({"env": "trace"}));
    let renamed = app.ok(Method::PUT, &format!("/api/v1/components/{}", id(&o1)), Some(json!({"name": "o1b"}))).await;
    assert_eq!((renamed["name"].as_str(), &renamed["metadata"]["labels"]), (Some("o1b"), &json!({"env": "trace"})));

    // What cannot be changed or deleted.
    let (status, err) = app.call(Method::DELETE, &format!("/api/v1/components/{}", id(&o1)), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        detail(&err),
        (
            "IllegalOperationError",
            "Stack Component `o1b` of type `orchestrator cannot be deleted as it is part of 1 stacks. Before deleting this stack component, make sure to remove it from all stacks."
        )
    );
    let (status, err) = app.call(Method::DELETE, &format!("/api/v1/stacks/{default_stack}"), None).await;
    assert_eq!(
        (status, detail(&err)),
        (StatusCode::FORBIDDEN, ("IllegalOperationError", "The default stack cannot be deleted."))
    );
    let (status, err) =
        app.call(Method::PUT, &format!("/api/v1/stacks/{default_stack}"), Some(json!({"name": "other"}))).await;
    assert_eq!((status, detail(&err).1), (StatusCode::FORBIDDEN, "The default stack cannot be modified."));
    let defaults = app.get(&format!("/api/v1/components?stack_id={default_stack}&type=orchestrator")).await;
    let default_orch = id(&defaults["items"][0]);
    let (status, err) = app.call(Method::DELETE, &format!("/api/v1/components/{default_orch}"), None).await;
    assert_eq!((status, detail(&err).1), (StatusCode::FORBIDDEN, "The default orchestrator cannot be deleted."));
    let (status, err) =
        app.call(Method::PUT, &format!("/api/v1/components/{default_orch}"), Some(json!({"name": "x"}))).await;
    assert_eq!((status, detail(&err).1), (StatusCode::FORBIDDEN, "The default orchestrator cannot be modified."));

    // Deletes.
    assert_eq!(app.ok(Method::DELETE, &format!("/api/v1/stacks/{sid}"), None).await, Value::Null);
    let (status, err) = app.call(Method::GET, &format!("/api/v1/stacks/{sid}"), None).await;
    assert_eq!(
        (status, detail(&err).1),
        (
            StatusCode::NOT_FOUND,
            format!("\"Unable to get stack with ID '{sid}': No stack with this ID found\"").as_str()
        )
    );
    assert_eq!(app.count(zenpro_store::q!("SELECT count(*) FROM `stack_composition`")).await, 3);
    app.ok(Method::DELETE, &format!("/api/v1/components/{}", id(&o1)), None).await;
    app.ok(Method::DELETE, &format!("/api/v1/components/{}", id(&s1)), None).await;
    assert_eq!(app.get("/api/v1/components").await["total"], 3);
    assert_eq!(app.get("/api/v1/stacks").await["total"], 1);
}

/// Custom flavors: registered, used, protected while used, deleted.
async fn custom_flavors(app: &AsAdmin) {
    let req = json!({"name": "my_orch", "type": "orchestrator", "config_schema": {"title": "C", "type": "object", "properties": {"a": {"type": "string"}}},
        "source": "my.module.MyFlavor", "integration": "custom", "logo_url": null, "docs_url": null, "sdk_docs_url": null, "is_custom": true});
    let f = app.ok(Method::POST, "/api/v1/flavors", Some(req.clone())).await;
    assert_eq!(f["body"]["display_name"], "My Orch");
    assert_eq!(f["body"]["is_custom"], true);
    assert_eq!(f["resources"]["user"]["name"], "default");
    assert_eq!(f["metadata"]["config_schema"]["properties"], json!({"a": {"type": "string"}}));
    let (status, err) = app.call(Method::POST, "/api/v1/flavors", Some(req)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&err).1,
        "Unable to register 'orchestrator' flavor with name 'my_orch' and type 'orchestrator': Found an existing flavor with the same name and type."
    );
    assert_eq!(app.get("/api/v1/flavors?size=1000").await["total"], 83);
    let fid = id(&f);
    let up = app
        .ok(
            Method::PUT,
            &format!("/api/v1/flavors/{fid}"),
            Some(json!({"display_name": "Mine", "logo_url": "https://x/y.png"})),
        )
        .await;
    assert_eq!(
        (up["body"]["display_name"].as_str(), up["body"]["logo_url"].as_str()),
        (Some("Mine"), Some("https://x/y.png"))
    );
    // Custom flavors' configurations are not validated (the server cannot import them).
    let c = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(
                json!({"name": "mine", "type": "orchestrator", "flavor": "my_orch", "configuration": {"anything": 1}}),
            ),
        )
        .await;
    assert_eq!(
        (c["body"]["integration"].as_str(), c["body"]["logo_url"].as_str()),
        (Some("custom"), Some("https://x/y.png"))
    );
    let (status, _) = app.call(Method::DELETE, &format!("/api/v1/flavors/{fid}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.ok(Method::DELETE, &format!("/api/v1/components/{}", id(&c)), None).await;
    app.ok(Method::DELETE, &format!("/api/v1/flavors/{fid}"), None).await;
    assert_eq!(app.get("/api/v1/flavors?size=1000").await["total"], 82);
}

async fn core(app: &AsAdmin) {
    let default_stack = default_stack_reads(app).await;
    flavor_reads(app).await;
    component_and_stack_lifecycle(app, &default_stack).await;
    custom_flavors(app).await;
}

#[tokio::test]
async fn stacks_components_flavors_on_sqlite() {
    let app = sqlite_app().await;
    core(&app).await;
}

#[tokio::test]
async fn stacks_components_flavors_on_mysql() {
    let Some(app) = mysql_app().await else {
        eprintln!("note: ZENPRO_TEST_MYSQL_URL is not set; the MySQL variant did not run");
        return;
    };
    core(&app).await;
}

/// Stacks created with new components (`ComponentInfo`), and components of the wrong type.
#[tokio::test]
async fn stacks_with_inline_components_and_type_checks() {
    let app = sqlite_app().await;
    let s = app
        .ok(
            Method::POST,
            "/api/v1/stacks",
            Some(json!({"name": "full", "components": {
                "orchestrator": [{"flavor": "local", "configuration": {}}],
                "artifact_store": [{"flavor": "local", "configuration": {"path": "/tmp/x"}}]},
                "labels": {"team": "a"}})),
        )
        .await;
    let comps = &s["metadata"]["components"];
    assert_eq!(
        (comps["orchestrator"][0]["name"].as_str(), comps["artifact_store"][0]["name"].as_str()),
        (Some("full"), Some("full"))
    );
    let a = app.get(&format!("/api/v1/components/{}", id(&comps["artifact_store"][0]))).await;
    assert_eq!(
        (&a["metadata"]["configuration"], &a["metadata"]["labels"]),
        (&json!({"path": "/tmp/x"}), &json!({"team": "a"}))
    );
    // An orchestrator listed as artifact store is refused.
    let orch = id(&comps["orchestrator"][0]);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/stacks",
            Some(json!({"name": "wrong", "components": {"orchestrator": [orch], "artifact_store": [orch]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let missing = "00000000-0000-0000-0000-000000000001";
    let (status, err) = app
        .call(
            Method::PUT,
            &format!("/api/v1/stacks/{}", id(&s)),
            Some(json!({"components": {"orchestrator": [missing], "artifact_store": [missing]}})),
        )
        .await;
    assert_eq!((status, detail(&err).0), (StatusCode::NOT_FOUND, "KeyError"));
    let (status, _) = app.call(Method::GET, "/api/v1/stacks/not-a-uuid", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/component-types").await.as_array().map(Vec::len), Some(15));
}
