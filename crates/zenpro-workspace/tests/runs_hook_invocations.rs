//! `/hook_invocations`: what the client records after running a hook (the compat suite runs real
//! step hooks; this covers outputs, the log link, lists, delete and bad input on both backends).

mod common;

use common::runs::*;
use common::*;
use http::{Method, StatusCode};
use serde_json::json;

backend_tests!(hook_invocations_round_trip, |app: TestApp| async move {
    let f = flow(&app).await;
    let snap = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let (s, run) = post_run(&app, &f, &snap, "hooked-run", Some("orch-h")).await;
    assert_eq!(s, StatusCode::OK, "{run}");
    let run = id(&run[0]);
    let (s, step) = post_step(&app, &f, &run, "produce_int", "running", "key-h", json!({}), json!({}), None).await;
    assert_eq!(s, StatusCode::OK, "{step}");
    let step = id(&step);
    let out = artifact(&app, &f, "hook_out", "7").await;
    let (s, _, logs) = app
        .post_json(
            "/api/v1/logs",
            Some(&f.token),
            &json!({"project": f.project, "source": "hook", "uri": "/tmp/l", "artifact_store_id": f.store}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    let hook_id = uuid::Uuid::new_v4().to_string();
    let body = json!({"project": f.project, "id": hook_id, "hook_type": "step_failure", "name": null,
        "status": "completed", "start_time": "2026-11-26T10:31:27.000001", "end_time": "2026-11-26T10:31:27.500000",
        "source": "hooks.on_fail", "pipeline_run_id": run, "step_run_id": step, "outputs": {"report": [out]},
        "exception_info": {"traceback": "Traceback ...", "message": "boom", "step_code_line": null},
        "logs_id": logs["id"]});
    let (s, _, h) = app.post_json("/api/v1/hook_invocations", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["id"], hook_id.as_str());
    assert_eq!(h["name"], json!(null));
    assert_eq!(h["body"]["hook_type"], "step_failure");
    assert_eq!(h["body"]["status"], "completed");
    // Microseconds on SQLite; MySQL DATETIME keeps seconds (as with the reference).
    assert!(h["body"]["start_time"].as_str().unwrap().starts_with("2026-11-26T10:31:27"), "{h}");
    assert_eq!(h["body"]["pipeline_run_id"], run.as_str());
    assert_eq!(h["body"]["step_run_id"], step.as_str());
    assert_eq!(h["metadata"]["source"], "hooks.on_fail");
    assert_eq!(h["metadata"]["exception_info"]["message"], "boom");
    assert_eq!(h["resources"]["outputs"]["report"][0]["id"], out.as_str());
    assert_eq!(h["resources"]["log_collection"][0]["id"], logs["id"]);
    let (_, _, l) = app.get(&format!("/api/v1/logs/{}", logs["id"].as_str().unwrap()), Some(&f.token)).await;
    assert_eq!(l["body"]["hook_invocation_id"], hook_id.as_str());

    // The same id twice: 409, nothing changed.
    let (s, _, dup) = app.post_json("/api/v1/hook_invocations", Some(&f.token), &body).await;
    assert_eq!((s, &dup["detail"][0]), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{dup}");

    // A second, run-level invocation; lists filter by run and step, hydrate on request.
    let run_level = json!({"project": f.project, "hook_type": "run_success", "status": "completed",
        "start_time": "2026-11-26T10:31:28", "pipeline_run_id": run, "name": "notify_team"});
    let (s, _, h2) = app.post_json("/api/v1/hook_invocations", Some(&f.token), &run_level).await;
    assert_eq!((s, &h2["name"]), (StatusCode::OK, &json!("notify_team")), "{h2}");
    let (_, _, page) =
        app.get(&format!("/api/v1/hook_invocations?pipeline_run_id={run}&sort_by=start_time"), Some(&f.token)).await;
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["items"][0]["id"], hook_id.as_str());
    assert_eq!(page["items"][0]["metadata"], json!(null));
    let (_, _, page) =
        app.get(&format!("/api/v1/hook_invocations?step_run_id={step}&hydrate=true"), Some(&f.token)).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["metadata"]["source"], "hooks.on_fail");
    let (_, _, page) = app.get("/api/v1/hook_invocations?hook_type=run_success", Some(&f.token)).await;
    assert_eq!(page["total"], 1, "{page}");

    // Delete: 200 null, then 404; the log record stays, unlinked; the output artifact stays.
    let path = format!("/api/v1/hook_invocations/{hook_id}");
    let (s, _, b) = app.delete(&path, Some(&f.token)).await;
    assert_eq!((s, b), (StatusCode::OK, json!(null)));
    assert_eq!(app.get(&path, Some(&f.token)).await.0, StatusCode::NOT_FOUND);
    let (_, _, l) = app.get(&format!("/api/v1/logs/{}", logs["id"].as_str().unwrap()), Some(&f.token)).await;
    assert_eq!(l["body"]["hook_invocation_id"], json!(null));
    assert_eq!(app.count("SELECT count(*) FROM hook_invocation_output_artifact").await, 0);
    assert_eq!(app.get(&format!("/api/v1/artifact_versions/{out}"), Some(&f.token)).await.0, StatusCode::OK);
});

backend_tests!(hook_invocations_bad_input, |app: TestApp| async move {
    let f = flow(&app).await;
    let snap = id(&snapshot(&app, &f, "trace_basic", &trace_basic()).await);
    let (_, run) = post_run(&app, &f, &snap, "bad-hooks", Some("orch-b")).await;
    let run = id(&run[0]);
    let base = json!({"project": f.project, "hook_type": "step_success", "status": "completed",
        "start_time": "2026-11-26T10:31:28", "pipeline_run_id": run});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("hook_type", json!("sometimes")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("status", json!("great")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("name", json!("9 bad name")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("start_time", json!("yesterday")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("exception_info", json!("boom")), StatusCode::UNPROCESSABLE_ENTITY),
        (with("pipeline_run_id", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (with("step_run_id", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (with("outputs", json!({"x": [uuid::Uuid::new_v4()]})), StatusCode::NOT_FOUND),
        (with("project", json!(uuid::Uuid::new_v4())), StatusCode::NOT_FOUND),
        (json!({"project": f.project}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, want) in cases {
        let (s, b) = app.call(Method::POST, "/api/v1/hook_invocations", Some(&f.token), body.clone()).await;
        assert_eq!(s, want, "{body} -> {b}");
    }
    assert_eq!(app.count("SELECT count(*) FROM hook_invocation").await, 0, "nothing half-written");
    let (s, _) = app.call(Method::GET, "/api/v1/hook_invocations/not-a-uuid", Some(&f.token), json!(null)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.call(Method::GET, "/api/v1/hook_invocations?sort_by=nope", Some(&f.token), json!(null)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/hook_invocations", None).await.0, StatusCode::UNAUTHORIZED);
});
