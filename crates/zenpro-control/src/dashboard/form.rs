//! The steps every page and form of the dashboard repeats, in one place:
//!
//! * who may do what in an organization ([`Need`], [`Ctx::require`]) — the admin API's rules
//!   (`access.rs`): super-users always, else the user's strongest organization role;
//! * the organization, workspace, team or service account of the path, found and checked: 404
//!   when the user cannot see it (as if it did not exist), 403 when they may not do this there
//!   ([`org_page`], [`org_form`], [`owning_org`], [`checked_ws`]);
//! * how a change ends ([`outcome`]): done, refused on its form (bad input, a taken name: the
//!   form again with the reason, 422), or an error page (not allowed, not found, server errors);
//! * the confirm step of a destructive action ([`Confirm`], `confirm.html`): a page saying what
//!   will happen, whose form POSTs the action with the CSRF token (and, for deletions of
//!   workspaces and organizations, the name typed again).

use askama::Template;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::Error;

use super::{Ctx, Nav, PageError, PageResult, ctx, post_ctx};
use crate::AppState;
use crate::store::organizations::OrganizationRow;
use crate::store::workspaces::WorkspaceRow;

/// What an action needs in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any grant there (organization, workspace or through a team).
    See,
    /// Admin or Manager: workspaces, members, teams, service accounts.
    Manage,
    /// Admin: granting organization Admin, deleting workspaces.
    Admin,
    /// Super-users only: creating and deleting organizations.
    Superuser,
}

impl Ctx {
    /// Whether the user has `need` in `org` (a super-user has everything).
    pub fn may(&self, org: Uuid, need: Need) -> bool {
        match need {
            Need::See => self.sees_org(org),
            Need::Manage => self.can_manage(org),
            Need::Admin => self.is_admin(org),
            Need::Superuser => self.user.is_superuser,
        }
    }

    /// 403 unless the user has `need` in `org`; `what` completes "You are not allowed to …".
    pub fn require(&self, org: Uuid, need: Need, what: &str) -> Result<(), Error> {
        match need {
            _ if self.may(org, need) => Ok(()),
            Need::Superuser => Err(Error::forbidden(format!("Only super-users can {what}."))),
            _ => Err(Error::forbidden(format!("You are not allowed to {what}."))),
        }
    }
}

/// The organization `key` (name or id) of the path, if the user belongs to it (else 404, as if
/// it did not exist).
pub async fn find_org(state: &AppState, c: &Ctx, key: &str) -> Result<OrganizationRow, Error> {
    let missing = || Error::not_found(format!("No organization '{key}'."));
    let o = state.store.get_organization_by_id_or_name(key).await?.ok_or_else(missing)?;
    if c.sees_org(o.id) { Ok(o) } else { Err(missing()) }
}

/// [`find_org`], then 403 unless the user has `need` there.
pub async fn checked_org(
    state: &AppState,
    c: &Ctx,
    key: &str,
    need: Need,
    what: &str,
) -> Result<OrganizationRow, Error> {
    let o = find_org(state, c, key).await?;
    c.require(o.id, need, what)?;
    Ok(o)
}

/// The organization `id` an object of the path belongs to (a team, a service account): `missing`
/// (a 404) unless the user sees the organization, 403 unless they have `need` there.
pub async fn owning_org(
    state: &AppState,
    c: &Ctx,
    id: Uuid,
    need: Need,
    what: &str,
    missing: impl Fn() -> Error,
) -> Result<OrganizationRow, Error> {
    let o = state.store.get_organization(id).await?.ok_or_else(&missing)?;
    if !c.sees_org(o.id) {
        return Err(missing());
    }
    c.require(o.id, need, what)?;
    Ok(o)
}

/// Whether the user sees workspace `w`: an organization role there, a grant on it, or a super-user
/// (the rule of `GET /workspaces?member_only=false`).
pub fn sees_ws(c: &Ctx, w: &WorkspaceRow) -> bool {
    c.user.is_superuser
        || c.org_role(w.organization_id).is_some()
        || c.grants.iter().any(|g| g.workspace_id == Some(w.id))
}

/// The workspace `key` (name or id) of the path and its organization: 404 unless the user sees
/// it, 403 unless they have `need` in its organization.
pub async fn checked_ws(
    state: &AppState,
    c: &Ctx,
    key: &str,
    need: Need,
    what: &str,
) -> Result<(WorkspaceRow, OrganizationRow), Error> {
    let missing = || Error::not_found(format!("No workspace '{key}'."));
    let w = state.store.get_workspace_by_id_or_name(key).await?.ok_or_else(missing)?;
    if !sees_ws(c, &w) {
        return Err(missing());
    }
    let o = owning_org(state, c, w.organization_id, need, what, missing).await?;
    Ok((w, o))
}

/// A page about organization `key`: the signed-in user (else the login) and the organization,
/// checked for `need` and marked current in the switcher.
pub async fn org_page(
    state: &AppState,
    headers: &HeaderMap,
    uri: &http::Uri,
    key: &str,
    need: Need,
    what: &str,
) -> Result<(Ctx, OrganizationRow), PageError> {
    let mut c = ctx(state, headers, uri).await?;
    let o = checked_org(state, &c, key, need, what).await?;
    c.set_current(o.id);
    Ok((c, o))
}

/// A form posted about organization `key`: the session (else the login, back to `back`), the
/// CSRF token (else 403), and the organization, checked for `need` and marked current.
pub async fn org_form(
    state: &AppState,
    headers: &HeaderMap,
    back: &str,
    csrf: &str,
    key: &str,
    need: Need,
    what: &str,
) -> Result<(Ctx, OrganizationRow), PageError> {
    let mut c = post_ctx(state, headers, back, csrf).await?;
    let o = checked_org(state, &c, key, need, what).await?;
    c.set_current(o.id);
    Ok((c, o))
}

/// How a change ends: `Ok(Ok(value))` done; `Ok(Err(reason))` refused in a way its form shows
/// (bad input, a taken name); `Err` for an error page (not allowed, not found, server errors:
/// `?` in a page handler turns it into one).
pub fn outcome<T>(result: Result<T, Error>) -> Result<Result<T, String>, Error> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) if super::on_form(&e) => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

/// The status of a page that may carry a form's refusal: 422 with one, else 200.
pub fn form_status(error: &Option<String>) -> StatusCode {
    if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }
}

/// A form whose only field is the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A create form of a named thing (a team, a service account): the CSRF token, a name and an
/// optional description.
#[derive(Deserialize)]
pub struct NamedForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// The form of a confirm page: the CSRF token and, where asked for, the name typed again.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm_name: String,
}

/// The confirm step of a destructive action: what will happen, and the button that does it.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Confirm {
    pub title: String,
    pub nav: Option<Nav>,
    /// The question, e.g. "Delete workspace prod?".
    pub question: String,
    /// What the action does, one sentence each.
    pub consequences: Vec<String>,
    /// Where the form POSTs (the same path as the page).
    pub action: String,
    /// The label of the button.
    pub button: String,
    /// Where "Cancel" goes.
    pub back: String,
    /// The name the user must type before the action is done (deletions that cannot be undone).
    pub type_name: Option<String>,
    pub error: Option<String>,
}

impl Confirm {
    pub fn new(c: &Ctx, title: String, question: String, action: String, button: &str, back: String) -> Confirm {
        Confirm {
            title,
            nav: Some(c.nav.clone()),
            question,
            consequences: Vec::new(),
            action,
            button: button.to_string(),
            back,
            type_name: None,
            error: None,
        }
    }

    /// Add what the action does.
    pub fn consequence(mut self, text: impl Into<String>) -> Confirm {
        self.consequences.push(text.into());
        self
    }

    /// Ask for `name` to be typed before the action is done.
    pub fn typed(mut self, name: &str) -> Confirm {
        self.type_name = Some(name.to_string());
        self
    }

    /// The page (200), or again with `error` (422) when the posted form did not confirm.
    pub fn show(mut self, c: &Ctx, error: Option<String>) -> Response {
        let status = form_status(&error);
        self.error = error;
        c.render(status, &self)
    }

    /// Whether `f` confirms: the name typed again where one is asked for.
    pub fn confirmed(&self, f: &ConfirmForm) -> bool {
        self.type_name.as_deref().is_none_or(|n| f.confirm_name.trim() == n)
    }

    /// Run `action` when `f` confirms (then `done`), else show this page again with the reason.
    pub async fn settle<Fut>(self, c: &Ctx, f: &ConfirmForm, action: Fut, done: &str) -> PageResult
    where
        Fut: std::future::Future<Output = Result<(), Error>>,
    {
        if !self.confirmed(f) {
            let name = self.type_name.clone().unwrap_or_default();
            return Ok(self.show(c, Some(format!("Type '{name}' to confirm; nothing was changed."))));
        }
        action.await?;
        Ok(super::see_other(done))
    }
}
