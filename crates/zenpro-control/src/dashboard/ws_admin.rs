//! A workspace's lifecycle actions, each a confirm page (`GET`) and its form (`POST`), with the
//! admin API's rules (`routes/workspaces.rs`):
//!
//! * `/workspaces/{name}/deactivate`, `/workspaces/{name}/reactivate` — Admins and Managers of
//!   its organization (`PATCH /api/v1/workspaces/{name}` with `desired_state`). A deactivated
//!   workspace keeps its data and enrollment; nobody can log in to it through the control plane.
//! * `/workspaces/{name}/delete` — organization Admins (`DELETE /api/v1/workspaces/{name}`), with
//!   the name typed again: its grants, shares and device logins go with it.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Form, Router};
use http::HeaderMap;
use zenpro_types::Error;

use super::form::{Confirm, ConfirmForm, Need, checked_ws};
use super::{Ctx, PageResult, ctx, post_ctx, seg, when};
use crate::AppState;
use crate::store::organizations::OrganizationRow;
use crate::store::roles::GrantFilter;
use crate::store::workspaces::{WorkspaceRow, WorkspaceUpdate};

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for action in [Action::Deactivate, Action::Reactivate, Action::Delete] {
        r = r.route(
            &format!("/workspaces/{{name}}/{}", action.path()),
            get(move |s, h, u, p| ask(s, h, u, p, action)).post(move |s, h, p, f| act(s, h, p, f, action)),
        );
    }
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Deactivate,
    Reactivate,
    Delete,
}

impl Action {
    fn path(self) -> &'static str {
        match self {
            Action::Deactivate => "deactivate",
            Action::Reactivate => "reactivate",
            Action::Delete => "delete",
        }
    }

    /// Who may: the admin API's rule.
    fn need(self) -> Need {
        if self == Action::Delete { Need::Admin } else { Need::Manage }
    }

    /// Completes "You are not allowed to …".
    fn what(self) -> &'static str {
        match self {
            Action::Delete => "delete this workspace",
            _ => "change this workspace",
        }
    }
}

/// The confirm page of `action` on `w`.
async fn confirm(
    state: &AppState,
    c: &Ctx,
    w: &WorkspaceRow,
    o: &OrganizationRow,
    action: Action,
) -> Result<Confirm, Error> {
    let ws = seg(&w.name);
    let href = format!("/workspaces/{ws}/{}", action.path());
    let seen = w.last_seen.as_deref().map(when).unwrap_or_else(|| "never".into());
    let running = w.status == "available";
    let page = match action {
        Action::Deactivate => Confirm::new(
            c,
            format!("Deactivate workspace {}", w.name),
            format!("Deactivate the workspace {} of {}?", w.name, o.name),
            href,
            "Deactivate",
            format!("/organizations/{}", seg(&o.name)),
        )
        .consequence("Nobody can log in to it through the control plane any more (zenml login, device logins, the browser), and it leaves the clients' workspace lists.")
        .consequence("Its data, enrollment key and role assignments stay; reactivating it restores access.")
        .consequence(if running {
            format!("The workspace server is running (last heartbeat {seen}); it keeps running but refuses logins.")
        } else {
            format!("Last heartbeat: {seen}.")
        }),
        Action::Reactivate => Confirm::new(
            c,
            format!("Reactivate workspace {}", w.name),
            format!("Reactivate the workspace {} of {}?", w.name, o.name),
            href,
            "Reactivate",
            format!("/organizations/{}", seg(&o.name)),
        )
        .consequence("Its members can log in to it again with the roles they hold."),
        Action::Delete => {
            let grants = state.store.list_grants(&GrantFilter { workspace_id: Some(w.id), ..Default::default() }).await?;
            let mut page = Confirm::new(
                c,
                format!("Delete workspace {}", w.name),
                format!("Delete the workspace {} of {}?", w.name, o.name),
                href,
                "Delete the workspace",
                format!("/organizations/{}", seg(&o.name)),
            )
            .consequence("Its enrollment key and client credentials stop working: the workspace server can no longer log anyone in through this control plane.")
            .consequence(format!("Its {} role assignment(s), shares and pending device logins are deleted.", grants.len()))
            .consequence("The workspace server's own data (runs, artifacts, stacks, secrets) is not touched; enrolling it again needs a new workspace.")
            .consequence("This cannot be undone. To stop access for a while, deactivate it instead.");
            if running {
                page = page.consequence(format!("The workspace server is running: last heartbeat {seen}."));
            }
            page.typed(&w.name)
        }
    };
    Ok(page)
}

/// `GET /workspaces/{name}/{action}`: the confirm page.
async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(name): Path<String>,
    action: Action,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let (w, o) = checked_ws(&state, &c, &name, action.need(), action.what()).await?;
    c.set_current(o.id);
    Ok(confirm(&state, &c, &w, &o, action).await?.show(&c, None))
}

/// `POST /workspaces/{name}/{action}`: do it; back to the workspace page (the organization page
/// after a deletion).
async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<ConfirmForm>,
    action: Action,
) -> PageResult {
    let back = format!("/workspaces/{}/{}", seg(&name), action.path());
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let (w, o) = checked_ws(&state, &c, &name, action.need(), action.what()).await?;
    c.set_current(o.id);
    let desired = |s: &str| WorkspaceUpdate { desired_state: Some(s.to_string()), ..Default::default() };
    let (done, change) = match action {
        Action::Deactivate => (format!("/workspaces/{}", seg(&w.name)), Some(desired("deactivated"))),
        Action::Reactivate => (format!("/workspaces/{}", seg(&w.name)), Some(desired("available"))),
        Action::Delete => (format!("/organizations/{}", seg(&o.name)), None),
    };
    let run = async {
        match change {
            Some(u) => state.store.update_workspace(w.id, u).await.map(|_| ()),
            None => state.store.delete_workspace(w.id).await.map(|_| ()),
        }?;
        tracing::info!(workspace = %w.name, action = action.path(), by = %c.user.username, "workspace changed from the dashboard");
        Ok(())
    };
    confirm(&state, &c, &w, &o, action).await?.settle(&c, &f, run, &done).await
}
