//! Stack components: `/components`, `/components/{id}` and `/component-types`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use uuid::Uuid;
use zenpro_store::components::{COMPONENT_LIST, COMPONENT_TYPES, ComponentUpdate, NewComponent};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/components", get(list).post(create))
        .route("/components/{component_id}", get(get_one).put(update).delete(delete))
        .route("/component-types", get(types))
}

/// `STR_FIELD_MAX_LENGTH` of the reference's request models.
pub const STR_FIELD_MAX_LENGTH: usize = 255;

/// Deserialize a field that may be present with `null` (`Some(Value::Null)`), unlike
/// `Option<Value>`, so updates can tell "set to null" from "not sent".
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A string field of at most 255 characters (422 otherwise, as pydantic does).
pub fn check_len(field: &str, v: &str) -> Result<(), Error> {
    if v.chars().count() > STR_FIELD_MAX_LENGTH {
        return Err(Error::validation(format!(
            "{field}: String should have at most {STR_FIELD_MAX_LENGTH} characters"
        )));
    }
    Ok(())
}

/// A stack component type (422 for anything else).
pub fn check_type(kind: &str) -> Result<(), Error> {
    if COMPONENT_TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "type: Input should be {} (got '{kind}')",
            COMPONENT_TYPES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// A JSON object or null (`Dict[str, Any]` fields).
pub fn object_or_null(field: &str, v: &Value) -> Result<(), Error> {
    if v.is_object() || v.is_null() {
        Ok(())
    } else {
        Err(Error::validation(format!("{field}: Input should be a valid dictionary")))
    }
}

/// An environment: a mapping of strings to strings, or null.
pub fn check_environment(v: &Value) -> Result<(), Error> {
    object_or_null("environment", v)?;
    if let Some(m) = v.as_object()
        && let Some((k, _)) = m.iter().find(|(_, x)| !x.is_string())
    {
        return Err(Error::validation(format!("environment.{k}: Input should be a valid string")));
    }
    Ok(())
}

/// Secret references: ids or names.
pub fn secret_keys(v: Option<Vec<Value>>) -> Result<Vec<String>, Error> {
    v.unwrap_or_default()
        .into_iter()
        .map(|s| match s {
            Value::String(s) => Ok(s),
            _ => Err(Error::validation("secrets: Input should be a valid UUID or string")),
        })
        .collect()
}

/// `{{ name.key }}` (`secret_utils.is_secret_reference`).
fn is_secret_reference(s: &str) -> bool {
    let Some(inner) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) else {
        return false;
    };
    let inner = inner.trim();
    let Some((a, b)) = inner.split_once('.') else {
        return false;
    };
    !a.is_empty() && !b.is_empty() && !a.contains(char::is_whitespace) && !b.contains(char::is_whitespace)
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&COMPONENT_LIST)?;
    let page = state.store().list_components(&params).await?;
    let items = page.items.iter().map(|c| models::component(c, params.hydrate)).collect::<Result<Vec<_>, _>>()?;
    let mut items = items.into_iter();
    Ok(Json(serde_json::to_value(page.map(|_| items.next().unwrap_or_default())).unwrap_or_default()))
}

/// `ComponentRequest` (the owner is the caller; `user` in the body is ignored).
#[derive(Deserialize)]
struct ComponentBody {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    flavor: String,
    #[serde(default)]
    environment: Option<Value>,
    #[serde(default)]
    secrets: Option<Vec<Value>>,
    configuration: Map<String, Value>,
    #[serde(default)]
    connector_resource_id: Option<String>,
    #[serde(default)]
    labels: Option<Map<String, Value>>,
    #[serde(default)]
    connector: Option<Uuid>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ComponentBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    check_len("flavor", &b.flavor)?;
    check_type(&b.kind)?;
    if is_secret_reference(&b.name) {
        return Err(Error::validation(
            "name: Value error, Passing the `name` attribute of a stack component as a secret reference is not allowed.",
        ));
    }
    if let Some(env) = &b.environment {
        check_environment(env)?;
    }
    let view = state
        .store()
        .create_component(
            NewComponent {
                name: b.name,
                kind: b.kind,
                flavor: b.flavor,
                configuration: Value::Object(b.configuration),
                labels: b.labels.map(Value::Object),
                environment: b.environment.filter(|e| !e.is_null()),
                connector_resource_id: b.connector_resource_id,
                secrets: secret_keys(b.secrets)?,
            },
            b.connector,
            auth.user_id(),
        )
        .await?;
    Ok(Json(models::component(&view, true)?))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let hydrate = q.hydrate()?;
    let view = state.store().get_component(path_uuid(&id)?, hydrate).await?;
    Ok(Json(models::component(&view, hydrate)?))
}

/// `ComponentUpdate`: only the fields sent are changed.
#[derive(Deserialize)]
struct ComponentUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    configuration: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    environment: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    labels: Option<Value>,
    #[serde(default)]
    connector: Option<Uuid>,
    #[serde(default)]
    connector_resource_id: Option<String>,
    #[serde(default)]
    add_secrets: Option<Vec<Value>>,
    #[serde(default)]
    remove_secrets: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ComponentUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(n) = &b.name {
        check_len("name", n)?;
    }
    if let Some(env) = &b.environment {
        check_environment(env)?;
    }
    if let Some(l) = &b.labels {
        object_or_null("labels", l)?;
    }
    let view = state
        .store()
        .update_component(
            id,
            ComponentUpdate {
                name: b.name,
                configuration: b.configuration.map(Value::Object),
                environment: b.environment,
                labels: b.labels,
                add_secrets: secret_keys(b.add_secrets)?,
                remove_secrets: secret_keys(b.remove_secrets)?,
                connector: b.connector,
                connector_resource_id: b.connector_resource_id,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(models::component(&view, true)?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_component(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

/// `GET /component-types`: every stack component type.
async fn types(_auth: Auth) -> Json<Value> {
    Json(serde_json::json!(COMPONENT_TYPES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_are_recognised() {
        assert!(is_secret_reference("{{ s.key }}"));
        assert!(is_secret_reference("{{s.key}}"));
        assert!(!is_secret_reference("plain"));
        assert!(!is_secret_reference("{{ nodot }}"));
    }
}
