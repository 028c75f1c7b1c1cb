//! Artifacts, artifact versions, tags and models through the HTTP API, in-process, on SQLite
//! and on MariaDB/MySQL (`ZENPRO_TEST_MYSQL_URL`), as the zenml 0.98.0 client drives them
//! (flows c, d, f and g of the API trace).

mod common;

use common::{TestApp, enc};
use http::StatusCode;
use serde_json::{Value, json};
use zenpro_store::Query;

/// Ids the requests need: the default project and the default artifact store.
struct Ctx {
    token: String,
    project: String,
    store: String,
}

async fn ctx(app: &TestApp) -> Ctx {
    let token = app.admin().await;
    let (s, _, p) = app.get("/api/v1/projects/default", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, _, c) = app.get("/api/v1/components?type=artifact_store&name=default", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    Ctx {
        project: p["id"].as_str().unwrap().to_string(),
        store: c["items"][0]["id"].as_str().unwrap().to_string(),
        token,
    }
}

/// A step-output version request as the client sends it in `POST /artifact_versions/batch`.
fn version_request(c: &Ctx, name: &str, version: Value) -> Value {
    json!({
        "project": c.project,
        "artifact_id": null,
        "artifact_name": name,
        "version": version,
        "has_custom_name": true,
        "type": "DataArtifact",
        "artifact_store_id": c.store,
        "uri": format!("/tmp/stores/{name}/{}", uuid::Uuid::new_v4().simple()),
        "materializer": {"module": "zenml.materializers.built_in_materializer", "attribute": "BuiltInMaterializer", "type": "internal"},
        "data_type": {"module": "builtins", "attribute": "int", "type": "builtin"},
        "content_hash": "daef17451269e394062720e91a895e54",
        "tags": [],
        "visualizations": [{"type": "json", "uri": "/tmp/stores/data.json"}],
        "save_type": "step_output",
        "metadata": {"storage_size": 2, "string_representation": "42", "ratio": 0.5, "nested": {"a": 1}},
        "item_count": null
    })
}

async fn batch(app: &TestApp, c: &Ctx, body: Value) -> (StatusCode, Value) {
    let (s, _, b) = app.post_json("/api/v1/artifact_versions/batch", Some(&c.token), &body).await;
    (s, b)
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

backend_tests!(batch_numbering_and_shapes, |app: TestApp| async move {
    let c = ctx(&app).await;
    let (s, out) = batch(&app, &c, json!([version_request(&c, "trace_int", Value::Null)])).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let v1 = &out[0];
    // The envelope and body of the reference (flow c), in its key order.
    assert_eq!(keys(v1), ["body", "metadata", "resources", "id", "permission_denied"]);
    assert_eq!(
        keys(&v1["body"]),
        [
            "created",
            "updated",
            "user_id",
            "project_id",
            "artifact",
            "version",
            "uri",
            "type",
            "materializer",
            "data_type",
            "save_type",
            "artifact_store_id",
            "content_hash",
            "item_count"
        ]
    );
    assert_eq!(keys(&v1["resources"]), ["user", "tags", "producer_step_run_id", "producer_pipeline_run_id"]);
    assert_eq!(v1["body"]["version"], "1");
    assert_eq!(v1["body"]["artifact"]["name"], "trace_int");
    assert_eq!(v1["body"]["artifact"]["metadata"], Value::Null);
    assert_eq!(v1["body"]["artifact"]["resources"], Value::Null);
    assert_eq!(v1["body"]["materializer"]["attribute"], "BuiltInMaterializer");
    assert_eq!(v1["metadata"]["visualizations"][0]["body"]["type"], "json");
    assert_eq!(
        v1["metadata"]["run_metadata"],
        json!({"storage_size": 2, "string_representation": "42", "ratio": 0.5, "nested": {"a": 1}})
    );
    assert_eq!(v1["resources"]["user"]["name"], "default");
    assert_eq!(v1["resources"]["producer_step_run_id"], Value::Null);

    // Two more in one batch: numbered in order; an explicit version keeps its text.
    let (s, out) = batch(
        &app,
        &c,
        json!([version_request(&c, "trace_int", Value::Null), version_request(&c, "trace_int", Value::Null)]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out[0]["body"]["version"], "2");
    assert_eq!(out[1]["body"]["version"], "3");
    assert_eq!(out[0]["body"]["artifact"]["id"], v1["body"]["artifact"]["id"]);
    let (s, out) = batch(&app, &c, json!([version_request(&c, "trace_int", json!("best"))])).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out[0]["body"]["version"], "best");
    let (s, out) = batch(&app, &c, json!([version_request(&c, "trace_int", json!("best"))])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{out}");
    assert_eq!(out["detail"][0], "EntityExistsError");
    // An explicit integer version is stored as text with its number; the next auto version follows it.
    let (s, out) = batch(&app, &c, json!([version_request(&c, "trace_int", json!(7))])).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out[0]["body"]["version"], "7");
    let (_, out) = batch(&app, &c, json!([version_request(&c, "trace_int", Value::Null)])).await;
    assert_eq!(out[0]["body"]["version"], "8");

    // Stored as the Python server writes: compact Source JSON, json.dumps metadata, types.
    let n = app
        .count(
            r#"SELECT count(*) FROM `artifact_version` WHERE `materializer` = '{"module":"zenml.materializers.built_in_materializer","attribute":"BuiltInMaterializer","type":"internal"}' AND `version_number` = 1"#,
        )
        .await;
    assert_eq!(n, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM `artifact_version` WHERE `version` = 'best' AND `version_number` IS NULL")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM `run_metadata` WHERE `key` = 'string_representation' AND `value` = '\"42\"' AND `type` = 'str'").await, 6);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM `run_metadata` WHERE `key` = 'nested' AND `value` = '{\"a\": 1}' AND `type` = 'dict'"
        )
        .await,
        6
    );
    assert_eq!(app.count("SELECT count(*) FROM `run_metadata` WHERE `key` = 'ratio' AND `type` = 'float'").await, 6);

    // Reads as the client does them (flow d).
    let q = format!(
        "/api/v1/artifact_versions?hydrate=True&sort_by=desc%3Acreated&logical_operator=and&page=1&size=1&project={}&artifact=trace_int&only_unused=False",
        c.project
    );
    let (s, _, page) = app.get(&q, Some(&c.token)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 6);
    assert_eq!(page["total_pages"], 6);
    // MySQL keeps whole seconds, so `created` ties are ordered by id there (as the reference).
    if app.backend() == zenpro_store::Backend::Sqlite {
        assert_eq!(page["items"][0]["body"]["version"], "8");
    }
    assert!(page["items"][0]["metadata"]["run_metadata"].is_object());
    let (_, _, page) = app
        .get(
            &format!("/api/v1/artifact_versions?project={}&sort_by=version_number&version_number=gte:3", c.project),
            Some(&c.token),
        )
        .await;
    let versions: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|i| i["body"]["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["3", "7", "8"]);
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    let (_, _, page) =
        app.get(&format!("/api/v1/artifacts?project={}&sort_by=desc:created", c.project), Some(&c.token)).await;
    assert_eq!(page["total"], 1);
    let a = &page["items"][0];
    assert_eq!(keys(&a["resources"]), ["user", "tags", "latest_version_name", "latest_version_id"]);
    assert_eq!(a["name"], "trace_int");
    assert_eq!(a["metadata"], Value::Null);
    let (_, _, one) = app.get(&format!("/api/v1/artifacts/{}", a["id"].as_str().unwrap()), Some(&c.token)).await;
    assert_eq!(one["metadata"], json!({"has_custom_name": true}));

    // A single version by id, unhydrated and hydrated; its visualization by id.
    let id = v1["id"].as_str().unwrap();
    let (_, _, got) = app.get(&format!("/api/v1/artifact_versions/{id}?hydrate=False"), Some(&c.token)).await;
    assert_eq!(got["metadata"], Value::Null);
    assert_eq!(got["body"], v1["body"]);
    let vis = v1["metadata"]["visualizations"][0]["id"].as_str().unwrap();
    let (s, _, got) = app.get(&format!("/api/v1/artifact_visualizations/{vis}"), Some(&c.token)).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["metadata"]["artifact_version_id"], id);
    assert_eq!(got["resources"]["artifact_version"]["id"], id);

    // Delete a version: its rows go with it.
    let (s, _, _) = app.delete(&format!("/api/v1/artifact_versions/{id}"), Some(&c.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.count("SELECT count(*) FROM `artifact_version`").await, 5);
    let (s, _, _) = app.get(&format!("/api/v1/artifact_versions/{id}"), Some(&c.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

backend_tests!(concurrent_batches_get_distinct_versions, |app: TestApp| async move {
    let c = ctx(&app).await;
    let app = std::sync::Arc::new(app);
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (app, c) = (app.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!([version_request(&c, "raced", Value::Null)]);
            let (s, _, out) = app.post_json("/api/v1/artifact_versions/batch", Some(&c.token), &body).await;
            assert_eq!(s, StatusCode::OK, "{out}");
            out[0]["body"]["version"].as_str().unwrap().to_string()
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.expect("the task ran"));
    }
    let mut numbers: Vec<u32> = versions.iter().map(|v| v.parse().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    assert_eq!(app.count("SELECT count(*) FROM `artifact` WHERE `name` = 'raced'").await, 1);
});

backend_tests!(tags_conflict_lookup_links_and_exclusive, |app: TestApp| async move {
    let c = ctx(&app).await;
    let t = Some(c.token.as_str());
    let (s, _, tag) = app.post_json("/api/v1/tags", t, &json!({"name": "trace-run-tag", "exclusive": false})).await;
    assert_eq!(s, StatusCode::OK, "{tag}");
    assert_eq!(keys(&tag), ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    assert_eq!(keys(&tag["body"]), ["created", "updated", "user_id", "color", "exclusive"]);
    assert_eq!(tag["metadata"], json!({"tagged_count": 0}));
    assert!(zenpro_store::tags::COLORS.contains(&tag["body"]["color"].as_str().unwrap()));
    // The client's fallback: 409, then a lookup by name.
    let (s, _, dup) = app.post_json("/api/v1/tags", t, &json!({"name": "trace-run-tag"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(dup["detail"][0], "EntityExistsError");
    let (_, _, page) = app
        .get(
            &format!("/api/v1/tags?hydrate=False&sort_by=created&page=1&size=20&name={}", enc("equals:trace-run-tag")),
            t,
        )
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], tag["id"]);
    // Names that are UUIDs and unknown colours are refused.
    let (s, _, _) = app.post_json("/api/v1/tags", t, &json!({"name": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = app.post_json("/api/v1/tags", t, &json!({"name": "x", "color": "pink"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Attach to two versions; attaching again adds no row.
    let (_, out) = batch(
        &app,
        &c,
        json!([version_request(&c, "tagged", Value::Null), version_request(&c, "tagged", Value::Null)]),
    )
    .await;
    let (v1, v2) = (out[0]["id"].as_str().unwrap().to_string(), out[1]["id"].as_str().unwrap().to_string());
    let link = |v: &str| json!({"tag_id": tag["id"], "resource_id": v, "resource_type": "artifact_version"});
    for _ in 0..2 {
        let (s, _, links) = app.post_json("/api/v1/tag_resources/batch", t, &json!([link(&v1), link(&v2)])).await;
        assert_eq!(s, StatusCode::OK, "{links}");
        assert_eq!(links.as_array().unwrap().len(), 2);
        assert_eq!(keys(&links[0]["body"]), ["created", "updated", "tag_id", "resource_id", "resource_type"]);
    }
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource`").await, 2);
    let (_, _, got) = app.get(&format!("/api/v1/tags/{}", tag["id"].as_str().unwrap()), t).await;
    assert_eq!(got["metadata"]["tagged_count"], 2);
    let (_, _, got) = app.get(&format!("/api/v1/artifact_versions/{v1}"), t).await;
    assert_eq!(got["resources"]["tags"][0]["name"], "trace-run-tag");
    assert_eq!(got["resources"]["tags"][0]["metadata"], Value::Null);
    let (_, _, page) = app.get(&format!("/api/v1/artifact_versions?project={}&tags=trace-run-tag", c.project), t).await;
    assert_eq!(page["total"], 2);
    // A link to a resource that does not exist: 404.
    let (s, _, _) =
        app.post_json("/api/v1/tag_resources/batch", t, &json!([link(&uuid::Uuid::new_v4().to_string())])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Detach with a DELETE body, as `remove_tags` does.
    let (s, _, body) = app
        .send_raw(
            http::Method::DELETE,
            "/api/v1/tag_resources/batch",
            t,
            "application/json",
            json!([link(&v1)]).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, Value::Null);
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource`").await, 1);

    // Making it exclusive while on two versions of one artifact is refused; with one, allowed.
    let tag_url = format!("/api/v1/tags/{}", tag["id"].as_str().unwrap());
    app.post_json("/api/v1/tag_resources", t, &link(&v1)).await;
    let (s, _, err) = app.put_json(&tag_url, t, &json!({"exclusive": true})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
    let (s, _, _) =
        app.send_raw(http::Method::DELETE, "/api/v1/tag_resources", t, "application/json", link(&v2).to_string()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, upd) = app.put_json(&tag_url, t, &json!({"exclusive": true, "color": "blue"})).await;
    assert_eq!(s, StatusCode::OK, "{upd}");
    assert_eq!(upd["body"]["exclusive"], true);
    assert_eq!(upd["body"]["color"], "blue");
    // The exclusive tag moves from v1 to v2 (same artifact).
    app.post_json("/api/v1/tag_resources", t, &link(&v2)).await;
    let rows = app
        .count(&format!("SELECT count(*) FROM `tag_resource` WHERE `resource_id` = '{}'", v2.replace('-', "")))
        .await;
    assert_eq!(rows, 1);
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource`").await, 1);
    // An exclusive tag on a model is refused.
    let (_, _, model) = app.post_json("/api/v1/models", t, &json!({"project": c.project, "name": "m"})).await;
    let (s, _, err) = app
        .post_json(
            "/api/v1/tag_resources",
            t,
            &json!({"tag_id": tag["id"], "resource_id": model["id"], "resource_type": "model"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");

    // Tags through the update of a version, then delete the tag with its links.
    let (s, _, got) = app
        .put_json(
            &format!("/api/v1/artifact_versions/{v1}"),
            t,
            &json!({"add_tags": ["a", "b"], "remove_tags": ["nope"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let names: Vec<&str> =
        got["resources"]["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(got["resources"]["tags"][0]["body"]["user_id"], got["body"]["user_id"]);
    let (s, _, _) = app.delete(&tag_url, t).await;
    assert_eq!(s, StatusCode::OK);
    let tag_hex = tag["id"].as_str().unwrap().replace('-', "");
    assert_eq!(app.count(&format!("SELECT count(*) FROM `tag_resource` WHERE `tag_id` = '{tag_hex}'")).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource`").await, 2);
});

backend_tests!(models_versions_and_stages, |app: TestApp| async move {
    let c = ctx(&app).await;
    let t = Some(c.token.as_str());
    let (s, _, m) = app
        .post_json(
            "/api/v1/models",
            t,
            &json!({"project": c.project, "name": "trace_model_manual", "license": null, "description": "manual",
                    "audience": null, "use_cases": null, "limitations": null, "trade_offs": null, "ethics": null,
                    "tags": ["trace-model-tag"], "save_models_to_registry": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(keys(&m["resources"]), ["user", "tags", "latest_version_name", "latest_version_id", "visualizations"]);
    assert_eq!(m["resources"]["tags"][0]["name"], "trace-model-tag");
    assert_eq!(m["metadata"]["description"], "manual");
    assert_eq!(m["resources"]["latest_version_name"], Value::Null);
    let (s, _, dup) =
        app.post_json("/api/v1/models", t, &json!({"project": c.project, "name": "trace_model_manual"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{dup}");
    let model_id = m["id"].as_str().unwrap().to_string();

    let (s, _, v1) = app
        .post_json(
            "/api/v1/model_versions",
            t,
            &json!({"project": c.project, "name": "v1", "description": "first", "stage": null, "model": model_id, "tags": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(keys(&v1["body"]), ["created", "updated", "user_id", "project_id", "stage", "number", "model"]);
    assert_eq!(v1["body"]["number"], 1);
    assert_eq!(v1["name"], "v1");
    assert_eq!(v1["metadata"], json!({"description": "first", "run_metadata": {}}));
    assert_eq!(
        v1["resources"]["services"],
        json!({"index": 1, "max_size": 5, "total_pages": 1, "total": 0, "items": []})
    );
    // Numeric and stage names are refused; a taken name is a conflict.
    for bad in ["2", "production", "Latest"] {
        let (s, _, _) = app
            .post_json("/api/v1/model_versions", t, &json!({"project": c.project, "name": bad, "model": model_id}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (s, _, _) = app
        .post_json("/api/v1/model_versions", t, &json!({"project": c.project, "name": "v1", "model": model_id}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, _, v2) =
        app.post_json("/api/v1/model_versions", t, &json!({"project": c.project, "model": model_id})).await;
    assert_eq!(v2["name"], "2");
    assert_eq!(v2["body"]["number"], 2);

    // Promotion: one version per stage; without force the reference answers 500 RuntimeError.
    let v1_url = format!("/api/v1/model_versions/{}", v1["id"].as_str().unwrap());
    let v2_url = format!("/api/v1/model_versions/{}", v2["id"].as_str().unwrap());
    let (s, _, p) = app.put_json(&v1_url, t, &json!({"stage": "production", "force": false})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["body"]["stage"], "production");
    let (s, _, err) = app.put_json(&v2_url, t, &json!({"stage": "production"})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        err,
        json!({"detail": ["RuntimeError", "Model version v1 is in production, but `force` flag is False."]})
    );
    let (s, _, p) = app.put_json(&v2_url, t, &json!({"stage": "production", "force": true})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, _, old) = app.get(&v1_url, t).await;
    assert_eq!(old["body"]["stage"], "archived");
    let (s, _, _) = app.put_json(&v2_url, t, &json!({"stage": "gold"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The client's reads (flow f): by model name, sorted by number, and the model list.
    let (_, _, page) = app
        .get(
            &format!(
                "/api/v1/model_versions?hydrate=True&sort_by=desc%3Anumber&project={}&model=trace_model_manual",
                c.project
            ),
            t,
        )
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["name"], "2");
    let (_, _, page) = app
        .get(&format!("/api/v1/models/trace_model_manual/model_versions?project={}&stage=archived", c.project), t)
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "v1");
    let (_, _, page) =
        app.get(&format!("/api/v1/models?hydrate=False&sort_by=desc%3Acreated&project={}", c.project), t).await;
    assert_eq!(page["items"][0]["resources"]["latest_version_name"], "2");
    assert_eq!(page["items"][0]["resources"]["latest_version_id"], v2["id"]);

    // Links to artifact versions, and the artifact list filtered by model version.
    let (_, out) = batch(&app, &c, json!([version_request(&c, "model_out", Value::Null)])).await;
    let av = out[0]["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let (s, _, l) = app
            .post_json(
                "/api/v1/model_version_artifacts",
                t,
                &json!({"model_version": v2["id"], "artifact_version": av}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert_eq!(l["body"]["artifact_version"]["id"], av.as_str());
        assert_eq!(l["body"]["artifact_version"]["resources"], Value::Null);
    }
    assert_eq!(app.count("SELECT count(*) FROM `model_versions_artifacts`").await, 1);
    let mv = v2["id"].as_str().unwrap();
    let (_, _, page) =
        app.get(&format!("/api/v1/model_version_artifacts?sort_by=created&model_version_id={mv}"), t).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    let (_, _, page) =
        app.get(&format!("/api/v1/artifact_versions?project={}&model_version_id={mv}", c.project), t).await;
    assert_eq!(page["total"], 1);
    let (_, _, page) =
        app.get(&format!("/api/v1/artifact_versions?project={}&model=trace_model_manual", c.project), t).await;
    assert_eq!(page["total"], 1);
    let (s, _, _) = app.delete(&format!("/api/v1/model_versions/{mv}/artifacts/model_out"), t).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.count("SELECT count(*) FROM `model_versions_artifacts`").await, 0);

    // Delete the model: versions and tag links go with it.
    let (s, _, _) = app.delete(&format!("/api/v1/models/{model_id}"), t).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.count("SELECT count(*) FROM `model_version`").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource`").await, 0);
});

/// A bare pipeline run row (no snapshot), for the run-model logic.
async fn insert_run(app: &TestApp, project: &str, name: &str) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    let now = zenpro_types::time::utc_now();
    let q = Query::new(
        "INSERT INTO `pipeline_run` (`id`, `created`, `updated`, `name`, `in_progress`, `status`, `index`, \
         `enable_heartbeat`, `project_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(now)
    .bind(now)
    .bind(name)
    .bind(false)
    .bind("completed")
    .bind(1i64)
    .bind(false)
    .bind(uuid::Uuid::parse_str(project).unwrap());
    app.pool().execute(q).await.expect("the run row is inserted");
    id
}

backend_tests!(model_version_for_run_is_idempotent_per_run, |app: TestApp| async move {
    let c = ctx(&app).await;
    let project = uuid::Uuid::parse_str(&c.project).unwrap();
    let user =
        Some(app.state.store().get_account(&zenpro_store::NameOrId::Name("default".into()), false).await.unwrap());
    let user_id = user.map(|u| zenpro_store::parse_id(&u.id));
    let run1 = insert_run(&app, &c.project, "run-1").await;
    let run2 = insert_run(&app, &c.project, "run-2").await;
    let store = app.state.store().clone();
    // Concurrent calls for one run: one numeric version, one link.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.model_version_for_run(project, user_id, "trace_model", None, run1).await.map(|v| v.id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().expect("a model version"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let again = store.model_version_for_run(project, user_id, "trace_model", None, run1).await.unwrap();
    assert_eq!(again.id, ids[0]);
    assert_eq!(again.name, "1");
    let other = store.model_version_for_run(project, user_id, "trace_model", None, run2).await.unwrap();
    assert_eq!(other.number, 2);
    assert_eq!(app.count("SELECT count(*) FROM `model`").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM `model_versions_runs`").await, 2);
    // A named version is created once and shared; a number or stage must exist.
    let named =
        store.model_version_for_run(project, user_id, "trace_model", Some("prod-x".into()), run1).await.unwrap();
    let named2 =
        store.model_version_for_run(project, user_id, "trace_model", Some("prod-x".into()), run2).await.unwrap();
    assert_eq!(named.id, named2.id);
    let latest =
        store.model_version_for_run(project, user_id, "trace_model", Some("latest".into()), run2).await.unwrap();
    assert_eq!(latest.id, named.id);
    let err = store.model_version_for_run(project, user_id, "trace_model", Some("9".into()), run2).await.unwrap_err();
    assert!(matches!(err, zenpro_types::Error::NotFound(_)), "{err:?}");
    let err =
        store.model_version_for_run(project, user_id, "trace_model", Some("staging".into()), run2).await.unwrap_err();
    assert!(matches!(err, zenpro_types::Error::NotFound(_)), "{err:?}");

    // The run links through the API.
    let t = Some(c.token.as_str());
    let (_, _, page) = app.get(&format!("/api/v1/model_version_pipeline_runs?model_version_id={}", ids[0]), t).await;
    assert_eq!(page["total"], 1);
    let link = &page["items"][0];
    assert_eq!(keys(&link["body"]), ["created", "updated", "model_version", "pipeline_run"]);
    assert_eq!(link["body"]["pipeline_run"]["name"], "run-1");
    assert_eq!(link["body"]["pipeline_run"]["resources"], Value::Null);
    let (_, _, page) = app.get("/api/v1/model_version_pipeline_runs?pipeline_run_name=run-2", t).await;
    assert_eq!(page["total"], 2);
});

backend_tests!(model_version_run_link_delete, |app: TestApp| async move {
    let c = ctx(&app).await;
    let t = Some(c.token.as_str());
    let project = uuid::Uuid::parse_str(&c.project).unwrap();
    let run1 = insert_run(&app, &c.project, "run-1").await;
    let run2 = insert_run(&app, &c.project, "run-2").await;
    let mv = app.state.store().model_version_for_run(project, None, "link_model", None, run1).await.unwrap();
    let mv = zenpro_store::parse_id(&mv.id);
    let (s, _, l) = app
        .post_json("/api/v1/model_version_pipeline_runs", t, &json!({"model_version": mv, "pipeline_run": run2}))
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    let link2 = l["id"].as_str().unwrap().to_string();
    let links = |run: uuid::Uuid| {
        Query::new("SELECT count(*) FROM `model_versions_runs` WHERE `model_version_id` = ? AND `pipeline_run_id` = ?")
            .bind(mv)
            .bind(run)
    };
    assert_eq!(app.pool().fetch_i64(links(run1)).await.unwrap(), 1);
    assert_eq!(app.pool().fetch_i64(links(run2)).await.unwrap(), 1);

    // By the run's name: that link goes, the other stays.
    let (s, _, b) = app.delete(&format!("/api/v1/model_versions/{mv}/runs/run-1"), t).await;
    assert_eq!((s, b), (StatusCode::OK, Value::Null));
    assert_eq!(app.pool().fetch_i64(links(run1)).await.unwrap(), 0);
    assert_eq!(app.pool().fetch_i64(links(run2)).await.unwrap(), 1);
    // Again: there is no such link now (a KeyError: its message is quoted, as str(KeyError) is).
    let (s, _, b) = app.delete(&format!("/api/v1/model_versions/{mv}/runs/run-1"), t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b,
        json!({"detail": ["KeyError", "'Unable to delete model version link with name `run-1`: No model version link \
                                       with this name found.'"]})
    );
    // By the link's id (a link id of another model version matches nothing).
    let other = uuid::Uuid::new_v4();
    let (s, _, _) = app.delete(&format!("/api/v1/model_versions/{mv}/runs/{other}"), t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, b) = app.delete(&format!("/api/v1/model_versions/{mv}/runs/{link2}"), t).await;
    assert_eq!((s, b), (StatusCode::OK, Value::Null));
    assert_eq!(app.count("SELECT count(*) FROM `model_versions_runs`").await, 0);
    // The runs and the model version themselves stay.
    assert_eq!(app.count("SELECT count(*) FROM `pipeline_run`").await, 2);
    let (s, _, _) = app.get(&format!("/api/v1/model_versions/{mv}"), t).await;
    assert_eq!(s, StatusCode::OK);
    // An unknown model version is a 404 before any link is looked at.
    let (s, _, _) = app.delete(&format!("/api/v1/model_versions/{other}/runs/run-2"), t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

backend_tests!(bad_input, |app: TestApp| async move {
    let c = ctx(&app).await;
    let t = Some(c.token.as_str());
    for path in [
        "/api/v1/artifact_versions/not-a-uuid",
        "/api/v1/artifacts/not-a-uuid",
        "/api/v1/models/not-a-uuid",
        "/api/v1/model_versions/not-a-uuid",
        "/api/v1/artifact_visualizations/xyz",
    ] {
        let (s, _, b) = app.get(path, t).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
    }
    let unknown = uuid::Uuid::new_v4();
    for path in ["artifact_versions", "artifacts", "models", "model_versions", "tags", "artifact_visualizations"] {
        let (s, _, b) = app.get(&format!("/api/v1/{path}/{unknown}"), t).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
        assert_eq!(b["detail"][0], "KeyError");
    }
    // Bodies: neither artifact name nor id; both; a bad type; not JSON.
    let mut r = version_request(&c, "x", Value::Null);
    r["artifact_name"] = Value::Null;
    let (s, _) = batch(&app, &c, json!([r])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut r = version_request(&c, "x", Value::Null);
    r["artifact_id"] = json!(unknown.to_string());
    let (s, _) = batch(&app, &c, json!([r])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut r = version_request(&c, "x", Value::Null);
    r["type"] = json!("NoSuchArtifact");
    let (s, _) = batch(&app, &c, json!([r])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) =
        app.send_raw(http::Method::POST, "/api/v1/artifact_versions/batch", t, "application/json", "[{").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown references: artifact store, artifact id, model.
    let mut r = version_request(&c, "x", Value::Null);
    r["artifact_store_id"] = json!(unknown.to_string());
    let (s, _) = batch(&app, &c, json!([r])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut r = version_request(&c, "x", Value::Null);
    r["artifact_name"] = Value::Null;
    r["artifact_id"] = json!(unknown.to_string());
    let (s, _) = batch(&app, &c, json!([r])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) =
        app.post_json("/api/v1/model_versions", t, &json!({"project": c.project, "model": unknown.to_string()})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Filters: a project that does not exist, a bad sort field, a bad boolean.
    let (s, _, _) = app.get("/api/v1/artifact_versions?project=nope", t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = app.get("/api/v1/artifact_versions?sort_by=nonsense", t).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = app.get("/api/v1/artifact_versions?only_unused=maybe", t).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was written by the failed requests.
    assert_eq!(app.count("SELECT count(*) FROM `artifact_version`").await, 0);
    // Unauthenticated.
    let (s, _, _) = app.get("/api/v1/artifact_versions", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
});

backend_tests!(concurrent_tagging_makes_one_link_per_pair, |app: TestApp| async move {
    let c = ctx(&app).await;
    let (_, out) =
        batch(&app, &c, json!([version_request(&c, "busy", Value::Null), version_request(&c, "busy", Value::Null)]))
            .await;
    let versions: Vec<String> = out.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
    let app = std::sync::Arc::new(app);
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (app, c, versions) = (app.clone(), c.clone(), versions.clone());
        tasks.push(tokio::spawn(async move {
            // Tags by name, as `add_tags` and run/step tags do: get-or-create, then attach.
            let v = &versions[i % 2];
            let body = json!({"add_tags": ["shared", format!("own-{}", i % 3)]});
            let (s, _, out) = app.put_json(&format!("/api/v1/artifact_versions/{v}"), Some(&c.token), &body).await;
            assert_eq!(s, StatusCode::OK, "{out}");
        }));
    }
    for t in tasks {
        t.await.expect("the task ran");
    }
    assert_eq!(app.count("SELECT count(*) FROM `tag` WHERE `name` = 'shared'").await, 1);
    // Each (tag, version) pair once: `shared` on both, `own-k` on the versions that got it.
    assert_eq!(app.count("SELECT count(*) FROM `tag_resource` WHERE `resource_type` = 'artifact_version'").await, 8);
    let pairs = app
        .count(
            "SELECT count(*) FROM (SELECT `tag_id`, `resource_id` FROM `tag_resource` GROUP BY `tag_id`, `resource_id` \
             HAVING count(*) > 1) AS `dups`",
        )
        .await;
    assert_eq!(pairs, 0);
});
