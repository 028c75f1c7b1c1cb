//! Run templates (deprecated in favour of named snapshots): `/run_templates` and
//! `/run_templates/{id}`. Running a template from the server is not supported.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::snapshots::{NewRunTemplate, RUN_TEMPLATE_LIST, RunTemplateUpdate, RunTemplateView};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, user_resource};
use crate::routes::code_repositories::code_reference_json;
use crate::routes::components::check_len;
use crate::routes::pipelines::{
    attach_tags, build_nested, detach_tags, latest_run_fields, pipeline_nested, project_of, scoped_body, tags_for,
};
use crate::routes::snapshots::snapshot_nested;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/run_templates", get(list).post(create))
        .route("/run_templates/{template_id}", get(get_one).put(update).delete(delete))
}

/// `RunTemplateResponse`.
pub fn run_template_json(v: &RunTemplateView, tags: Value, hydrate: bool) -> Value {
    let r = &v.row;
    let source = v.source_snapshot.as_ref();
    let runnable = source.is_some_and(|s| s.runnable());
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    body.insert("runnable".into(), json!(runnable));
    body.insert("hidden".into(), json!(r.hidden));
    let metadata = hydrate.then(|| {
        json!({
            "description": r.description,
            "pipeline_spec": source.map(|s| s.row.pipeline_spec_json()).unwrap_or(Value::Null),
            "config_template": null,
            "config_schema": null,
        })
    });
    let mut res = Map::new();
    res.insert("user".into(), user_resource(v.user.as_ref()));
    res.insert(
        "source_snapshot".into(),
        source.map(|s| snapshot_nested(&s.row, s.runnable(), s.deployable())).unwrap_or(Value::Null),
    );
    res.insert("pipeline".into(), source.and_then(|s| s.pipeline.as_ref()).map(pipeline_nested).unwrap_or(Value::Null));
    res.insert("build".into(), source.and_then(|s| s.build.as_ref()).map(build_nested).unwrap_or(Value::Null));
    res.insert(
        "code_reference".into(),
        source.and_then(|s| s.code_reference.as_ref()).map(code_reference_json).unwrap_or(Value::Null),
    );
    res.insert("tags".into(), tags);
    latest_run_fields(&mut res, &v.latest_run, false);
    envelope(&r.id, Name::Of(Some(&r.name)), Value::Object(body), metadata, Some(Value::Object(res)))
}

async fn template_response(state: &AppState, id: Uuid, hydrate: bool) -> Result<Value, Error> {
    let v = state.store().get_run_template(id, hydrate).await?;
    let mut tags = tags_for(state, "run_template", &[id]).await?;
    Ok(run_template_json(&v, tags.remove(&id).unwrap_or_else(|| json!([])), hydrate))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&RUN_TEMPLATE_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_run_templates(project, &params).await?;
    let ids: Vec<Uuid> = page.items.iter().map(|t| t.row.uuid()).collect();
    let mut tags = tags_for(&state, "run_template", &ids).await?;
    let page = page.map(|t| {
        let tg = tags.remove(&t.row.uuid()).unwrap_or_else(|| json!([]));
        run_template_json(&t, tg, params.hydrate)
    });
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(template_response(&state, path_uuid(&id)?, q.hydrate()?).await?))
}

/// `RunTemplateRequest`.
#[derive(Deserialize)]
struct TemplateBody {
    project: Uuid,
    name: String,
    #[serde(default)]
    description: Option<String>,
    source_snapshot_id: Uuid,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    tags: Option<Vec<Value>>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<TemplateBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    let id = state
        .store()
        .create_run_template(
            NewRunTemplate {
                project_id: b.project,
                name: b.name,
                description: b.description,
                source_snapshot_id: b.source_snapshot_id,
                hidden: b.hidden,
            },
            auth.user_id(),
        )
        .await?;
    attach_tags(&state, "run_template", id, &b.tags, auth.user_id()).await?;
    Ok(Json(template_response(&state, id, true).await?))
}

/// `RunTemplateUpdate`.
#[derive(Deserialize)]
struct TemplateUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    add_tags: Option<Vec<Value>>,
    #[serde(default)]
    remove_tags: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TemplateUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(n) = &b.name {
        check_len("name", n)?;
    }
    state
        .store()
        .update_run_template(id, RunTemplateUpdate { name: b.name, description: b.description, hidden: b.hidden })
        .await?;
    attach_tags(&state, "run_template", id, &b.add_tags, auth.user_id()).await?;
    detach_tags(&state, "run_template", id, &b.remove_tags).await?;
    Ok(Json(template_response(&state, id, true).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_run_template(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
