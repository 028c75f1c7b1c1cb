//! Endpoints of the zenml 0.98.0 server that zenpro does not implement yet. Each answers
//! `501 {"detail": ["NotImplementedError", "<METHOD> <path> is not implemented by zenpro"]}`
//! after authentication (so an anonymous caller still gets 401 first), never a bare 404:
//! a client calling one learns what is missing. The list comes from the reference server's
//! OpenAPI document minus the routes zenpro serves.

use axum::Router;
use axum::extract::MatchedPath;
use axum::routing::{MethodFilter, on};
use http::Method;
use zenpro_types::Error;

use crate::auth::Auth;
use crate::state::AppState;

/// `(path under /api/v1, methods)`; parameter names match the implemented routes they share a
/// prefix with (the router refuses two names at one position).
const UNIMPLEMENTED: &[(&str, &[Method])] = &[
    ("/artifact_versions/{id}/data", &[Method::GET]),
    ("/artifact_versions/{id}/download-token", &[Method::GET]),
    ("/curated_visualizations", &[Method::POST]),
    ("/curated_visualizations/{id}", &[Method::DELETE, Method::GET, Method::PUT]),
    ("/flavors/sync", &[Method::PATCH]),
    ("/load-info", &[Method::GET]),
    ("/logs/{logs_id}/entries", &[Method::GET]),
    ("/pipeline_snapshots/prune", &[Method::POST]),
    ("/pipeline_snapshots/{snapshot_id}/code", &[Method::GET]),
    ("/pipeline_snapshots/{snapshot_id}/download-token", &[Method::GET]),
    ("/resource_requests", &[Method::GET]),
    ("/resource_requests/{id}", &[Method::GET]),
    ("/resource_requests/{id}/release", &[Method::POST]),
    ("/resource_requests/{id}/renew", &[Method::POST]),
    ("/run_wait_conditions", &[Method::GET, Method::POST]),
    ("/run_wait_conditions/{id}", &[Method::GET, Method::PUT]),
    ("/run_wait_conditions/{id}/resolve", &[Method::PUT]),
    ("/runs/statistics", &[Method::POST]),
    ("/runs/{run_id}/dag", &[Method::GET]),
    ("/runs/{run_id}/events", &[Method::POST]),
    ("/runs/{run_id}/events/stream", &[Method::GET]),
    ("/runs/{run_id}/logs", &[Method::GET]),
    ("/runs/{run_id}/refresh", &[Method::POST]),
    ("/runs/{run_id}/stop", &[Method::POST]),
    ("/secrets_operations/backup", &[Method::PUT]),
    ("/secrets_operations/restore", &[Method::PUT]),
    ("/services", &[Method::GET, Method::POST]),
    ("/services/{id}", &[Method::DELETE, Method::GET, Method::PUT]),
    ("/stack-deployment/config", &[Method::GET]),
    ("/stack-deployment/info", &[Method::GET]),
    ("/stack-deployment/stack", &[Method::GET]),
    ("/steps/{step_id}/logs", &[Method::GET]),
    ("/supported-events", &[Method::GET]),
    ("/triggers", &[Method::GET, Method::POST]),
    ("/triggers/{id}", &[Method::DELETE, Method::GET, Method::PUT]),
    ("/triggers/{id}/dispatch_state", &[Method::DELETE]),
    ("/triggers/{id}/pipeline_snapshots/{id2}", &[Method::DELETE, Method::PUT]),
    ("/webhooks", &[Method::GET, Method::POST]),
    ("/webhooks/{id}", &[Method::DELETE, Method::GET, Method::PUT]),
    ("/webhooks/{id}/events/raw", &[Method::GET]),
    ("/webhooks/{id}/secret", &[Method::PUT]),
    ("/webhooks/{id}/{id2}/events", &[Method::POST]),
    ("/workspaces/{project}/code_repositories", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/components", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/models", &[Method::POST]),
    ("/workspaces/{project}/models/{id2}/model_versions", &[Method::POST]),
    ("/workspaces/{project}/pipeline_builds", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/pipeline_deployments", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/pipelines", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/resources", &[Method::GET]),
    ("/workspaces/{project}/run-metadata", &[Method::POST]),
    ("/workspaces/{project}/run_templates", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/runs", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/schedules", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/secrets", &[Method::POST]),
    ("/workspaces/{project}/service_connectors", &[Method::GET, Method::POST]),
    ("/workspaces/{project}/services", &[Method::POST]),
    ("/workspaces/{project}/stacks", &[Method::GET, Method::POST]),
];

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (path, methods) in UNIMPLEMENTED {
        for method in *methods {
            let filter = MethodFilter::try_from(method.clone()).expect("the table holds standard methods");
            router = router.route(path, on(filter, not_implemented));
        }
    }
    router
}

async fn not_implemented(_auth: Auth, method: Method, path: MatchedPath) -> Error {
    let path = path.as_str();
    Error::NotImplemented(format!("{method} {path} is not implemented by zenpro"))
}
