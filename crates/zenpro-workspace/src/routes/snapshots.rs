//! Pipeline snapshots: `/pipeline_snapshots` and the deprecated `/pipeline_deployments`
//! (same store, same responses).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::snapshots::{
    NewCodeReference, NewSnapshot, SNAPSHOT_LIST, SnapshotRow, SnapshotUpdate, SnapshotView, merged_step,
};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_uuid, user_resource};
use crate::routes::code_repositories::code_reference_json;
use crate::routes::components::check_len;
use crate::routes::pipelines::{
    attach_tags, build_nested, detach_tags, latest_run_fields, pipeline_nested, project_of, schedule_nested,
    scoped_body, stack_nested, tags_for,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pipeline_snapshots", get(list).post(create))
        .route("/pipeline_snapshots/{snapshot_id}", get(get_one).put(update).delete(delete))
        .route("/pipeline_deployments", get(list).post(create))
        .route("/pipeline_deployments/{deployment_id}", get(get_one).delete(delete))
}

/// The body of a `PipelineSnapshotResponse`.
pub(crate) fn snapshot_body(r: &SnapshotRow, runnable: bool, deployable: bool) -> Value {
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    body.insert("runnable".into(), json!(runnable));
    body.insert("deployable".into(), json!(deployable));
    body.insert("is_dynamic".into(), json!(r.is_dynamic));
    body.insert("pipeline_id".into(), json!(zenpro_store::parse_id(&r.pipeline_id).to_string()));
    Value::Object(body)
}

/// `PipelineSnapshotResponse` as runs embed it (body only).
pub(crate) fn snapshot_nested(r: &SnapshotRow, runnable: bool, deployable: bool) -> Value {
    envelope(&r.id, Name::Of(r.name.as_deref()), snapshot_body(r, runnable, deployable), None, None)
}

/// `PipelineSnapshotResponse`; `steps` limits the step configurations shown.
pub fn snapshot_json(v: &SnapshotView, tags: Value, hydrate: bool, steps: Option<&[String]>) -> Value {
    let r = &v.row;
    let metadata = hydrate.then(|| {
        let pc = r.pipeline_configuration_json();
        let mut step_configurations = Map::new();
        for c in v.step_configurations.iter().filter(|c| steps.is_none_or(|s| s.contains(&c.name))) {
            let stored: Value = serde_json::from_str(&c.config).unwrap_or(Value::Null);
            step_configurations.insert(c.name.clone(), merged_step(&stored, &pc, r.is_dynamic));
        }
        json!({
            "description": r.description,
            "source_code": r.source_code,
            "run_name_template": r.run_name_template,
            "pipeline_configuration": pc,
            "step_configurations": step_configurations,
            "client_environment": r.client_environment_json(false),
            "client_version": r.client_version,
            "server_version": r.server_version,
            "pipeline_version_hash": r.pipeline_version_hash,
            "pipeline_spec": r.pipeline_spec_json(),
            "code_path": r.code_path,
            "template_id": opt_uuid(&r.template_id),
            "source_snapshot_id": opt_uuid(&r.source_snapshot_id),
            "config_template": null,
            "config_schema": null,
        })
    });
    let mut resources = Map::new();
    resources.insert("user".into(), user_resource(v.user.as_ref()));
    resources.insert("pipeline".into(), v.pipeline.as_ref().map(pipeline_nested).unwrap_or(Value::Null));
    resources.insert("stack".into(), v.stack.as_ref().map(stack_nested).unwrap_or(Value::Null));
    resources.insert("build".into(), v.build.as_ref().map(build_nested).unwrap_or(Value::Null));
    resources.insert("schedule".into(), v.schedule.as_ref().map(schedule_nested).unwrap_or(Value::Null));
    resources
        .insert("code_reference".into(), v.code_reference.as_ref().map(code_reference_json).unwrap_or(Value::Null));
    // Deployments (served pipelines) are not served by zenpro.
    resources.insert("deployment".into(), Value::Null);
    resources.insert("tags".into(), tags);
    latest_run_fields(&mut resources, &v.latest_run, false);
    resources.insert("latest_run_user".into(), user_resource(v.latest_run.as_ref().and_then(|l| l.user.as_ref())));
    resources.insert("visualizations".into(), json!([]));
    envelope(
        &r.id,
        Name::Of(r.name.as_deref()),
        snapshot_body(r, v.runnable(), v.deployable()),
        metadata,
        Some(Value::Object(resources)),
    )
}

async fn snapshot_response(
    state: &AppState,
    id: Uuid,
    hydrate: bool,
    steps: Option<&[String]>,
) -> Result<Value, Error> {
    let v = state.store().get_snapshot(id, hydrate).await?;
    let mut tags = tags_for(state, "pipeline_snapshot", &[id]).await?;
    Ok(snapshot_json(&v, tags.remove(&id).unwrap_or_else(|| json!([])), hydrate, steps))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&SNAPSHOT_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_snapshots(project, &params).await?;
    let ids: Vec<Uuid> = page.items.iter().map(|s| s.row.uuid()).collect();
    let mut tags = tags_for(&state, "pipeline_snapshot", &ids).await?;
    // Hydrated list items need the step configurations: load them per page (two queries).
    let page = if params.hydrate {
        let rows: Vec<SnapshotRow> = state.store().snapshots_by_ids(&ids, true).await?.into_values().collect();
        let mut full: std::collections::HashMap<Uuid, SnapshotView> =
            state.store().snapshot_views(rows, true).await?.into_iter().map(|v| (v.row.uuid(), v)).collect();
        page.map(|s| {
            let v = full.remove(&s.row.uuid()).unwrap_or(s);
            let t = tags.remove(&v.row.uuid()).unwrap_or_else(|| json!([]));
            snapshot_json(&v, t, true, None)
        })
    } else {
        page.map(|s| {
            let t = tags.remove(&s.row.uuid()).unwrap_or_else(|| json!([]));
            snapshot_json(&s, t, false, None)
        })
    };
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let filter: Vec<String> =
        q.0.iter().filter(|(k, _)| k == "step_configuration_filter").map(|(_, v)| v.clone()).collect();
    let steps = (!filter.is_empty()).then_some(filter.as_slice());
    Ok(Json(snapshot_response(&state, path_uuid(&id)?, q.hydrate()?, steps).await?))
}

/// `CodeReferenceRequest`.
#[derive(Deserialize)]
struct CodeReferenceBody {
    commit: String,
    subdirectory: String,
    code_repository: Uuid,
}

/// `PipelineSnapshotRequest`.
#[derive(Deserialize)]
struct SnapshotBody {
    project: Uuid,
    run_name_template: String,
    pipeline_configuration: Map<String, Value>,
    #[serde(default)]
    step_configurations: Map<String, Value>,
    #[serde(default)]
    client_environment: Map<String, Value>,
    #[serde(default)]
    client_version: Option<String>,
    #[serde(default)]
    server_version: Option<String>,
    #[serde(default)]
    pipeline_version_hash: Option<String>,
    #[serde(default)]
    pipeline_spec: Option<Value>,
    #[serde(default)]
    is_dynamic: bool,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source_code: Option<String>,
    #[serde(default)]
    replace: Option<bool>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
    stack: Uuid,
    pipeline: Uuid,
    #[serde(default)]
    build: Option<Uuid>,
    #[serde(default)]
    schedule: Option<Uuid>,
    #[serde(default)]
    code_reference: Option<CodeReferenceBody>,
    #[serde(default)]
    code_path: Option<String>,
    #[serde(default)]
    template: Option<Uuid>,
    #[serde(default)]
    source_snapshot: Option<Uuid>,
}

/// `name: Union[bool, str, None]`: only a string names the snapshot.
fn snapshot_name(v: Option<Value>) -> Result<Option<String>, Error> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(None),
        Some(Value::String(s)) => {
            check_len("name", &s)?;
            Ok(Some(s))
        }
        Some(_) => Err(Error::validation("name: Input should be a valid string or boolean")),
    }
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<SnapshotBody>,
) -> Result<Json<Value>, Error> {
    check_len("run_name_template", &b.run_name_template)?;
    if !b.pipeline_configuration.get("name").is_some_and(Value::is_string) {
        return Err(Error::validation("pipeline_configuration.name: Field required"));
    }
    for (name, step) in &b.step_configurations {
        let ok = step.get("spec").is_some_and(Value::is_object)
            && (step.get("config").is_some_and(Value::is_object)
                || step.get("step_config_overrides").is_some_and(Value::is_object));
        if !ok {
            return Err(Error::validation(format!("step_configurations.{name}: Input should be a valid step")));
        }
    }
    if let Some(spec) = &b.pipeline_spec
        && !spec.is_object()
        && !spec.is_null()
    {
        return Err(Error::validation("pipeline_spec: Input should be a valid dictionary"));
    }
    let id = state
        .store()
        .create_snapshot(
            NewSnapshot {
                project_id: b.project,
                run_name_template: b.run_name_template,
                pipeline_configuration: Value::Object(b.pipeline_configuration),
                step_configurations: b.step_configurations.into_iter().collect(),
                client_environment: Value::Object(b.client_environment),
                client_version: b.client_version,
                server_version: b.server_version,
                pipeline_version_hash: b.pipeline_version_hash,
                pipeline_spec: b.pipeline_spec.filter(|s| !s.is_null()),
                is_dynamic: b.is_dynamic,
                name: snapshot_name(b.name)?,
                description: b.description,
                source_code: b.source_code,
                replace: b.replace.unwrap_or(false),
                stack_id: Some(b.stack),
                pipeline_id: b.pipeline,
                build_id: b.build,
                schedule_id: b.schedule,
                code_reference: b.code_reference.map(|c| NewCodeReference {
                    code_repository: c.code_repository,
                    commit: c.commit,
                    subdirectory: c.subdirectory,
                }),
                code_path: b.code_path,
                template_id: b.template,
                source_snapshot_id: b.source_snapshot,
            },
            auth.user_id(),
        )
        .await?;
    attach_tags(&state, "pipeline_snapshot", id, &b.tags, auth.user_id()).await?;
    Ok(Json(snapshot_response(&state, id, true, None).await?))
}

/// `PipelineSnapshotUpdate`.
#[derive(Deserialize)]
struct SnapshotUpdateBody {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    replace: Option<bool>,
    #[serde(default)]
    add_tags: Option<Vec<Value>>,
    #[serde(default)]
    remove_tags: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<SnapshotUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let name = match b.name {
        Some(Value::Bool(false)) => Some(None),
        Some(Value::String(s)) => {
            check_len("name", &s)?;
            Some(Some(s))
        }
        _ => None,
    };
    state
        .store()
        .update_snapshot(id, SnapshotUpdate { name, description: b.description, replace: b.replace.unwrap_or(false) })
        .await?;
    attach_tags(&state, "pipeline_snapshot", id, &b.add_tags, auth.user_id()).await?;
    detach_tags(&state, "pipeline_snapshot", id, &b.remove_tags).await?;
    Ok(Json(snapshot_response(&state, id, true, None).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_snapshot(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
