//! HTTP routes, one module per resource; each exposes `router() -> Router<AppState>`.

pub mod artifacts;
pub mod code_repositories;
pub mod components;
pub mod connectors;
pub mod deployments;
pub mod devices;
pub mod flavors;
pub mod hook_invocations;
pub mod info;
pub mod login;
pub mod logs;
pub mod models;
pub mod pipelines;
pub mod projects;
pub mod run_metadata;
pub mod run_templates;
pub mod runs;
pub mod schedules;
pub mod secrets;
pub mod service_accounts;
pub mod snapshots;
pub mod stacks;
pub mod statistics;
pub mod steps;
pub mod tags;
pub mod unimplemented;
pub mod users;

use axum::Router;

use crate::state::AppState;

/// The `/api/v1` API.
pub fn api() -> Router<AppState> {
    Router::new()
        .merge(info::router())
        .merge(login::router())
        .merge(users::router())
        .merge(service_accounts::router())
        .merge(devices::router())
        .merge(projects::router())
        .merge(stacks::router())
        .merge(components::router())
        .merge(connectors::router())
        .merge(flavors::router())
        .merge(secrets::router())
        .merge(artifacts::router())
        .merge(tags::router())
        .merge(models::router())
        .merge(pipelines::router())
        .merge(code_repositories::router())
        .merge(snapshots::router())
        .merge(schedules::router())
        .merge(run_templates::router())
        .merge(runs::router())
        .merge(steps::router())
        .merge(logs::router())
        .merge(run_metadata::router())
        .merge(hook_invocations::router())
        .merge(deployments::router())
        .merge(statistics::router())
        .merge(unimplemented::router())
}
