//! Who may use the admin API: a super-user always; otherwise the caller's organization role
//! (direct or through a team). Refusals are 403 `IllegalOperationError`.

use uuid::Uuid;
use zenpro_types::Error;

use crate::AppState;
use crate::store::roles::GrantRow;
use crate::store::users::UserRow;

/// Organization roles, weakest first.
pub const ORG_ROLES: [&str; 4] = ["Member", "Viewer", "Manager", "Admin"];
/// Workspace roles.
pub const WORKSPACE_ROLES: [&str; 5] = ["Admin", "Developer", "Contributor", "Viewer", "Stack Admin"];
/// Project roles.
pub const PROJECT_ROLES: [&str; 4] = ["Admin", "Developer", "Contributor", "Viewer"];

/// Admin or Manager.
pub const MANAGE: &[&str] = &["Admin", "Manager"];
/// Admin only.
pub const ADMIN: &[&str] = &["Admin"];

fn rank(role: &str) -> usize {
    ORG_ROLES.iter().position(|r| *r == role).map(|p| p + 1).unwrap_or(0)
}

/// The organization roles of a user by organization: the strongest per organization.
pub fn org_roles(grants: &[GrantRow]) -> Vec<(Uuid, &str)> {
    let mut out: Vec<(Uuid, &str)> = Vec::new();
    for g in grants.iter().filter(|g| g.scope == "organization") {
        match out.iter_mut().find(|(o, _)| *o == g.organization_id) {
            Some(entry) if rank(&g.role) > rank(entry.1) => entry.1 = &g.role,
            Some(_) => {}
            None => out.push((g.organization_id, &g.role)),
        }
    }
    out
}

/// The caller's strongest role in `org` (`None`: not a member).
pub async fn org_role(state: &AppState, user: &UserRow, org: Uuid) -> Result<Option<String>, Error> {
    let grants = state.store.grants_for_principal(user.id).await?;
    Ok(org_roles(&grants).into_iter().find(|(o, _)| *o == org).map(|(_, r)| r.to_string()))
}

/// Refuse unless the caller is a super-user or holds one of `roles` in `org`.
pub async fn require_org(state: &AppState, user: &UserRow, org: Uuid, roles: &[&str], what: &str) -> Result<(), Error> {
    if user.is_superuser {
        return Ok(());
    }
    match org_role(state, user, org).await? {
        Some(r) if roles.contains(&r.as_str()) => Ok(()),
        _ => Err(Error::forbidden(format!("You are not allowed to {what}."))),
    }
}

/// Refuse unless the caller is a super-user or holds one of `roles` in some organization.
pub async fn require_any_org(state: &AppState, user: &UserRow, roles: &[&str], what: &str) -> Result<(), Error> {
    if user.is_superuser {
        return Ok(());
    }
    let grants = state.store.grants_for_principal(user.id).await?;
    if org_roles(&grants).iter().any(|(_, r)| roles.contains(r)) {
        Ok(())
    } else {
        Err(Error::forbidden(format!("You are not allowed to {what}.")))
    }
}

/// Refuse non-super-users.
pub fn require_superuser(user: &UserRow, what: &str) -> Result<(), Error> {
    if user.is_superuser { Ok(()) } else { Err(Error::forbidden(format!("Only super-users can {what}."))) }
}
