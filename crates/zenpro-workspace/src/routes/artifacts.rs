//! Artifacts and artifact versions: `/artifacts`, `/artifact_versions` (with `/batch`, the
//! step-output path of G11) and `/artifact_visualizations/{id}`.
//!
//! The artifact bytes never pass through the server: the client writes and reads its artifact
//! store itself, and `load()` only needs `GET /artifact_versions` and the stack's components.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::artifacts::{
    ARTIFACT_LIST, ARTIFACT_TYPES, ArtifactRow, ArtifactUpdate, ArtifactVersionView, ArtifactView, NewArtifact,
    NewArtifactVersion, SAVE_TYPES, VERSION_LIST, VISUALIZATION_TYPES, VisualizationRow, normalize_source,
};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, dt, envelope, opt_uuid, user_resource};
use crate::routes::tags::tags_json;
use crate::state::AppState;

/// `STR_FIELD_MAX_LENGTH` / `TEXT_FIELD_MAX_LENGTH`.
const STR_MAX: usize = 255;
const TEXT_MAX: usize = 65_535;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(list_artifacts).post(create_artifact))
        .route("/artifacts/{id}", get(get_artifact).put(update_artifact).delete(delete_artifact))
        .route("/artifact_versions", get(list_versions).post(create_version).delete(prune_versions))
        .route("/artifact_versions/batch", post(create_versions))
        .route("/artifact_versions/{id}", get(get_version).put(update_version).delete(delete_version))
        .route("/artifact_versions/{id}/visualize", get(visualize))
        .route("/artifact_visualizations/{id}", get(get_visualization))
}

/// The project of a project-scoped list: the `project` query value (name or id; 404 when
/// unknown), else the default project (`_set_filter_project_id`).
pub async fn project_scope(state: &AppState, q: &QueryPairs) -> Result<Uuid, Error> {
    let key = match q.get("project").filter(|p| !p.is_empty()) {
        Some(p) => NameOrId::parse(p),
        None => NameOrId::Name(state.config().default_project_name.clone()),
    };
    match state.store().get_project(&key).await {
        Ok(p) => Ok(zenpro_store::parse_id(&p.id)),
        Err(Error::NotFound(_)) if q.get("project").is_none_or(str::is_empty) => {
            Err(Error::bad_request("Project scope missing from the filter"))
        }
        Err(e) => Err(e),
    }
}

/// A project id of a request body that must exist (404 otherwise).
async fn check_project(state: &AppState, id: Uuid, what: &str) -> Result<(), Error> {
    match state.store().find_project(&NameOrId::Id(id)).await? {
        Some(_) => Ok(()),
        None => Err(Error::not_found(format!(
            "The project with ID {id} referenced by the {what} being created was not found"
        ))),
    }
}

fn artifact_body(a: &ArtifactRow) -> Value {
    json!({
        "created": dt(&a.created),
        "updated": dt(&a.updated),
        "user_id": opt_uuid(&a.user_id),
        "project_id": zenpro_store::parse_id(&a.project_id).to_string(),
    })
}

/// `ArtifactResponse` as nested in a version's body (no metadata, no resources).
pub fn artifact_nested_json(a: &ArtifactRow) -> Value {
    envelope(&a.id, Name::Of(Some(&a.name)), artifact_body(a), None, None)
}

/// `ArtifactResponse` with resources (owner, tags, latest version).
pub fn artifact_json(v: &ArtifactView, hydrate: bool) -> Value {
    let metadata = hydrate.then(|| json!({ "has_custom_name": v.row.has_custom_name }));
    let resources = json!({
        "user": user_resource(v.user.as_ref()),
        "tags": tags_json(&v.tags),
        "latest_version_name": v.latest.as_ref().map(|(_, name)| name.clone()),
        "latest_version_id": v.latest.as_ref().map(|(id, _)| id.to_string()),
    });
    envelope(&v.row.id, Name::Of(Some(&v.row.name)), artifact_body(&v.row), metadata, Some(resources))
}

fn visualization_body(r: &VisualizationRow) -> Value {
    json!({
        "created": dt(&r.created),
        "updated": dt(&r.updated),
        "type": r.kind,
        "uri": r.uri,
    })
}

/// `ArtifactVersionResponse`: `metadata` when the view was hydrated, `resources` when the view
/// has them (null in the nested form other entities embed).
pub fn artifact_version_json(v: &ArtifactVersionView) -> Value {
    let r = &v.row;
    let body = json!({
        "created": dt(&r.created),
        "updated": dt(&r.updated),
        "user_id": opt_uuid(&r.user_id),
        "project_id": zenpro_store::parse_id(&r.project_id).to_string(),
        "artifact": artifact_nested_json(&v.artifact),
        "version": r.version,
        "uri": r.uri,
        "type": r.kind,
        "materializer": r.materializer_json(),
        "data_type": r.data_type_json(),
        "save_type": r.save_type,
        "artifact_store_id": opt_uuid(&r.artifact_store_id),
        "content_hash": r.content_hash,
        "item_count": r.item_count,
    });
    let metadata = v.metadata.as_ref().map(|m| {
        json!({
            "visualizations": m.visualizations
                .iter()
                .map(|vis| envelope(&vis.id, Name::Absent, visualization_body(vis), None, None))
                .collect::<Vec<_>>(),
            "run_metadata": Value::Object(m.run_metadata.clone()),
        })
    });
    let resources = v.resources.as_ref().map(|res| {
        json!({
            "user": user_resource(res.user.as_ref()),
            "tags": tags_json(&res.tags),
            "producer_step_run_id": res.producer.map(|(s, _)| s.to_string()),
            "producer_pipeline_run_id": res.producer.map(|(_, p)| p.to_string()),
        })
    });
    envelope(&r.id, Name::Absent, body, metadata, resources)
}

/// Artifact version responses by id, as `GET /artifact_versions/{id}` gives them (resources
/// always, metadata when `hydrate`). Unknown ids are missing from the map. At most seven
/// queries, whatever the number of ids.
pub async fn artifact_versions_json(
    state: &AppState,
    ids: &[Uuid],
    hydrate: bool,
) -> Result<HashMap<Uuid, Value>, Error> {
    versions_json(state, ids, true, hydrate).await
}

/// Artifact versions as other entities embed them (`to_model()`: no metadata, no resources),
/// e.g. the inputs and outputs of a step. Two queries.
pub async fn artifact_versions_nested_json(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, Value>, Error> {
    versions_json(state, ids, false, false).await
}

async fn versions_json(
    state: &AppState,
    ids: &[Uuid],
    resources: bool,
    hydrate: bool,
) -> Result<HashMap<Uuid, Value>, Error> {
    let rows = state.store().artifact_versions_by_ids(ids).await?;
    let views = state.store().artifact_version_views(rows, resources, hydrate).await?;
    Ok(views.iter().map(|v| (v.row.uuid(), artifact_version_json(v))).collect())
}

// ------------------------------------------------------------------- artifacts

async fn list_artifacts(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&ARTIFACT_LIST)?;
    let project = project_scope(&state, &q).await?;
    let page = state.store().list_artifacts(project, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|a| artifact_json(&a, params.hydrate))).unwrap_or_default()))
}

/// `ArtifactRequest`.
#[derive(Deserialize)]
struct ArtifactBody {
    project: Uuid,
    name: String,
    #[serde(default)]
    has_custom_name: bool,
    tags: Option<Vec<String>>,
}

async fn create_artifact(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ArtifactBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name, STR_MAX)?;
    check_project(&state, b.project, "artifact").await?;
    let a = state
        .store()
        .create_artifact(
            NewArtifact { project_id: b.project, name: b.name, has_custom_name: b.has_custom_name, tags: b.tags },
            auth.user_id(),
        )
        .await?;
    Ok(Json(artifact_json(&a, true)))
}

async fn get_artifact(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let a = state.store().get_artifact(path_uuid(&id)?).await?;
    Ok(Json(artifact_json(&a, q.hydrate()?)))
}

/// `ArtifactUpdate`.
#[derive(Deserialize)]
struct ArtifactUpdateBody {
    name: Option<String>,
    add_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
    has_custom_name: Option<bool>,
}

async fn update_artifact(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ArtifactUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let a = state
        .store()
        .update_artifact(
            id,
            ArtifactUpdate {
                name: b.name,
                has_custom_name: b.has_custom_name,
                add_tags: b.add_tags,
                remove_tags: b.remove_tags,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(artifact_json(&a, true)))
}

async fn delete_artifact(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    state.store().delete_artifact(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

// ----------------------------------------------------------- artifact versions

async fn list_versions(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&VERSION_LIST)?;
    let project = project_scope(&state, &q).await?;
    let page = state.store().list_artifact_versions(project, &params).await?;
    Ok(Json(serde_json::to_value(page.map(|v| artifact_version_json(&v))).unwrap_or_default()))
}

/// `ArtifactVisualizationRequest`.
#[derive(Deserialize)]
struct VisualizationBody {
    #[serde(rename = "type")]
    kind: String,
    uri: String,
}

/// `ArtifactVersionRequest`; `user` is the caller.
#[derive(Deserialize)]
struct VersionBody {
    project: Uuid,
    artifact_id: Option<Uuid>,
    artifact_name: Option<String>,
    version: Option<Value>,
    #[serde(default)]
    has_custom_name: bool,
    #[serde(rename = "type")]
    kind: String,
    artifact_store_id: Option<Uuid>,
    uri: String,
    materializer: Value,
    data_type: Value,
    content_hash: Option<String>,
    tags: Option<Vec<String>>,
    visualizations: Option<Vec<VisualizationBody>>,
    save_type: String,
    metadata: Option<Map<String, Value>>,
    item_count: Option<i64>,
}

fn check_len(field: &str, v: &str, max: usize) -> Result<(), Error> {
    if v.chars().count() > max {
        return Err(Error::validation(format!("The {field} must be at most {max} characters long.")));
    }
    Ok(())
}

fn one_of(field: &str, v: &str, allowed: &[&str]) -> Result<(), Error> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "Input should be {} ({field}), got '{v}'.",
            allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
        )))
    }
}

impl VersionBody {
    /// The request validators of `ArtifactVersionRequest` (422 on failure).
    fn check(self) -> Result<NewArtifactVersion, Error> {
        let version = match &self.version {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            Some(_) => return Err(Error::validation("Input should be a valid integer or string (version).")),
        };
        if let Some(v) = &version
            && v.chars().count() >= STR_MAX
        {
            return Err(Error::validation(format!(
                "Assertion failed, The length of the value for this field can not exceed {STR_MAX}"
            )));
        }
        one_of("type", &self.kind, &ARTIFACT_TYPES)?;
        one_of("save_type", &self.save_type, &SAVE_TYPES)?;
        check_len("uri", &self.uri, TEXT_MAX)?;
        if let Some(h) = &self.content_hash {
            check_len("content hash", h, STR_MAX)?;
        }
        let materializer = normalize_source(&self.materializer)
            .ok_or_else(|| Error::validation("Input should be a valid source (materializer)."))?;
        let data_type = normalize_source(&self.data_type)
            .ok_or_else(|| Error::validation("Input should be a valid source (data_type)."))?;
        let mut visualizations = Vec::new();
        for v in self.visualizations.unwrap_or_default() {
            one_of("visualization type", &v.kind, &VISUALIZATION_TYPES)?;
            check_len("visualization uri", &v.uri, TEXT_MAX)?;
            visualizations.push((v.kind, v.uri));
        }
        match (&self.artifact_id, &self.artifact_name) {
            (Some(_), Some(_)) => {
                return Err(Error::validation("Value error, Only one of artifact_name and artifact_id can be set."));
            }
            (None, None) => {
                return Err(Error::validation("Value error, Either artifact_name or artifact_id must be set."));
            }
            _ => {}
        }
        Ok(NewArtifactVersion {
            project_id: self.project,
            artifact_id: self.artifact_id,
            artifact_name: self.artifact_name.filter(|n| !n.is_empty()),
            version,
            has_custom_name: self.has_custom_name,
            kind: self.kind,
            artifact_store_id: self.artifact_store_id,
            uri: self.uri,
            materializer,
            data_type,
            content_hash: self.content_hash,
            tags: self.tags,
            visualizations,
            save_type: self.save_type,
            metadata: self.metadata,
            item_count: self.item_count,
        })
    }
}

/// Validate and create versions one after the other (as the reference's batch does), then
/// render them with one set of queries.
async fn create_many(state: &AppState, auth: &Auth, bodies: Vec<VersionBody>) -> Result<Vec<Value>, Error> {
    let requests: Vec<NewArtifactVersion> = bodies.into_iter().map(VersionBody::check).collect::<Result<_, _>>()?;
    let mut ids = Vec::with_capacity(requests.len());
    for r in requests {
        check_project(state, r.project_id, "artifact version").await?;
        ids.push(state.store().create_artifact_version(r, auth.user_id()).await?);
    }
    let mut rendered = artifact_versions_json(state, &ids, true).await?;
    ids.iter()
        .map(|id| rendered.remove(id).ok_or_else(|| Error::internal(format!("artifact version {id} vanished"))))
        .collect()
}

async fn create_version(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<VersionBody>,
) -> Result<Json<Value>, Error> {
    let mut out = create_many(&state, &auth, vec![b]).await?;
    Ok(Json(out.pop().unwrap_or(Value::Null)))
}

async fn create_versions(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<Vec<VersionBody>>,
) -> Result<Json<Value>, Error> {
    Ok(Json(Value::Array(create_many(&state, &auth, b).await?)))
}

async fn get_version(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_artifact_version(path_uuid(&id)?, q.hydrate()?).await?;
    Ok(Json(artifact_version_json(&v)))
}

/// `ArtifactVersionUpdate` (`name` is accepted and ignored, as in the reference).
#[derive(Deserialize)]
struct VersionUpdateBody {
    add_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
}

async fn update_version(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VersionUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    state.store().update_artifact_version(id, b.add_tags, b.remove_tags, auth.user_id()).await?;
    let v = state.store().get_artifact_version(id, true).await?;
    Ok(Json(artifact_version_json(&v)))
}

/// `DELETE /artifact_versions/{id}?delete_metadata=True&delete_from_artifact_store=False`:
/// only unused versions can lose their metadata. Deleting the data needs the artifact store,
/// which this server does not open (501).
async fn delete_version(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let delete_metadata = q.flag("delete_metadata", true)?;
    let delete_data = q.flag("delete_from_artifact_store", false)?;
    state.store().get_artifact_version(id, false).await?;
    if delete_metadata && !state.store().artifact_version_is_unused(id).await? {
        return Err(Error::bad_request(
            "The metadata of artifact versions that are used in runs cannot be deleted. Please delete all runs that \
             use this artifact version first.",
        ));
    }
    if delete_data {
        return Err(Error::NotImplemented(
            "Deleting artifact data from the artifact store is not supported by this server: delete the data with \
             the client (`zenml artifact version delete` without `--delete-from-artifact-store` removes the metadata)."
                .into(),
        ));
    }
    if delete_metadata {
        state.store().delete_artifact_version(id).await?;
    }
    Ok(Json(Value::Null))
}

/// `DELETE /artifact_versions?project_name_or_id=&only_versions=`: prune unused versions.
async fn prune_versions(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let project = q
        .get("project_name_or_id")
        .ok_or_else(|| Error::validation("Field required (query parameter 'project_name_or_id')."))?;
    let project = state.store().get_project(&NameOrId::parse(project)).await?;
    let only_versions = q.flag("only_versions", true)?;
    state.store().prune_artifact_versions(zenpro_store::parse_id(&project.id), only_versions).await?;
    Ok(Json(Value::Null))
}

/// Rendering visualizations needs the artifact store's files, which this server does not
/// open: the client renders them itself.
async fn visualize(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().get_artifact_version(path_uuid(&id)?, false).await?;
    Err(Error::NotImplemented(
        "Loading artifact visualizations on the server is not supported by this server; the client can load them \
         from the artifact store."
            .into(),
    ))
}

/// `ArtifactVisualizationResponse`: `metadata.artifact_version_id` when hydrated,
/// `resources.artifact_version` (nested form).
async fn get_visualization(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let vis = state.store().get_artifact_visualization(path_uuid(&id)?).await?;
    let version_id = zenpro_store::parse_id(&vis.artifact_version_id);
    let mut nested = artifact_versions_nested_json(&state, &[version_id]).await?;
    let metadata = q.hydrate()?.then(|| json!({ "artifact_version_id": version_id.to_string() }));
    let resources = json!({ "artifact_version": nested.remove(&version_id).unwrap_or(Value::Null) });
    Ok(Json(envelope(&vis.id, Name::Absent, visualization_body(&vis), metadata, Some(resources))))
}
