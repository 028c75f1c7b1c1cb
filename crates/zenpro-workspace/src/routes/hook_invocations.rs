//! Hook invocations: `POST /hook_invocations` (the client records each step/pipeline hook it
//! ran), `GET /hook_invocations` (project-scoped list), `GET|DELETE /hook_invocations/{id}`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::hook_invocations::{HOOK_INVOCATION_LIST, HookInvocationView, NewHookInvocation};
use zenpro_types::{Error, Page};

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_dt, opt_uuid, user_resource};
use crate::routes::components::check_len;
use crate::routes::logs::logs_nested;
use crate::routes::pipelines::{artifact_versions_nested, datetime, project_of, scoped_body};
use crate::routes::runs::{check_exception_info, exception_info};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hook_invocations", get(list).post(create))
        .route("/hook_invocations/{id}", get(get_one).delete(delete))
}

const HOOK_TYPES: &[&str] = &[
    "run_start",
    "run_success",
    "run_failure",
    "run_end",
    "run_pause",
    "run_resume",
    "step_start",
    "step_end",
    "step_success",
    "step_failure",
    "custom",
];

const STATUSES: &[&str] = &[
    "initializing",
    "provisioning",
    "queued",
    "running",
    "failed",
    "completed",
    "cached",
    "skipped",
    "retrying",
    "retried",
    "cancelling",
    "cancelled",
];

/// `HookInvocationResponse` pages and single responses, with the artifact versions of their
/// outputs loaded in one batch.
async fn views_json(state: &AppState, views: &[HookInvocationView], hydrate: bool) -> Result<Vec<Value>, Error> {
    let ids: Vec<Uuid> = views.iter().flat_map(|v| v.outputs.iter().map(|(_, a)| *a)).collect();
    let artifacts = artifact_versions_nested(state, &ids).await?;
    Ok(views
        .iter()
        .map(|v| {
            let r = &v.row;
            let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
            body.insert("hook_type".into(), json!(r.hook_type));
            body.insert("status".into(), json!(r.status));
            body.insert("start_time".into(), opt_dt(&Some(r.start_time)));
            body.insert("end_time".into(), opt_dt(&r.end_time));
            body.insert("pipeline_run_id".into(), opt_uuid(&Some(r.pipeline_run_id.clone())));
            body.insert("step_run_id".into(), opt_uuid(&r.step_run_id));
            let metadata =
                hydrate.then(|| json!({"source": r.source, "exception_info": exception_info(&r.exception_info)}));
            let mut outputs: Map<String, Value> = Map::new();
            for (name, artifact) in &v.outputs {
                let Some(a) = artifacts.get(artifact).cloned() else { continue };
                if let Value::Array(list) = outputs.entry(name.clone()).or_insert_with(|| json!([])) {
                    list.push(a);
                }
            }
            let resources = json!({
                "user": user_resource(v.user.as_ref()),
                "outputs": outputs,
                "log_collection": v.logs.iter().map(logs_nested).collect::<Vec<_>>(),
            });
            envelope(&r.id, Name::Of(r.name.as_deref()), Value::Object(body), metadata, Some(resources))
        })
        .collect())
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&HOOK_INVOCATION_LIST)?;
    let project = project_of(&state, &q).await?;
    let Page { index, max_size, total_pages, total, items } =
        state.store().list_hook_invocations(project, &params).await?;
    let items = views_json(&state, &items, params.hydrate).await?;
    Ok(Json(serde_json::to_value(Page { index, max_size, total_pages, total, items }).unwrap_or_default()))
}

async fn one_json(state: &AppState, id: Uuid, hydrate: bool) -> Result<Value, Error> {
    let v = state.store().get_hook_invocation(id).await?;
    Ok(views_json(state, std::slice::from_ref(&v), hydrate).await?.remove(0))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(one_json(&state, path_uuid(&id)?, q.hydrate()?).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_hook_invocation(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

/// `HookInvocationRequest`.
#[derive(Deserialize)]
struct HookInvocationBody {
    project: Uuid,
    #[serde(default)]
    id: Option<Uuid>,
    hook_type: String,
    #[serde(default)]
    name: Option<String>,
    status: String,
    #[serde(deserialize_with = "required_datetime")]
    start_time: NaiveDateTime,
    #[serde(default, deserialize_with = "datetime::option")]
    end_time: Option<NaiveDateTime>,
    #[serde(default)]
    source: Option<String>,
    pipeline_run_id: Uuid,
    #[serde(default)]
    step_run_id: Option<Uuid>,
    #[serde(default)]
    outputs: std::collections::BTreeMap<String, Vec<Uuid>>,
    #[serde(default)]
    exception_info: Option<Value>,
    #[serde(default)]
    logs_id: Option<Uuid>,
}

fn required_datetime<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    datetime::option(d)?.ok_or_else(|| serde::de::Error::custom("Input should be a valid datetime"))
}

/// `^[a-zA-Z_][a-zA-Z0-9_.\-]*$`, as `HOOK_NAME_PATTERN`.
fn check_hook_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(Error::validation(format!(
            "name: String should match pattern '^[a-zA-Z_][a-zA-Z0-9_.\\-]*$' (got {name:?})"
        )));
    }
    check_len("name", name)
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<HookInvocationBody>,
) -> Result<Json<Value>, Error> {
    if !HOOK_TYPES.contains(&b.hook_type.as_str()) {
        return Err(Error::validation(format!("hook_type: Input should be one of {}", HOOK_TYPES.join(", "))));
    }
    if !STATUSES.contains(&b.status.as_str()) {
        return Err(Error::validation(format!("status: Input should be one of {}", STATUSES.join(", "))));
    }
    if let Some(n) = &b.name {
        check_hook_name(n)?;
    }
    if let Some(s) = &b.source {
        check_len("source", s)?;
    }
    let exception = check_exception_info(&b.exception_info)?.map(|e| e.to_string());
    let new = NewHookInvocation {
        id: b.id.unwrap_or_else(Uuid::new_v4),
        project_id: b.project,
        hook_type: b.hook_type,
        name: b.name,
        status: b.status,
        start_time: b.start_time,
        end_time: b.end_time,
        source: b.source,
        exception_info: exception,
        pipeline_run_id: b.pipeline_run_id,
        step_run_id: b.step_run_id,
        outputs: b.outputs.into_iter().collect(),
        logs_id: b.logs_id,
    };
    let id = state.store().create_hook_invocation(new, crate::models::id_of(&auth.user.id)).await?;
    Ok(Json(one_json(&state, id, true).await?))
}
