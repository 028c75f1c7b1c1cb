//! Rows → JSON, shared by the admin API and the client views: `OrganizationRead` and
//! `WorkspaceRead` as zenml 0.98.0 parses them (`zenml/login/pro/*/models.py`), and our own
//! shapes for users, teams, role assignments and service accounts.

use serde_json::{Value, json};

use crate::store::api_keys::ApiKeyRow;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::GrantRow;
use crate::store::teams::TeamRow;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;

/// `OrganizationRead`.
pub fn organization_read(o: &OrganizationRow) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "description": o.description,
        "created": o.created,
        "updated": o.updated,
    })
}

/// `WorkspaceRead`: the URL the client connects to is the one the workspace reported, else the
/// configured one; `state_reason` is a string (never null) as the client requires.
pub fn workspace_read(w: &WorkspaceRow, org: &OrganizationRow) -> Value {
    let server_url = w.server_url.clone().or_else(|| w.url.clone());
    json!({
        "id": w.id,
        "name": w.name,
        "description": w.description,
        "organization": organization_read(org),
        "desired_state": w.desired_state,
        "state_reason": w.state_reason.clone().unwrap_or_default(),
        "status": w.status,
        "zenml_service": {
            "configuration": w.version.as_ref().map(|v| json!({"version": v})),
            "status": server_url.as_ref().map(|u| json!({"server_url": u, "version": w.version})),
        },
        "url": server_url,
        "created": w.created,
        "updated": w.updated,
    })
}

/// A user or service account of the admin API (never the password hash).
pub fn user(u: &UserRow) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "name": u.username,
        "email": u.email,
        "full_name": u.full_name,
        "is_superuser": u.is_superuser,
        "is_service_account": u.is_service_account,
        "organization_id": u.organization_id,
        "active": u.active,
        "created": u.created,
        "updated": u.updated,
    })
}

/// A team, with its members when given.
pub fn team(t: &TeamRow, members: Option<&[UserRow]>) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "organization_id": t.organization_id,
        "created": t.created,
        "updated": t.updated,
    });
    if let Some(m) = members {
        v["members"] = m.iter().map(user).collect();
    }
    v
}

/// A role assignment.
pub fn grant(g: &GrantRow) -> Value {
    json!({
        "id": g.id,
        "role": g.role,
        "scope": g.scope,
        "organization_id": g.organization_id,
        "workspace_id": g.workspace_id,
        "project_id": g.project_id,
        "user_id": g.user_id,
        "team_id": g.team_id,
        "created": g.created,
    })
}

/// An API key's metadata (never the secret or its hash).
pub fn api_key(k: &ApiKeyRow) -> Value {
    json!({
        "id": k.id,
        "service_account_id": k.user_id,
        "active": k.active,
        "last_used": k.last_used,
        "created": k.created,
    })
}
