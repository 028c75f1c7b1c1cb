//! Pipeline runs: `POST /runs` (get-or-create, answering `[run, created]`), `GET /runs`,
//! `GET|PUT|DELETE /runs/{id}`, and `/runs/{id}/steps|status|pipeline-configuration|
//! disable_heartbeat`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::model_registry::RunModel;
use zenpro_store::runs::{NewRun, RUN_LIST, RunLogs, RunOutcome, RunRow, RunUpdate, RunView, STATUSES};
use zenpro_store::snapshots::finalize_substitutions;
use zenpro_store::steps::STEP_LIST;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_dt, opt_uuid, user_resource};
use crate::routes::code_repositories::code_reference_json;
use crate::routes::components::check_len;
use crate::routes::logs::{LogsBody, logs_nested};
use crate::routes::pipelines::{
    artifact_versions_nested, attach_tags, build_nested, datetime, detach_tags, model_versions_nested, pipeline_nested,
    project_of, schedule_nested, scoped_body, stack_nested, tags_for,
};
use crate::routes::snapshots::snapshot_nested;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list).post(get_or_create))
        .route("/runs/{run_id}", get(get_one).put(update).delete(delete))
        .route("/runs/{run_id}/steps", get(run_steps))
        .route("/runs/{run_id}/status", get(status))
        .route("/runs/{run_id}/pipeline-configuration", get(pipeline_configuration))
        .route("/runs/{run_id}/disable_heartbeat", put(disable_heartbeat))
}

/// What run responses show beyond the store's view: tags, model versions, output artifacts.
#[derive(Default)]
pub(crate) struct RunExtras {
    tags: HashMap<Uuid, Value>,
    model_versions: HashMap<Uuid, Value>,
    artifacts: HashMap<Uuid, Value>,
}

impl RunExtras {
    /// Load them for a batch of runs (five queries at most).
    pub(crate) async fn load(state: &AppState, views: &[RunView]) -> Result<RunExtras, Error> {
        let ids: Vec<Uuid> = views.iter().map(|v| v.row.uuid()).collect();
        let mvs: Vec<Uuid> = views.iter().filter_map(|v| zenpro_store::parse_opt_id(&v.row.model_version_id)).collect();
        let artifacts: Vec<Uuid> = views.iter().flat_map(|v| v.outputs.iter().map(|(_, a)| *a)).collect();
        Ok(RunExtras {
            tags: tags_for(state, "pipeline_run", &ids).await?,
            model_versions: model_versions_nested(state, &mvs).await?,
            artifacts: artifact_versions_nested(state, &artifacts).await?,
        })
    }
}

/// The body of a `PipelineRunResponse`.
fn run_body(r: &RunRow) -> Value {
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    body.insert("status".into(), json!(r.status));
    body.insert("in_progress".into(), json!(r.in_progress));
    body.insert("status_reason".into(), json!(r.status_reason));
    body.insert("index".into(), json!(r.index));
    body.insert("pipeline_id".into(), opt_uuid(&r.pipeline_id));
    body.insert("child_key".into(), json!(r.child_key));
    body.insert("root_run_id".into(), opt_uuid(&r.root_run_id));
    Value::Object(body)
}

/// `PipelineRunResponse` as other runs embed it (body only).
fn run_nested(r: &RunRow) -> Value {
    envelope(&r.id, Name::Of(Some(&r.name)), run_body(r), None, None)
}

/// A JSON text column, or `default`.
fn json_col(s: &Option<String>, default: Value) -> Value {
    s.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(default)
}

/// `ExceptionInfo` in its field order.
pub(crate) fn exception_info(s: &Option<String>) -> Value {
    match json_col(s, Value::Null) {
        Value::Object(mut m) => {
            let mut out = Map::new();
            for k in ["traceback", "source", "message", "user_code_line"] {
                out.insert(k.into(), m.remove(k).unwrap_or(Value::Null));
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}

/// The run's pipeline configuration with its `date`/`time` substitutions.
fn run_config(v: &RunView) -> Value {
    let mut pc = match &v.snapshot {
        Some(s) => s.pipeline_configuration_json(),
        None => json_col(&v.row.pipeline_configuration, json!({})),
    };
    finalize_substitutions(&mut pc, v.row.start_time);
    pc
}

/// An environment without `python_packages` (unless asked for).
fn environment(mut env: Value, include_python_packages: bool) -> Value {
    if !include_python_packages && let Some(m) = env.as_object_mut() {
        m.remove("python_packages");
    }
    env
}

/// `PipelineRunResponse`.
pub(crate) fn run_json(v: &RunView, x: &RunExtras, hydrate: bool, include_python_packages: bool) -> Value {
    let r = &v.row;
    let id = r.uuid();
    let metadata = hydrate.then(|| {
        let client_environment = match &v.snapshot {
            Some(s) => s.client_environment_json(include_python_packages),
            None => environment(json_col(&r.client_environment, json!({})), include_python_packages),
        };
        let trigger_info = match (r.triggered_by.as_ref(), r.triggered_by_type.as_deref()) {
            (Some(t), Some("step_run")) => json!({"step_run_id": opt_uuid(&Some(t.clone())), "deployment_id": null}),
            (Some(t), Some("deployment")) => json!({"step_run_id": null, "deployment_id": opt_uuid(&Some(t.clone()))}),
            _ => Value::Null,
        };
        json!({
            "run_metadata": Value::Object(v.run_metadata.clone()),
            "config": run_config(v),
            "start_time": opt_dt(&r.start_time),
            "end_time": opt_dt(&r.end_time),
            "client_environment": client_environment,
            "orchestrator_environment":
                environment(json_col(&r.orchestrator_environment, json!({})), include_python_packages),
            "orchestrator_run_id": r.orchestrator_run_id,
            "code_path": v.snapshot.as_ref().and_then(|s| s.code_path.clone()),
            "template_id": v.snapshot.as_ref().map(|s| opt_uuid(&s.template_id)).unwrap_or(Value::Null),
            "is_templatable": v.is_templatable(),
            "trigger_info": trigger_info,
            "enable_heartbeat": r.enable_heartbeat,
            "exception_info": exception_info(&r.exception_info),
            "trigger_execution_info": null,
        })
    });
    let mut outputs = Map::new();
    for (name, artifact) in &v.outputs {
        outputs.insert(name.clone(), x.artifacts.get(artifact).cloned().unwrap_or(Value::Null));
    }
    let (runnable, deployable) = v.snapshot_flags;
    let (source_runnable, source_deployable) = v.source_snapshot_flags;
    let mut res = Map::new();
    res.insert("user".into(), user_resource(v.user.as_ref()));
    res.insert(
        "snapshot".into(),
        v.snapshot.as_ref().map(|s| snapshot_nested(s, runnable, deployable)).unwrap_or(Value::Null),
    );
    res.insert(
        "source_snapshot".into(),
        v.source_snapshot
            .as_ref()
            .map(|s| snapshot_nested(s, source_runnable, source_deployable))
            .unwrap_or(Value::Null),
    );
    res.insert("stack".into(), v.stack.as_ref().map(stack_nested).unwrap_or(Value::Null));
    res.insert("pipeline".into(), v.pipeline.as_ref().map(pipeline_nested).unwrap_or(Value::Null));
    res.insert("build".into(), v.build.as_ref().map(build_nested).unwrap_or(Value::Null));
    res.insert("schedule".into(), v.schedule.as_ref().map(schedule_nested).unwrap_or(Value::Null));
    res.insert("code_reference".into(), v.code_reference.as_ref().map(code_reference_json).unwrap_or(Value::Null));
    res.insert(
        "model_version".into(),
        zenpro_store::parse_opt_id(&r.model_version_id)
            .and_then(|m| x.model_versions.get(&m).cloned())
            .unwrap_or(Value::Null),
    );
    res.insert("tags".into(), x.tags.get(&id).cloned().unwrap_or_else(|| json!([])));
    res.insert("log_collection".into(), Value::Array(v.logs.iter().map(logs_nested).collect()));
    res.insert("visualizations".into(), json!([]));
    // Triggers and wait conditions are not served by zenpro.
    res.insert("trigger".into(), Value::Null);
    res.insert("original_run".into(), v.original_run.as_ref().map(run_nested).unwrap_or(Value::Null));
    res.insert("parent_run".into(), v.parent_run.as_ref().map(run_nested).unwrap_or(Value::Null));
    res.insert("active_wait_condition".into(), Value::Null);
    res.insert("outputs".into(), Value::Object(outputs));
    envelope(&r.id, Name::Of(Some(&r.name)), run_body(r), metadata, Some(Value::Object(res)))
}

/// A run's response, loaded by id.
pub(crate) async fn run_response(
    state: &AppState,
    id: Uuid,
    hydrate: bool,
    full_metadata: bool,
    include_python_packages: bool,
) -> Result<Value, Error> {
    let v = state.store().get_run(id, hydrate, full_metadata).await?;
    let x = RunExtras::load(state, std::slice::from_ref(&v)).await?;
    Ok(run_json(&v, &x, hydrate, include_python_packages))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&RUN_LIST)?;
    let full_metadata = q.flag("include_full_metadata", false)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_runs(project, &params, full_metadata).await?;
    let x = RunExtras::load(&state, &page.items).await?;
    let page = page.map(|v| run_json(&v, &x, params.hydrate, false));
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let (hydrate, full, packages) =
        (q.hydrate()?, q.flag("include_full_metadata", false)?, q.flag("include_python_packages", false)?);
    Ok(Json(run_response(&state, id, hydrate, full, packages).await?))
}

/// A status value of a request (422 for anything else).
fn check_status(s: &str) -> Result<(), Error> {
    if STATUSES.contains(&s) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "status: Input should be {} (got '{s}')",
            STATUSES.iter().map(|x| format!("'{x}'")).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// `ExceptionInfo` of a request: an object with a `traceback`, or null.
pub(crate) fn check_exception_info(v: &Option<Value>) -> Result<Option<Value>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.get("traceback").is_some_and(Value::is_string) => {
            Ok(Some(Value::Object(m.clone())))
        }
        Some(_) => Err(Error::validation("exception_info: Input should be a valid exception info with a traceback")),
    }
}

/// `PipelineRunTriggerInfo`.
#[derive(Deserialize, Default)]
struct TriggerInfo {
    #[serde(default)]
    step_run_id: Option<Uuid>,
    #[serde(default)]
    deployment_id: Option<Uuid>,
}

/// `PipelineRunRequest`.
#[derive(Deserialize)]
struct RunBody {
    project: Uuid,
    name: String,
    snapshot: Uuid,
    #[serde(default)]
    orchestrator_run_id: Option<String>,
    #[serde(default, deserialize_with = "datetime::option")]
    start_time: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "datetime::option")]
    end_time: Option<NaiveDateTime>,
    status: String,
    #[serde(default)]
    status_reason: Option<String>,
    #[serde(default)]
    orchestrator_environment: Option<Map<String, Value>>,
    #[serde(default)]
    trigger_info: Option<TriggerInfo>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
    #[serde(default)]
    logs: Option<Value>,
    #[serde(default)]
    exception_info: Option<Value>,
    #[serde(default)]
    original_run_id: Option<Uuid>,
    #[serde(default)]
    parent_run_id: Option<Uuid>,
    #[serde(default)]
    child_key: Option<String>,
}

/// `logs: Union[UUID, LogsRequest, None]` of a run or step request.
pub(crate) fn logs_ref(
    v: Option<Value>,
    project: Uuid,
) -> Result<Option<Result<Uuid, zenpro_store::logs::NewLogs>>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(&s)
            .map(|u| Some(Ok(u)))
            .map_err(|_| Error::validation("logs: Input should be a valid UUID")),
        Some(o @ Value::Object(_)) => {
            let body: LogsBody = serde_json::from_value(o).map_err(|e| Error::validation(format!("logs: {e}")))?;
            Ok(Some(Err(body.into_new(project)?)))
        }
        Some(_) => Err(Error::validation("logs: Input should be a valid UUID or logs request")),
    }
}

async fn get_or_create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<RunBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    for (f, v) in [
        ("orchestrator_run_id", &b.orchestrator_run_id),
        ("status_reason", &b.status_reason),
        ("child_key", &b.child_key),
    ] {
        if let Some(v) = v {
            check_len(f, v)?;
        }
    }
    check_status(&b.status)?;
    let user_id = auth.user_id();
    let logs = logs_ref(b.logs, b.project)?.map(|l| match l {
        Ok(id) => RunLogs::Existing(id),
        Err(new) => RunLogs::New(new),
    });
    let trigger = b.trigger_info.unwrap_or_default();
    let new = NewRun {
        project_id: b.project,
        name: b.name,
        snapshot_id: b.snapshot,
        orchestrator_run_id: b.orchestrator_run_id,
        start_time: b.start_time,
        end_time: b.end_time,
        status: b.status,
        status_reason: b.status_reason,
        orchestrator_environment: Value::Object(b.orchestrator_environment.unwrap_or_default()),
        triggered_by_step_run: trigger.step_run_id,
        triggered_by_deployment: trigger.deployment_id,
        logs,
        exception_info: check_exception_info(&b.exception_info)?,
        original_run_id: b.original_run_id,
        parent_run_id: b.parent_run_id,
        child_key: b.child_key,
    };
    let (id, outcome) = state.store().get_or_create_run(new, user_id).await?;
    if outcome == RunOutcome::Created
        && let Err(e) = assign_model_version(&state, id, user_id).await
    {
        // As the reference: a run whose model version cannot be resolved is not kept.
        state.store().delete_run(id).await?;
        return Err(e);
    }
    if outcome.created() {
        attach_tags(&state, "pipeline_run", id, &b.tags, user_id).await?;
    }
    let run = run_response(&state, id, true, false, false).await?;
    Ok(Json(json!([run, outcome.created()])))
}

/// The model version of a new run whose configuration names a model (G12): created when
/// missing and linked to the run.
async fn assign_model_version(state: &AppState, run_id: Uuid, user_id: Uuid) -> Result<(), Error> {
    let v = state.store().get_run(run_id, true, false).await?;
    let config = run_config(&v);
    let Some(model) = config.get("model").filter(|m| m.is_object()) else { return Ok(()) };
    let subs = config.get("substitutions").and_then(Value::as_object).cloned().unwrap_or_default();
    let Some(m) = RunModel::from_config(model, &subs) else { return Ok(()) };
    let project = zenpro_store::parse_id(&v.row.project_id);
    let mv = state.store().model_version_for_run_config(project, Some(user_id), &m, run_id).await?;
    state.store().set_run_model_version(run_id, mv.uuid()).await
}

/// `PipelineRunUpdate`.
#[derive(Deserialize)]
struct RunUpdateBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_reason: Option<String>,
    #[serde(default)]
    orchestrator_run_id: Option<String>,
    #[serde(default)]
    exception_info: Option<Value>,
    #[serde(default)]
    outputs: Option<Map<String, Value>>,
    #[serde(default)]
    add_tags: Option<Vec<Value>>,
    #[serde(default)]
    remove_tags: Option<Vec<Value>>,
    #[serde(default)]
    add_logs: Option<Vec<LogsBody>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RunUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(s) = &b.status {
        check_status(s)?;
    }
    let outputs = match b.outputs {
        None => None,
        Some(m) => Some(
            m.into_iter()
                .map(|(k, v)| {
                    v.as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .map(|u| (k.clone(), u))
                        .ok_or_else(|| Error::validation(format!("outputs.{k}: Input should be a valid UUID")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let run =
        state.store().find_run(id).await?.ok_or_else(|| zenpro_store::pipelines::not_found("pipeline run", id))?;
    let project = zenpro_store::parse_id(&run.project_id);
    let add_logs =
        b.add_logs.unwrap_or_default().into_iter().map(|l| l.into_new(project)).collect::<Result<Vec<_>, _>>()?;
    state
        .store()
        .update_run(
            id,
            RunUpdate {
                status: b.status,
                status_reason: b.status_reason,
                orchestrator_run_id: b.orchestrator_run_id,
                exception_info: check_exception_info(&b.exception_info)?,
                outputs,
                add_logs,
            },
        )
        .await?;
    attach_tags(&state, "pipeline_run", id, &b.add_tags, auth.user_id()).await?;
    detach_tags(&state, "pipeline_run", id, &b.remove_tags).await?;
    Ok(Json(run_response(&state, id, true, false, false).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_run(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

/// `GET /runs/{id}/steps`: the steps of a run (a step list with `pipeline_run_id` set).
async fn run_steps(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let run =
        state.store().find_run(id).await?.ok_or_else(|| zenpro_store::pipelines::not_found("pipeline run", id))?;
    let mut pairs: Vec<(String, String)> = q.0.into_iter().filter(|(k, _)| k != "pipeline_run_id").collect();
    pairs.push(("pipeline_run_id".into(), id.to_string()));
    let params = zenpro_store::list::ListParams::parse(&pairs, &STEP_LIST)?;
    let page = state.store().list_steps(zenpro_store::parse_id(&run.project_id), &params).await?;
    Ok(Json(crate::routes::steps::steps_page_json(&state, page, params.hydrate).await?))
}

async fn status(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let run =
        state.store().find_run(id).await?.ok_or_else(|| zenpro_store::pipelines::not_found("pipeline run", id))?;
    Ok(Json(json!(run.status)))
}

async fn pipeline_configuration(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_run(path_uuid(&id)?, true, false).await?;
    Ok(Json(run_config(&v)))
}

async fn disable_heartbeat(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.store().disable_run_heartbeat(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
