//! Projects: `/projects` and `/projects/{name_or_id}` (also under their deprecated name
//! `/workspaces`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use zenpro_store::NameOrId;
use zenpro_store::projects::{NewProject, PROJECT_LIST, ProjectUpdate};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs};
use crate::models;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{project}", get(get_one).put(update).delete(delete))
        // The deprecated `/workspaces` name of projects, still served by the reference.
        .route("/workspaces", get(list).post(create))
        .route("/workspaces/{project}", get(get_one).put(update).delete(delete))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&PROJECT_LIST)?;
    let page = state.store().list_projects(&params).await?;
    Ok(Json(serde_json::to_value(page.map(|p| models::project(&p, params.hydrate))).unwrap_or_default()))
}

/// `^[a-z0-9_-]+$`, 1..=50 characters.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.chars().count() <= 50
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "Invalid project name '{name}': it must contain only lowercase letters, numbers, underscores and hyphens and be at most 50 characters long."
        )))
    }
}

fn check_len(field: &str, v: &str) -> Result<(), Error> {
    if v.chars().count() > 255 {
        return Err(Error::validation(format!("The {field} must be at most 255 characters long.")));
    }
    Ok(())
}

#[derive(Deserialize)]
struct ProjectBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    description: String,
    project_metadata: Option<serde_json::Map<String, Value>>,
}

async fn create(
    State(state): State<AppState>,
    _auth: Auth,
    JsonBody(b): JsonBody<ProjectBody>,
) -> Result<Json<Value>, Error> {
    let mut name = b.name;
    let mut display_name = b.display_name;
    if name.is_empty() && !display_name.is_empty() {
        name = display_name
            .to_lowercase()
            .replace(' ', "-")
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
            .collect();
    }
    if display_name.is_empty() {
        display_name = name.clone();
    }
    check_name(&name)?;
    check_len("display name", &display_name)?;
    check_len("description", &b.description)?;
    let p = state
        .store()
        .create_project(NewProject {
            name,
            display_name,
            description: b.description,
            metadata_json: Value::Object(b.project_metadata.unwrap_or_default()).to_string(),
        })
        .await?;
    Ok(Json(models::project(&p, true)))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let p = state.store().get_project(&NameOrId::parse(&key)).await?;
    Ok(Json(models::project(&p, q.hydrate()?)))
}

#[derive(Deserialize)]
struct ProjectUpdateBody {
    name: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    project_metadata: Option<serde_json::Map<String, Value>>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    JsonBody(b): JsonBody<ProjectUpdateBody>,
) -> Result<Json<Value>, Error> {
    if let Some(n) = &b.name {
        check_name(n)?;
        let cur = state.store().get_project(&NameOrId::parse(&key)).await?;
        if cur.name == state.config().default_project_name && *n != cur.name {
            return Err(Error::forbidden("The name of the default project cannot be changed."));
        }
    }
    for (f, v) in [("display name", &b.display_name), ("description", &b.description)] {
        if let Some(v) = v {
            check_len(f, v)?;
        }
    }
    let p = state
        .store()
        .update_project(
            &NameOrId::parse(&key),
            ProjectUpdate {
                name: b.name,
                display_name: b.display_name,
                description: b.description,
                metadata_json: b.project_metadata.map(|m| Value::Object(m).to_string()),
            },
        )
        .await?;
    Ok(Json(models::project(&p, true)))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(key): Path<String>) -> Result<Json<Value>, Error> {
    let p = state.store().get_project(&NameOrId::parse(&key)).await?;
    if p.name == state.config().default_project_name {
        return Err(Error::forbidden("The default project cannot be deleted."));
    }
    state.store().delete_project(&NameOrId::parse(&key)).await?;
    Ok(Json(Value::Null))
}
