//! Pipeline deployments: `/deployments` and `/deployments/{id}` (what `zenml pipeline deploy`,
//! `zenml deployment list|describe|delete` and the deployer components read and write).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::deployments::{DEPLOYMENT_LIST, DeploymentUpdate, DeploymentView, NewDeployment};
use zenpro_types::{Error, Page};

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{self, Name, envelope, user_resource};
use crate::routes::components::check_len;
use crate::routes::pipelines::{
    attach_tags, detach_tags, pipeline_nested, project_of, scoped_body, stack_nested, tags_for,
};
use crate::routes::snapshots::snapshot_nested;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deployments", get(list).post(create))
        .route("/deployments/{id}", get(get_one).put(update).delete(delete))
}

/// `DeploymentStatus` values; a stored value outside them reads as `unknown`, as the reference.
const STATUSES: &[&str] = &["unknown", "pending", "running", "absent", "error"];

const TAG_TYPE: &str = "deployment";

async fn views_json(state: &AppState, views: &[DeploymentView], hydrate: bool) -> Result<Vec<Value>, Error> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.row.uuid()).collect();
    let mut tags = tags_for(state, TAG_TYPE, &ids).await?;
    views
        .iter()
        .map(|v| {
            let r = &v.row;
            let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
            body.insert("url".into(), json!(r.url));
            let status = if STATUSES.contains(&r.status.as_str()) { r.status.as_str() } else { "unknown" };
            body.insert("status".into(), json!(status));
            let metadata = hydrate.then(|| {
                let md: Value = serde_json::from_str(&r.deployment_metadata).unwrap_or_else(|_| json!({}));
                json!({"deployment_metadata": md, "auth_key": r.auth_key})
            });
            let (runnable, deployable) = v.snapshot_flags;
            let mut res = Map::new();
            res.insert("user".into(), user_resource(v.user.as_ref()));
            res.insert("tags".into(), tags.remove(&r.uuid()).unwrap_or_else(|| json!([])));
            res.insert(
                "snapshot".into(),
                v.snapshot.as_ref().map(|s| snapshot_nested(s, runnable, deployable)).unwrap_or(Value::Null),
            );
            res.insert(
                "deployer".into(),
                v.deployer.as_ref().map(|c| models::component(c, false)).transpose()?.unwrap_or(Value::Null),
            );
            res.insert("pipeline".into(), v.pipeline.as_ref().map(pipeline_nested).unwrap_or(Value::Null));
            res.insert("stack".into(), v.stack.as_ref().map(stack_nested).unwrap_or(Value::Null));
            res.insert("visualizations".into(), json!([]));
            Ok(envelope(&r.id, Name::Of(Some(&r.name)), Value::Object(body), metadata, Some(Value::Object(res))))
        })
        .collect()
}

async fn one_json(state: &AppState, id: Uuid, hydrate: bool) -> Result<Value, Error> {
    let v = state.store().get_deployment(id).await?;
    Ok(views_json(state, std::slice::from_ref(&v), hydrate).await?.remove(0))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&DEPLOYMENT_LIST)?;
    let project = project_of(&state, &q).await?;
    let Page { index, max_size, total_pages, total, items } = state.store().list_deployments(project, &params).await?;
    let items = views_json(&state, &items, params.hydrate).await?;
    Ok(Json(serde_json::to_value(Page { index, max_size, total_pages, total, items }).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(one_json(&state, path_uuid(&id)?, q.hydrate()?).await?))
}

/// `DeploymentRequest`.
#[derive(Deserialize)]
struct DeploymentBody {
    project: Uuid,
    name: String,
    snapshot_id: Uuid,
    deployer_id: Uuid,
    #[serde(default)]
    auth_key: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<DeploymentBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    let user = models::id_of(&auth.user.id);
    let new = NewDeployment {
        project_id: b.project,
        name: b.name,
        snapshot_id: b.snapshot_id,
        deployer_id: b.deployer_id,
        auth_key: b.auth_key,
    };
    // Tags are checked before anything is written.
    crate::routes::pipelines::tag_specs(&b.tags)?;
    let id = state.store().create_deployment(new, user).await?;
    attach_tags(&state, TAG_TYPE, id, &b.tags, user).await?;
    Ok(Json(one_json(&state, id, true).await?))
}

/// `DeploymentUpdate`.
#[derive(Deserialize)]
struct DeploymentUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    snapshot_id: Option<Uuid>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    deployment_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    auth_key: Option<String>,
    #[serde(default)]
    add_tags: Option<Vec<Value>>,
    #[serde(default)]
    remove_tags: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DeploymentUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(n) = &b.name {
        check_len("name", n)?;
    }
    if let Some(s) = &b.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(Error::validation(format!("status: Input should be one of {}", STATUSES.join(", "))));
    }
    crate::routes::pipelines::tag_specs(&b.add_tags)?;
    crate::routes::pipelines::tag_specs(&b.remove_tags)?;
    let u = DeploymentUpdate {
        name: b.name,
        snapshot_id: b.snapshot_id,
        url: b.url,
        status: b.status,
        // As Python's `json.dumps` writes it.
        deployment_metadata: b.deployment_metadata.map(|m| zenpro_store::stacks::python_json(&Value::Object(m))),
        auth_key: b.auth_key,
    };
    state.store().update_deployment(id, u).await?;
    attach_tags(&state, TAG_TYPE, id, &b.add_tags, models::id_of(&auth.user.id)).await?;
    detach_tags(&state, TAG_TYPE, id, &b.remove_tags).await?;
    Ok(Json(one_json(&state, id, true).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_deployment(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
