//! The model control plane: `/models`, `/model_versions`, and the links
//! `/model_version_artifacts` and `/model_version_pipeline_runs`.
//!
//! Pipeline runs get their model version on the server (G12, [`zenpro_store::Store::model_version_for_run`]);
//! the client then links each output with `POST /model_version_artifacts`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::model_registry::{
    MODEL_LIST, MODEL_VERSION_LIST, MVA_LIST, MVR_LIST, ModelLinkRow, ModelRow, ModelUpdate, ModelVersionRow,
    ModelVersionUpdate, ModelVersionView, ModelView, NewModel, NewModelVersion, STAGES,
};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, dt, envelope, opt_uuid, user_resource};
use crate::routes::artifacts::{artifact_versions_nested_json, project_scope};
use crate::routes::tags::tags_json;
use crate::state::AppState;

const STR_MAX: usize = 255;
const TEXT_MAX: usize = 65_535;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models).post(create_model))
        .route("/models/{id}", get(get_model).put(update_model).delete(delete_model))
        .route("/models/{model}/model_versions", get(list_versions_of_model))
        .route("/model_versions", get(list_versions).post(create_version))
        .route("/model_versions/{id}", get(get_version).put(update_version).delete(delete_version))
        .route("/model_versions/{id}/artifacts", delete(delete_all_artifact_links))
        .route("/model_versions/{id}/artifacts/{link}", delete(delete_artifact_link))
        .route("/model_versions/{id}/runs/{link}", delete(delete_run_link))
        .route("/model_version_artifacts", get(list_artifact_links).post(create_artifact_link))
        .route("/model_version_pipeline_runs", get(list_run_links).post(create_run_link))
}

fn scoped_body(
    created: &chrono::NaiveDateTime,
    updated: &chrono::NaiveDateTime,
    user: &Option<String>,
    project: &str,
) -> Value {
    json!({
        "created": dt(created),
        "updated": dt(updated),
        "user_id": opt_uuid(user),
        "project_id": zenpro_store::parse_id(project).to_string(),
    })
}

/// `ModelResponse` as nested in a version's body (no metadata, no resources).
pub fn model_nested_json(m: &ModelRow) -> Value {
    envelope(&m.id, Name::Of(Some(&m.name)), scoped_body(&m.created, &m.updated, &m.user_id, &m.project_id), None, None)
}

/// `ModelResponse` with resources (owner, tags, latest version, visualizations).
pub fn model_json(v: &ModelView, hydrate: bool) -> Value {
    let m = &v.row;
    let metadata = hydrate.then(|| {
        json!({
            "license": m.license,
            "description": m.description,
            "audience": m.audience,
            "use_cases": m.use_cases,
            "limitations": m.limitations,
            "trade_offs": m.trade_offs,
            "ethics": m.ethics,
            "save_models_to_registry": m.save_models_to_registry,
        })
    });
    let resources = json!({
        "user": user_resource(v.user.as_ref()),
        "tags": tags_json(&v.tags),
        "latest_version_name": v.latest.as_ref().map(|(_, n)| n.clone()),
        "latest_version_id": v.latest.as_ref().map(|(id, _)| id.to_string()),
        // Curated visualizations are not served by zenpro.
        "visualizations": [],
    });
    envelope(
        &m.id,
        Name::Of(Some(&m.name)),
        scoped_body(&m.created, &m.updated, &m.user_id, &m.project_id),
        metadata,
        Some(resources),
    )
}

fn version_body(v: &ModelVersionView) -> Value {
    let r = &v.row;
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    if let Value::Object(m) = &mut body {
        m.insert("stage".into(), json!(r.stage));
        m.insert("number".into(), json!(r.number));
        m.insert("model".into(), model_nested_json(&v.model));
    }
    body
}

/// `ModelVersionResponse` with resources (owner, services, tags); `metadata` when the view
/// was hydrated.
pub fn model_version_view_json(v: &ModelVersionView) -> Value {
    let metadata = v.run_metadata.as_ref().map(|md| {
        json!({
            "description": v.row.description,
            "run_metadata": Value::Object(md.clone()),
        })
    });
    let resources = json!({
        "user": user_resource(v.user.as_ref()),
        // Model deployer services are not served by zenpro: always an empty page.
        "services": {"index": 1, "max_size": 5, "total_pages": 1, "total": 0, "items": []},
        "tags": tags_json(&v.tags),
    });
    envelope(&v.row.id, Name::Of(Some(&v.row.name)), version_body(v), metadata, Some(resources))
}

/// `ModelVersionResponse` of a row, as `GET /model_versions/{id}` gives it (at most four
/// queries).
pub async fn model_version_json(state: &AppState, row: &ModelVersionRow, hydrate: bool) -> Result<Value, Error> {
    let views = state.store().model_version_views(vec![row.clone()], hydrate).await?;
    views.first().map(model_version_view_json).ok_or_else(|| Error::internal("no model version view"))
}

/// A model version as other entities embed it (`to_model()`: no metadata, no resources),
/// e.g. a run's `resources.model_version`. One query.
pub async fn model_version_nested_json(state: &AppState, row: &ModelVersionRow) -> Result<Value, Error> {
    let model = state.store().get_model_row(&NameOrId::Id(zenpro_store::parse_id(&row.model_id)), None).await?;
    let view = ModelVersionView { row: row.clone(), model, user: None, tags: Vec::new(), run_metadata: None };
    Ok(envelope(&row.id, Name::Of(Some(&row.name)), version_body(&view), None, None))
}

fn check_len(field: &str, v: &Option<String>, max: usize) -> Result<(), Error> {
    if let Some(v) = v
        && v.chars().count() > max
    {
        return Err(Error::validation(format!("The {field} must be at most {max} characters long.")));
    }
    Ok(())
}

// ---------------------------------------------------------------------- models

async fn list_models(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&MODEL_LIST)?;
    let project = project_scope(&state, &q).await?;
    let page = state.store().list_models(project, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|m| model_json(&m, params.hydrate))).unwrap_or_default()))
}

/// `ModelRequest`.
#[derive(Deserialize)]
struct ModelBody {
    project: Uuid,
    name: String,
    license: Option<String>,
    description: Option<String>,
    audience: Option<String>,
    use_cases: Option<String>,
    limitations: Option<String>,
    trade_offs: Option<String>,
    ethics: Option<String>,
    tags: Option<Vec<String>>,
    #[serde(default = "yes")]
    save_models_to_registry: bool,
}

fn yes() -> bool {
    true
}

async fn create_model(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ModelBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &Some(b.name.clone()), STR_MAX)?;
    for (f, v) in [
        ("license", &b.license),
        ("description", &b.description),
        ("audience", &b.audience),
        ("use cases", &b.use_cases),
        ("limitations", &b.limitations),
        ("trade offs", &b.trade_offs),
        ("ethics", &b.ethics),
    ] {
        check_len(f, v, TEXT_MAX)?;
    }
    if state.store().find_project(&NameOrId::Id(b.project)).await?.is_none() {
        return Err(Error::not_found(format!(
            "The project with ID {} referenced by the model being created was not found",
            b.project
        )));
    }
    let m = state
        .store()
        .create_model(
            NewModel {
                project_id: b.project,
                name: b.name,
                license: b.license,
                description: b.description,
                audience: b.audience,
                use_cases: b.use_cases,
                limitations: b.limitations,
                trade_offs: b.trade_offs,
                ethics: b.ethics,
                tags: b.tags,
                save_models_to_registry: b.save_models_to_registry,
            },
            Some(auth.user_id()),
        )
        .await?;
    Ok(Json(model_json(&m, true)))
}

async fn get_model(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let m = state.store().get_model(path_uuid(&id)?).await?;
    Ok(Json(model_json(&m, q.hydrate()?)))
}

/// `ModelUpdate`.
#[derive(Deserialize)]
struct ModelUpdateBody {
    name: Option<String>,
    license: Option<String>,
    description: Option<String>,
    audience: Option<String>,
    use_cases: Option<String>,
    limitations: Option<String>,
    trade_offs: Option<String>,
    ethics: Option<String>,
    add_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
    save_models_to_registry: Option<bool>,
}

async fn update_model(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ModelUpdateBody>,
) -> Result<Json<Value>, Error> {
    let m = state
        .store()
        .update_model(
            path_uuid(&id)?,
            ModelUpdate {
                name: b.name,
                license: b.license,
                description: b.description,
                audience: b.audience,
                use_cases: b.use_cases,
                limitations: b.limitations,
                trade_offs: b.trade_offs,
                ethics: b.ethics,
                save_models_to_registry: b.save_models_to_registry,
                add_tags: b.add_tags,
                remove_tags: b.remove_tags,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(model_json(&m, true)))
}

async fn delete_model(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.store().delete_model(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

// -------------------------------------------------------------- model versions

async fn versions_page(state: &AppState, q: &QueryPairs, extra: Option<(String, String)>) -> Result<Value, Error> {
    let mut pairs = q.0.clone();
    if let Some(kv) = extra {
        pairs.retain(|(k, _)| k != "model");
        pairs.push(kv);
    }
    let params = zenpro_store::list::ListParams::parse(&pairs, &MODEL_VERSION_LIST)?;
    let project = project_scope(state, q).await?;
    let page = state.store().list_model_versions(project, &params).await?;
    Ok(serde_json::to_value(page.map(|v| model_version_view_json(&v))).unwrap_or_default())
}

async fn list_versions(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    Ok(Json(versions_page(&state, &q, None).await?))
}

/// `GET /models/{model_name_or_id}/model_versions`: the versions of one model.
async fn list_versions_of_model(
    State(state): State<AppState>,
    _auth: Auth,
    Path(model): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(versions_page(&state, &q, Some(("model".into(), model))).await?))
}

/// `ModelVersionRequest`.
#[derive(Deserialize)]
struct VersionBody {
    project: Uuid,
    name: Option<String>,
    description: Option<String>,
    stage: Option<String>,
    model: Uuid,
    tags: Option<Vec<String>>,
}

async fn create_version(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<VersionBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name, STR_MAX)?;
    check_len("description", &b.description, TEXT_MAX)?;
    check_len("stage", &b.stage, STR_MAX)?;
    let id = state
        .store()
        .create_model_version(
            NewModelVersion {
                project_id: b.project,
                model_id: b.model,
                name: b.name,
                description: b.description,
                stage: b.stage,
                tags: b.tags,
            },
            Some(auth.user_id()),
        )
        .await?;
    let v = state.store().get_model_version(id, true).await?;
    Ok(Json(model_version_view_json(&v)))
}

async fn get_version(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_model_version(path_uuid(&id)?, q.hydrate()?).await?;
    Ok(Json(model_version_view_json(&v)))
}

/// `ModelVersionUpdate`.
#[derive(Deserialize)]
struct VersionUpdateBody {
    stage: Option<String>,
    #[serde(default)]
    force: bool,
    name: Option<String>,
    description: Option<String>,
    add_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
}

async fn update_version(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VersionUpdateBody>,
) -> Result<Response, Error> {
    let id = path_uuid(&id)?;
    if let Some(stage) = &b.stage
        && !STAGES.contains(&stage.as_str())
    {
        return Err(Error::validation(format!("Value error, `{stage}` is not a valid model stage.")));
    }
    let update = ModelVersionUpdate {
        stage: b.stage,
        force: b.force,
        name: b.name,
        description: b.description,
        add_tags: b.add_tags,
        remove_tags: b.remove_tags,
    };
    match state.store().update_model_version(id, update, auth.user_id()).await? {
        Ok(v) => Ok(Json(model_version_view_json(&v)).into_response()),
        // The reference raises a RuntimeError here: 500 with the message.
        Err(conflict) => {
            Ok((StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"detail": ["RuntimeError", conflict.0]})))
                .into_response())
        }
    }
}

async fn delete_version(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.store().delete_model_version(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

// ----------------------------------------------------------------------- links

/// `ModelVersionArtifactResponse` bodies for links: the linked versions nested (two queries
/// for the whole list).
async fn artifact_links_json(state: &AppState, links: &[ModelLinkRow], hydrate: bool) -> Result<Vec<Value>, Error> {
    let ids: Vec<Uuid> = links.iter().map(ModelLinkRow::target).collect();
    let versions: HashMap<Uuid, Value> = artifact_versions_nested_json(state, &ids).await?;
    Ok(links
        .iter()
        .map(|l| {
            let body = json!({
                "created": dt(&l.created),
                "updated": dt(&l.updated),
                "model_version": zenpro_store::parse_id(&l.model_version_id).to_string(),
                "artifact_version": versions.get(&l.target()).cloned().unwrap_or(Value::Null),
            });
            envelope(&l.id, Name::Absent, body, hydrate.then(|| json!({})), None)
        })
        .collect())
}

/// `ModelVersionArtifactRequest`.
#[derive(Deserialize)]
struct ArtifactLinkBody {
    model_version: Uuid,
    artifact_version: Uuid,
}

async fn create_artifact_link(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<ArtifactLinkBody>,
) -> Result<Json<Value>, Error> {
    let link = state.store().link_model_version_artifact(b.model_version, b.artifact_version).await?;
    let mut out = artifact_links_json(&state, &[link], true).await?;
    Ok(Json(out.pop().unwrap_or(Value::Null)))
}

async fn list_artifact_links(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&MVA_LIST)?;
    let page = state.store().list_model_version_artifact_links(&params).await?;
    let items = artifact_links_json(&state, &page.items, params.hydrate).await?;
    let mut it = items.into_iter();
    Ok(Json(serde_json::to_value(page.map(|_| it.next().unwrap_or(Value::Null))).unwrap_or_default()))
}

async fn delete_artifact_link(
    State(state): State<AppState>,
    _auth: Auth,
    Path((id, link)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    state.store().delete_model_version_artifact_link(path_uuid(&id)?, &link).await?;
    Ok(Json(Value::Null))
}

async fn delete_all_artifact_links(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let only_links = q.flag("only_links", true)?;
    state.store().delete_all_model_version_artifact_links(path_uuid(&id)?, only_links).await?;
    Ok(Json(Value::Null))
}

/// `ModelVersionPipelineRunResponse` bodies for links, with the runs nested as the runs
/// module renders them.
async fn run_links_json(state: &AppState, links: &[ModelLinkRow], hydrate: bool) -> Result<Vec<Value>, Error> {
    let ids: Vec<Uuid> = links.iter().map(ModelLinkRow::target).collect();
    let runs: HashMap<Uuid, Value> = nested_runs_json(state, &ids).await?;
    Ok(links
        .iter()
        .map(|l| {
            let body = json!({
                "created": dt(&l.created),
                "updated": dt(&l.updated),
                "model_version": zenpro_store::parse_id(&l.model_version_id).to_string(),
                "pipeline_run": runs.get(&l.target()).cloned().unwrap_or(Value::Null),
            });
            envelope(&l.id, Name::Absent, body, hydrate.then(|| json!({})), None)
        })
        .collect())
}

/// Pipeline runs as other entities embed them (`to_model()`: body only), rendered by the runs
/// module. A bounded number of queries, whatever the number of runs.
async fn nested_runs_json(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, Value>, Error> {
    let rows: Vec<_> = state.store().runs_by_ids(ids).await?.into_values().collect();
    let views = state.store().run_views(rows, false, false).await?;
    let extras = crate::routes::runs::RunExtras::load(state, &views).await?;
    Ok(views
        .iter()
        .map(|v| {
            let mut run = crate::routes::runs::run_json(v, &extras, false, false);
            run["resources"] = Value::Null;
            (v.row.uuid(), run)
        })
        .collect())
}

/// `ModelVersionPipelineRunRequest`.
#[derive(Deserialize)]
struct RunLinkBody {
    model_version: Uuid,
    pipeline_run: Uuid,
}

async fn create_run_link(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<RunLinkBody>,
) -> Result<Json<Value>, Error> {
    state.store().get_model_version_row(b.model_version).await?;
    state.store().check_pipeline_run_exists(b.pipeline_run).await?;
    let link = state.store().link_model_version_run(b.model_version, b.pipeline_run).await?;
    let mut out = run_links_json(&state, &[link], true).await?;
    Ok(Json(out.pop().unwrap_or(Value::Null)))
}

async fn list_run_links(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&MVR_LIST)?;
    let page = state.store().list_model_version_run_links(&params).await?;
    let items = run_links_json(&state, &page.items, params.hydrate).await?;
    let mut it = items.into_iter();
    Ok(Json(serde_json::to_value(page.map(|_| it.next().unwrap_or(Value::Null))).unwrap_or_default()))
}

async fn delete_run_link(
    State(state): State<AppState>,
    _auth: Auth,
    Path((id, link)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    state.store().delete_model_version_run_link(path_uuid(&id)?, &link).await?;
    Ok(Json(Value::Null))
}
