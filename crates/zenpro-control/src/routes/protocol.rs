//! The workspace side of the Pro protocol (pro-protocol §2, `docs/control-plane.md`): status
//! reports, external user authentication, the RBAC questions, entitlements and usage events.
//! Every endpoint but `authorize_server` takes the workspace's client-credentials token and
//! answers about that workspace only.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::auth::{Auth, Principal};
use crate::extract::{JsonBody, QueryParams, unprocessable};
use crate::rbac::{self, Action, Resource, Subject, WorkspaceRef};
use crate::store::roles::GrantRow;
use crate::store::shares::Member;
use crate::store::usage::NewUsageEvent;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;

/// The workspace-facing endpoints (under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspace_status", patch(workspace_status))
        .route("/users/authorize_server", get(authorize_server))
        .route("/rbac/check_permissions", post(check_permissions))
        .route("/rbac/allowed_resource_ids", get(allowed_resource_ids))
        .route("/rbac/resource_members", post(resource_members))
        .route("/rbac/resources", delete(delete_resources))
        .route("/organizations/{key}/entitlement/{feature}", get(entitlement))
        .route("/usage-event", post(usage_event))
}

/// The grants of role assignment rows as the evaluator sees them; rows with an unknown role or
/// an incomplete scope grant nothing.
pub fn rbac_grants(rows: &[GrantRow]) -> Vec<rbac::Grant> {
    rows.iter()
        .filter_map(|g| {
            let scope = rbac::Scope::parse(&g.scope)?;
            let role = rbac::Role::parse(scope, &g.role)?;
            let scope = match scope {
                rbac::Scope::Organization => rbac::GrantScope::Organization(g.organization_id),
                rbac::Scope::Workspace => rbac::GrantScope::Workspace(g.workspace_id?),
                rbac::Scope::Project => {
                    rbac::GrantScope::Project { workspace: g.workspace_id?, project: g.project_id? }
                }
            };
            Some(rbac::Grant { role, scope })
        })
        .collect()
}

/// The workspace as the evaluator sees it.
pub fn ws_ref(ws: &WorkspaceRow) -> WorkspaceRef {
    WorkspaceRef { id: ws.id, organization_id: ws.organization_id }
}

/// What a user may do in a workspace: super-user flag, grants (own and teams'), shares there.
/// An inactive user holds nothing.
pub async fn subject(state: &AppState, user: &UserRow, ws: &WorkspaceRow) -> Result<Subject, Error> {
    if !user.active {
        return Ok(Subject::default());
    }
    if user.is_superuser {
        return Ok(Subject { superuser: true, ..Subject::default() });
    }
    let grants = rbac_grants(&state.store.grants_for_principal(user.id).await?);
    let shares = state.store.shares_of(ws.id, user.id).await?.iter().filter_map(|s| s.to_share()).collect();
    Ok(Subject { superuser: false, grants, shares })
}

/// The subject of the `user_id` query parameter: a CP user or service account id. An unknown
/// or inactive user may do nothing (every check answers `false`), so a user removed from the
/// control plane loses access at once instead of making the workspace fail with 500s.
async fn subject_of(state: &AppState, ws: &WorkspaceRow, user_id: Option<&str>) -> Result<Subject, Error> {
    let raw = user_id.ok_or_else(|| unprocessable("user_id is required"))?;
    let id = Uuid::parse_str(raw).map_err(|_| unprocessable(format!("user_id '{raw}' is not a UUID")))?;
    match state.store.get_user(id).await? {
        Some(user) => subject(state, &user, ws).await,
        None => Ok(Subject::default()),
    }
}

fn parse_action(raw: Option<&str>) -> Result<Action, Error> {
    let raw = raw.ok_or_else(|| unprocessable("action is required"))?;
    Action::parse(raw).ok_or_else(|| unprocessable(format!("'{raw}' is not an RBAC action")))
}

fn parse_resource(raw: &str) -> Result<Resource, Error> {
    Resource::parse(raw).map_err(|e| unprocessable(e.to_string()))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// `PATCH /workspace_status`: the workspace server started (no body; `zenml-server-id` must be
/// the token's workspace, `zenml-server-version` and `zenml-server-url` are recorded).
async fn workspace_status(State(state): State<AppState>, auth: Auth, headers: HeaderMap) -> Result<Json<Value>, Error> {
    let ws = auth.workspace()?;
    if let Some(id) = header(&headers, "zenml-server-id")
        && Uuid::parse_str(id).ok() != Some(ws.id)
    {
        return Err(Error::forbidden("The zenml-server-id header does not name the workspace of this token."));
    }
    let version = header(&headers, "zenml-server-version").map(str::to_string);
    if version.as_ref().is_some_and(|v| v.len() > 64) {
        return Err(unprocessable("zenml-server-version is too long"));
    }
    let url = header(&headers, "zenml-server-url").map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &url
        && (!(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 1024)
    {
        return Err(unprocessable("zenml-server-url must be an http(s) URL"));
    }
    let ws = state
        .store
        .report_workspace_status(ws.id, url, version)
        .await?
        .ok_or_else(|| Error::credentials("The workspace of this token no longer exists."))?;
    Ok(Json(json!({
        "id": ws.id,
        "name": ws.name,
        "status": ws.status,
        "desired_state": ws.desired_state,
        "server_url": ws.server_url,
        "version": ws.version,
    })))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    server_id: Option<String>,
}

/// `GET /users/authorize_server?server_id=`: bearer = the user's CP token or `ZENPROKEY_` key.
/// 401 bad credential, 404 unknown or not yet enrolled workspace (or `server_id` ≠ the
/// `zenml-server-id` header), 403 deactivated workspace or no access, 200 `ExternalUserModel`.
async fn authorize_server(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AuthorizeQuery>,
) -> Result<Json<Value>, Error> {
    let Principal::User(user) = &auth.principal else {
        return Err(Error::credentials("A workspace token does not identify a user."));
    };
    let unknown = || Error::not_found("This control plane does not know this server.");
    let server_id = q.server_id.as_deref().ok_or_else(|| unprocessable("server_id is required"))?;
    let server_id = Uuid::parse_str(server_id).map_err(|_| unknown())?;
    if let Some(h) = header(&headers, "zenml-server-id")
        && Uuid::parse_str(h).ok() != Some(server_id)
    {
        return Err(unknown());
    }
    let ws = state.store.get_workspace(server_id).await?.ok_or_else(unknown)?;
    if ws.status == "not_initialized" {
        return Err(unknown());
    }
    if ws.desired_state == "deactivated" || ws.status == "deactivated" {
        return Err(Error::forbidden("This workspace is deactivated."));
    }
    let subject = subject(&state, user, &ws).await?;
    if !rbac::has_access(&subject, ws_ref(&ws)) {
        return Err(Error::forbidden("You have no access to this workspace."));
    }
    Ok(Json(json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.full_name,
        "is_superuser": rbac::is_superuser(&subject, ws_ref(&ws)),
        "is_service_account": user.is_service_account,
        "avatar_url": null,
    })))
}

#[derive(Deserialize)]
struct CheckQuery {
    user_id: Option<String>,
    action: Option<String>,
}

/// `POST /rbac/check_permissions?user_id=&action=` with a JSON array of resource strings →
/// `{resource: bool}` for every one (keys as sent); one malformed string → 422.
async fn check_permissions(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<CheckQuery>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<serde_json::Map<String, Value>>, Error> {
    let ws = auth.workspace()?;
    let action = parse_action(q.action.as_deref())?;
    let Value::Array(items) = body else {
        return Err(unprocessable("The body must be a JSON array of resource strings."));
    };
    let mut keys = Vec::with_capacity(items.len());
    let mut resources = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            return Err(unprocessable("The body must be a JSON array of resource strings."));
        };
        resources.push(parse_resource(&s)?);
        keys.push(s);
    }
    let subject = subject_of(&state, ws, q.user_id.as_deref()).await?;
    let answers = rbac::check(&subject, ws_ref(ws), action, &resources);
    Ok(Json(keys.into_iter().zip(answers).map(|(k, v)| (k, Value::Bool(v))).collect()))
}

#[derive(Deserialize)]
struct AllowedQuery {
    user_id: Option<String>,
    resource: Option<String>,
    action: Option<String>,
}

/// `GET /rbac/allowed_resource_ids?user_id=&resource=&action=` → `{full_access, ids}`.
async fn allowed_resource_ids(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<AllowedQuery>,
) -> Result<Json<rbac::Allowed>, Error> {
    let ws = auth.workspace()?;
    let action = parse_action(q.action.as_deref())?;
    let raw = q.resource.as_deref().ok_or_else(|| unprocessable("resource is required"))?;
    let resource = parse_resource(raw)?;
    if resource.id.is_some() {
        return Err(unprocessable("resource must name a type, not one resource"));
    }
    let subject = subject_of(&state, ws, q.user_id.as_deref()).await?;
    Ok(Json(rbac::allowed_ids(&subject, ws_ref(ws), action, &resource)))
}

#[derive(Deserialize)]
struct MembershipBody {
    user_id: Option<String>,
    team_id: Option<String>,
    sharing_user_id: Option<String>,
    resource: String,
    #[serde(default)]
    actions: Vec<String>,
}

/// `POST /rbac/resource_members`: replace the actions of one user or team on one resource.
async fn resource_members(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<MembershipBody>,
) -> Result<Json<Value>, Error> {
    let ws = auth.workspace()?;
    let resource = parse_resource(&b.resource)?;
    if resource.id.is_none() {
        return Err(unprocessable("resource must name one resource (<type>/<id>)"));
    }
    let mut actions = Vec::with_capacity(b.actions.len());
    for a in &b.actions {
        actions.push(Action::parse(a).ok_or_else(|| unprocessable(format!("'{a}' is not an RBAC action")))?);
    }
    let uuid =
        |s: &str, what: &str| Uuid::parse_str(s).map_err(|_| unprocessable(format!("{what} '{s}' is not a UUID")));
    let member = match (b.user_id.as_deref(), b.team_id.as_deref()) {
        (Some(u), None) => {
            let id = uuid(u, "user_id")?;
            state.store.get_user(id).await?.ok_or_else(|| Error::not_found(format!("No user with id {id}.")))?;
            Member::User(id)
        }
        (None, Some(t)) => {
            let id = uuid(t, "team_id")?;
            state
                .store
                .get_team(id)
                .await?
                .filter(|team| team.organization_id == ws.organization_id)
                .ok_or_else(|| Error::not_found(format!("No team with id {id} in this organization.")))?;
            Member::Team(id)
        }
        _ => return Err(unprocessable("exactly one of user_id and team_id is required")),
    };
    let sharing = b.sharing_user_id.as_deref().map(|s| uuid(s, "sharing_user_id")).transpose()?;
    state.store.replace_share(ws.id, &resource, member, &actions, sharing).await?;
    Ok(Json(json!({"resource": resource.to_string(), "actions": actions})))
}

/// `DELETE /rbac/resources?resources=…&resources=…`: forget the shares of deleted resources.
async fn delete_resources(State(state): State<AppState>, auth: Auth, uri: http::Uri) -> Result<Json<Value>, Error> {
    let ws = auth.workspace()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| unprocessable(format!("Invalid query parameters: {e}")))?;
    let mut resources = Vec::new();
    for (k, v) in pairs {
        if k == "resources" {
            resources.push(parse_resource(&v)?);
        }
    }
    let deleted = state.store.delete_shares_of(ws.id, &resources).await?;
    Ok(Json(json!({"deleted_shares": deleted})))
}

/// `GET /organizations/{id}/entitlement/{feature}`: zenpro has no limits, so every feature is
/// entitled — for the workspace's own organization; 403 (JSON) for another.
async fn entitlement(
    State(_state): State<AppState>,
    auth: Auth,
    Path((org, feature)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    let ws = auth.workspace()?;
    if Uuid::parse_str(&org).ok() != Some(ws.organization_id) {
        return Err(Error::forbidden("A workspace may only ask about its own organization."));
    }
    Ok(Json(json!({"feature": feature, "entitled": true})))
}

#[derive(Deserialize)]
struct UsageBody {
    organization_id: String,
    feature: String,
    #[serde(default = "one")]
    total: i64,
    #[serde(default)]
    metadata: Option<Value>,
}

fn one() -> i64 {
    1
}

/// `POST /usage-event`: record (once per organization, workspace, feature and resource id) what
/// the workspace created; `total < 0` forgets it. Always 200 for the workspace's own organization.
async fn usage_event(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<UsageBody>,
) -> Result<Response, Error> {
    let ws = auth.workspace()?;
    if Uuid::parse_str(&b.organization_id).ok() != Some(ws.organization_id) {
        return Err(Error::forbidden("A workspace may only report usage of its own organization."));
    }
    if b.feature.is_empty() || b.feature.len() > 255 {
        return Err(unprocessable("feature must be 1 to 255 characters"));
    }
    let metadata = b.metadata.unwrap_or_else(|| json!({}));
    if let Some(w) = metadata.get("workspace_id").and_then(Value::as_str)
        && Uuid::parse_str(w).ok() != Some(ws.id)
    {
        return Err(Error::forbidden("A workspace may only report its own usage."));
    }
    let resource_id = match metadata.get("resource_id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        Some(Value::Null) | None => format!("unidentified-{}", Uuid::new_v4()),
        Some(_) => return Err(unprocessable("metadata.resource_id must be a string")),
    };
    let recorded = if b.total < 0 {
        state.store.forget_usage(ws.organization_id, ws.id, &b.feature, &resource_id).await?
    } else {
        let e = NewUsageEvent {
            organization_id: ws.organization_id,
            workspace_id: ws.id,
            feature: b.feature.clone(),
            resource_id,
            total: b.total,
            metadata: metadata.to_string(),
        };
        state.store.record_usage(&e).await?
    };
    Ok((StatusCode::OK, Json(json!({"feature": b.feature, "recorded": recorded}))).into_response())
}
