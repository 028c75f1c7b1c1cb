//! The resources around runs through the HTTP API (SQLite, and MariaDB/MySQL with
//! `ZENPRO_TEST_MYSQL_URL`): pipelines, builds, code repositories and code references,
//! schedules, run templates, run metadata, logs and step heartbeats, and what deleting a
//! pipeline takes with it.

mod common;

use common::runs::*;
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

backend_tests!(pipelines_builds_and_code_repositories, |app: TestApp| async move {
    let f = flow(&app).await;
    let t = Some(f.token.as_str());
    let (s, _, p) = app
        .post_json(
            "/api/v1/pipelines",
            t,
            &json!({"project": f.project, "name": "pipe", "description": "d", "tags": ["t1"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let pid = id(&p);
    assert_eq!(p["metadata"], json!({"description": "d"}));
    assert_eq!(p["resources"]["tags"][0]["name"], "t1");
    assert_eq!(p["resources"]["latest_run_id"], Value::Null);
    let (_, _, page) = app.get(&format!("/api/v1/pipelines?project={}&tags=t1", f.project), t).await;
    assert_eq!(page["total"], 1, "{page}");
    let (_, _, page) = app.get("/api/v1/pipelines?name=contains:nomatch", t).await;
    assert_eq!(page["total"], 0, "{page}");
    // `PipelineUpdate` replaces the description (also with null).
    let (s, _, u) = app.put_json(&format!("/api/v1/pipelines/{pid}"), t, &json!({"remove_tags": ["t1"]})).await;
    assert_eq!((s, &u["metadata"]["description"], &u["resources"]["tags"]), (StatusCode::OK, &Value::Null, &json!([])));
    let (s, _, unknown_project) = app.get("/api/v1/pipelines?project=nope", t).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{unknown_project}");

    // Builds.
    let build = json!({"project": f.project, "images": {"orchestrator": {"image": "img:1", "dockerfile": null}},
                       "is_local": false, "contains_code": true, "stack": f.stack, "pipeline": pid, "checksum": "c"});
    let (s, _, b) = app.post_json("/api/v1/pipeline_builds", t, &build).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["metadata"]["images"]["orchestrator"]["image"], "img:1");
    assert_eq!(b["metadata"]["pipeline"]["name"], "pipe");
    assert!(b.get("name").is_none(), "builds have no name");
    let (_, _, page) = app.get(&format!("/api/v1/pipeline_builds?pipeline_id={pid}&is_local=false"), t).await;
    assert_eq!(page["total"], 1, "{page}");

    // Code repositories, and the code reference a snapshot creates (reused for the same commit).
    let repo = json!({"project": f.project, "name": "repo", "config": {"url": "https://x"},
                      "source": {"module": "zenml.integrations.github", "attribute": "GitHubCodeRepository", "type": "internal"},
                      "logo_url": null, "description": "r"});
    let (s, _, r) = app.post_json("/api/v1/code_repositories", t, &repo).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["metadata"], json!({"config": {"url": "https://x"}, "description": "r"}));
    assert_eq!(app.post_json("/api/v1/code_repositories", t, &repo).await.0, StatusCode::CONFLICT);
    let mut body = snapshot_body(&f, &pid, "pipe", &trace_basic());
    body["code_reference"] = json!({"commit": "abc", "subdirectory": "src", "code_repository": id(&r)});
    body["build"] = json!(id(&b));
    let (s, _, snap) = app.post_json("/api/v1/pipeline_snapshots", t, &body).await;
    assert_eq!(s, StatusCode::OK, "{snap}");
    assert_eq!(snap["resources"]["code_reference"]["body"]["commit"], "abc");
    assert_eq!(snap["resources"]["code_reference"]["body"]["code_repository"]["name"], "repo");
    assert_eq!((&snap["body"]["runnable"], &snap["body"]["deployable"]), (&json!(true), &json!(true)));
    let (s, _, snap2) = app.post_json("/api/v1/pipeline_snapshots", t, &body).await;
    assert_eq!(s, StatusCode::OK, "{snap2}");
    assert_eq!(snap2["resources"]["code_reference"]["id"], snap["resources"]["code_reference"]["id"]);
    let (_, run) = post_run(&app, &f, &id(&snap), "pipe-run", None).await;
    assert_eq!(run[0]["metadata"]["is_templatable"], true, "{run}");
    let (_, _, runs) = app.get(&format!("/api/v1/runs?code_repository_id={}", id(&r)), t).await;
    assert_eq!(runs["total"], 1, "{runs}");

    // Named snapshots: a second one with the name is refused unless it replaces the first.
    let mut named = snapshot_body(&f, &pid, "pipe", &trace_basic());
    named["name"] = json!("v1");
    assert_eq!(app.post_json("/api/v1/pipeline_snapshots", t, &named).await.0, StatusCode::OK);
    let dup = app.post_json("/api/v1/pipeline_snapshots", t, &named).await;
    assert_eq!(dup.0, StatusCode::CONFLICT, "{}", dup.2);
    named["replace"] = json!(true);
    let (s, _, replaced) = app.post_json("/api/v1/pipeline_snapshots", t, &named).await;
    assert_eq!((s, &replaced["name"]), (StatusCode::OK, &json!("v1")), "{replaced}");
    let (_, _, page) = app.get("/api/v1/pipeline_snapshots?named_only=True", t).await;
    assert_eq!(page["total"], 1, "{page}");
    let (s, _, deployments) = app.get("/api/v1/pipeline_deployments?size=50", t).await;
    assert_eq!((s, &deployments["total"]), (StatusCode::OK, &json!(3)), "{deployments}");

    // Deleting the pipeline deletes its snapshots, runs and their links.
    let (s, _, _) = app.delete(&format!("/api/v1/pipelines/{pid}"), t).await;
    assert_eq!(s, StatusCode::OK);
    let pid_hex = pid.replace('-', "");
    assert_eq!(app.count(&format!("SELECT count(*) FROM pipeline_snapshot WHERE pipeline_id = '{pid_hex}'")).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM pipeline_run WHERE name = 'pipe-run'").await, 0);
    assert_eq!(app.count(&format!("SELECT count(*) FROM tag_resource WHERE resource_id = '{pid_hex}'")).await, 0);
    assert_eq!(app.get(&format!("/api/v1/pipeline_builds/{}", id(&b)), t).await.2["metadata"]["pipeline"], Value::Null);
    let (s, _, _) = app.delete(&format!("/api/v1/code_repositories/{}", id(&r)), t).await;
    assert_eq!(s, StatusCode::OK);
});

backend_tests!(schedules_templates_metadata_logs_heartbeats, |app: TestApp| async move {
    let f = flow(&app).await;
    let t = Some(f.token.as_str());
    let snap = snapshot(&app, &f, "trace_basic", &trace_basic()).await;
    let pid = snap["body"]["pipeline_id"].as_str().unwrap().to_string();

    // Schedules: an interval is a timedelta (ISO 8601 on the wire).
    let schedule = json!({"project": f.project, "name": "nightly", "active": true, "cron_expression": null,
                          "start_time": "2026-11-26T10:00:00", "end_time": null, "interval_second": 3600.5,
                          "catchup": false, "run_once_start_time": null, "orchestrator_id": null, "pipeline_id": pid});
    let (s, _, sc) = app.post_json("/api/v1/schedules", t, &schedule).await;
    assert_eq!(s, StatusCode::OK, "{sc}");
    assert_eq!(
        (&sc["body"]["interval_second"], &sc["body"]["start_time"]),
        (&json!("PT1H0.5S"), &json!("2026-11-26T10:00:00"))
    );
    assert_eq!(app.post_json("/api/v1/schedules", t, &schedule).await.0, StatusCode::CONFLICT);
    let (s, _, sc2) =
        app.put_json(&format!("/api/v1/schedules/{}", id(&sc)), t, &json!({"active": false, "name": "weekly"})).await;
    assert_eq!((s, &sc2["body"]["active"], &sc2["name"]), (StatusCode::OK, &json!(false), &json!("weekly")));

    // Run metadata on a run, shown in its metadata; colons are refused.
    let (_, run) = post_run(&app, &f, &id(&snap), "meta-run", None).await;
    let run_id = id(&run[0]);
    let md = json!({"project": f.project, "resources": [{"id": run_id, "type": "pipeline_run"}],
                    "stack_component_id": null, "values": {"accuracy": 0.9, "info": {"a": 1}},
                    "types": {"accuracy": "float", "info": "dict"}, "publisher_step_id": null});
    let (s, _, b) = app.post_json("/api/v1/run-metadata", t, &md).await;
    assert_eq!((s, b), (StatusCode::OK, Value::Null));
    let more = json!({"project": f.project, "resources": [{"id": run_id, "type": "pipeline_run"}],
                      "values": {"info": {"b": 2}}, "types": {"info": "dict"}});
    assert_eq!(app.post_json("/api/v1/run-metadata", t, &more).await.0, StatusCode::OK);
    let (_, _, r) = app.get(&format!("/api/v1/runs/{run_id}"), t).await;
    assert_eq!(r["metadata"]["run_metadata"], json!({"accuracy": 0.9, "info": {"a": 1, "b": 2}}));
    assert_eq!(
        app.count("SELECT count(*) FROM run_metadata WHERE `key` = 'accuracy' AND value = '0.9' AND type = 'float'")
            .await,
        1
    );
    let mut bad = md.clone();
    bad["values"] = json!({"a:b": 1});
    bad["types"] = json!({"a:b": "int"});
    assert_eq!(app.post_json("/api/v1/run-metadata", t, &bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let mut missing = md.clone();
    missing["resources"] = json!([{"id": uuid::Uuid::new_v4(), "type": "step_run"}]);
    assert_eq!(app.post_json("/api/v1/run-metadata", t, &missing).await.0, StatusCode::NOT_FOUND);

    // Run templates of the snapshot.
    let tmpl = json!({"project": f.project, "name": "tmpl", "description": "td", "source_snapshot_id": id(&snap),
                      "hidden": false, "tags": ["tt"]});
    let (s, _, tp) = app.post_json("/api/v1/run_templates", t, &tmpl).await;
    assert_eq!(s, StatusCode::OK, "{tp}");
    assert_eq!(tp["resources"]["source_snapshot"]["id"], snap["id"]);
    assert_eq!(tp["metadata"]["pipeline_spec"]["version"], "0.5");
    assert_eq!(tp["resources"]["tags"][0]["name"], "tt");
    assert_eq!(app.post_json("/api/v1/run_templates", t, &tmpl).await.0, StatusCode::CONFLICT);
    let (_, _, page) = app.get(&format!("/api/v1/run_templates?pipeline_id={pid}"), t).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(app.delete(&format!("/api/v1/run_templates/{}", id(&tp)), t).await.0, StatusCode::OK);

    // Logs: a store is required unless written by a runner; a linked record cannot move.
    let logs = json!({"project": f.project, "uri": "/l", "source": "client", "artifact_store_id": null});
    assert_eq!(app.post_json("/api/v1/logs", t, &logs).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let logs = json!({"project": f.project, "uri": "/l", "source": "client", "artifact_store_id": f.store, "pipeline_run_id": run_id});
    let (s, _, l) = app.post_json("/api/v1/logs", t, &logs).await;
    assert_eq!((s, &l["metadata"]["pipeline_run_id"]), (StatusCode::OK, &json!(run_id)), "{l}");
    let (_, other) = post_run(&app, &f, &id(&snap), "other-run", None).await;
    let moved = app.put_json(&format!("/api/v1/logs/{}", id(&l)), t, &json!({"pipeline_run_id": id(&other[0])})).await;
    assert_eq!(moved.0, StatusCode::FORBIDDEN, "{}", moved.2);

    // Heartbeats of a running step.
    let (_, claimed) = post_run(&app, &f, &id(&snap), "hb", Some("orch-hb")).await;
    let (s, step) =
        post_step(&app, &f, &id(&claimed[0]), "produce_int", "running", "k", json!({}), json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{step}");
    let (s, _, hb) = app.put_json(&format!("/api/v1/steps/{}/heartbeat", id(&step)), t, &json!({})).await;
    assert_eq!(
        (s, &hb["status"], &hb["pipeline_run_status"]),
        (StatusCode::OK, &json!("running"), &json!("running")),
        "{hb}"
    );
    let (_, _, got) = app.get(&format!("/api/v1/steps/{}", id(&step)), t).await;
    assert!(got["body"]["latest_heartbeat"].is_string(), "{got}");
    let (s, _, st) = app.get(&format!("/api/v1/steps/{}/status", id(&step)), t).await;
    assert_eq!((s, st), (StatusCode::OK, json!("running")));
    let (s, _, _) = app.delete(&format!("/api/v1/schedules/{}", id(&sc)), t).await;
    assert_eq!(s, StatusCode::OK);
});
