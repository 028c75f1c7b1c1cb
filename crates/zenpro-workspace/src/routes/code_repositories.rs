//! Code repositories: `/code_repositories` (listed by the client before every run) and
//! `/code_repositories/{id}`; plus the JSON of the code references snapshots point at.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::code_refs::{
    CODE_REPOSITORY_LIST, CodeReferenceView, CodeRepositoryRow, CodeRepositoryUpdate, CodeRepositoryView,
    NewCodeRepository,
};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, dt, envelope, user_resource};
use crate::routes::components::check_len;
use crate::routes::pipelines::{project_of, scoped_body};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/code_repositories", get(list).post(create))
        .route("/code_repositories/{code_repository_id}", get(get_one).put(update).delete(delete))
}

fn repository_body(r: &CodeRepositoryRow) -> Value {
    let mut body = scoped_body(&r.created, &r.updated, &r.user_id, &r.project_id);
    body.insert("source".into(), r.source_json());
    body.insert("logo_url".into(), json!(r.logo_url));
    Value::Object(body)
}

/// `CodeRepositoryResponse`.
pub fn code_repository_json(v: &CodeRepositoryView, hydrate: bool) -> Value {
    let r = &v.row;
    let metadata = hydrate.then(|| json!({ "config": r.config_json(), "description": r.description }));
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&r.id, Name::Of(Some(&r.name)), repository_body(r), metadata, Some(resources))
}

/// `CodeReferenceResponse` as snapshots and runs embed it.
pub fn code_reference_json(c: &CodeReferenceView) -> Value {
    let r = &c.row;
    let mut body = Map::new();
    body.insert("created".into(), dt(&r.created));
    body.insert("updated".into(), dt(&r.updated));
    body.insert("commit".into(), json!(r.commit));
    body.insert("subdirectory".into(), json!(r.subdirectory));
    body.insert(
        "code_repository".into(),
        envelope(&c.repository.id, Name::Of(Some(&c.repository.name)), repository_body(&c.repository), None, None),
    );
    envelope(&r.id, Name::Absent, Value::Object(body), None, None)
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&CODE_REPOSITORY_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_code_repositories(project, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|r| code_repository_json(&r, params.hydrate))).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_code_repository(path_uuid(&id)?).await?;
    Ok(Json(code_repository_json(&v, q.hydrate()?)))
}

/// `CodeRepositoryRequest`.
#[derive(Deserialize)]
struct RepositoryBody {
    project: Uuid,
    name: String,
    #[serde(default)]
    config: Map<String, Value>,
    source: Map<String, Value>,
    #[serde(default)]
    logo_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<RepositoryBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    if !b.source.contains_key("module") && !b.source.contains_key("attribute") {
        return Err(Error::validation("source: Input should be a valid source"));
    }
    let id = state
        .store()
        .create_code_repository(
            NewCodeRepository {
                project_id: b.project,
                name: b.name,
                config: Value::Object(b.config),
                source: Value::Object(b.source),
                logo_url: b.logo_url,
                description: b.description,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(code_repository_json(&state.store().get_code_repository(id).await?, true)))
}

/// `CodeRepositoryUpdate`.
#[derive(Deserialize)]
struct RepositoryUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    config: Option<Map<String, Value>>,
    #[serde(default)]
    logo_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RepositoryUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(n) = &b.name {
        check_len("name", n)?;
    }
    state
        .store()
        .update_code_repository(
            id,
            CodeRepositoryUpdate {
                name: b.name,
                config: b.config.map(Value::Object),
                logo_url: b.logo_url,
                description: b.description,
            },
        )
        .await?;
    Ok(Json(code_repository_json(&state.store().get_code_repository(id).await?, true)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_code_repository(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
