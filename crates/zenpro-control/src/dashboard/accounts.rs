//! Service accounts of an organization and their `ZENPROKEY_` API keys, for its Admins and
//! Managers (the rules of `routes/service_accounts.rs`). A new key is shown once, in the answer
//! to the POST that made it.
//!
//! `GET/POST /organizations/{org}/service_accounts`, `GET /service_accounts/{id}`,
//! `POST /service_accounts/{id}/api_keys`, `POST /service_accounts/{id}/revoke`.

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use uuid::Uuid;
use zenpro_types::Error;

use super::form::{NamedForm, Need, form_status, org_form, org_page, outcome, owning_org};
use super::{Ctx, Nav, PageResult, ctx, non_empty, post_ctx, see_other, seg, when};
use crate::AppState;
use crate::auth::new_api_key;
use crate::routes::users::check_name;
use crate::store::organizations::OrganizationRow;
use crate::store::users::{NewUser, UserRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{org}/service_accounts", get(list).post(create))
        .route("/service_accounts/{id}", get(account))
        .route("/service_accounts/{id}/api_keys", post(add_key))
        .route("/service_accounts/{id}/revoke", post(revoke_key))
}

/// A service account in a list.
pub struct AccountView {
    pub name: String,
    pub href: String,
    pub description: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    title: String,
    nav: Option<Nav>,
    org_seg: String,
    tab: &'static str,
    accounts: Vec<AccountView>,
    error: Option<String>,
}

async fn list_view(state: &AppState, c: &mut Ctx, o: &OrganizationRow, error: Option<String>) -> PageResult {
    c.set_current(o.id);
    let accounts = state
        .store
        .list_users(true, Some(o.id))
        .await?
        .into_iter()
        .map(|u| AccountView {
            href: format!("/service_accounts/{}", u.id),
            name: u.username,
            description: u.full_name.unwrap_or_default(),
            active: u.active,
        })
        .collect();
    let page = AccountsPage {
        title: format!("Service accounts of {}", o.name),
        nav: Some(c.nav.clone()),
        org_seg: seg(&o.name),
        tab: "service_accounts",
        accounts,
        error,
    };
    Ok(c.render(form_status(&page.error), &page))
}

/// Completes "You are not allowed to …" on the list and create pages.
const ACCOUNTS_WHAT: &str = "manage the service accounts of this organization";

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(org): Path<String>,
) -> PageResult {
    let (mut c, o) = org_page(&state, &headers, &uri, &org, Need::Manage, ACCOUNTS_WHAT).await?;
    list_view(&state, &mut c, &o, None).await
}

/// `POST /organizations/{org}/service_accounts`: the account and its first key (shown once).
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Form(f): Form<NamedForm>,
) -> PageResult {
    let back = format!("/organizations/{}/service_accounts", seg(&org));
    let (mut c, o) = org_form(&state, &headers, &back, &f.csrf, &org, Need::Manage, ACCOUNTS_WHAT).await?;
    let name = f.name.trim();
    let made = async {
        check_name(name, "service account")?;
        let a = state
            .store
            .create_user(NewUser {
                username: name.to_string(),
                full_name: non_empty(&f.description),
                is_service_account: true,
                organization_id: Some(o.id),
                active: true,
                ..Default::default()
            })
            .await?;
        let key = issue_key(&state, &a).await?;
        Ok::<_, Error>((a, key))
    }
    .await;
    match outcome(made)? {
        Ok((a, key)) => account_view(&state, &mut c, &a, &o, Some(key)).await,
        Err(reason) => list_view(&state, &mut c, &o, Some(reason)).await,
    }
}

async fn issue_key(state: &AppState, account: &UserRow) -> Result<String, Error> {
    let id = Uuid::new_v4();
    let (key, hash) = new_api_key(id)?;
    state.store.create_api_key(id, account.id, &hash).await?;
    Ok(key)
}

/// An API key in a list (never the secret).
pub struct KeyView {
    pub id: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    title: String,
    nav: Option<Nav>,
    id: String,
    org: String,
    org_seg: String,
    description: String,
    keys: Vec<KeyView>,
    new_key: Option<String>,
}

async fn account_view(
    state: &AppState,
    c: &mut Ctx,
    a: &UserRow,
    o: &OrganizationRow,
    new_key: Option<String>,
) -> PageResult {
    c.set_current(o.id);
    let keys = state
        .store
        .list_api_keys(a.id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            id: k.id.to_string(),
            created: when(&k.created),
            last_used: k.last_used.as_deref().map(when).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let page = AccountPage {
        title: format!("Service account {}", a.username),
        nav: Some(c.nav.clone()),
        id: a.id.to_string(),
        org: o.name.clone(),
        org_seg: seg(&o.name),
        description: a.full_name.clone().unwrap_or_default(),
        keys,
        new_key,
    };
    Ok(c.render(StatusCode::OK, &page))
}

/// The service account of the path, for the Admins/Managers of its organization.
async fn managed_account(state: &AppState, c: &Ctx, id: &str) -> Result<(UserRow, OrganizationRow), Error> {
    let missing = || Error::not_found("No such service account.");
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let a = state.store.get_user(id).await?.filter(|u| u.is_service_account).ok_or_else(missing)?;
    let org = a.organization_id.unwrap_or_default();
    let o = owning_org(state, c, org, Need::Manage, "manage this service account", missing).await?;
    Ok((a, o))
}

async fn account(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(id): Path<String>,
) -> PageResult {
    let mut c = ctx(&state, &headers, &uri).await?;
    let (a, o) = managed_account(&state, &c, &id).await?;
    account_view(&state, &mut c, &a, &o, None).await
}

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// `POST /service_accounts/{id}/api_keys`: a new key, shown on this answer only.
async fn add_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let back = format!("/service_accounts/{}", seg(&id));
    let mut c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let (a, o) = managed_account(&state, &c, &id).await?;
    let key = issue_key(&state, &a).await?;
    account_view(&state, &mut c, &a, &o, Some(key)).await
}

/// `POST /service_accounts/{id}/revoke`: delete one key.
async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let back = format!("/service_accounts/{}", seg(&id));
    let c = post_ctx(&state, &headers, &back, &f.csrf).await?;
    let (a, _) = managed_account(&state, &c, &id).await?;
    let key = Uuid::parse_str(&f.key).map_err(|_| Error::not_found("No such API key."))?;
    if !state.store.delete_api_key(a.id, key).await? {
        return Err(Error::not_found("No such API key.").into());
    }
    Ok(see_other(&back))
}
