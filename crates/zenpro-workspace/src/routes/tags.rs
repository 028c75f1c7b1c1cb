//! Tags: `/tags`, `/tags/{name_or_id}` and the tag ↔ resource links `/tag_resources`
//! (single and `/batch`; `DELETE` takes a JSON body).
//!
//! `POST /tags` answers 409 for a taken name: the client's `attach_tag` relies on it and falls
//! back to `GET /tags?name=equals:<name>` (SUMMARY G5).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::NameOrId;
use zenpro_store::tags::{COLORS, NewTag, TAG_LIST, TagResourceRow, TagRow, TagUpdate, TagView, is_resource_type};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs};
use crate::models::{Name, dt, envelope, opt_uuid, user_resource};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tags", get(list).post(create))
        .route("/tags/{tag}", get(get_one).put(update).delete(delete))
        .route("/tag_resources", post(create_link).delete(delete_link))
        .route("/tag_resources/batch", post(create_links).delete(delete_links))
}

fn tag_body(t: &TagRow) -> Value {
    json!({
        "created": dt(&t.created),
        "updated": dt(&t.updated),
        "user_id": opt_uuid(&t.user_id),
        "color": t.color,
        "exclusive": t.exclusive,
    })
}

/// `TagResponse` as nested in other entities' `resources.tags` (no metadata, no resources).
pub fn tag_json(t: &TagRow) -> Value {
    envelope(&t.id, Name::Of(Some(&t.name)), tag_body(t), None, None)
}

/// The tags of an entity, in the order given (by name, from the store).
pub fn tags_json(tags: &[TagRow]) -> Value {
    Value::Array(tags.iter().map(tag_json).collect())
}

/// `TagResponse` with `resources.user` and (hydrated) `metadata.tagged_count`.
pub fn tag_view_json(v: &TagView) -> Value {
    let metadata = v.tagged_count.map(|n| json!({ "tagged_count": n }));
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&v.row.id, Name::Of(Some(&v.row.name)), tag_body(&v.row), metadata, Some(resources))
}

/// `TagResourceResponse`.
pub fn tag_resource_json(r: &TagResourceRow) -> Value {
    let body = json!({
        "created": dt(&r.created),
        "updated": dt(&r.updated),
        "tag_id": zenpro_store::parse_id(&r.tag_id).to_string(),
        "resource_id": zenpro_store::parse_id(&r.resource_id).to_string(),
        "resource_type": r.resource_type,
    });
    envelope(&r.id, Name::Absent, body, None, None)
}

/// A `ColorVariants` value (422 otherwise).
fn check_color(c: &str) -> Result<(), Error> {
    if COLORS.contains(&c) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "Input should be {}: '{c}' is not a tag color.",
            COLORS.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// `TagRequest`; `user` is the caller.
#[derive(Deserialize)]
struct TagBody {
    name: String,
    #[serde(default)]
    exclusive: bool,
    color: Option<String>,
}

/// `TagUpdate`.
#[derive(Deserialize)]
struct TagUpdateBody {
    name: Option<String>,
    exclusive: Option<bool>,
    color: Option<String>,
}

/// `TagResourceRequest`.
#[derive(Deserialize)]
struct LinkBody {
    tag_id: Uuid,
    resource_id: Uuid,
    resource_type: String,
}

impl LinkBody {
    fn check(self) -> Result<(Uuid, Uuid, String), Error> {
        if !is_resource_type(&self.resource_type) {
            return Err(Error::validation(format!(
                "Input should be a taggable resource type: '{}' is not one.",
                self.resource_type
            )));
        }
        Ok((self.tag_id, self.resource_id, self.resource_type))
    }
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&TAG_LIST)?;
    let page = state.store().list_tags(&params).await?;
    Ok(Json(serde_json::to_value(page.map(|t| tag_view_json(&t))).unwrap_or_default()))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<TagBody>,
) -> Result<Json<Value>, Error> {
    if let Some(c) = &b.color {
        check_color(c)?;
    }
    let t = state
        .store()
        .create_tag(NewTag { name: b.name, color: b.color, exclusive: b.exclusive }, auth.user_id())
        .await?;
    Ok(Json(tag_view_json(&t)))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let t = state.store().get_tag(&NameOrId::parse(&key), q.hydrate()?).await?;
    Ok(Json(tag_view_json(&t)))
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<TagUpdateBody>,
) -> Result<Json<Value>, Error> {
    if let Some(c) = &b.color {
        check_color(c)?;
    }
    let t = state
        .store()
        .update_tag(&NameOrId::parse(&key), TagUpdate { name: b.name, color: b.color, exclusive: b.exclusive })
        .await?;
    Ok(Json(tag_view_json(&t)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_tag(&NameOrId::parse(&key)).await?;
    Ok(Json(Value::Null))
}

/// Check the links and that their resources exist (404 otherwise).
async fn checked_links(state: &AppState, links: Vec<LinkBody>) -> Result<Vec<(Uuid, Uuid, String)>, Error> {
    let links: Vec<(Uuid, Uuid, String)> = links.into_iter().map(LinkBody::check).collect::<Result<_, _>>()?;
    let resources: Vec<(String, Uuid)> = links.iter().map(|(_, r, t)| (t.clone(), *r)).collect();
    state.store().check_taggable_resources(&resources).await?;
    Ok(links)
}

async fn create_link(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<LinkBody>,
) -> Result<Json<Value>, Error> {
    let links = checked_links(&state, vec![b]).await?;
    let rows = state.store().create_tag_resources(&links).await?;
    let row = rows.first().ok_or_else(|| Error::internal("no tag resource was created"))?;
    Ok(Json(tag_resource_json(row)))
}

async fn create_links(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<Vec<LinkBody>>,
) -> Result<Json<Value>, Error> {
    let links = checked_links(&state, b).await?;
    let rows = state.store().create_tag_resources(&links).await?;
    Ok(Json(Value::Array(rows.iter().map(tag_resource_json).collect())))
}

async fn delete_link(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<LinkBody>,
) -> Result<Json<Value>, Error> {
    let link = b.check()?;
    state.store().delete_tag_resources(&[link]).await?;
    Ok(Json(Value::Null))
}

async fn delete_links(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<Vec<LinkBody>>,
) -> Result<Json<Value>, Error> {
    let links: Vec<(Uuid, Uuid, String)> = b.into_iter().map(LinkBody::check).collect::<Result<_, _>>()?;
    state.store().delete_tag_resources(&links).await?;
    Ok(Json(Value::Null))
}
