//! Stacks: `/stacks` and `/stacks/{id}`. Components live in [`super::components`], flavors in
//! [`super::flavors`].

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use zenpro_store::stacks::{ComponentRef, NewStack, STACK_LIST, StackUpdate};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models;
use crate::routes::components::{check_environment, check_len, object_or_null, present, secret_keys};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stacks", get(list).post(create))
        .route("/stacks/{stack_id}", get(get_one).put(update).delete(delete))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&STACK_LIST)?;
    let page = state.store().list_stacks(&params).await?;
    Ok(Json(serde_json::to_value(page.map(|s| models::stack(&s))).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let s = state.store().get_stack(path_uuid(&id)?, q.hydrate()?).await?;
    Ok(Json(models::stack(&s)))
}

/// `StackRequest`: `components` maps types to component ids, or to `ComponentInfo` objects for
/// components created with the stack.
#[derive(Deserialize)]
struct StackBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    stack_spec_path: Option<String>,
    components: Map<String, Value>,
    #[serde(default)]
    environment: Option<Value>,
    #[serde(default)]
    secrets: Option<Vec<Value>>,
    #[serde(default)]
    labels: Option<Map<String, Value>>,
    #[serde(default)]
    service_connectors: Vec<Value>,
}

/// `ComponentInfo` of a component created with its stack.
#[derive(Deserialize)]
struct ComponentInfo {
    flavor: String,
    #[serde(default)]
    service_connector_index: Option<i64>,
    #[serde(default)]
    configuration: Map<String, Value>,
}

fn uuid_item(kind: &str, v: &Value) -> Result<Uuid, Error> {
    v.as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Error::validation(format!("components.{kind}: Input should be a valid UUID, got {v}")))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<StackBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    check_len("description", &b.description)?;
    if let Some(env) = &b.environment {
        check_environment(env)?;
    }
    if !b.service_connectors.is_empty() {
        return Err(Error::NotImplemented(
            "Registering stacks with service connectors is not supported by this server.".into(),
        ));
    }
    let mut components = Vec::new();
    for (kind, list) in b.components {
        let Value::Array(items) = list else {
            return Err(Error::validation(format!("components.{kind}: Input should be a valid list")));
        };
        let mut refs = Vec::new();
        for item in items {
            if item.is_object() {
                let info: ComponentInfo =
                    serde_json::from_value(item).map_err(|e| Error::validation(format!("components.{kind}: {e}")))?;
                if info.service_connector_index.is_some() {
                    return Err(Error::validation(format!(
                        "Service connector index {} is out of range. Please provide a valid index referring to the position in the list of service connectors.",
                        info.service_connector_index.unwrap_or_default()
                    )));
                }
                refs.push(ComponentRef::New { flavor: info.flavor, configuration: Value::Object(info.configuration) });
            } else {
                refs.push(ComponentRef::Id(uuid_item(&kind, &item)?));
            }
        }
        components.push((kind, refs));
    }
    let s = state
        .store()
        .create_stack(
            NewStack {
                name: b.name,
                description: b.description,
                stack_spec_path: b.stack_spec_path,
                components,
                environment: b.environment.filter(|e| !e.is_null()),
                labels: b.labels.map(Value::Object),
                secrets: secret_keys(b.secrets)?,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(models::stack(&s)))
}

/// `StackUpdate`: only the fields sent are changed.
#[derive(Deserialize)]
struct StackUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    stack_spec_path: Option<Value>,
    #[serde(default)]
    components: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    environment: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    labels: Option<Value>,
    #[serde(default)]
    add_secrets: Option<Vec<Value>>,
    #[serde(default)]
    remove_secrets: Option<Vec<Value>>,
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<StackUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    for (f, v) in [("name", &b.name), ("description", &b.description)] {
        if let Some(v) = v {
            check_len(f, v)?;
        }
    }
    if let Some(env) = &b.environment {
        check_environment(env)?;
    }
    if let Some(l) = &b.labels {
        object_or_null("labels", l)?;
    }
    let stack_spec_path = match b.stack_spec_path {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s)),
        Some(_) => {
            return Err(Error::validation("stack_spec_path: Input should be a valid string"));
        }
    };
    let components = match b.components {
        None => None,
        Some(map) => {
            let mut out = Vec::new();
            for (kind, list) in map {
                let Value::Array(items) = list else {
                    return Err(Error::validation(format!("components.{kind}: Input should be a valid list")));
                };
                let ids = items.iter().map(|v| uuid_item(&kind, v)).collect::<Result<Vec<_>, _>>()?;
                out.push((kind, ids));
            }
            Some(out)
        }
    };
    let s = state
        .store()
        .update_stack(
            id,
            StackUpdate {
                name: b.name,
                description: b.description,
                stack_spec_path,
                components,
                environment: b.environment,
                labels: b.labels,
                add_secrets: secret_keys(b.add_secrets)?,
                remove_secrets: secret_keys(b.remove_secrets)?,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(models::stack(&s)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_stack(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}
