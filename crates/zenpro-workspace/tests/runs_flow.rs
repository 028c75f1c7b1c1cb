//! The run protocol of the zenml 0.98.0 client (flow c of the API trace) through the HTTP API,
//! on SQLite and on MariaDB/MySQL (`ZENPRO_TEST_MYSQL_URL`): a fresh 3-step run, a fully
//! cached rerun and a failing run, with the placeholder run claimed by the orchestrator, the
//! `[run, created]` answers, the cache lookup, run indexes and the derived run statuses.
//!
//! Reference (Python 0.98.0) behaviour, from the trace: `PUT /runs/{id} {"status":
//! "provisioning"}` after the run completed is ignored (the answer says `completed`); a fully
//! cached run becomes `completed` without any run update; a failed step fails the run.

mod common;

use common::runs::*;
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

async fn complete_step(app: &TestApp, f: &Flow, step: &str, output: &str, artifact: &str) -> Value {
    let body =
        json!({"outputs": {output: [artifact]}, "status": "completed", "end_time": "2026-11-26T10:31:27.000001"});
    let (s, _, b) = app.put_json(&format!("/api/v1/steps/{step}"), Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

async fn get_run(app: &TestApp, f: &Flow, run: &str) -> Value {
    let (s, _, b) =
        app.get(&format!("/api/v1/runs/{run}?hydrate=True&include_full_metadata=False"), Some(&f.token)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// The `date`/`time` substitutions of a run started at 2026-11-26T10:31:19.990385 (MySQL keeps
/// whole seconds, as the reference's columns there).
fn substitutions(app: &TestApp) -> Value {
    let time = if app.backend() == zenpro_store::Backend::MySql { "10_31_19_000000" } else { "10_31_19_990385" };
    json!({"date": "2026_11_26", "time": time})
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

backend_tests!(fresh_cached_and_failing_runs, |app: TestApp| async move {
    let f = flow(&app).await;
    let (s, _, repos) =
        app.get(&format!("/api/v1/code_repositories?hydrate=False&project={}", f.project), Some(&f.token)).await;
    assert_eq!((s, &repos["total"]), (StatusCode::OK, &json!(0)), "{repos}");

    // ---- Run 1: fresh.
    let snap = snapshot(&app, &f, "trace_basic", &trace_basic()).await;
    let snap_id = id(&snap);
    assert_eq!(keys(&snap), ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    assert_eq!(snap["name"], Value::Null);
    assert_eq!(keys(&snap["metadata"]["step_configurations"]), ["produce_int", "produce_text", "combine"]);
    let combine = &snap["metadata"]["step_configurations"]["combine"];
    assert_eq!(keys(combine), ["spec", "config", "step_config_overrides"]);
    assert_eq!(combine["config"]["name"], "combine");
    assert!(snap["metadata"]["client_environment"].get("python_packages").is_none(), "{snap}");
    assert_eq!(keys(&snap["metadata"]["pipeline_spec"])[..2], ["version", "source"]);
    assert_eq!(snap["resources"]["stack"]["name"], "default");
    // Stored as the reference stores it: the spec as sorted `json.dumps`, steps without the
    // merged config, one row per step.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM pipeline_snapshot WHERE id = '{}' AND pipeline_spec LIKE '{{\"input_schema\": {{%' \
             AND client_environment LIKE '%\"python_packages\": \"zenml==0.98.0\"%' AND step_count = 3",
            snap_id.replace('-', "")
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM step_configuration WHERE snapshot_id = '{}' AND config LIKE '{{\"spec\":%' \
             AND config LIKE '%\"step_config_overrides\":%' AND config NOT LIKE '%\"config\":%'",
            snap_id.replace('-', "")
        ))
        .await,
        3
    );

    let (s, placeholder) = post_run(&app, &f, &snap_id, "trace_basic-run-1", None).await;
    assert_eq!(s, StatusCode::OK, "{placeholder}");
    assert_eq!(placeholder[1], json!(true), "a new run answers [run, true]");
    let run = &placeholder[0];
    let run_id = id(run);
    assert_eq!(run["body"]["status"], "initializing");
    assert_eq!((&run["body"]["index"], &run["body"]["in_progress"]), (&json!(1), &json!(true)));
    assert_eq!(run["metadata"]["config"]["substitutions"], substitutions(&app));
    assert_eq!(run["resources"]["snapshot"]["id"], json!(snap_id));
    assert_eq!(run["resources"]["pipeline"]["name"], "trace_basic");
    assert_eq!(run["resources"]["log_collection"], json!([]));
    assert_eq!(
        keys(&run["resources"]),
        [
            "user",
            "snapshot",
            "source_snapshot",
            "stack",
            "pipeline",
            "build",
            "schedule",
            "code_reference",
            "model_version",
            "tags",
            "log_collection",
            "visualizations",
            "trigger",
            "original_run",
            "parent_run",
            "active_wait_condition",
            "outputs"
        ]
    );

    // The client's log record, linked to the run.
    let log_id = uuid::Uuid::new_v4().to_string();
    let logs = json!({"project": f.project, "id": log_id, "uri": "/tmp/logs/client.log", "source": "client",
                      "artifact_store_id": f.store, "log_store_id": null, "pipeline_run_id": null, "step_run_id": null});
    let (s, _, l) = app.post_json("/api/v1/logs", Some(&f.token), &logs).await;
    assert_eq!((s, &l["id"]), (StatusCode::OK, &json!(log_id)), "{l}");
    let (s, _, l) =
        app.put_json(&format!("/api/v1/logs/{log_id}"), Some(&f.token), &json!({"pipeline_run_id": run_id})).await;
    assert_eq!((s, &l["body"]["pipeline_run_id"]), (StatusCode::OK, &json!(run_id)), "{l}");

    assert_eq!(cache_lookup(&app, &f, "key-int").await["total"], 0);

    // The orchestrator claims the placeholder, then any later request gets the same run.
    let (s, claimed) = post_run(&app, &f, &snap_id, "trace_basic-run-1-orchestrator", Some("orch-1")).await;
    assert_eq!(s, StatusCode::OK, "{claimed}");
    assert_eq!((id(&claimed[0]), &claimed[1]), (run_id.clone(), &json!(true)), "claiming answers created=true");
    assert_eq!(claimed[0]["body"]["status"], "running");
    assert_eq!(claimed[0]["name"], "trace_basic-run-1", "the placeholder keeps its name");
    assert_eq!(claimed[0]["metadata"]["orchestrator_environment"], json!({"os": "linux"}));
    assert_eq!(claimed[0]["resources"]["log_collection"][0]["id"], json!(log_id));
    let (s, again) = post_run(&app, &f, &snap_id, "trace_basic-run-1-orchestrator", Some("orch-1")).await;
    assert_eq!((s, id(&again[0]), &again[1]), (StatusCode::OK, run_id.clone(), &json!(false)), "{again}");

    let mut steps = std::collections::HashMap::new();
    let mut artifacts = std::collections::HashMap::new();
    for (name, key, output) in [("produce_int", "key-int", "trace_int"), ("produce_text", "key-text", "trace_text")] {
        let (s, step) = post_step(&app, &f, &run_id, name, "running", key, json!({}), json!({}), None).await;
        assert_eq!(s, StatusCode::OK, "{step}");
        assert_eq!((&step["body"]["status"], &step["body"]["version"]), (&json!("running"), &json!(1)));
        assert_eq!(step["body"]["substitutions"], substitutions(&app));
        let av = artifact(&app, &f, output, name).await;
        let done = complete_step(&app, &f, &id(&step), output, &av).await;
        assert_eq!(done["body"]["status"], "completed");
        assert_eq!(done["resources"]["outputs"][output][0]["id"], json!(av));
        steps.insert(name, id(&step));
        artifacts.insert(output, av);
    }
    assert_eq!(get_run(&app, &f, &run_id).await["body"]["status"], "running", "one step is left");
    let inputs = json!({"number": [artifacts["trace_int"]], "text": [artifacts["trace_text"]]});
    let (s, step) = post_step(&app, &f, &run_id, "combine", "running", "key-combine", inputs, json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{step}");
    assert_eq!(step["metadata"]["parent_step_ids"], json!([steps["produce_int"], steps["produce_text"]]));
    let number = &step["resources"]["inputs"]["number"][0];
    assert_eq!(
        (&number["id"], &number["input_type"], &number["index"]),
        (&json!(artifacts["trace_int"]), &json!("step_output"), &json!(0))
    );
    assert_eq!(number["metadata"], Value::Null);
    let av = artifact(&app, &f, "trace_combined", "combined").await;
    complete_step(&app, &f, &id(&step), "trace_combined", &av).await;
    steps.insert("combine", id(&step));
    artifacts.insert("trace_combined", av);

    let run1 = get_run(&app, &f, &run_id).await;
    assert_eq!((&run1["body"]["status"], &run1["body"]["in_progress"]), (&json!("completed"), &json!(false)), "{run1}");
    assert!(run1["metadata"]["end_time"].is_string(), "a finished run has an end time");
    // The client's `provisioning` comes after the run is over: ignored.
    let (s, _, after) = app
        .put_json(
            &format!("/api/v1/runs/{run_id}"),
            Some(&f.token),
            &json!({"status": "provisioning", "status_reason": null}),
        )
        .await;
    assert_eq!((s, &after["body"]["status"]), (StatusCode::OK, &json!("completed")), "{after}");

    // ---- Run 2: every step cached.
    let snap2 = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let (_, placeholder) = post_run(&app, &f, &snap2, "trace_basic-run-2", None).await;
    let run2 = id(&placeholder[0]);
    assert_eq!((&placeholder[0]["body"]["index"], &placeholder[1]), (&json!(2), &json!(true)));
    for (name, key, output) in [
        ("produce_int", "key-int", "trace_int"),
        ("produce_text", "key-text", "trace_text"),
        ("combine", "key-combine", "trace_combined"),
    ] {
        let hit = cache_lookup(&app, &f, key).await;
        assert_eq!(
            (&hit["total"], &hit["items"][0]["id"]),
            (&json!(1), &json!(steps[name])),
            "cache hit for {name}: {hit}"
        );
        assert_eq!(hit["items"][0]["metadata"]["cache_key"], json!(key));
        let inputs = if name == "combine" {
            json!({"number": [artifacts["trace_int"]], "text": [artifacts["trace_text"]]})
        } else {
            json!({})
        };
        let outputs = json!({output: [artifacts[output]]});
        let (s, cached) = post_step(&app, &f, &run2, name, "cached", key, inputs, outputs, Some(&steps[name])).await;
        assert_eq!(s, StatusCode::OK, "{cached}");
        assert_eq!(cached["body"]["status"], "cached");
        assert_eq!(cached["metadata"]["original_step_run_id"], json!(steps[name]));
        let status = get_run(&app, &f, &run2).await["body"]["status"].clone();
        let expected = if name == "combine" { "completed" } else { "initializing" };
        assert_eq!(status, json!(expected), "run 2 after caching {name}");
    }
    let r2 = get_run(&app, &f, &run2).await;
    assert_eq!((&r2["body"]["in_progress"], r2["metadata"]["end_time"].is_string()), (&json!(false), true), "{r2}");
    let (s, _, run2_steps) = app.get(&format!("/api/v1/runs/{run2}/steps?hydrate=False"), Some(&f.token)).await;
    assert_eq!((s, &run2_steps["total"]), (StatusCode::OK, &json!(3)), "{run2_steps}");
    assert_eq!(app.count("SELECT count(*) FROM pipeline WHERE name = 'trace_basic' AND run_count = 2").await, 1);

    // ---- Run 3: a cached step, then a failing one.
    let snap3 = id(&snapshot(&app, &f, "trace_failing", &trace_failing()).await);
    let (_, placeholder) = post_run(&app, &f, &snap3, "trace_failing-run-1", None).await;
    let run3 = id(&placeholder[0]);
    assert_eq!(placeholder[0]["body"]["index"], 1, "indexes count per pipeline");
    let outputs = json!({"trace_int": [artifacts["trace_int"]]});
    let (s, _) =
        post_step(&app, &f, &run3, "produce_int", "cached", "key-int", json!({}), outputs, Some(&steps["produce_int"]))
            .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(get_run(&app, &f, &run3).await["body"]["status"], "initializing", "client-side caching keeps the state");
    let (_, claimed) = post_run(&app, &f, &snap3, "trace_failing-orchestrator", Some("orch-3")).await;
    assert_eq!(
        (id(&claimed[0]), &claimed[1], &claimed[0]["body"]["status"]),
        (run3.clone(), &json!(true), &json!("running"))
    );
    let inputs = json!({"number": [artifacts["trace_int"]]});
    let (s, explode) = post_step(&app, &f, &run3, "explode", "running", "key-explode", inputs, json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{explode}");
    let failure = json!({"status": "failed", "end_time": "2026-11-26T10:31:30.940924", "exception_info": {
        "traceback": "Traceback...\nRuntimeError: intentional failure", "source": "builtins.RuntimeError",
        "message": "intentional failure", "user_code_line": 2}});
    let (s, _, failed) = app.put_json(&format!("/api/v1/steps/{}", id(&explode)), Some(&f.token), &failure).await;
    assert_eq!((s, &failed["body"]["status"]), (StatusCode::OK, &json!("failed")), "{failed}");
    assert_eq!(failed["metadata"]["exception_info"]["message"], "intentional failure");
    assert_eq!(keys(&failed["metadata"]["exception_info"]), ["traceback", "source", "message", "user_code_line"]);
    let r3 = get_run(&app, &f, &run3).await;
    assert_eq!((&r3["body"]["status"], &r3["body"]["in_progress"]), (&json!("failed"), &json!(false)), "{r3}");
    let finished =
        app.put_json(&format!("/api/v1/steps/{}", id(&explode)), Some(&f.token), &json!({"status": "completed"})).await;
    assert_eq!(finished.0, StatusCode::FORBIDDEN, "finished steps cannot change: {}", finished.2);

    // ---- Lists.
    let list = |q: String| {
        let path = format!("/api/v1/runs?project={}&sort_by=desc:created&{q}", f.project);
        let token = f.token.clone();
        let app = &app;
        async move {
            let (s, _, page) = app.get(&path, Some(&token)).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        }
    };
    // MySQL keeps `created` to the second: runs made within one second tie and come back in id
    // order (as on the reference), so there only the members are compared.
    let ordered = app.backend() == zenpro_store::Backend::Sqlite;
    let same = |mut got: Vec<String>, mut want: Vec<String>| {
        if !ordered {
            got.sort();
            want.sort();
        }
        assert_eq!(got, want);
    };
    same(list(String::new()).await, vec![run3.clone(), run2.clone(), run_id.clone()]);
    let basic = pipeline(&app, &f, "trace_basic").await;
    same(list(format!("pipeline_id={basic}")).await, vec![run2.clone(), run_id.clone()]);
    assert_eq!(list("status=failed".into()).await, vec![run3.clone()]);
    assert_eq!(list("index=2".into()).await, vec![run2.clone()]);
    assert_eq!(list("name=contains:failing".into()).await, vec![run3.clone()]);
    assert_eq!(list(format!("stack_id={}", f.stack)).await.len(), 3);
    assert_eq!(list("pipeline=trace_failing".into()).await, vec![run3.clone()]);
    let (_, _, pipes) =
        app.get(&format!("/api/v1/pipelines?project={}&name=trace_basic", f.project), Some(&f.token)).await;
    let latest = pipes["items"][0]["resources"]["latest_run_id"].clone();
    assert!(latest == json!(run2) || (!ordered && latest == json!(run_id)), "{latest}");
    assert_eq!(pipes["items"][0]["resources"]["latest_run_status"], "completed");

    // ---- Delete a run: its steps go with it.
    let (s, _, b) = app.delete(&format!("/api/v1/runs/{run3}"), Some(&f.token)).await;
    assert_eq!((s, b), (StatusCode::OK, Value::Null));
    assert_eq!(app.get(&format!("/api/v1/runs/{run3}"), Some(&f.token)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM step_run WHERE pipeline_run_id = '{}'", run3.replace('-', ""))).await,
        0
    );
});

backend_tests!(bad_input, |app: TestApp| async move {
    let f = flow(&app).await;
    let snap = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let missing = uuid::Uuid::new_v4().to_string();

    let (s, b) = post_run(&app, &f, &missing, "r", None).await;
    assert_eq!((s, &b["detail"][0]), (StatusCode::NOT_FOUND, &json!("KeyError")), "{b}");
    assert_eq!(
        b["detail"][1],
        json!(format!(
            "'The pipeline snapshot with ID {missing} referenced by the pipeline run being created was not found'"
        ))
    );
    let (s, _, b) =
        app.send_raw(http::Method::POST, "/api/v1/runs", Some(&f.token), "application/json", "{not json").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, _, b) =
        app.post_json("/api/v1/runs", Some(&f.token), &json!({"project": f.project, "snapshot": snap})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "name and status are required: {b}");
    for status in ["completed", "bogus"] {
        let mut body = run_body(&f, &snap, "r", None);
        body["status"] = json!(status);
        let (s, _, b) = app.post_json("/api/v1/runs", Some(&f.token), &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{status}: {b}");
    }
    assert_eq!(app.get("/api/v1/runs/not-a-uuid", Some(&f.token)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, b) = app.get(&format!("/api/v1/runs/{missing}"), Some(&f.token)).await;
    assert_eq!(
        (s, &b["detail"][1]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!("\"Unable to get pipeline run with ID '{missing}': No pipeline run with this ID found\""))
        )
    );
    let (s, b) = post_step(&app, &f, &missing, "produce_int", "running", "k", json!({}), json!({}), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(app.get("/api/v1/runs", None).await.0, StatusCode::UNAUTHORIZED);

    // A run name is unique in its project.
    let (s, _) = post_run(&app, &f, &snap, "same-name", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = post_run(&app, &f, &snap, "same-name", None).await;
    assert_eq!((s, &b["detail"][0]), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{b}");

    // Snapshots: the stack must exist and the pipeline configuration needs a name.
    let pid = pipeline(&app, &f, "trace_basic").await;
    let mut body = snapshot_body(&f, &pid, "trace_basic", &trace_basic());
    body["stack"] = json!(missing);
    let (s, _, b) = app.post_json("/api/v1/pipeline_snapshots", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let mut body = snapshot_body(&f, &pid, "trace_basic", &trace_basic());
    body["pipeline_configuration"].as_object_mut().unwrap().remove("name");
    let (s, _, b) = app.post_json("/api/v1/pipeline_snapshots", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    // Pipelines are unique per project; a step of an unknown step name has no configuration.
    let dup =
        app.post_json("/api/v1/pipelines", Some(&f.token), &json!({"project": f.project, "name": "trace_basic"})).await;
    assert_eq!(dup.0, StatusCode::CONFLICT, "{}", dup.2);
    let (_, placeholder) = post_run(&app, &f, &snap, "r-steps", None).await;
    let (s, b) = post_step(&app, &f, &id(&placeholder[0]), "nope", "running", "k", json!({}), json!({}), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = post_step(
        &app,
        &f,
        &id(&placeholder[0]),
        "produce_int",
        "running",
        "k",
        json!({"x": [missing]}),
        json!({}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an unknown input artifact: {b}");
});
