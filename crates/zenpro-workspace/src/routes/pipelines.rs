//! Pipelines (`/pipelines`) and pipeline builds (`/pipeline_builds`), plus the JSON pieces
//! the run-related modules share: nested entities as other responses embed them
//! (`to_model()` without metadata or resources), project scopes, tags, request datetimes.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::pipelines::{
    BUILD_LIST, BuildRow, BuildView, LatestRun, NewBuild, NewPipeline, PIPELINE_LIST, PipelineRow, PipelineView,
};
use zenpro_store::schedules::{ScheduleRow, iso_duration};
use zenpro_store::stacks::StackRow;
use zenpro_store::tags::TagSpec;
use zenpro_store::{NameOrId, parse_id};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, dt, envelope, opt_dt, opt_uuid, user_resource};
use crate::routes::components::check_len;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pipelines", get(list).post(create))
        .route("/pipelines/{pipeline_id}", get(get_one).put(update).delete(delete))
        .route("/pipeline_builds", get(list_builds).post(create_build))
        .route("/pipeline_builds/{build_id}", get(get_build).delete(delete_build))
}

// ------------------------------------------------------------------------------------------
// Shared pieces
// ------------------------------------------------------------------------------------------

/// The project of a project-scoped list: `project` (name or id, 404 when unknown), else the
/// default project.
pub(crate) async fn project_of(state: &AppState, q: &QueryPairs) -> Result<Uuid, Error> {
    state.store().project_scope(q.get("project"), &state.config().default_project_name).await
}

/// `{created, updated, user_id, project_id}` of project-scoped entities.
pub(crate) fn scoped_body(
    created: &NaiveDateTime,
    updated: &NaiveDateTime,
    user_id: &Option<String>,
    project_id: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("created".into(), dt(created));
    m.insert("updated".into(), dt(updated));
    m.insert("user_id".into(), opt_uuid(user_id));
    m.insert("project_id".into(), json!(parse_id(project_id).to_string()));
    m
}

/// `PipelineResponse` as nested in other entities.
pub(crate) fn pipeline_nested(p: &PipelineRow) -> Value {
    let body = scoped_body(&p.created, &p.updated, &p.user_id, &p.project_id);
    envelope(&p.id, Name::Of(Some(&p.name)), Value::Object(body), None, None)
}

/// `StackResponse` as nested in other entities (body only).
pub(crate) fn stack_nested(s: &StackRow) -> Value {
    let body = json!({"created": dt(&s.created), "updated": dt(&s.updated), "user_id": opt_uuid(&s.user_id)});
    envelope(&s.id, Name::Of(Some(&s.name)), body, None, None)
}

/// `PipelineBuildResponse` as nested in other entities.
pub(crate) fn build_nested(b: &BuildRow) -> Value {
    let body = scoped_body(&b.created, &b.updated, &b.user_id, &b.project_id);
    envelope(&b.id, Name::Absent, Value::Object(body), None, None)
}

/// The body of a `ScheduleResponse`.
pub(crate) fn schedule_body(s: &ScheduleRow) -> Value {
    let mut body = scoped_body(&s.created, &s.updated, &s.user_id, &s.project_id);
    body.insert("active".into(), json!(s.active));
    body.insert("cron_expression".into(), json!(s.cron_expression));
    body.insert("start_time".into(), opt_dt(&s.start_time));
    body.insert("end_time".into(), opt_dt(&s.end_time));
    body.insert("interval_second".into(), s.interval_second.map(|i| json!(iso_duration(i))).unwrap_or(Value::Null));
    body.insert("catchup".into(), json!(s.catchup));
    body.insert("run_once_start_time".into(), opt_dt(&s.run_once_start_time));
    body.insert("is_archived".into(), json!(s.is_archived));
    Value::Object(body)
}

/// `ScheduleResponse` as nested in other entities.
pub(crate) fn schedule_nested(s: &ScheduleRow) -> Value {
    envelope(&s.id, Name::Of(Some(&s.name)), schedule_body(s), None, None)
}

/// The tags of resources of one type as JSON lists (one query).
pub(crate) async fn tags_for(
    state: &AppState,
    resource_type: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Value>, Error> {
    let tags = state.store().tags_of(resource_type, ids).await?;
    Ok(tags.into_iter().map(|(id, t)| (id, crate::routes::tags::tags_json(&t))).collect())
}

/// Tags of a request (`List[Union[str, Tag]]`) as specs.
pub(crate) fn tag_specs(tags: &Option<Vec<Value>>) -> Result<Vec<TagSpec>, Error> {
    let mut out = Vec::new();
    for t in tags.iter().flatten() {
        match t {
            Value::String(s) => out.push(TagSpec::from(s.as_str())),
            Value::Object(o) => {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::validation("tags: a tag needs a name"))?;
                out.push(TagSpec {
                    name: name.to_string(),
                    color: o.get("color").and_then(Value::as_str).map(str::to_string),
                    exclusive: o.get("exclusive").and_then(Value::as_bool),
                });
            }
            _ => return Err(Error::validation("tags: Input should be a valid string or tag")),
        }
    }
    Ok(out)
}

/// Get or create tags (owned by the caller when created) and attach them to a resource.
pub(crate) async fn attach_tags(
    state: &AppState,
    resource_type: &str,
    id: Uuid,
    tags: &Option<Vec<Value>>,
    user_id: Uuid,
) -> Result<(), Error> {
    let specs = tag_specs(tags)?;
    if specs.is_empty() {
        return Ok(());
    }
    let rows = state.store().get_or_create_tag_specs(&specs, Some(user_id)).await?;
    let ids: Vec<Uuid> = rows.iter().map(|t| t.uuid()).collect();
    state.store().attach_tags(resource_type, id, &ids).await
}

/// Detach tags given by name or id (unknown ones are ignored).
pub(crate) async fn detach_tags(
    state: &AppState,
    resource_type: &str,
    id: Uuid,
    tags: &Option<Vec<Value>>,
) -> Result<(), Error> {
    let mut ids = Vec::new();
    for spec in tag_specs(tags)? {
        if let Some(t) = state.store().find_tag(&NameOrId::parse(&spec.name)).await? {
            ids.push(t.uuid());
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    state.store().detach_tags(resource_type, id, &ids).await
}

/// Model versions as other entities embed them, by id (two queries).
pub(crate) async fn model_versions_nested(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, Value>, Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = state.store().model_versions_by_ids(&ids).await?;
    let mut model_ids: Vec<Uuid> = rows.iter().map(|r| parse_id(&r.model_id)).collect();
    model_ids.sort_unstable();
    model_ids.dedup();
    let models: HashMap<Uuid, _> =
        state.store().models_by_ids(&model_ids).await?.into_iter().map(|m| (m.uuid(), m)).collect();
    let mut out = HashMap::new();
    for row in rows {
        let Some(model) = models.get(&parse_id(&row.model_id)).cloned() else { continue };
        let id = row.uuid();
        let view = zenpro_store::model_registry::ModelVersionView {
            row,
            model,
            user: None,
            tags: Vec::new(),
            run_metadata: None,
        };
        let mut v = crate::routes::models::model_version_view_json(&view);
        v["metadata"] = Value::Null;
        v["resources"] = Value::Null;
        out.insert(id, v);
    }
    Ok(out)
}

/// Artifact versions as other entities embed them (no metadata, no resources), by id.
pub(crate) async fn artifact_versions_nested(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, Value>, Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    crate::routes::artifacts::artifact_versions_nested_json(state, &ids).await
}

/// The `latest_run_*` resources of pipelines and snapshots.
pub(crate) fn latest_run_fields(m: &mut Map<String, Value>, latest: &Option<LatestRun>, with_user: bool) {
    if with_user {
        m.insert("latest_run_user".into(), user_resource(latest.as_ref().and_then(|l| l.user.as_ref())));
    }
    m.insert("latest_run_id".into(), latest.as_ref().map(|l| json!(l.id.to_string())).unwrap_or(Value::Null));
    m.insert("latest_run_status".into(), latest.as_ref().map(|l| json!(l.status)).unwrap_or(Value::Null));
}

/// Request datetimes: ISO 8601 with or without fraction and offset (converted to naive UTC,
/// truncated to microseconds), or null.
pub(crate) mod datetime {
    use chrono::{DateTime, NaiveDateTime, Timelike};
    use serde::{Deserialize, Deserializer};

    pub fn parse(s: &str) -> Option<NaiveDateTime> {
        let s = s.trim();
        let parsed = DateTime::parse_from_rfc3339(s)
            .map(|d| d.naive_utc())
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
            .ok()?;
        parsed.with_nanosecond(parsed.nanosecond() / 1000 * 1000)
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("Input should be a valid datetime, got '{s}'"))),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Pipelines
// ------------------------------------------------------------------------------------------

/// `PipelineResponse`.
pub fn pipeline_json(v: &PipelineView, tags: Value, hydrate: bool) -> Value {
    let r = &v.row;
    let body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    let metadata = hydrate.then(|| json!({ "description": r.description }));
    let mut resources = Map::new();
    resources.insert("user".into(), user_resource(v.user.as_ref()));
    latest_run_fields(&mut resources, &v.latest_run, true);
    resources.insert("tags".into(), tags);
    resources.insert("visualizations".into(), json!([]));
    envelope(&r.id, Name::Of(Some(&r.name)), Value::Object(body), metadata, Some(Value::Object(resources)))
}

async fn pipeline_response(state: &AppState, v: PipelineView, hydrate: bool) -> Result<Value, Error> {
    let id = v.row.uuid();
    let mut tags = tags_for(state, "pipeline", &[id]).await?;
    Ok(pipeline_json(&v, tags.remove(&id).unwrap_or_else(|| json!([])), hydrate))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&PIPELINE_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_pipelines(project, &params).await?;
    let ids: Vec<Uuid> = page.items.iter().map(|p| p.row.uuid()).collect();
    let mut tags = tags_for(&state, "pipeline", &ids).await?;
    let page = page.map(|p| {
        let t = tags.remove(&p.row.uuid()).unwrap_or_else(|| json!([]));
        pipeline_json(&p, t, params.hydrate)
    });
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_pipeline(path_uuid(&id)?).await?;
    Ok(Json(pipeline_response(&state, v, q.hydrate()?).await?))
}

/// `PipelineRequest`.
#[derive(Deserialize)]
struct PipelineBody {
    project: Uuid,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<PipelineBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    let id = state
        .store()
        .create_pipeline(
            NewPipeline { project_id: b.project, name: b.name, description: b.description },
            auth.user_id(),
        )
        .await?;
    attach_tags(&state, "pipeline", id, &b.tags, auth.user_id()).await?;
    let v = state.store().get_pipeline(id).await?;
    Ok(Json(pipeline_response(&state, v, true).await?))
}

/// `PipelineUpdate`.
#[derive(Deserialize)]
struct PipelineUpdateBody {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    add_tags: Option<Vec<Value>>,
    #[serde(default)]
    remove_tags: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PipelineUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    state.store().update_pipeline(id, b.description).await?;
    attach_tags(&state, "pipeline", id, &b.add_tags, auth.user_id()).await?;
    detach_tags(&state, "pipeline", id, &b.remove_tags).await?;
    let v = state.store().get_pipeline(id).await?;
    Ok(Json(pipeline_response(&state, v, true).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_pipeline(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

// ------------------------------------------------------------------------------------------
// Pipeline builds
// ------------------------------------------------------------------------------------------

/// `PipelineBuildResponse`.
pub fn build_json(v: &BuildView, hydrate: bool) -> Value {
    let r = &v.row;
    let body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    let metadata = hydrate.then(|| {
        json!({
            "pipeline": v.pipeline.as_ref().map(pipeline_nested).unwrap_or(Value::Null),
            "stack": v.stack.as_ref().map(stack_nested).unwrap_or(Value::Null),
            "images": r.images_json(),
            "zenml_version": r.zenml_version,
            "python_version": r.python_version,
            "checksum": r.checksum,
            "stack_checksum": r.stack_checksum,
            "is_local": r.is_local,
            "contains_code": r.contains_code,
            "duration": r.duration,
        })
    });
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&r.id, Name::Absent, Value::Object(body), metadata, Some(resources))
}

async fn list_builds(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&BUILD_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_builds(project, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|b| build_json(&b, params.hydrate))).unwrap_or_default()))
}

async fn get_build(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_build(path_uuid(&id)?).await?;
    Ok(Json(build_json(&v, q.hydrate()?)))
}

/// `PipelineBuildRequest`.
#[derive(Deserialize)]
struct BuildBody {
    project: Uuid,
    #[serde(default)]
    images: Map<String, Value>,
    #[serde(default)]
    is_local: bool,
    #[serde(default)]
    contains_code: bool,
    #[serde(default)]
    zenml_version: Option<String>,
    #[serde(default)]
    python_version: Option<String>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    stack_checksum: Option<String>,
    #[serde(default)]
    stack: Option<Uuid>,
    #[serde(default)]
    pipeline: Option<Uuid>,
}

async fn create_build(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<BuildBody>,
) -> Result<Json<Value>, Error> {
    let id = state
        .store()
        .create_build(
            NewBuild {
                project_id: b.project,
                images: Value::Object(b.images),
                is_local: b.is_local,
                contains_code: b.contains_code,
                zenml_version: b.zenml_version,
                python_version: b.python_version,
                duration: b.duration,
                checksum: b.checksum,
                stack_checksum: b.stack_checksum,
                stack_id: b.stack,
                pipeline_id: b.pipeline,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(build_json(&state.store().get_build(id).await?, true)))
}

async fn delete_build(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.store().delete_build(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
