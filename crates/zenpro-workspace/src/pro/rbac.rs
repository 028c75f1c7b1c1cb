//! Pro-mode authorization: the one place that maps a request (method, path below `/api/v1`) to
//! the control plane's (resource type, action) of pro-protocol §5.3, asks the control plane
//! (`POST /rbac/check_permissions`, `GET /rbac/allowed_resource_ids`), and restricts lists to
//! the allowed ids plus owned rows (through `QueryPairs::list`). Decisions are cached for
//! `ZENPRO_PRO_CACHE_SECONDS` (bounded); a refusal (401/403) clears the caches, an unreachable
//! control plane does not. Creating a reportable resource (project, pipeline, pipeline_run,
//! model) first checks the entitlement, then reports the usage event once per created id.
//!
//! Covered: the generic CRUD routes of the collections in [`COLLECTIONS`] (create, get, list,
//! update, delete + `DELETE /rbac/resources`); the nested and derived routes in `nested`
//! (steps, logs, hook invocations, run sub-routes, artifact/model versions and their links,
//! run metadata, tag links, prune, sharing through `POST /users/resource_membership`); response
//! dehydration in `dehydrate`; `read_secret_value` on `GET /secrets/{id}` (values null) and
//! `GET /service_connectors/{id}` (secrets not expanded) and connector lists with
//! `expand_secrets=true` (per connector, in `routes/connectors.rs`); `POST /runs` of an existing run
//! (read only); service accounts (helpers below, called by `routes/service_accounts.rs`);
//! project-scoped lists without a project (400, no default project in Pro); bodies that are not
//! JSON objects reach the handler's 422 before any refusal. Not covered: `read_secret_value` on
//! secret lists (they carry no values here, so the reference's extra call is skipped),
//! required-field validation of object bodies before RBAC (a 403 can come where the reference
//! answers 422). `/users` and `/current-user` need no dehydration: a
//! user model embeds no governed model; tags are not dehydrated by the reference either.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zenpro_store::list::Restriction;
use zenpro_store::{NameOrId, parse_id};
use zenpro_types::Error;

use super::Pro;
use super::cache::TtlCache;
use crate::auth::Auth;
use crate::state::AppState;

mod dehydrate;
mod nested;

/// Largest request body read to find the project of a create (the same bound as axum's).
const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Most decisions / id lists remembered at once.
const CACHE_SIZE: usize = 4096;

/// A collection of the API: path segment, RBAC resource type, whether it is project-scoped,
/// its table (for owner and project lookups).
pub struct Collection {
    pub path: &'static str,
    pub resource_type: &'static str,
    pub project_scoped: bool,
    pub table: &'static str,
    /// Create is checked (tags: only update/delete are, as the reference).
    pub check_create: bool,
    /// A usage event is reported after a create (`DEFAULT_REPORTABLE_RESOURCES`).
    pub reportable: bool,
}

const fn c(path: &'static str, rt: &'static str, scoped: bool, table: &'static str) -> Collection {
    Collection { path, resource_type: rt, project_scoped: scoped, table, check_create: true, reportable: false }
}

/// The generic CRUD collections (`rbac/endpoint_utils.py` users in `routers/*`).
pub static COLLECTIONS: &[Collection] = &[
    c("artifacts", "artifact", true, "artifact"),
    c("code_repositories", "code_repository", true, "code_repository"),
    c("deployments", "deployment", true, "deployment"),
    c("flavors", "flavor", false, "flavor"),
    Collection { reportable: true, ..c("models", "model", true, "model") },
    c("pipeline_builds", "pipeline_build", true, "pipeline_build"),
    c("pipeline_deployments", "pipeline_deployment", true, "pipeline_snapshot"),
    c("pipeline_snapshots", "pipeline_deployment", true, "pipeline_snapshot"),
    Collection { reportable: true, ..c("pipelines", "pipeline", true, "pipeline") },
    Collection { reportable: true, ..c("runs", "pipeline_run", true, "pipeline_run") },
    Collection { reportable: true, ..c("projects", "project", false, "project") },
    Collection { reportable: true, ..c("workspaces", "project", false, "project") },
    c("run_templates", "run_template", true, "run_template"),
    c("schedules", "schedule", true, "schedule"),
    c("secrets", "secret", false, "secret"),
    c("service_connectors", "service_connector", false, "service_connector"),
    c("stacks", "stack", false, "stack"),
    c("components", "stack_component", false, "stack_component"),
    Collection { check_create: false, ..c("tags", "tag", false, "tag") },
];

/// What a request does to a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    List,
    Create,
    Get(String),
    Update(String),
    Delete(String),
}

/// The collection and operation of a request, `None` when not governed here.
pub fn classify(method: &Method, path: &str) -> Option<(&'static Collection, Op)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let coll = COLLECTIONS.iter().find(|c| c.path == parts[0])?;
    let op = match (method, parts.as_slice()) {
        (&Method::GET, [_]) => Op::List,
        (&Method::POST, [_]) if coll.check_create => Op::Create,
        (&Method::GET, [_, id]) => Op::Get(id.to_string()),
        (&Method::PUT, [_, id]) => Op::Update(id.to_string()),
        (&Method::DELETE, [_, id]) => Op::Delete(id.to_string()),
        _ => return None,
    };
    if coll.resource_type == "tag" && matches!(op, Op::List | Op::Get(_)) {
        return None;
    }
    Some((coll, op))
}

/// `[<project>:]<type>[/<id>]` (`Resource.__str__`).
pub fn resource(rt: &str, project: Option<Uuid>, id: Option<Uuid>) -> String {
    let mut s = match project {
        Some(p) => format!("{p}:{rt}"),
        None => rt.to_string(),
    };
    if let Some(id) = id {
        s.push_str(&format!("/{id}"));
    }
    s
}

/// Caches of control-plane answers.
pub struct RbacCache {
    decisions: TtlCache<bool>,
    allowed: TtlCache<Option<Arc<Vec<Uuid>>>>,
    entitled: TtlCache<bool>,
    reported: TtlCache<bool>,
}

impl RbacCache {
    /// `refusals`: the client's refusal counter (a 401/403 from the control plane forgets all).
    pub fn new(ttl: Duration, refusals: Arc<std::sync::atomic::AtomicU64>) -> RbacCache {
        RbacCache {
            decisions: TtlCache::new(ttl, CACHE_SIZE).invalidated_by(refusals.clone()),
            allowed: TtlCache::new(ttl, CACHE_SIZE).invalidated_by(refusals.clone()),
            entitled: TtlCache::new(ttl, 64).invalidated_by(refusals),
            // Usage events are de-duplicated for longer: the control plane de-duplicates too.
            reported: TtlCache::new(Duration::from_secs(3600), CACHE_SIZE),
        }
    }
    fn clear(&self) {
        self.decisions.clear();
        self.allowed.clear();
        self.entitled.clear();
    }
}

fn key(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// Clear the caches when the control plane fails oddly, then pass the error on. Refusals
/// (401/403) already invalidated every cache through the client's counter; an unreachable
/// control plane (503) leaves cached decisions serving until they expire.
fn forget<T>(pro: &Pro, r: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = &r
        && !matches!(e, Error::Unavailable(_))
    {
        pro.rbac.clear();
    }
    r
}

/// `check_permissions` for one action on a batch of resources (one call for what is not
/// cached); the first refused resource is a 403 as in the reference.
pub async fn check(pro: &Pro, cp_user: Uuid, action: &str, resources: &[String]) -> Result<(), Error> {
    let user = cp_user.to_string();
    let mut unknown = Vec::new();
    for r in resources {
        match pro.rbac.decisions.get(&key(&[&user, action, r])) {
            Some(true) => {}
            Some(false) => return Err(denied(action, r)),
            None => unknown.push(r.clone()),
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let answer = forget(
        pro,
        pro.client
            .call(
                Method::POST,
                "/rbac/check_permissions",
                &[("user_id", user.clone()), ("action", action.to_string())],
                Some(&json!(unknown)),
            )
            .await,
    )?;
    for r in &unknown {
        let allowed = answer
            .get(r)
            .and_then(Value::as_bool)
            .ok_or_else(|| Error::internal(format!("the control plane did not answer for resource {r}")))?;
        pro.rbac.decisions.insert(key(&[&user, action, r]), allowed);
        if !allowed {
            return Err(denied(action, r));
        }
    }
    Ok(())
}

fn denied(action: &str, r: &str) -> Error {
    Error::forbidden(format!("Insufficient permissions to {} resource '{r}'.", action.to_uppercase()))
}

/// `allowed_resource_ids`: `None` = full access, else the allowed ids.
pub async fn allowed_ids(pro: &Pro, cp_user: Uuid, res: &str, action: &str) -> Result<Option<Arc<Vec<Uuid>>>, Error> {
    let user = cp_user.to_string();
    let k = key(&[&user, res, action]);
    if let Some(v) = pro.rbac.allowed.get(&k) {
        return Ok(v);
    }
    let answer = forget(
        pro,
        pro.client
            .call(
                Method::GET,
                "/rbac/allowed_resource_ids",
                &[("user_id", user.clone()), ("resource", res.to_string()), ("action", action.to_string())],
                None,
            )
            .await,
    )?;
    let v = if answer.get("full_access").and_then(Value::as_bool).unwrap_or(false) {
        None
    } else {
        let ids = answer
            .get("ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).filter_map(|s| Uuid::parse_str(s).ok()).collect())
            .unwrap_or_default();
        Some(Arc::new(ids))
    };
    pro.rbac.allowed.insert(k, v.clone());
    Ok(v)
}

/// Entitlement for a feature of the organization (cached).
async fn entitlement(pro: &Pro, feature: &str) -> Result<(), Error> {
    let k = key(&["entitlement", feature]);
    if pro.rbac.entitled.get(&k).is_some() {
        return Ok(());
    }
    let path = format!("/organizations/{}/entitlement/{feature}", pro.config.organization_id);
    forget(pro, pro.client.call(Method::GET, &path, &[], None).await)?;
    pro.rbac.entitled.insert(k, true);
    Ok(())
}

/// Report the creation of a reportable resource, once per id.
async fn report(pro: &Pro, feature: &str, id: Uuid) -> Result<(), Error> {
    let k = key(&["usage", feature, &id.to_string()]);
    if pro.rbac.reported.get(&k).is_some() {
        return Ok(());
    }
    let body = json!({
        "organization_id": pro.config.organization_id.to_string(),
        "feature": feature,
        "total": 1,
        "metadata": {"workspace_id": pro.config.workspace_id.to_string(), "resource_id": id.to_string()},
    });
    pro.client.call(Method::POST, "/usage-event", &[], Some(&body)).await?;
    pro.rbac.reported.insert(k, true);
    Ok(())
}

/// The project a create targets: the body's `project` (id or name).
async fn body_project(state: &AppState, body: &Value) -> Result<Option<Uuid>, Error> {
    let Some(p) = body.get("project").and_then(Value::as_str) else { return Ok(None) };
    if let Ok(id) = Uuid::parse_str(p) {
        return Ok(Some(id));
    }
    Ok(state.store().find_project(&NameOrId::Name(p.to_string())).await?.map(|r| parse_id(&r.id)))
}

/// The project a list targets: its `project` query parameter (id or name).
async fn query_project(state: &AppState, query: Option<&str>) -> Result<Option<Uuid>, Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let Some((_, p)) = pairs.iter().find(|(k, _)| k == "project") else { return Ok(None) };
    if let Ok(id) = Uuid::parse_str(p) {
        return Ok(Some(id));
    }
    Ok(state.store().find_project(&NameOrId::Name(p.clone())).await?.map(|r| parse_id(&r.id)))
}

/// `_ensure_workspace_service_account_mutation_allowed`: in Pro mode workspace-level service
/// accounts and API keys are deprecated; only switching one on or off is still allowed.
pub fn workspace_account_mutation(state: &AppState, active_status_update: bool) -> Result<(), Error> {
    if state.pro().is_some() && !active_status_update {
        return Err(Error::forbidden(
            "Workspace-level service accounts and API keys are deprecated in ZenML Pro workspaces. Use ZenML Pro \
             organization service accounts and API keys instead.",
        ));
    }
    Ok(())
}

/// `verify_admin_status_if_no_rbac` + `verify_permission_for_model(service_account, action)`:
/// outside Pro mode writes (`action` other than `read`) are for admins (`what` names the
/// operation); in Pro mode the control plane decides on `service_account/<id>` (a service
/// account is never owned by the caller). Workspace-local callers (no control-plane identity)
/// skip the control plane, as in the middleware.
pub async fn service_account_permission(
    state: &AppState,
    auth: &Auth,
    what: &str,
    action: &str,
    account: Uuid,
) -> Result<(), Error> {
    let Some(pro) = state.pro() else {
        if action == "read" || auth.is_admin() {
            return Ok(());
        }
        return Err(Error::forbidden(format!("Only admin users can perform `{what}` without RBAC enabled.")));
    };
    let Some(cp_user) = auth.user.external_user_id.as_deref().map(parse_id) else { return Ok(()) };
    check(pro, cp_user, action, &[resource("service_account", None, Some(account))]).await
}

/// The rows of a service-account list in Pro mode (`verify_permissions_and_list_entities` with
/// `allowed_resource_ids(service_account, read)`); `None`: no restriction.
pub async fn service_account_restriction(state: &AppState, auth: &Auth) -> Result<Option<Arc<Restriction>>, Error> {
    let Some(pro) = state.pro() else { return Ok(None) };
    let Some(cp_user) = auth.user.external_user_id.as_deref().map(parse_id) else { return Ok(None) };
    Ok(allowed_ids(pro, cp_user, "service_account", "read")
        .await?
        .map(|ids| Arc::new(Restriction { ids: ids.to_vec(), owner: auth.user_id(), column: "id" })))
}

/// `delete_model_resource` of a deleted service account (Pro mode only).
pub async fn service_account_deleted(state: &AppState, account: Uuid) {
    if let Some(pro) = state.pro() {
        nested::notify_deleted(pro, &[resource("service_account", None, Some(account))]).await;
    }
}

/// The ids of `resource_type` whose secret values the caller may read in a list
/// (`allowed_resource_ids(..., READ_SECRET_VALUE)`): `None` = all (or not Pro mode, or a
/// workspace-local caller); owned rows are the caller's to allow on top.
pub async fn secret_value_ids(
    state: &AppState,
    auth: &Auth,
    resource_type: &str,
) -> Result<Option<Arc<Vec<Uuid>>>, Error> {
    let Some(pro) = state.pro() else { return Ok(None) };
    let Some(cp_user) = auth.user.external_user_id.as_deref().map(parse_id) else { return Ok(None) };
    allowed_ids(pro, cp_user, resource_type, READ_SECRET_VALUE).await
}

/// The action that lets a non-owner see secret values (`Action.READ_SECRET_VALUE`).
const READ_SECRET_VALUE: &str = "read_secret_value";

/// `SecretResponse.remove_secrets`: every value null, the keys kept.
fn remove_secret_values(v: &mut Value) {
    if let Some(Value::Object(values)) = v.pointer_mut("/body/values") {
        for val in values.values_mut() {
            *val = Value::Null;
        }
    }
}

/// Ask the connector handler not to expand its secrets (`ServiceConnectorResponse.remove_secrets`
/// leaves the non-secret configuration, which is what an unexpanded connector carries).
fn without_secret_expansion(parts: &mut http::request::Parts) -> Result<(), Error> {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    pairs.retain(|(k, _)| k != "expand_secrets");
    pairs.push(("expand_secrets".into(), "false".into()));
    let query = serde_urlencoded::to_string(&pairs).map_err(|e| Error::internal(format!("query: {e}")))?;
    let uri = format!("{}?{query}", parts.uri.path());
    parts.uri = uri.parse().map_err(|e| Error::internal(format!("uri: {e}")))?;
    Ok(())
}

/// Apply `f` to a successful JSON response body.
async fn map_json(resp: Response, f: impl FnOnce(&mut Value)) -> Result<Response, Error> {
    if !resp.status().is_success() {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| Error::internal(format!("reading a response body: {e}")))?;
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(Response::from_parts(parts, Body::from(bytes)));
    };
    f(&mut v);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Body::from(v.to_string())))
}

fn has_query_param(query: Option<&str>, name: &str) -> bool {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == name && !v.is_empty())
}

/// The middleware (Pro mode only; layered on `/api/v1`).
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match authorize(&state, req, next).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn authorize(state: &AppState, req: Request, next: Next) -> Result<Response, Error> {
    let Some(pro) = state.pro() else { return Ok(next.run(req).await) };
    let path = req.uri().path().strip_prefix("/api/v1").unwrap_or(req.uri().path()).to_string();
    let crud = classify(req.method(), &path);
    let nested_route = if crud.is_none() { nested::classify(req.method(), &path) } else { None };
    if crud.is_none() && nested_route.is_none() {
        return Ok(next.run(req).await);
    }
    let (mut parts, body) = req.into_parts();
    // Authentication first (the handler reuses the result); unauthenticated requests go on to
    // get the handler's own 401.
    let Ok(auth) = Auth::from_request_parts(&mut parts, state).await else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    // Workspace-local service accounts (no control-plane identity) skip the control plane.
    let Some(cp_user) = auth.user.external_user_id.as_deref().map(parse_id) else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let me = auth.user_id();
    let resp = checked(state, pro, cp_user, me, (crud, nested_route), parts, body, next).await?;
    dehydrate::response(pro, cp_user, me, resp).await
}

/// The checks of a governed route around its handler.
#[allow(clippy::too_many_arguments)]
async fn checked(
    state: &AppState,
    pro: &Pro,
    cp_user: Uuid,
    me: Uuid,
    (crud, nested_route): (Option<(&'static Collection, Op)>, Option<nested::Route>),
    mut parts: http::request::Parts,
    body: Body,
    next: Next,
) -> Result<Response, Error> {
    let Some((coll, op)) = crud else {
        let route = nested_route.ok_or_else(|| Error::internal("no RBAC route"))?;
        return nested::authorize(state, pro, cp_user, me, route, parts, body, next).await;
    };
    let rt = coll.resource_type;
    // FastAPI validates the body before the endpoint's RBAC checks run: a body that is not a
    // JSON object goes straight to the handler for its 422 (it cannot change anything).
    let body = if matches!(op, Op::Create | Op::Update(_)) {
        let bytes = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))?;
        if !matches!(serde_json::from_slice::<Value>(&bytes), Ok(Value::Object(_))) {
            return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await);
        }
        Body::from(bytes)
    } else {
        body
    };
    match &op {
        Op::List => {
            let project = if coll.project_scoped { query_project(state, parts.uri.query()).await? } else { None };
            if coll.project_scoped && project.is_none() && !has_query_param(parts.uri.query(), "project") {
                // `set_filter_project_id`: a Pro server has no default project to fall back to.
                return Err(Error::bad_request("Project scope missing from the filter"));
            }
            if coll.project_scoped && project.is_none() {
                // An unknown project: the handler answers for it; nothing but owned rows.
                let restriction = Restriction { ids: Vec::new(), owner: me, column: "id" };
                parts.extensions.insert(Arc::new(restriction));
            } else if let Some(ids) = allowed_ids(pro, cp_user, &resource(rt, project, None), "read").await? {
                parts.extensions.insert(Arc::new(Restriction { ids: ids.to_vec(), owner: me, column: "id" }));
            }
            Ok(next.run(Request::from_parts(parts, body)).await)
        }
        Op::Get(id) | Op::Update(id) | Op::Delete(id) => {
            let action = match op {
                Op::Get(_) => "read",
                Op::Update(_) => "update",
                _ => "delete",
            };
            let row = match Uuid::parse_str(id) {
                Ok(uid) if coll.table == "project" => {
                    state.store().find_project(&NameOrId::Id(uid)).await?.map(|p| (parse_id(&p.id), None, None))
                }
                Ok(uid) => state
                    .store()
                    .entity_owner(coll.table, coll.project_scoped, uid)
                    .await?
                    .map(|(owner, project)| (uid, owner, project)),
                // By name: only projects are addressed by name in 0.98 routes.
                Err(_) if coll.table == "project" => state
                    .store()
                    .find_project(&NameOrId::Name(id.clone()))
                    .await?
                    .map(|p| (parse_id(&p.id), None, None)),
                Err(_) => None,
            };
            // Unknown entity: the handler answers 404 / 422 as usual.
            let Some((uid, owner, project)) = row else {
                return Ok(next.run(Request::from_parts(parts, body)).await);
            };
            let owned = coll.table != "project" && owner.as_deref().is_none_or(|o| parse_id(o) == me);
            let res = resource(rt, project.as_deref().map(parse_id), Some(uid));
            if !owned {
                check(pro, cp_user, action, std::slice::from_ref(&res)).await?;
            }
            // `read_secret_value` (secrets_endpoints / service_connectors_endpoints): without it a
            // secret's values come back as null, a connector's configuration without secrets.
            let hide_values = matches!(op, Op::Get(_))
                && !owned
                && matches!(rt, "secret" | "service_connector")
                && !dehydrate::decide(pro, cp_user, READ_SECRET_VALUE, std::slice::from_ref(&res))
                    .await?
                    .get(&res)
                    .copied()
                    .unwrap_or(false);
            if hide_values && rt == "service_connector" {
                without_secret_expansion(&mut parts)?;
            }
            let resp = next.run(Request::from_parts(parts, body)).await;
            if matches!(op, Op::Delete(_)) && resp.status().is_success() {
                nested::notify_deleted(pro, &[res]).await;
            }
            if hide_values && rt == "secret" {
                return map_json(resp, remove_secret_values).await;
            }
            Ok(resp)
        }
        Op::Create => {
            let bytes = axum::body::to_bytes(body, BODY_LIMIT)
                .await
                .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))?;
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let project = if coll.project_scoped { body_project(state, &json).await? } else { None };
            if coll.project_scoped && project.is_none() {
                // Let the handler reject the body (missing project) with its own error.
                return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await);
            }
            if coll.path == "runs" {
                // `get_or_create_pipeline_run`: read on the original run first; an existing run
                // (same snapshot and orchestrator run id) is only read-checked, create and the
                // entitlement are checked when the run is new (the store's pre-creation hook).
                if let Some(original) =
                    json.get("original_run_id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
                    && let Some(run) = nested::load(state, me, "pipeline_run", original).await?
                {
                    nested::verify(pro, cp_user, "read", &[run]).await?;
                }
                let snapshot = json.get("snapshot").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
                let orchestrator_run_id = json.get("orchestrator_run_id").and_then(Value::as_str);
                if let (Some(snapshot), Some(orch)) = (snapshot, orchestrator_run_id)
                    && let Some(id) = state.store().find_claimed_run(snapshot, orch).await?
                    && let Some(run) = nested::load(state, me, "pipeline_run", id).await?
                {
                    nested::verify(pro, cp_user, "read", &[run]).await?;
                    return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await);
                }
            }
            check(pro, cp_user, "create", &[resource(rt, project, None)]).await?;
            if coll.reportable {
                entitlement(pro, rt).await?;
            }
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if !(coll.reportable && resp.status().is_success()) {
                return Ok(resp);
            }
            // The created id is in the response body.
            let (rparts, rbody) = resp.into_parts();
            let rbytes = axum::body::to_bytes(rbody, usize::MAX)
                .await
                .map_err(|e| Error::internal(format!("reading a response body: {e}")))?;
            let created: Value = match serde_json::from_slice(&rbytes).unwrap_or(Value::Null) {
                // `POST /runs` is a get-or-create answering `[run, created]`: report only a new run.
                Value::Array(pair) if pair.get(1) == Some(&Value::Bool(true)) => pair[0].clone(),
                Value::Array(_) => Value::Null,
                one => one,
            };
            if let Some(id) = created.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) {
                report(pro, rt, id).await?;
            }
            Ok(Response::from_parts(rparts, Body::from(rbytes)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_resource_types_and_actions() {
        let id = "0b7e1c7a-8a4e-4f7e-9f1a-2b3c4d5e6f70";
        let (c, op) = classify(&Method::GET, "/pipelines").unwrap();
        assert_eq!((c.resource_type, op), ("pipeline", Op::List));
        let (c, op) = classify(&Method::PUT, &format!("/components/{id}")).unwrap();
        assert_eq!((c.resource_type, op), ("stack_component", Op::Update(id.into())));
        let (c, op) = classify(&Method::POST, "/pipeline_snapshots").unwrap();
        assert_eq!((c.resource_type, op), ("pipeline_deployment", Op::Create));
        assert!(classify(&Method::POST, "/tags").is_none(), "tags: create and read are unchecked");
        assert!(classify(&Method::GET, "/tags").is_none());
        assert!(classify(&Method::DELETE, &format!("/tags/{id}")).is_some());
        assert!(classify(&Method::GET, "/current-user").is_none());
        assert!(classify(&Method::GET, &format!("/runs/{id}/steps")).is_none());
        let p = Uuid::parse_str(id).unwrap();
        assert_eq!(resource("pipeline", Some(p), None), format!("{id}:pipeline"));
        assert_eq!(resource("secret", None, Some(p)), format!("secret/{id}"));
    }
}
