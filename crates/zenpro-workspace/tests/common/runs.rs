//! Helpers of the `runs_*` tests: requests shaped as the zenml 0.98.0 client sends them when
//! it runs a pipeline (flow c of the API trace), trimmed to the fields that matter. Use with
//! `use common::runs::*;`.

use http::StatusCode;
use serde_json::{Value, json};

use super::TestApp;

/// Ids every request needs.
pub struct Flow {
    pub token: String,
    pub project: String,
    pub stack: String,
    pub store: String,
}

pub async fn flow(app: &TestApp) -> Flow {
    let token = app.admin().await;
    let (s, _, p) = app.get("/api/v1/projects/default", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, _, st) = app.get("/api/v1/stacks?name=default", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let (s, _, c) = app.get("/api/v1/components?type=artifact_store&name=default", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    Flow {
        project: p["id"].as_str().unwrap().to_string(),
        stack: st["items"][0]["id"].as_str().unwrap().to_string(),
        store: c["items"][0]["id"].as_str().unwrap().to_string(),
        token,
    }
}

/// One step of a pipeline: name, upstream steps, inputs (name, step, output), outputs.
pub struct StepDef {
    pub name: &'static str,
    pub upstream: Vec<&'static str>,
    pub inputs: Vec<(&'static str, &'static str, &'static str)>,
    pub outputs: Vec<&'static str>,
}

pub fn trace_basic() -> Vec<StepDef> {
    vec![
        StepDef { name: "produce_int", upstream: vec![], inputs: vec![], outputs: vec!["trace_int"] },
        StepDef { name: "produce_text", upstream: vec![], inputs: vec![], outputs: vec!["trace_text"] },
        StepDef {
            name: "combine",
            upstream: vec!["produce_int", "produce_text"],
            inputs: vec![("number", "produce_int", "trace_int"), ("text", "produce_text", "trace_text")],
            outputs: vec!["trace_combined"],
        },
    ]
}

pub fn trace_failing() -> Vec<StepDef> {
    vec![
        StepDef { name: "produce_int", upstream: vec![], inputs: vec![], outputs: vec!["trace_int"] },
        StepDef {
            name: "explode",
            upstream: vec!["produce_int"],
            inputs: vec![("number", "produce_int", "trace_int")],
            outputs: vec!["output"],
        },
    ]
}

fn source(attr: &str) -> Value {
    json!({"module": "trace_pipelines", "attribute": attr, "type": "user"})
}

fn spec(s: &StepDef) -> Value {
    let mut inputs = serde_json::Map::new();
    for (name, step, output) in &s.inputs {
        inputs.insert(
            (*name).into(),
            json!({"step_name": step, "output_name": output, "chunk_index": null, "chunk_size": null}),
        );
    }
    json!({"source": source(s.name), "upstream_steps": s.upstream, "inputs": inputs, "invocation_id": s.name,
           "enable_heartbeat": false, "parameter_spec": {}})
}

fn step_config(s: &StepDef) -> Value {
    let mut outputs = serde_json::Map::new();
    for o in &s.outputs {
        outputs.insert(
            (*o).into(),
            json!({"materializer_source": [{"module": "zenml.materializers.built_in_materializer",
                   "attribute": "BuiltInMaterializer", "type": "internal"}],
                   "default_materializer_source": null, "artifact_config": null}),
        );
    }
    json!({"enable_cache": null, "step_operator": null, "parameters": {}, "settings": {}, "environment": {},
           "secrets": [], "extra": {}, "failure_hook_source": null, "model": null, "retry": null,
           "substitutions": {}, "cache_policy": {"include_step_code": true, "ignored_inputs": null},
           "heartbeat_healthy_threshold": 30, "outputs": outputs, "name": s.name, "step_type": null})
}

/// `POST /pipeline_snapshots` body.
pub fn snapshot_body(f: &Flow, pipeline: &str, pipeline_name: &str, steps: &[StepDef]) -> Value {
    let mut configs = serde_json::Map::new();
    for s in steps {
        configs.insert(
            s.name.into(),
            json!({"spec": spec(s), "config": step_config(s), "step_config_overrides": step_config(s)}),
        );
    }
    json!({
        "project": f.project,
        "run_name_template": format!("{pipeline_name}-{{date}}-{{time}}"),
        "pipeline_configuration": {"enable_cache": null, "enable_heartbeat": null, "environment": {}, "secrets": [],
            "execution_mode": "continue_on_failure", "settings": {}, "tags": null, "extra": {}, "model": null,
            "parameters": {}, "retry": null, "substitutions": {}, "cache_policy": null, "name": pipeline_name,
            "steps_to_skip": [], "skip_successful_steps": false, "step_input_overrides": {},
            "step_default_input_overrides": {}},
        "step_configurations": configs,
        "client_environment": {"environment": "native", "os": "linux", "python_version": "3.11.7",
            "zenml_version": "0.98.0", "python_packages": "zenml==0.98.0"},
        "client_version": "0.98.0",
        "server_version": "0.98.0",
        "pipeline_version_hash": "059737cf2cb83b8e10083ecbec2fe929",
        "pipeline_spec": {"version": "0.5", "source": source(pipeline_name), "parameters": {},
            "input_schema": {"additionalProperties": false, "properties": {}, "title": "PipelineInput", "type": "object"},
            "steps": steps.iter().map(spec).collect::<Vec<_>>(), "outputs": [],
            "output_schema": {"properties": {}, "title": "PipelineOutput", "type": "object"}},
        "is_dynamic": false,
        "name": null,
        "description": null,
        "source_code": "@pipeline\ndef p(): ...\n",
        "stack": f.stack,
        "pipeline": pipeline,
    })
}

/// Get or create a pipeline as the client does (list by name, then create).
pub async fn pipeline(app: &TestApp, f: &Flow, name: &str) -> String {
    let (s, _, page) =
        app.get(&format!("/api/v1/pipelines?name={name}&project={}&size=1", f.project), Some(&f.token)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    if let Some(p) = page["items"].get(0) {
        return p["id"].as_str().unwrap().to_string();
    }
    let body = json!({"project": f.project, "name": name, "description": null, "tags": null});
    let (s, _, p) = app.post_json("/api/v1/pipelines", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    p["id"].as_str().unwrap().to_string()
}

/// Create a snapshot of `steps` for a pipeline; returns its response.
pub async fn snapshot(app: &TestApp, f: &Flow, pipeline_name: &str, steps: &[StepDef]) -> Value {
    let pid = pipeline(app, f, pipeline_name).await;
    let (s, _, snap) = app
        .post_json("/api/v1/pipeline_snapshots", Some(&f.token), &snapshot_body(f, &pid, pipeline_name, steps))
        .await;
    assert_eq!(s, StatusCode::OK, "{snap}");
    snap
}

/// `POST /runs`; `orchestrator_run_id` makes it the orchestrator's request (status running).
pub fn run_body(f: &Flow, snapshot: &str, name: &str, orchestrator_run_id: Option<&str>) -> Value {
    let status = if orchestrator_run_id.is_some() { "running" } else { "initializing" };
    json!({"project": f.project, "name": name, "snapshot": snapshot, "orchestrator_run_id": orchestrator_run_id,
           "start_time": "2026-11-26T10:31:19.990385", "end_time": null, "status": status, "status_reason": null,
           "orchestrator_environment": if orchestrator_run_id.is_some() { json!({"os": "linux", "python_packages": "x==1"}) } else { json!({}) },
           "trigger_info": null, "tags": null, "logs": null, "exception_info": null, "original_run_id": null,
           "parent_run_id": null, "child_key": null})
}

pub async fn post_run(app: &TestApp, f: &Flow, snapshot: &str, name: &str, orch: Option<&str>) -> (StatusCode, Value) {
    let (s, _, b) = app.post_json("/api/v1/runs", Some(&f.token), &run_body(f, snapshot, name, orch)).await;
    (s, b)
}

/// A step output stored through `POST /artifact_versions/batch`; returns its id.
pub async fn artifact(app: &TestApp, f: &Flow, name: &str, value: &str) -> String {
    let body = json!([{
        "project": f.project, "artifact_id": null, "artifact_name": name, "version": null, "has_custom_name": true,
        "type": "DataArtifact", "artifact_store_id": f.store,
        "uri": format!("/tmp/stores/{name}/{}", uuid::Uuid::new_v4().simple()),
        "materializer": {"module": "zenml.materializers.built_in_materializer", "attribute": "BuiltInMaterializer", "type": "internal"},
        "data_type": {"module": "builtins", "attribute": "str", "type": "builtin"},
        "content_hash": format!("hash-{value}"), "tags": [], "visualizations": [], "save_type": "step_output",
        "metadata": {"string_representation": value}, "item_count": null
    }]);
    let (s, _, b) = app.post_json("/api/v1/artifact_versions/batch", Some(&f.token), &body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b[0]["id"].as_str().unwrap().to_string()
}

/// `POST /steps`.
#[allow(clippy::too_many_arguments)]
pub async fn post_step(
    app: &TestApp,
    f: &Flow,
    run: &str,
    name: &str,
    status: &str,
    cache_key: &str,
    inputs: Value,
    outputs: Value,
    original: Option<&str>,
) -> (StatusCode, Value) {
    let end = if status == "cached" { json!("2026-11-26T10:31:26.178887") } else { json!(null) };
    let body = json!({"project": f.project, "name": name, "start_time": "2026-11-26T10:31:26.178887", "end_time": end,
        "status": status, "cache_key": cache_key, "cache_expires_at": null, "code_hash": null, "docstring": null,
        "source_code": "@step\ndef s(): ...\n", "pipeline_run_id": run, "original_step_run_id": original,
        "parent_step_ids": [], "inputs": inputs, "outputs": outputs, "logs": null, "exception_info": null,
        "dynamic_config": null, "resource_requester": null, "resource_request_runtime": null});
    let (s, _, b) = app.post_json("/api/v1/steps", Some(&f.token), &body).await;
    (s, b)
}

/// The client's cache lookup: `GET /steps?cache_key=..&status=completed&cache_expired=False`.
pub async fn cache_lookup(app: &TestApp, f: &Flow, cache_key: &str) -> Value {
    let path = format!(
        "/api/v1/steps?hydrate=True&sort_by=desc%3Acreated&logical_operator=and&page=1&size=1&project={}\
         &cache_key={cache_key}&status=completed&cache_expired=False",
        f.project
    );
    let (s, _, page) = app.get(&path, Some(&f.token)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}
