//! Step runs: `POST /steps` (running or cached), `GET /steps` (also the client's cache
//! lookup: `cache_key`, `status=completed`, `cache_expired=False`), `GET|PUT /steps/{id}`,
//! `PUT /steps/{id}/heartbeat`, `GET /steps/{id}/status|step-configuration`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::model_registry::RunModel;
use zenpro_store::steps::{NewStep, STEP_LIST, StepLogs, StepUpdate, StepView};
use zenpro_store::{parse_id, parse_opt_id};
use zenpro_types::{Error, Page};

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_dt, opt_uuid, user_resource};
use crate::routes::components::check_len;
use crate::routes::logs::{LogsBody, logs_nested};
use crate::routes::pipelines::{
    artifact_versions_nested, datetime, model_versions_nested, project_of, scoped_body, tag_specs,
};
use crate::routes::runs::{check_exception_info, exception_info, logs_ref};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/steps", get(list).post(create))
        .route("/steps/{step_id}", get(get_one).put(update))
        .route("/steps/{step_id}/heartbeat", put(heartbeat))
        .route("/steps/{step_id}/status", get(status))
        .route("/steps/{step_id}/step-configuration", get(step_configuration))
}

/// Artifact versions and model versions step responses embed.
#[derive(Default)]
pub(crate) struct StepExtras {
    artifacts: HashMap<Uuid, Value>,
    model_versions: HashMap<Uuid, Value>,
}

impl StepExtras {
    /// Load them for a batch of steps (four queries at most).
    pub(crate) async fn load(state: &AppState, views: &[StepView]) -> Result<StepExtras, Error> {
        let artifacts: Vec<Uuid> = views
            .iter()
            .flat_map(|v| {
                v.inputs
                    .iter()
                    .map(|i| parse_id(&i.artifact_id))
                    .chain(v.outputs.iter().map(|(_, a)| *a))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mvs: Vec<Uuid> = views.iter().filter_map(|v| parse_opt_id(&v.row.model_version_id)).collect();
        Ok(StepExtras {
            artifacts: artifact_versions_nested(state, &artifacts).await?,
            model_versions: model_versions_nested(state, &mvs).await?,
        })
    }
}

/// `StepRunResponse`.
pub(crate) fn step_json(v: &StepView, x: &StepExtras, hydrate: bool) -> Value {
    let r = &v.row;
    let config = v.step.get("config").cloned().unwrap_or(Value::Null);
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    body.insert("type".into(), config.get("step_type").cloned().unwrap_or(Value::Null));
    body.insert("status".into(), json!(r.status));
    body.insert("version".into(), json!(r.version));
    body.insert("is_retriable".into(), json!(r.is_retriable));
    body.insert("start_time".into(), opt_dt(&r.start_time));
    body.insert("end_time".into(), opt_dt(&r.end_time));
    body.insert("latest_heartbeat".into(), opt_dt(&r.latest_heartbeat));
    body.insert("model_version_id".into(), opt_uuid(&r.model_version_id));
    body.insert("resource_request_id".into(), opt_uuid(&r.resource_request_id));
    body.insert("substitutions".into(), config.get("substitutions").cloned().unwrap_or_else(|| json!({})));
    body.insert("heartbeat_threshold".into(), json!(r.heartbeat_threshold));
    let metadata = hydrate.then(|| {
        json!({
            "config": config,
            "spec": v.step.get("spec").cloned().unwrap_or(Value::Null),
            "cache_key": r.cache_key,
            "cache_expires_at": opt_dt(&r.cache_expires_at),
            "code_hash": r.code_hash,
            "docstring": r.docstring,
            "source_code": r.source_code,
            "exception_info": exception_info(&r.exception_info),
            "snapshot_id": opt_uuid(&r.snapshot_id),
            "pipeline_run_id": parse_id(&r.pipeline_run_id).to_string(),
            "original_step_run_id": opt_uuid(&r.original_step_run_id),
            "parent_step_ids": v.parent_step_ids.iter().map(Uuid::to_string).collect::<Vec<_>>(),
            "run_metadata": Value::Object(v.run_metadata.clone()),
        })
    });
    let mut inputs: Map<String, Value> = Map::new();
    for i in &v.inputs {
        let Some(Value::Object(mut a)) = x.artifacts.get(&parse_id(&i.artifact_id)).cloned() else { continue };
        a.insert("input_type".into(), json!(i.kind));
        a.insert("index".into(), json!(i.input_index));
        a.insert("chunk_index".into(), json!(i.chunk_index));
        a.insert("chunk_size".into(), json!(i.chunk_size));
        if let Value::Array(list) = inputs.entry(i.name.clone()).or_insert_with(|| json!([])) {
            list.push(Value::Object(a));
        }
    }
    let mut outputs: Map<String, Value> = Map::new();
    for (name, artifact) in &v.outputs {
        let Some(a) = x.artifacts.get(artifact).cloned() else { continue };
        if let Value::Array(list) = outputs.entry(name.clone()).or_insert_with(|| json!([])) {
            list.push(a);
        }
    }
    let resources = json!({
        "user": user_resource(v.user.as_ref()),
        "log_collection": v.logs.iter().map(logs_nested).collect::<Vec<_>>(),
        "model_version": parse_opt_id(&r.model_version_id).and_then(|m| x.model_versions.get(&m).cloned()),
        "inputs": inputs,
        "outputs": outputs,
        "resource_request": null,
    });
    envelope(&r.id, Name::Of(Some(&r.name)), Value::Object(body), metadata, Some(resources))
}

/// A page of steps as JSON.
pub(crate) async fn steps_page_json(state: &AppState, page: Page<StepView>, hydrate: bool) -> Result<Value, Error> {
    let x = StepExtras::load(state, &page.items).await?;
    Ok(serde_json::to_value(page.map(|v| step_json(&v, &x, hydrate))).unwrap_or_default())
}

async fn step_response(state: &AppState, id: Uuid, hydrate: bool) -> Result<Value, Error> {
    let v = state.store().get_step(id, hydrate).await?;
    let x = StepExtras::load(state, std::slice::from_ref(&v)).await?;
    Ok(step_json(&v, &x, hydrate))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&STEP_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_steps(project, &params).await?;
    Ok(Json(steps_page_json(&state, page, params.hydrate).await?))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(step_response(&state, path_uuid(&id)?, q.hydrate()?).await?))
}

/// Artifact version ids of a request map (`Dict[str, List[UUID]]`).
fn artifact_map(field: &str, m: Map<String, Value>) -> Result<Vec<(String, Vec<Uuid>)>, Error> {
    m.into_iter()
        .map(|(k, v)| {
            let items = match v {
                Value::Array(a) => a,
                one @ Value::String(_) => vec![one],
                _ => return Err(Error::validation(format!("{field}.{k}: Input should be a valid list"))),
            };
            let ids = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .ok_or_else(|| Error::validation(format!("{field}.{k}: Input should be a valid UUID")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((k, ids))
        })
        .collect()
}

/// `StepRunRequest`.
#[derive(Deserialize)]
struct StepBody {
    project: Uuid,
    name: String,
    #[serde(default, deserialize_with = "datetime::option")]
    start_time: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "datetime::option")]
    end_time: Option<NaiveDateTime>,
    status: String,
    #[serde(default)]
    cache_key: Option<String>,
    #[serde(default, deserialize_with = "datetime::option")]
    cache_expires_at: Option<NaiveDateTime>,
    #[serde(default)]
    code_hash: Option<String>,
    #[serde(default)]
    docstring: Option<String>,
    #[serde(default)]
    source_code: Option<String>,
    pipeline_run_id: Uuid,
    #[serde(default)]
    original_step_run_id: Option<Uuid>,
    #[serde(default)]
    inputs: Map<String, Value>,
    #[serde(default)]
    outputs: Map<String, Value>,
    #[serde(default)]
    logs: Option<Value>,
    #[serde(default)]
    exception_info: Option<Value>,
    #[serde(default)]
    dynamic_config: Option<Value>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<StepBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    if b.start_time.is_none() {
        return Err(Error::validation("start_time: Field required"));
    }
    let user_id = auth.user_id();
    let logs = logs_ref(b.logs, b.project)?.map(|l| match l {
        Ok(id) => StepLogs::Existing(id),
        Err(new) => StepLogs::New(new),
    });
    let outputs = artifact_map("outputs", b.outputs)?;
    let new = NewStep {
        project_id: b.project,
        name: b.name,
        start_time: b.start_time,
        end_time: b.end_time,
        status: b.status,
        cache_key: b.cache_key,
        cache_expires_at: b.cache_expires_at,
        code_hash: b.code_hash,
        docstring: b.docstring,
        source_code: b.source_code,
        pipeline_run_id: b.pipeline_run_id,
        original_step_run_id: b.original_step_run_id,
        inputs: artifact_map("inputs", b.inputs)?,
        outputs: outputs.clone(),
        logs,
        exception_info: check_exception_info(&b.exception_info)?,
        dynamic_config: b.dynamic_config.filter(|d| !d.is_null()),
    };
    let status = new.status.clone();
    let created = state.store().create_step(new, user_id).await?;
    // The model version: the one of an earlier attempt, else the step's configured model.
    let model_version = match created.previous_model_version {
        Some(mv) => Some(mv),
        None if created.first_attempt => {
            let config = created.step.get("config").cloned().unwrap_or(Value::Null);
            let subs = config.get("substitutions").and_then(Value::as_object).cloned().unwrap_or_default();
            match config.get("model").filter(|m| m.is_object()).and_then(|m| RunModel::from_config(m, &subs)) {
                Some(m) => Some(
                    state
                        .store()
                        .model_version_for_run_config(b.project, Some(user_id), &m, b.pipeline_run_id)
                        .await?
                        .uuid(),
                ),
                None => None,
            }
        }
        None => None,
    };
    if let Some(mv) = model_version {
        state.store().set_step_model_version(created.id, b.pipeline_run_id, mv).await?;
    }
    if matches!(status.as_str(), "cached" | "skipped") {
        cascade_tags(&state, b.pipeline_run_id, &outputs, user_id).await?;
    }
    Ok(Json(step_response(&state, created.id, true).await?))
}

/// Tags of the pipeline configuration marked `cascade` also tag the outputs of cached steps.
async fn cascade_tags(
    state: &AppState,
    run_id: Uuid,
    outputs: &[(String, Vec<Uuid>)],
    user_id: Uuid,
) -> Result<(), Error> {
    let Some(run) = state.store().find_run(run_id).await? else { return Ok(()) };
    let Some(snapshot_id) = parse_opt_id(&run.snapshot_id) else { return Ok(()) };
    let Some(snapshot) = state.store().snapshots_by_ids(&[snapshot_id], true).await?.remove(&snapshot_id) else {
        return Ok(());
    };
    let tags: Vec<Value> = snapshot
        .pipeline_configuration_json()
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|t| t.get("cascade").and_then(Value::as_bool) == Some(true)).cloned().collect())
        .unwrap_or_default();
    if tags.is_empty() {
        return Ok(());
    }
    let rows = state.store().get_or_create_tag_specs(&tag_specs(&Some(tags))?, Some(user_id)).await?;
    let tag_ids: Vec<Uuid> = rows.iter().map(|t| t.uuid()).collect();
    for (_, artifacts) in outputs {
        for a in artifacts {
            state.store().attach_tags("artifact_version", *a, &tag_ids).await?;
        }
    }
    Ok(())
}

/// `StepRunUpdate`.
#[derive(Deserialize)]
struct StepUpdateBody {
    #[serde(default)]
    outputs: Map<String, Value>,
    #[serde(default)]
    loaded_artifact_versions: Map<String, Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "datetime::option")]
    end_time: Option<NaiveDateTime>,
    #[serde(default)]
    exception_info: Option<Value>,
    #[serde(default, deserialize_with = "datetime::option")]
    cache_expires_at: Option<NaiveDateTime>,
    #[serde(default)]
    add_logs: Option<Vec<LogsBody>>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<StepUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let step = state.store().find_step(id).await?.ok_or_else(|| zenpro_store::pipelines::not_found("step run", id))?;
    let loaded =
        b.loaded_artifact_versions
            .into_iter()
            .map(|(k, v)| {
                v.as_str().and_then(|s| Uuid::parse_str(s).ok()).map(|u| (k.clone(), u)).ok_or_else(|| {
                    Error::validation(format!("loaded_artifact_versions.{k}: Input should be a valid UUID"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let project = parse_id(&step.project_id);
    let add_logs =
        b.add_logs.unwrap_or_default().into_iter().map(|l| l.into_new(project)).collect::<Result<Vec<_>, _>>()?;
    state
        .store()
        .update_step(
            id,
            StepUpdate {
                outputs: artifact_map("outputs", b.outputs)?,
                loaded_artifact_versions: loaded,
                status: b.status,
                end_time: b.end_time,
                exception_info: check_exception_info(&b.exception_info)?,
                cache_expires_at: b.cache_expires_at,
                add_logs,
            },
        )
        .await?;
    Ok(Json(step_response(&state, id, true).await?))
}

/// `StepHeartbeatRequest`.
#[derive(Deserialize, Default)]
struct HeartbeatBody {
    #[serde(default)]
    heartbeat_liveness_timeout_seconds: Option<i64>,
}

async fn heartbeat(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if !body.is_empty() {
        let b: HeartbeatBody =
            serde_json::from_slice(&body).map_err(|e| Error::validation(format!("Invalid request body: {e}")))?;
        if b.heartbeat_liveness_timeout_seconds.is_some_and(|s| s <= 0) {
            return Err(Error::validation("heartbeat_liveness_timeout_seconds: Input should be greater than 0"));
        }
    }
    let token_run =
        auth.claims.as_ref().and_then(|c| c.pipeline_run_id.as_deref()).and_then(|s| Uuid::parse_str(s).ok());
    let (status, at, enabled, run_status) = state.store().step_heartbeat(id, token_run).await?;
    Ok(Json(json!({
        "id": id.to_string(),
        "status": status,
        "latest_heartbeat": format!("{}Z", zenpro_types::time::api_format(&at)),
        "pipeline_run_status": run_status,
        "heartbeat_enabled": enabled,
    })))
}

async fn status(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let step = state.store().find_step(id).await?.ok_or_else(|| zenpro_store::pipelines::not_found("step run", id))?;
    Ok(Json(json!(step.status)))
}

async fn step_configuration(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_step(path_uuid(&id)?, false).await?;
    Ok(Json(v.step.get("config").cloned().unwrap_or(Value::Null)))
}
