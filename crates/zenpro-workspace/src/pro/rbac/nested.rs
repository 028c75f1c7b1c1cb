//! Pro-mode checks of the routes that are not plain CRUD of one collection: steps, hook
//! invocations and logs (checked on their pipeline run), run sub-routes, artifact and model
//! versions (read checked on the parent artifact / model, as `get_surrogate_permission_model_for_model`),
//! model-version links (update on the version), run metadata (update on every target, create
//! `run_metadata`), tag links (update on every tagged entity), prune. Each check is one
//! `check_permissions` call per action at most (owned entities skip it, cached decisions too).

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;
use http::request::Parts;
use serde_json::Value;
use uuid::Uuid;
use zenpro_store::list::Restriction;
use zenpro_store::{NameOrId, parse_id};
use zenpro_types::Error;

use super::{BODY_LIMIT, COLLECTIONS, allowed_ids, check, resource};
use crate::pro::Pro;
use crate::state::AppState;

/// An entity as the checks see it: its resource string parts and whether the caller owns it
/// (`is_owned_by_authenticated_user`: owner is the caller, or no owner = server-owned).
#[derive(Debug, Clone)]
pub struct Entity {
    pub rt: &'static str,
    pub id: Uuid,
    pub project: Option<Uuid>,
    pub owned: bool,
}

impl Entity {
    pub fn resource(&self) -> String {
        resource(self.rt, self.project, Some(self.id))
    }
}

/// Table and project scope of a resource type (the collections plus the version types).
fn table_of(rt: &str) -> Option<(&'static str, &'static str, bool)> {
    match rt {
        "artifact_version" => Some(("artifact_version", "artifact_version", true)),
        "model_version" => Some(("model_version", "model_version", true)),
        _ => COLLECTIONS.iter().find(|c| c.resource_type == rt).map(|c| (c.resource_type, c.table, c.project_scoped)),
    }
}

/// Load an entity of type `rt` by id: `None` when it does not exist (the handler then answers).
pub async fn load(state: &AppState, me: Uuid, rt: &str, id: Uuid) -> Result<Option<Entity>, Error> {
    let Some((rt, table, scoped)) = table_of(rt) else { return Ok(None) };
    if table == "project" {
        let p = state.store().find_project(&NameOrId::Id(id)).await?;
        return Ok(p.map(|_| Entity { rt, id, project: None, owned: false }));
    }
    Ok(state.store().entity_owner(table, scoped, id).await?.map(|(owner, project)| Entity {
        rt,
        id,
        project: project.as_deref().map(parse_id),
        owned: owner.as_deref().is_none_or(|o| parse_id(o) == me),
    }))
}

/// The id in `table`.`column` of row `id` (`None`: no row, or NULL).
async fn parent_id(
    state: &AppState,
    table: &'static str,
    column: &'static str,
    id: Uuid,
) -> Result<Option<Uuid>, Error> {
    Ok(state.store().entity_column(table, column, id).await?.flatten().map(|s| parse_id(&s)))
}

/// The entity of type `rt` that row `id` of `table` points to through `column`.
async fn load_parent(
    state: &AppState,
    me: Uuid,
    table: &'static str,
    column: &'static str,
    rt: &str,
    id: Uuid,
) -> Result<Option<Entity>, Error> {
    match parent_id(state, table, column, id).await? {
        Some(pid) => load(state, me, rt, pid).await,
        None => Ok(None),
    }
}

/// `batch_verify_permissions_for_models`: one `check_permissions` for the entities the caller
/// does not own.
pub async fn verify(pro: &Pro, cp_user: Uuid, action: &str, entities: &[Entity]) -> Result<(), Error> {
    let mut resources: Vec<String> = entities.iter().filter(|e| !e.owned).map(Entity::resource).collect();
    resources.sort();
    resources.dedup();
    if resources.is_empty() {
        return Ok(());
    }
    check(pro, cp_user, action, &resources).await
}

/// Tell the control plane that resources are gone (`delete_resources`); a failure is logged,
/// the deletion stands (as the reference, which deletes first).
pub async fn notify_deleted(pro: &Pro, resources: &[String]) {
    if resources.is_empty() {
        return;
    }
    let q: Vec<(&str, String)> = resources.iter().map(|r| ("resources", r.clone())).collect();
    if let Err(e) = pro.client.call(Method::DELETE, "/rbac/resources", &q, None).await {
        tracing::warn!(error = %e, "could not tell the control plane about a deleted resource");
    }
}

/// A route governed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A list restricted through a parent's allowed ids (`configure_rbac(<column>=...)`).
    ListVia { parent_rt: &'static str, column: &'static str },
    /// A row checked on the entity its `column` points to.
    Via { table: &'static str, column: &'static str, rt: &'static str, id: String, actions: &'static [&'static str] },
    /// The entity itself (`rt` by id), with these actions in order; `notify` on delete.
    Own { rt: &'static str, id: String, actions: &'static [&'static str], notify: bool },
    /// `GET /artifact_versions/{id}[/visualize]`: read on the parent artifact unless the
    /// version is owned; `visualize` also reads the artifact store.
    ReadArtifactVersion { id: String, store: bool },
    /// `GET /model_versions/{id}`: read on the model.
    ReadModelVersion(String),
    /// `PUT /model_versions/{id}`: promote on the model when the stage changes, update the version.
    UpdateModelVersion(String),
    /// A create checked as update on the pipeline run named in the body (`pipeline_run_id`).
    CreateOnRun,
    /// A create checked as update on the model version named in the body (`model_version`).
    CreateOnModelVersion,
    /// `POST /logs` / `PUT /logs/{id}`: update on the run (or step's run) in the body; create
    /// also reads the artifact / log store.
    WriteLogs { create: bool },
    /// `GET /logs/{id}[/...]`: read on the run of the logs (directly, via step or hook).
    ReadLogs(String),
    /// `create` on `<project>:<rt>` with the project(s) from the body (one object or a batch).
    CreateIn { rt: &'static str, batch: bool },
    /// `prune` on `<project>:<rt>`, project from the query.
    Prune { rt: &'static str },
    /// `POST /run-metadata`.
    RunMetadata,
    /// `POST|DELETE /tag_resources[/batch]`: update on every tagged entity.
    TagResources { batch: bool },
    /// `POST /users/resource_membership` (registered only with RBAC on): share a resource.
    Share,
}

const READ: &[&str] = &["read"];
const UPDATE: &[&str] = &["update"];
const READ_UPDATE: &[&str] = &["read", "update"];
const DELETE: &[&str] = &["delete"];

/// The nested route of a request (path below `/api/v1`), `None` when not governed here.
pub fn classify(method: &Method, path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let s = |x: &&str| x.to_string();
    let step = |id: &&str, actions| Route::Via {
        table: "step_run",
        column: "pipeline_run_id",
        rt: "pipeline_run",
        id: s(id),
        actions,
    };
    let hook = |id: &&str, actions| Route::Via {
        table: "hook_invocation",
        column: "pipeline_run_id",
        rt: "pipeline_run",
        id: s(id),
        actions,
    };
    let run = |id: &&str, actions| Route::Own { rt: "pipeline_run", id: s(id), actions, notify: false };
    let mv = |id: &&str, actions| Route::Own { rt: "model_version", id: s(id), actions, notify: false };
    Some(match (method, parts.as_slice()) {
        (&Method::GET, ["steps"]) => Route::ListVia { parent_rt: "pipeline_run", column: "pipeline_run_id" },
        (&Method::POST, ["steps"]) => Route::CreateOnRun,
        (&Method::GET, ["steps", id] | ["steps", id, "status" | "step-configuration" | "logs"]) => step(id, READ),
        (&Method::PUT, ["steps", id]) => step(id, UPDATE),
        (&Method::GET, ["hook_invocations"]) => Route::ListVia { parent_rt: "pipeline_run", column: "pipeline_run_id" },
        (&Method::POST, ["hook_invocations"]) => Route::CreateOnRun,
        (&Method::GET, ["hook_invocations", id]) => hook(id, READ),
        (&Method::DELETE, ["hook_invocations", id]) => hook(id, UPDATE),
        (&Method::GET, ["runs", id, "steps" | "status" | "pipeline-configuration" | "dag" | "logs"]) => run(id, READ),
        (&Method::POST, ["runs", id, "refresh"]) => run(id, READ),
        (&Method::POST, ["runs", id, "stop"]) | (&Method::PUT, ["runs", id, "disable_heartbeat"]) => {
            run(id, READ_UPDATE)
        }
        (&Method::POST, ["logs"]) => Route::WriteLogs { create: true },
        (&Method::PUT, ["logs", _]) => Route::WriteLogs { create: false },
        (&Method::GET, ["logs", id] | ["logs", id, "entries"]) => Route::ReadLogs(s(id)),
        (&Method::GET, ["artifact_versions"]) => Route::ListVia { parent_rt: "artifact", column: "artifact_id" },
        (&Method::POST, ["artifact_versions"]) => Route::CreateIn { rt: "artifact_version", batch: false },
        (&Method::POST, ["artifact_versions", "batch"]) => Route::CreateIn { rt: "artifact_version", batch: true },
        (&Method::DELETE, ["artifact_versions"]) => Route::Prune { rt: "artifact_version" },
        (&Method::GET, ["artifact_versions", id]) => Route::ReadArtifactVersion { id: s(id), store: false },
        (&Method::GET, ["artifact_versions", id, "visualize" | "download-token"]) => {
            Route::ReadArtifactVersion { id: s(id), store: true }
        }
        (&Method::PUT, ["artifact_versions", id]) => {
            Route::Own { rt: "artifact_version", id: s(id), actions: UPDATE, notify: false }
        }
        (&Method::DELETE, ["artifact_versions", id]) => {
            Route::Own { rt: "artifact_version", id: s(id), actions: DELETE, notify: true }
        }
        (&Method::GET, ["model_versions"] | ["models", _, "model_versions"]) => {
            Route::ListVia { parent_rt: "model", column: "model_id" }
        }
        (&Method::POST, ["model_versions"]) => Route::CreateIn { rt: "model_version", batch: false },
        (&Method::GET, ["model_versions", id]) => Route::ReadModelVersion(s(id)),
        (&Method::PUT, ["model_versions", id]) => Route::UpdateModelVersion(s(id)),
        (&Method::DELETE, ["model_versions", id]) => {
            Route::Own { rt: "model_version", id: s(id), actions: DELETE, notify: true }
        }
        (&Method::DELETE, ["model_versions", id, "artifacts"] | ["model_versions", id, "artifacts" | "runs", _]) => {
            mv(id, UPDATE)
        }
        (&Method::POST, ["model_version_artifacts" | "model_version_pipeline_runs"]) => Route::CreateOnModelVersion,
        (&Method::POST, ["run-metadata"]) => Route::RunMetadata,
        (&Method::POST | &Method::DELETE, ["tag_resources"]) => Route::TagResources { batch: false },
        (&Method::POST | &Method::DELETE, ["tag_resources", "batch"]) => Route::TagResources { batch: true },
        (&Method::POST, ["pipeline_snapshots", "prune"]) => Route::Prune { rt: "pipeline_deployment" },
        (&Method::POST, ["users", "resource_membership"]) => Route::Share,
        _ => return None,
    })
}

fn uuid_of(v: Option<&Value>) -> Option<Uuid> {
    v.and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

/// A project given by id or name (`None` when absent or unknown: the handler answers).
async fn project_id(state: &AppState, p: Option<&str>) -> Result<Option<Uuid>, Error> {
    let Some(p) = p else { return Ok(None) };
    if let Ok(id) = Uuid::parse_str(p) {
        return Ok(Some(id));
    }
    Ok(state.store().find_project(&NameOrId::Name(p.to_string())).await?.map(|r| parse_id(&r.id)))
}

fn query_value(parts: &Parts, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Read the request body (the handler gets it back unchanged).
async fn read_body(body: Body) -> Result<(axum::body::Bytes, Value), Error> {
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))?;
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((bytes, json))
}

/// The run a step or run id in a body points to.
async fn run_of(state: &AppState, me: Uuid, run: Option<Uuid>, step: Option<Uuid>) -> Result<Option<Entity>, Error> {
    if let Some(r) = run {
        return load(state, me, "pipeline_run", r).await;
    }
    if let Some(s) = step {
        return load_parent(state, me, "step_run", "pipeline_run_id", "pipeline_run", s).await;
    }
    Ok(None)
}

/// The entity a tag link or run-metadata target names (`None`: unknown type or no such row).
async fn target(state: &AppState, me: Uuid, kind: &str, id: Uuid) -> Result<Option<Entity>, Error> {
    let rt = match kind {
        "pipeline_snapshot" => "pipeline_deployment",
        "artifact" | "artifact_version" | "model" | "model_version" | "pipeline" | "pipeline_run" | "run_template"
        | "deployment" | "schedule" => kind,
        _ => return Ok(None),
    };
    let rt = table_of(rt).map(|(rt, _, _)| rt).unwrap_or("");
    load(state, me, rt, id).await
}

/// `ResourceType` values of zenml 0.98.0.
const RESOURCE_TYPES: &[&str] = &[
    "artifact",
    "artifact_version",
    "code_repository",
    "flavor",
    "model",
    "model_version",
    "pipeline",
    "pipeline_run",
    "pipeline_deployment",
    "pipeline_build",
    "deployment",
    "schedule",
    "run_template",
    "service",
    "run_metadata",
    "secret",
    "service_account",
    "service_connector",
    "stack",
    "stack_component",
    "tag",
    "project",
    "trigger",
    "webhook",
];
/// `Action` values of zenml 0.98.0.
const ACTIONS: &[&str] = &[
    "create",
    "read",
    "update",
    "delete",
    "read_secret_value",
    "prune",
    "client",
    "promote",
    "backup_restore",
    "share",
];

/// `update_user_resource_membership`: the sharer needs `share` and every shared action on the
/// resource (owners need nothing), may not share with itself; then `POST /rbac/resource_members`.
async fn share(
    state: &AppState,
    pro: &Pro,
    cp_user: Uuid,
    me: Uuid,
    parts: &Parts,
    body: Body,
) -> Result<Value, Error> {
    let required =
        |k: &str| query_value(parts, k).ok_or_else(|| Error::validation(format!("Missing query parameter '{k}'.")));
    let rt = required("resource_type")?;
    let id = required("resource_id")?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| Error::validation(format!("Query parameter 'resource_id' must be a UUID, got '{id}'.")))?;
    let (user_id, team_id) = (query_value(parts, "user_id"), query_value(parts, "team_id"));
    let (_, json) = read_body(body).await?;
    let actions: Vec<String> =
        serde_json::from_value(json).map_err(|_| Error::validation("The request body must be a list of actions."))?;
    if user_id.as_deref() == Some(cp_user.to_string().as_str()) {
        return Err(Error::bad_request("Not allowed to call endpoint with the authenticated user."));
    }
    if !RESOURCE_TYPES.contains(&rt.as_str()) {
        return Err(Error::bad_request(format!("'{rt}' is not a valid ResourceType")));
    }
    if let Some(a) = actions.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
        return Err(Error::bad_request(format!("'{a}' is not a valid Action")));
    }
    // Projects (and the types zenpro has no table for) cannot be shared, as the reference,
    // which has no schema for them.
    let entity = if rt == "project" { None } else { load(state, me, &rt, id).await? };
    let entity =
        entity.ok_or_else(|| Error::not_found(format!("Resource of type {rt} with ID {id} does not exist.")))?;
    verify(pro, cp_user, "share", std::slice::from_ref(&entity)).await?;
    for action in &actions {
        verify(pro, cp_user, action, std::slice::from_ref(&entity)).await?;
    }
    let body = serde_json::json!({
        "user_id": user_id,
        "team_id": team_id,
        "sharing_user_id": cp_user.to_string(),
        "resource": entity.resource(),
        "actions": actions,
    });
    super::forget(pro, pro.client.call(Method::POST, "/rbac/resource_members", &[], Some(&body)).await)?;
    // Decisions cached before the share are stale now.
    pro.rbac.clear();
    Ok(Value::Null)
}

/// Apply the checks of `route`, run the handler, and send deletion notices.
#[allow(clippy::too_many_arguments)]
pub async fn authorize(
    state: &AppState,
    pro: &Pro,
    cp_user: Uuid,
    me: Uuid,
    route: Route,
    mut parts: Parts,
    body: Body,
    next: Next,
) -> Result<Response, Error> {
    let run = |parts: Parts, body: Body| next.run(Request::from_parts(parts, body));
    match route {
        Route::ListVia { parent_rt, column } => {
            let given = query_value(&parts, "project").filter(|p| !p.is_empty());
            let path = parts.uri.path();
            let top_level = ["steps", "hook_invocations", "artifact_versions", "model_versions"]
                .contains(&path.strip_prefix("/api/v1").unwrap_or(path).trim_matches('/'));
            if given.is_none() && top_level {
                // `set_filter_project_scope`: a Pro server has no default project to use.
                return Err(Error::bad_request("Project scope missing from the filter"));
            }
            let project = project_id(state, given.as_deref()).await?;
            let restriction = match project {
                // As the other project-scoped lists: without a project only owned rows.
                None => Some(Restriction { ids: Vec::new(), owner: me, column }),
                Some(p) => allowed_ids(pro, cp_user, &resource(parent_rt, Some(p), None), "read")
                    .await?
                    .map(|ids| Restriction { ids: ids.to_vec(), owner: me, column }),
            };
            if let Some(r) = restriction {
                parts.extensions.insert(std::sync::Arc::new(r));
            }
            Ok(run(parts, body).await)
        }
        Route::Via { table, column, rt, id, actions } => {
            if let Ok(uid) = Uuid::parse_str(&id)
                && let Some(parent) = load_parent(state, me, table, column, rt, uid).await?
            {
                for action in actions {
                    verify(pro, cp_user, action, std::slice::from_ref(&parent)).await?;
                }
            }
            Ok(run(parts, body).await)
        }
        Route::Own { rt, id, actions, notify } => {
            let entity = match Uuid::parse_str(&id) {
                Ok(uid) => load(state, me, rt, uid).await?,
                Err(_) => None,
            };
            if let Some(e) = &entity {
                for action in actions {
                    verify(pro, cp_user, action, std::slice::from_ref(e)).await?;
                }
            }
            let keep_metadata = query_value(&parts, "delete_metadata").is_some_and(|v| v.eq_ignore_ascii_case("false"));
            let resp = run(parts, body).await;
            if notify
                && !keep_metadata
                && resp.status().is_success()
                && let Some(e) = entity
            {
                notify_deleted(pro, &[e.resource()]).await;
            }
            Ok(resp)
        }
        Route::ReadArtifactVersion { id, store } => {
            if let Ok(uid) = Uuid::parse_str(&id)
                && let Some(version) = load(state, me, "artifact_version", uid).await?
            {
                let mut models = Vec::new();
                if !version.owned
                    && let Some(artifact) =
                        load_parent(state, me, "artifact_version", "artifact_id", "artifact", uid).await?
                {
                    // The version stands for its artifact; the artifact's own owner does not count.
                    models.push(Entity { owned: false, ..artifact });
                }
                if store
                    && let Some(c) =
                        load_parent(state, me, "artifact_version", "artifact_store_id", "stack_component", uid).await?
                {
                    models.push(c);
                }
                verify(pro, cp_user, "read", &models).await?;
            }
            Ok(run(parts, body).await)
        }
        Route::ReadModelVersion(id) => {
            if let Ok(uid) = Uuid::parse_str(&id)
                && let Some(model) = load_parent(state, me, "model_version", "model_id", "model", uid).await?
            {
                verify(pro, cp_user, "read", &[model]).await?;
            }
            Ok(run(parts, body).await)
        }
        Route::UpdateModelVersion(id) => {
            let (bytes, json) = read_body(body).await?;
            if let Ok(uid) = Uuid::parse_str(&id)
                && let Some(version) = load(state, me, "model_version", uid).await?
            {
                if json.get("stage").is_some_and(|s| !s.is_null())
                    && let Some(model) = load_parent(state, me, "model_version", "model_id", "model", uid).await?
                {
                    verify(pro, cp_user, "promote", &[model]).await?;
                }
                verify(pro, cp_user, "update", &[version]).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::CreateOnRun => {
            let (bytes, json) = read_body(body).await?;
            if let Some(r) = run_of(state, me, uuid_of(json.get("pipeline_run_id")), None).await? {
                verify(pro, cp_user, "update", &[r]).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::CreateOnModelVersion => {
            let (bytes, json) = read_body(body).await?;
            if let Some(id) = uuid_of(json.get("model_version"))
                && let Some(v) = load(state, me, "model_version", id).await?
            {
                verify(pro, cp_user, "update", &[v]).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::WriteLogs { create } => {
            let (bytes, json) = read_body(body).await?;
            let r = run_of(state, me, uuid_of(json.get("pipeline_run_id")), uuid_of(json.get("step_run_id"))).await?;
            if let Some(r) = r {
                verify(pro, cp_user, "update", &[r]).await?;
            }
            if create {
                let mut stores = Vec::new();
                for key in ["artifact_store_id", "log_store_id"] {
                    if let Some(id) = uuid_of(json.get(key))
                        && let Some(c) = load(state, me, "stack_component", id).await?
                    {
                        stores.push(c);
                    }
                }
                verify(pro, cp_user, "read", &stores).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::ReadLogs(id) => {
            if let Ok(uid) = Uuid::parse_str(&id)
                && state.store().entity_column("logs", "id", uid).await?.is_some()
            {
                let run_id = match parent_id(state, "logs", "pipeline_run_id", uid).await? {
                    Some(r) => Some(r),
                    None => match parent_id(state, "logs", "step_run_id", uid).await? {
                        Some(s) => parent_id(state, "step_run", "pipeline_run_id", s).await?,
                        None => match parent_id(state, "logs", "hook_invocation_id", uid).await? {
                            Some(h) => parent_id(state, "hook_invocation", "pipeline_run_id", h).await?,
                            None => {
                                return Err(Error::forbidden(
                                    "Logs must be associated with a pipeline run, step run or hook invocation before \
                                     fetching.",
                                ));
                            }
                        },
                    },
                };
                if let Some(r) = run_id
                    && let Some(r) = load(state, me, "pipeline_run", r).await?
                {
                    verify(pro, cp_user, "read", &[r]).await?;
                }
            }
            Ok(run(parts, body).await)
        }
        Route::CreateIn { rt, batch } => {
            let (bytes, json) = read_body(body).await?;
            let items: Vec<&Value> =
                if batch { json.as_array().map(|a| a.iter().collect()).unwrap_or_default() } else { vec![&json] };
            let mut resources = Vec::new();
            for item in items {
                // A missing / unknown project: the handler rejects the body itself.
                if let Some(p) = project_id(state, item.get("project").and_then(Value::as_str)).await? {
                    resources.push(resource(rt, Some(p), None));
                }
            }
            resources.sort();
            resources.dedup();
            if !resources.is_empty() {
                check(pro, cp_user, "create", &resources).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::Prune { rt } => {
            let p = query_value(&parts, "project_name_or_id").or_else(|| query_value(&parts, "project"));
            if let Some(p) = project_id(state, p.as_deref()).await? {
                check(pro, cp_user, "prune", &[resource(rt, Some(p), None)]).await?;
            }
            Ok(run(parts, body).await)
        }
        Route::RunMetadata => {
            let (bytes, json) = read_body(body).await?;
            let mut targets = Vec::new();
            for r in json.get("resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                let (Some(kind), Some(id)) = (r.get("type").and_then(Value::as_str), uuid_of(r.get("id"))) else {
                    continue;
                };
                // Step runs have no resource type (nothing is checked); wait conditions stand for
                // their run.
                let e = match kind {
                    "wait_condition" => {
                        load_parent(state, me, "run_wait_condition", "run_id", "pipeline_run", id).await?
                    }
                    _ => target(state, me, kind, id).await?,
                };
                targets.extend(e);
            }
            verify(pro, cp_user, "update", &targets).await?;
            if let Some(p) = project_id(state, json.get("project").and_then(Value::as_str)).await? {
                check(pro, cp_user, "create", &[resource("run_metadata", Some(p), None)]).await?;
            }
            Ok(run(parts, Body::from(bytes)).await)
        }
        Route::Share => {
            let v = share(state, pro, cp_user, me, &parts, body).await?;
            Ok(axum::Json(v).into_response())
        }
        Route::TagResources { batch } => {
            let (bytes, json) = read_body(body).await?;
            let items: Vec<&Value> =
                if batch { json.as_array().map(|a| a.iter().collect()).unwrap_or_default() } else { vec![&json] };
            let mut targets = Vec::new();
            for item in items {
                if let (Some(kind), Some(id)) =
                    (item.get("resource_type").and_then(Value::as_str), uuid_of(item.get("resource_id")))
                {
                    targets.extend(target(state, me, kind, id).await?);
                }
            }
            verify(pro, cp_user, "update", &targets).await?;
            Ok(run(parts, Body::from(bytes)).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_routes_map_to_checks() {
        let id = "0b7e1c7a-8a4e-4f7e-9f1a-2b3c4d5e6f70";
        assert_eq!(
            classify(&Method::GET, "/steps"),
            Some(Route::ListVia { parent_rt: "pipeline_run", column: "pipeline_run_id" })
        );
        assert!(matches!(
            classify(&Method::PUT, &format!("/steps/{id}")),
            Some(Route::Via { rt: "pipeline_run", actions: UPDATE, .. })
        ));
        assert_eq!(classify(&Method::PUT, &format!("/steps/{id}/heartbeat")), None, "heartbeats are unchecked");
        assert!(matches!(
            classify(&Method::POST, &format!("/runs/{id}/stop")),
            Some(Route::Own { rt: "pipeline_run", actions: READ_UPDATE, .. })
        ));
        assert!(matches!(
            classify(&Method::DELETE, &format!("/artifact_versions/{id}")),
            Some(Route::Own { rt: "artifact_version", notify: true, .. })
        ));
        assert_eq!(
            classify(&Method::GET, "/models/m1/model_versions"),
            Some(Route::ListVia { parent_rt: "model", column: "model_id" })
        );
        assert_eq!(classify(&Method::POST, "/tag_resources/batch"), Some(Route::TagResources { batch: true }));
        assert_eq!(classify(&Method::GET, "/tags"), None);
        assert_eq!(classify(&Method::GET, "/model_version_artifacts"), None, "link lists are unchecked");
    }
}
