//! `GET /statistics` (stacks, components, projects of the server) and
//! `GET /projects/{project}/statistics` (pipelines and runs of one project), as the
//! reference's `ServerStatistics` / `ProjectStatistics`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use zenpro_store::NameOrId;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::models;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/statistics", get(server))
        .route("/projects/{project}/statistics", get(project))
        // The deprecated `/workspaces` name of projects, still served by the reference.
        .route("/workspaces/{project}/statistics", get(project))
}

async fn server(State(state): State<AppState>, _auth: Auth) -> Result<Json<Value>, Error> {
    let s = state.store().server_statistics().await?;
    Ok(Json(json!({"stacks": s.stacks, "components": s.components, "projects": s.projects})))
}

async fn project(State(state): State<AppState>, _auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    let p = state.store().get_project(&NameOrId::parse(&key)).await?;
    let s = state.store().project_statistics(models::id_of(&p.id)).await?;
    Ok(Json(json!({"pipelines": s.pipelines, "runs": s.runs})))
}
