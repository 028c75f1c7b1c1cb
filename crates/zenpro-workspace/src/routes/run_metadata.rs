//! Run metadata: `POST /run-metadata` stores key/value metadata for runs, steps, artifact
//! versions, model versions, schedules and wait conditions (answering `null`).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use zenpro_store::run_metadata::{NewRunMetadata, RESOURCE_TABLES};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::JsonBody;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/run-metadata", post(create))
}

/// `MetadataTypeEnum` values.
const METADATA_TYPES: [&str; 12] =
    ["str", "int", "float", "bool", "list", "dict", "tuple", "set", "Uri", "Path", "DType", "StorageSize"];

/// `RunMetadataResource`.
#[derive(Deserialize)]
struct Resource {
    id: Uuid,
    #[serde(rename = "type")]
    kind: String,
}

/// `RunMetadataRequest`.
#[derive(Deserialize)]
struct MetadataBody {
    project: Uuid,
    resources: Vec<Resource>,
    #[serde(default)]
    stack_component_id: Option<Uuid>,
    values: Map<String, Value>,
    types: Map<String, Value>,
    #[serde(default)]
    publisher_step_id: Option<Uuid>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<MetadataBody>,
) -> Result<Json<Value>, Error> {
    let invalid: Vec<String> = b.values.keys().filter(|k| k.contains(':')).map(|k| format!("'{k}'")).collect();
    if !invalid.is_empty() {
        return Err(Error::validation(format!(
            "Value error, You can not use colons (`:`) in the key names when you are creating metadata for your \
             ZenML objects. Please change the following keys: [{}]",
            invalid.join(", ")
        )));
    }
    for r in &b.resources {
        if !RESOURCE_TABLES.iter().any(|(k, _, _)| *k == r.kind) {
            return Err(Error::validation(format!(
                "resources.type: Input should be {} (got '{}')",
                RESOURCE_TABLES.iter().map(|(k, _, _)| format!("'{k}'")).collect::<Vec<_>>().join(", "),
                r.kind
            )));
        }
    }
    let mut values = Vec::new();
    for (k, v) in b.values {
        let kind = b
            .types
            .get(&k)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::validation(format!("types.{k}: Field required")))?;
        if !METADATA_TYPES.contains(&kind) {
            return Err(Error::validation(format!("types.{k}: Input should be a metadata type (got '{kind}')")));
        }
        values.push((k, v, kind.to_string()));
    }
    state
        .store()
        .create_run_metadata(
            NewRunMetadata {
                project_id: b.project,
                resources: b.resources.into_iter().map(|r| (r.id, r.kind)).collect(),
                stack_component_id: b.stack_component_id,
                values,
                publisher_step_id: b.publisher_step_id,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(Value::Null))
}
