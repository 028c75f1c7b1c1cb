//! The client side of the Pro protocol (pro-protocol §1.4–1.5): `GET /workspaces` (a bare
//! array with zenml's filters), `GET /workspaces/{id or name}`, `GET /organizations` and
//! `GET /organizations/{id or name}`. The admin API owns the other methods on these paths.
//!
//! Visibility: a super-user sees everything. Anyone else may *log in to* the workspaces
//! [`rbac::has_access`] admits (`member_only=True`), and also *sees* every workspace of the
//! organizations where they hold an organization role (`member_only=False`, and the single GETs).

use std::collections::{BTreeSet, HashSet};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{QueryParams, unprocessable};
use crate::models::{organization_read, workspace_read};
use crate::rbac::{self, Subject};
use crate::routes::protocol::{rbac_grants, ws_ref};
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;

/// `GET /workspaces`, `GET /workspaces/{id}`, `GET /organizations`, `GET /organizations/{id}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list_workspaces))
        .route("/workspaces/{key}", get(get_workspace))
        .route("/organizations", get(list_organizations))
        .route("/organizations/{key}", get(get_organization))
}

/// What a user may see: the workspaces they may log in to and the organizations they belong to.
struct Visibility {
    superuser: bool,
    member_of: HashSet<Uuid>,
    organizations: HashSet<Uuid>,
}

impl Visibility {
    fn can_log_in(&self, w: &WorkspaceRow) -> bool {
        self.superuser || self.member_of.contains(&w.id)
    }

    fn can_see(&self, w: &WorkspaceRow) -> bool {
        self.can_log_in(w) || self.organizations.contains(&w.organization_id)
    }

    fn can_see_organization(&self, org: Uuid) -> bool {
        self.superuser || self.organizations.contains(&org)
    }
}

/// The visibility of a user over `workspaces` (3 queries whatever their number).
async fn visibility(state: &AppState, user: &UserRow, workspaces: &[WorkspaceRow]) -> Result<Visibility, Error> {
    if user.is_superuser {
        return Ok(Visibility { superuser: true, member_of: HashSet::new(), organizations: HashSet::new() });
    }
    let rows = state.store.grants_for_principal(user.id).await?;
    let grants = rbac_grants(&rows);
    let shared: HashSet<Uuid> = state.store.workspaces_with_shares(user.id).await?.into_iter().collect();
    let subject = Subject { superuser: false, grants, shares: Vec::new() };
    let member_of: HashSet<Uuid> = workspaces
        .iter()
        .filter(|w| shared.contains(&w.id) || rbac::has_access(&subject, ws_ref(w)))
        .map(|w| w.id)
        .collect();
    // Organizations: where a role is held (any scope), and those of workspaces shared with them.
    let mut organizations: HashSet<Uuid> =
        rows.iter().filter(|g| g.scope == "organization").map(|g| g.organization_id).collect();
    organizations.extend(workspaces.iter().filter(|w| member_of.contains(&w.id)).map(|w| w.organization_id));
    Ok(Visibility { superuser: false, member_of, organizations })
}

/// A workspace the device page offers.
#[derive(Debug, Clone)]
pub struct WorkspaceChoice {
    pub id: Uuid,
    pub name: String,
    pub organization_name: String,
}

/// The workspaces a user may log in to (not deactivated), by name.
pub async fn accessible_workspaces(state: &AppState, user: &UserRow) -> Result<Vec<WorkspaceChoice>, Error> {
    let all = state.store.list_workspaces(None).await?;
    let vis = visibility(state, user, &all).await?;
    let orgs = state.store.list_organizations(None).await?;
    Ok(all
        .iter()
        .filter(|w| vis.can_log_in(w) && w.status != "deactivated" && w.desired_state != "deactivated")
        .map(|w| WorkspaceChoice {
            id: w.id,
            name: w.name.clone(),
            organization_name: orgs
                .iter()
                .find(|o| o.id == w.organization_id)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
        })
        .collect())
}

/// A URL as compared by the `url` filter: scheme and host lower-case, default port and trailing
/// `/` dropped, no query or fragment.
pub fn normalise_url(raw: &str) -> String {
    let raw = raw.trim();
    let raw = raw.split(['?', '#']).next().unwrap_or(raw);
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_string(), raw),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut authority = authority.to_ascii_lowercase();
    for (s, port) in [("http", ":80"), ("https", ":443")] {
        if scheme == s && authority.ends_with(port) {
            authority.truncate(authority.len() - port.len());
        }
    }
    format!("{scheme}://{authority}{}", path.trim_end_matches('/'))
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<Option<bool>, Error> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("true") || s == "1" => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("false") || s == "0" => Ok(Some(false)),
        Some(s) => Err(unprocessable(format!("{name}='{s}' is not a boolean"))),
    }
}

fn parse_count(name: &str, v: Option<&str>) -> Result<Option<usize>, Error> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => {
            s.parse().map(Some).map_err(|_| unprocessable(format!("{name}='{s}' is not a non-negative integer")))
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    offset: Option<String>,
    limit: Option<String>,
    workspace_name: Option<String>,
    url: Option<String>,
    organization_id: Option<String>,
    status: Option<String>,
    member_only: Option<String>,
}

/// `GET /workspaces`: `[WorkspaceRead]`, by name.
async fn list_workspaces(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Vec<Value>>, Error> {
    let user = auth.user()?;
    let offset = parse_count("offset", q.offset.as_deref())?.unwrap_or(0);
    let limit = parse_count("limit", q.limit.as_deref())?;
    let member_only = parse_bool("member_only", q.member_only.as_deref())?.unwrap_or(false);
    let organization = match q.organization_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(Uuid::parse_str(s).map_err(|_| unprocessable(format!("organization_id '{s}' is not a UUID")))?),
        None => None,
    };
    let url = q.url.as_deref().filter(|u| !u.trim().is_empty()).map(normalise_url);
    let all = state.store.list_workspaces(organization).await?;
    let vis = visibility(&state, user, &all).await?;
    let orgs = state.store.list_organizations(None).await?;
    let matches = |w: &WorkspaceRow| {
        (if member_only { vis.can_log_in(w) } else { vis.can_see(w) })
            && q.workspace_name.as_deref().is_none_or(|n| n.is_empty() || w.name == n)
            && q.status.as_deref().is_none_or(|s| s.is_empty() || w.status == s)
            && url
                .as_deref()
                .is_none_or(|u| [&w.server_url, &w.url].into_iter().flatten().any(|wu| normalise_url(wu) == u))
    };
    let out = all
        .iter()
        .filter(|w| matches(w))
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .filter_map(|w| orgs.iter().find(|o| o.id == w.organization_id).map(|o| workspace_read(w, o)))
        .collect();
    Ok(Json(out))
}

/// `GET /workspaces/{id or name}`: 404 when it does not exist or is not visible.
async fn get_workspace(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Value>, Error> {
    let user = auth.user()?;
    let missing = || Error::not_found(format!("No workspace with id or name '{key}'."));
    let ws = state.store.get_workspace_by_id_or_name(&key).await?.ok_or_else(missing)?;
    let vis = visibility(&state, user, std::slice::from_ref(&ws)).await?;
    if !vis.can_see(&ws) {
        return Err(missing());
    }
    let org = state.store.get_organization(ws.organization_id).await?.ok_or_else(missing)?;
    Ok(Json(workspace_read(&ws, &org)))
}

#[derive(Deserialize)]
struct OrgQuery {
    offset: Option<String>,
    limit: Option<String>,
}

/// `GET /organizations`: `[OrganizationRead]` of the caller's organizations (all for a
/// super-user), by name.
async fn list_organizations(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<OrgQuery>,
) -> Result<Json<Vec<Value>>, Error> {
    let user = auth.user()?;
    let offset = parse_count("offset", q.offset.as_deref())?.unwrap_or(0);
    let limit = parse_count("limit", q.limit.as_deref())?.unwrap_or(usize::MAX);
    let orgs = if user.is_superuser {
        state.store.list_organizations(None).await?
    } else {
        let all = state.store.list_workspaces(None).await?;
        let vis = visibility(&state, user, &all).await?;
        let ids: Vec<Uuid> = vis.organizations.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        state.store.list_organizations(Some(&ids)).await?
    };
    Ok(Json(orgs.iter().skip(offset).take(limit).map(organization_read).collect()))
}

/// `GET /organizations/{id or name}`: 404 when it does not exist or is not the caller's.
async fn get_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Value>, Error> {
    let user = auth.user()?;
    let missing = || Error::not_found(format!("No organization with id or name '{key}'."));
    let org = state.store.get_organization_by_id_or_name(&key).await?.ok_or_else(missing)?;
    let all = if user.is_superuser { Vec::new() } else { state.store.list_workspaces(Some(org.id)).await? };
    let vis = visibility(&state, user, &all).await?;
    if !vis.can_see_organization(org.id) {
        return Err(missing());
    }
    Ok(Json(organization_read(&org)))
}

#[cfg(test)]
mod tests {
    use super::normalise_url;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalise_url("HTTP://WS.Example.com:80/"), "http://ws.example.com");
        assert_eq!(normalise_url("https://ws.example.com:443/zenml/"), "https://ws.example.com/zenml");
        assert_eq!(normalise_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(normalise_url("ws.example.com/"), "https://ws.example.com");
        assert_ne!(normalise_url("http://a/Path"), normalise_url("http://a/path"));
    }
}
