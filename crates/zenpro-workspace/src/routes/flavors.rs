//! Flavors: `/flavors` and `/flavors/{id}`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use zenpro_store::flavors::{FLAVOR_LIST, FlavorUpdate, FlavorView, NewFlavor};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::routes::components::{check_len, check_type};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flavors", get(list).post(create))
        .route("/flavors/{flavor_id}", get(get_one).put(update).delete(delete))
}

fn flavor_json(f: &FlavorView, hydrate: bool) -> Value {
    models::flavor(&f.row, Some(f.user.as_ref()), hydrate)
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&FLAVOR_LIST)?;
    let page = state.store().list_flavors(&params).await?;
    Ok(Json(serde_json::to_value(page.map(|f| flavor_json(&f, params.hydrate))).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let f = state.store().get_flavor(path_uuid(&id)?).await?;
    Ok(Json(flavor_json(&f, q.hydrate()?)))
}

/// `FlavorRequest` (the owner is the caller for custom flavors; `display_name` is accepted but,
/// as in the reference, not stored).
#[derive(Deserialize)]
struct FlavorBody {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    config_schema: Map<String, Value>,
    #[serde(default)]
    connector_type: Option<String>,
    #[serde(default)]
    connector_resource_type: Option<String>,
    #[serde(default)]
    connector_resource_id_attr: Option<String>,
    source: String,
    integration: Option<String>,
    #[serde(default)]
    logo_url: Option<String>,
    #[serde(default)]
    docs_url: Option<String>,
    #[serde(default)]
    sdk_docs_url: Option<String>,
    #[serde(default = "yes")]
    is_custom: bool,
}

fn yes() -> bool {
    true
}

fn check_lens(fields: &[(&str, Option<&str>)]) -> Result<(), Error> {
    for (name, v) in fields {
        if let Some(v) = v {
            check_len(name, v)?;
        }
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<FlavorBody>,
) -> Result<Json<Value>, Error> {
    check_type(&b.kind)?;
    check_lens(&[
        ("name", Some(&b.name)),
        ("source", Some(&b.source)),
        ("integration", b.integration.as_deref()),
        ("connector_type", b.connector_type.as_deref()),
        ("connector_resource_type", b.connector_resource_type.as_deref()),
        ("connector_resource_id_attr", b.connector_resource_id_attr.as_deref()),
    ])?;
    let f = state
        .store()
        .create_flavor(NewFlavor {
            name: b.name,
            kind: b.kind,
            source: b.source,
            config_schema: Value::Object(b.config_schema),
            integration: b.integration,
            connector_type: b.connector_type,
            connector_resource_type: b.connector_resource_type,
            connector_resource_id_attr: b.connector_resource_id_attr,
            logo_url: b.logo_url,
            docs_url: b.docs_url,
            sdk_docs_url: b.sdk_docs_url,
            is_custom: b.is_custom,
            user_id: Some(auth.user_id()),
        })
        .await?;
    Ok(Json(flavor_json(&f, true)))
}

/// A nullable field of an update: absent → `None`, null → `Some(None)`.
#[derive(Default)]
struct Nullable(Option<Option<String>>);

impl<'de> Deserialize<'de> for Nullable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<String>::deserialize(d).map(|v| Nullable(Some(v)))
    }
}

/// `FlavorUpdate`: only the fields sent are changed.
#[derive(Deserialize)]
struct FlavorUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_name: Nullable,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    config_schema: Option<Map<String, Value>>,
    #[serde(default)]
    connector_type: Nullable,
    #[serde(default)]
    connector_resource_type: Nullable,
    #[serde(default)]
    connector_resource_id_attr: Nullable,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    integration: Nullable,
    #[serde(default)]
    logo_url: Nullable,
    #[serde(default)]
    docs_url: Nullable,
    #[serde(default)]
    sdk_docs_url: Nullable,
    #[serde(default)]
    is_custom: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<FlavorUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(k) = &b.kind {
        check_type(k)?;
    }
    let inner = |n: &Nullable| n.0.clone().flatten();
    check_lens(&[
        ("name", b.name.as_deref()),
        ("source", b.source.as_deref()),
        ("display_name", inner(&b.display_name).as_deref()),
        ("integration", inner(&b.integration).as_deref()),
    ])?;
    let f = state
        .store()
        .update_flavor(
            id,
            FlavorUpdate {
                name: b.name,
                display_name: b.display_name.0,
                kind: b.kind,
                config_schema: b.config_schema.map(Value::Object),
                connector_type: b.connector_type.0,
                connector_resource_type: b.connector_resource_type.0,
                connector_resource_id_attr: b.connector_resource_id_attr.0,
                source: b.source,
                integration: b.integration.0,
                logo_url: b.logo_url.0,
                docs_url: b.docs_url.0,
                sdk_docs_url: b.sdk_docs_url.0,
                is_custom: b.is_custom,
            },
        )
        .await?;
    Ok(Json(flavor_json(&f, true)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_flavor(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
