//! Service connectors: `/service_connectors`, `/service_connectors/{id}` and the connector
//! type specifications `/service_connector_types[/{type}]`.
//!
//! Connectors are stored as the reference stores them, secret values in an internal secret of
//! the SQL secrets store. Lists never carry secret values unless `expand_secrets=true` is asked
//! for explicitly (the client does so only to fetch one connector by name); a single `GET`
//! carries them by default, as the reference's does. What needs a connector's own code
//! (verifying, listing reachable resources, issuing clients) answers 501: zenpro does not run
//! ZenML's Python connector implementations.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde_json::{Map, Value};
use zenpro_store::connectors::{
    CONNECTOR_LIST, ConnectorFilters, ConnectorUpdate, ConnectorView, NewConnector, get_connector_type,
    list_connector_types, types::connector_types,
};
use zenpro_store::secrets::SecretsCodec;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::config::SecretsStoreType;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::routes::components::check_len;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service_connectors", get(list).post(create))
        .route("/service_connectors/resources", get(list_resources))
        .route("/service_connectors/verify", post(verify_config))
        .route("/service_connectors/full_stack_resources", post(full_stack_resources))
        .route("/service_connectors/{connector_id}", get(get_one).put(update).delete(delete))
        .route("/service_connectors/{connector_id}/verify", put(verify))
        .route("/service_connectors/{connector_id}/client", get(client))
        .route("/service_connector_types", get(list_types))
        .route("/service_connector_types/{connector_type}", get(get_type))
}

/// The SQL secrets store's codec; `None` when another secrets store is configured (connectors
/// without secret values still work then).
fn codec(state: &AppState) -> Option<SecretsCodec> {
    let config = state.config();
    match config.secrets_store_type {
        SecretsStoreType::Sql => Some(SecretsCodec::new(config.secrets_encryption_key.as_ref().map(|k| k.0.as_str()))),
        _ => None,
    }
}

/// 501 for what only a connector implementation can do.
fn needs_connector_code(what: &str, connector_type: Option<&str>) -> Error {
    let which = match connector_type {
        Some(t) => format!("the '{t}' service connector implementation"),
        None => "service connector implementations".to_string(),
    };
    Error::NotImplemented(format!(
        "{what} is not supported by this zenpro server: it needs to run {which} (ZenML's Python connector \
         code), which zenpro does not include. Connectors can still be registered, updated, linked to stack \
         components and used by clients that have the connector type installed; register or update them with \
         `--no-verify`."
    ))
}

/// Render connectors, embedding the type specification of the types zenpro knows.
fn render(views: &[ConnectorView], hydrate: bool) -> Vec<Value> {
    let specs = connector_types();
    views
        .iter()
        .map(|v| {
            let spec = specs.iter().find(|s| s["connector_type"].as_str() == Some(v.row.connector_type())).cloned();
            models::service_connector(v, spec, hydrate)
        })
        .collect()
}

fn render_one(v: &ConnectorView, hydrate: bool) -> Value {
    render(std::slice::from_ref(v), hydrate).pop().unwrap_or_default()
}

/// `Union[str, ServiceConnectorTypeModel]`: a type name or a type specification.
fn connector_type_name(v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(m) => match m.get("connector_type") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(Error::validation("connector_type: Field required in the connector type specification")),
        },
        _ => Err(Error::validation("connector_type: Input should be a valid string")),
    }
}

/// `Dict[str, str]` labels.
fn check_labels(labels: &Map<String, Value>) -> Result<(), Error> {
    match labels.iter().find(|(_, v)| !v.is_string()) {
        Some((k, _)) => Err(Error::validation(format!("labels.{k}: Input should be a valid string"))),
        None => Ok(()),
    }
}

/// A datetime as pydantic reads it: ISO 8601, an offset converted to naive UTC.
fn parse_datetime(field: &str, s: &str) -> Result<NaiveDateTime, Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.naive_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or_else(|| Error::validation(format!("{field}: Input should be a valid datetime, got '{s}'")))
}

fn opt_datetime(field: &str, s: &Option<String>) -> Result<Option<NaiveDateTime>, Error> {
    s.as_deref().map(|s| parse_datetime(field, s)).transpose()
}

async fn list(State(state): State<AppState>, auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&CONNECTOR_LIST)?;
    let filters = ConnectorFilters {
        resource_type: q.get("resource_type").map(str::to_string),
        labels: q.get("labels_str").map(ConnectorFilters::parse_labels),
    };
    let codec = codec(&state);
    let expand = q.flag("expand_secrets", false)?;
    let mut page = state.store().list_connectors(&params, &filters, codec.as_ref().filter(|_| expand)).await?;
    if expand && let Some(allowed) = crate::pro::rbac::secret_value_ids(&state, &auth, "service_connector").await? {
        // Pro mode: connectors the caller neither owns nor may read secret values of lose their
        // secrets (`list_service_connectors` + `remove_secrets`).
        let me = auth.user_id();
        for v in &mut page.items {
            let owned = v.row.user_id.as_deref().is_none_or(|u| models::id_of(u) == me);
            if !owned && !allowed.contains(&models::id_of(&v.row.id)) {
                v.secrets = None;
            }
        }
    }
    let mut items = render(&page.items, params.hydrate).into_iter();
    Ok(Json(serde_json::to_value(page.map(|_| items.next().unwrap_or_default())).unwrap_or_default()))
}

/// `ServiceConnectorRequest` (the owner is the caller; `user` in the body is ignored).
#[derive(Deserialize)]
struct ConnectorBody {
    name: String,
    connector_type: Value,
    #[serde(default)]
    description: Option<String>,
    auth_method: String,
    #[serde(default)]
    resource_types: Option<Vec<String>>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    supports_instances: Option<bool>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    expires_skew_tolerance: Option<i64>,
    #[serde(default)]
    expiration_seconds: Option<i64>,
    #[serde(default)]
    configuration: Option<Map<String, Value>>,
    #[serde(default)]
    labels: Option<Map<String, Value>>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ConnectorBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    check_len("auth_method", &b.auth_method)?;
    if let Some(r) = &b.resource_id {
        check_len("resource_id", r)?;
    }
    let labels = b.labels.unwrap_or_default();
    check_labels(&labels)?;
    let new = NewConnector {
        name: b.name,
        connector_type: connector_type_name(&b.connector_type)?,
        description: b.description.unwrap_or_default(),
        auth_method: b.auth_method,
        resource_types: b.resource_types.unwrap_or_default(),
        resource_id: b.resource_id,
        supports_instances: b.supports_instances.unwrap_or(false),
        expires_at: opt_datetime("expires_at", &b.expires_at)?,
        expires_skew_tolerance: b.expires_skew_tolerance,
        expiration_seconds: b.expiration_seconds,
        configuration: b.configuration.unwrap_or_default(),
        labels,
    };
    let codec = codec(&state);
    let view = state.store().create_connector(new, auth.user_id(), codec.as_ref()).await?;
    Ok(Json(render_one(&view, true)))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    let hydrate = q.hydrate()?;
    let codec = codec(&state);
    let expand = q.flag("expand_secrets", true)?;
    let view = state.store().get_connector(id, codec.as_ref().filter(|_| expand)).await?;
    Ok(Json(render_one(&view, hydrate)))
}

/// `ServiceConnectorUpdate`: every field optional.
#[derive(Deserialize)]
struct ConnectorUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    connector_type: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
    #[serde(default)]
    resource_types: Option<Vec<String>>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    supports_instances: Option<bool>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    expires_skew_tolerance: Option<i64>,
    #[serde(default)]
    expiration_seconds: Option<i64>,
    #[serde(default)]
    configuration: Option<Map<String, Value>>,
    #[serde(default)]
    labels: Option<Map<String, Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ConnectorUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    for (field, v) in [("name", &b.name), ("auth_method", &b.auth_method), ("resource_id", &b.resource_id)] {
        if let Some(v) = v {
            check_len(field, v)?;
        }
    }
    if let Some(l) = &b.labels {
        check_labels(l)?;
    }
    let upd = ConnectorUpdate {
        name: b.name,
        connector_type: b.connector_type.filter(|v| !v.is_null()).as_ref().map(connector_type_name).transpose()?,
        description: b.description,
        auth_method: b.auth_method,
        resource_types: b.resource_types,
        resource_id: b.resource_id,
        supports_instances: b.supports_instances,
        expires_at: opt_datetime("expires_at", &b.expires_at)?,
        expires_skew_tolerance: b.expires_skew_tolerance,
        expiration_seconds: b.expiration_seconds,
        configuration: b.configuration,
        labels: b.labels,
    };
    let codec = codec(&state);
    let view = state.store().update_connector(id, upd, auth.user_id(), codec.as_ref()).await?;
    Ok(Json(render_one(&view, true)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_connector(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

/// `PUT /service_connectors/{id}/verify`: 404 for an unknown connector, else 501.
async fn verify(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let view = state.store().get_connector(path_uuid(&id)?, None).await?;
    Err(needs_connector_code("Verifying a service connector", Some(view.row.connector_type())))
}

/// `GET /service_connectors/{id}/client`: 404 for an unknown connector, else 501.
async fn client(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    let view = state.store().get_connector(path_uuid(&id)?, None).await?;
    Err(needs_connector_code("Issuing a service connector client", Some(view.row.connector_type())))
}

/// `POST /service_connectors/verify` (a connector configuration before registration): 501.
async fn verify_config(_auth: Auth, JsonBody(b): JsonBody<Value>) -> Result<Json<Value>, Error> {
    let t = b.get("connector_type").and_then(|v| connector_type_name(v).ok());
    Err(needs_connector_code("Verifying a service connector configuration", t.as_deref()))
}

/// `GET /service_connectors/resources`: 501.
async fn list_resources(_auth: Auth) -> Result<Json<Value>, Error> {
    Err(needs_connector_code("Listing the resources that service connectors can access", None))
}

/// `POST /service_connectors/full_stack_resources`: 501.
async fn full_stack_resources(_auth: Auth) -> Result<Json<Value>, Error> {
    Err(needs_connector_code("Listing the resources of a service connector for a full stack", None))
}

/// `GET /service_connector_types`, filtered by connector type, resource type and auth method.
async fn list_types(_auth: Auth, q: QueryPairs) -> Json<Value> {
    Json(Value::Array(list_connector_types(q.get("connector_type"), q.get("resource_type"), q.get("auth_method"))))
}

/// `GET /service_connector_types/{type}` (404 for a type zenpro does not know).
async fn get_type(_auth: Auth, Path(connector_type): Path<String>) -> Result<Json<Value>, Error> {
    get_connector_type(&connector_type).map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_read_as_naive_utc() {
        let t = parse_datetime("expires_at", "2026-01-02T03:04:05+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02 02:04:05");
        let t = parse_datetime("expires_at", "2026-01-02T03:04:05.123456").unwrap();
        assert_eq!(t.to_string(), "2026-01-02 03:04:05.123456");
        assert!(parse_datetime("expires_at", "soon").is_err());
    }

    #[test]
    fn connector_types_are_names_or_specifications() {
        assert_eq!(connector_type_name(&serde_json::json!("docker")).unwrap(), "docker");
        assert_eq!(connector_type_name(&serde_json::json!({"connector_type": "oauth2"})).unwrap(), "oauth2");
        assert!(connector_type_name(&serde_json::json!(5)).is_err());
    }
}
