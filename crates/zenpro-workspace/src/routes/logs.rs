//! Log records: `POST /logs`, `GET /logs/{id}`, `PUT /logs/{id}` (link to a run or step).
//! The log bytes never pass through the server.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::logs::{LogsRow, LogsView, NewLogs};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_uuid, user_resource};
use crate::routes::pipelines::scoped_body;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/logs", post(create)).route("/logs/{logs_id}", get(get_one).put(update))
}

/// The `source` of logs written by a step runner (needs no artifact or log store).
const RUNNER_SOURCE: &str = "runner";

fn logs_body(l: &LogsRow) -> Value {
    let mut body = scoped_body(&l.created, &l.updated, &l.user_id, &l.project_id);
    body.insert("uri".into(), json!(l.uri));
    body.insert("source".into(), json!(l.source));
    body.insert("step_run_id".into(), opt_uuid(&l.step_run_id));
    body.insert("pipeline_run_id".into(), opt_uuid(&l.pipeline_run_id));
    body.insert("artifact_store_id".into(), opt_uuid(&l.artifact_store_id));
    body.insert("log_store_id".into(), opt_uuid(&l.log_store_id));
    body.insert("hook_invocation_id".into(), opt_uuid(&l.hook_invocation_id));
    Value::Object(body)
}

/// `LogsResponse` as runs and steps embed it in `log_collection`.
pub fn logs_nested(l: &LogsRow) -> Value {
    envelope(&l.id, Name::Absent, logs_body(l), None, None)
}

/// `LogsResponse`.
pub fn logs_json(v: &LogsView, hydrate: bool) -> Value {
    let l = &v.row;
    let metadata = hydrate.then(|| {
        json!({
            "step_run_id": opt_uuid(&l.step_run_id),
            "pipeline_run_id": opt_uuid(&l.pipeline_run_id),
            "artifact_store_id": opt_uuid(&l.artifact_store_id),
            "log_store_id": opt_uuid(&l.log_store_id),
            "hook_invocation_id": opt_uuid(&l.hook_invocation_id),
        })
    });
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&l.id, Name::Absent, logs_body(l), metadata, Some(resources))
}

/// `LogsRequest`, also as a run's or step's `logs`.
#[derive(Deserialize, Clone)]
pub struct LogsBody {
    #[serde(default)]
    pub project: Option<Uuid>,
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub artifact_store_id: Option<Uuid>,
    #[serde(default)]
    pub log_store_id: Option<Uuid>,
    #[serde(default)]
    pub pipeline_run_id: Option<Uuid>,
    #[serde(default)]
    pub step_run_id: Option<Uuid>,
    #[serde(default)]
    pub hook_invocation_id: Option<Uuid>,
}

impl LogsBody {
    /// The request's validators, then the record to create (project as given or `project`).
    pub fn into_new(self, project: Uuid) -> Result<NewLogs, Error> {
        if self.uri.as_ref().is_some_and(|u| u.chars().count() >= 65_535) {
            return Err(Error::validation("uri: The length of the value for this field can not exceed 65535"));
        }
        if self.artifact_store_id.is_none() && self.log_store_id.is_none() && self.source != RUNNER_SOURCE {
            return Err(Error::validation(
                "Value error, Either an `artifact_store_id` or a `log_store_id` must be set.",
            ));
        }
        if self.step_run_id.is_some() && self.pipeline_run_id.is_some() {
            return Err(Error::validation("Value error, Two different IDs can not be set at the same time."));
        }
        Ok(NewLogs {
            id: self.id,
            project_id: self.project.unwrap_or(project),
            uri: self.uri,
            source: self.source,
            artifact_store_id: self.artifact_store_id,
            log_store_id: self.log_store_id,
            pipeline_run_id: self.pipeline_run_id,
            step_run_id: self.step_run_id,
            hook_invocation_id: self.hook_invocation_id,
        })
    }
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<LogsBody>,
) -> Result<Json<Value>, Error> {
    let default_project = match b.project {
        Some(p) => p,
        None => state.store().project_scope(None, &state.config().default_project_name).await?,
    };
    let id = state.store().create_logs(b.into_new(default_project)?, auth.user_id()).await?;
    Ok(Json(logs_json(&state.store().get_logs(id).await?, true)))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let v = state.store().get_logs(path_uuid(&id)?).await?;
    Ok(Json(logs_json(&v, q.hydrate()?)))
}

/// `LogsUpdate`.
#[derive(Deserialize)]
struct LogsUpdateBody {
    #[serde(default)]
    pipeline_run_id: Option<Uuid>,
    #[serde(default)]
    step_run_id: Option<Uuid>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<LogsUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    state.store().update_logs(id, b.pipeline_run_id, b.step_run_id).await?;
    Ok(Json(logs_json(&state.store().get_logs(id).await?, true)))
}
