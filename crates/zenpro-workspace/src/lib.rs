//! The zenpro workspace server: the ZenML 0.98 REST API (`/api/v1`) over the workspace store.
//!
//! [`build`] opens the database (creating the ZenML schema on an empty one), makes sure of the
//! first-start rows and returns the [`AppState`]; [`router`] builds the axum app, so tests run the
//! same app in-process. It depends on `zenpro-store` for all SQL and never runs SQL itself.

pub mod auth;
pub mod config;
pub mod extract;
pub mod models;
pub mod pro;
pub mod routes;
pub mod secrets_backend;
pub mod state;
pub use zenpro_tls as tls;

use axum::Router;
use axum::http::{HeaderValue, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use zenpro_store::schema::{self, InitOptions, Outcome};
use zenpro_store::settings::DefaultUser;
use zenpro_store::{Db, Store};
use zenpro_types::Error;

pub use config::Config;
pub use state::AppState;

/// Read or create the JWT key: the configured one, else a key generated once and kept in
/// `<data_dir>/workspace/jwt_secret_key` (owner-only), so tokens survive a restart.
fn jwt_key(config: &Config) -> Result<Vec<u8>, Error> {
    if let Some(k) = &config.jwt_secret_key {
        return Ok(k.0.as_bytes().to_vec());
    }
    let path = config.data_dir.join("workspace").join("jwt_secret_key");
    zenpro_auth::key_file::load_or_generate(&path, "ZENML_SERVER_JWT_SECRET_KEY")
}

/// Open the database and make sure it serves ZenML 0.98.0 (no serving). Used by
/// `zenpro workspace migrate`.
pub async fn migrate(config: &Config) -> Result<(Store, Outcome), Error> {
    let db = Db::connect(&config.store_url).await?;
    let outcome = schema::ensure_schema(
        &db,
        &InitOptions {
            server_id: config.external_server_id,
            server_name: "default".into(),
            enable_analytics: config.analytics_opt_in,
            // A Pro workspace gets no default project (pro-protocol §3.2).
            default_project: (!config.is_pro()).then(|| config.default_project_name.clone()),
        },
    )
    .await?;
    let store = Store::new(db);
    Ok((store, outcome))
}

/// Open the database, create or check the schema, make sure of the default rows, and return
/// the state of a ready server.
pub async fn build(config: Config) -> Result<AppState, Error> {
    let (store, outcome) = migrate(&config).await?;
    match outcome {
        Outcome::Created => {
            tracing::info!(url = %zenpro_store::db::redact_url(&config.store_url), "created the ZenML 0.98.0 schema")
        }
        Outcome::Existing => {
            tracing::info!(url = %zenpro_store::db::redact_url(&config.store_url), "serving an existing ZenML 0.98.0 database")
        }
    }
    // Hashing is slow: only hash the default password while activation is still pending.
    let default_user = if config.auto_activate && !config.is_pro() && !store.settings().await?.active {
        let pw = config.default_user_password.0.clone();
        Some(DefaultUser {
            name: config.default_user_name.clone(),
            password_set: !pw.is_empty(),
            password_hash: auth::password::hash(pw).await?,
        })
    } else {
        None
    };
    let default_project = (!config.is_pro()).then_some(config.default_project_name.as_str());
    store.ensure_defaults(default_project, default_user.as_ref()).await?;
    if config.is_pro() && !store.settings().await?.active {
        // EXTERNAL servers are activated at initialisation, without a default user.
        store
            .update_settings(zenpro_store::settings::SettingsUpdate { active: Some(true), ..Default::default() })
            .await?;
    }
    let server_id = store.server_id().await?;
    let key = jwt_key(&config)?;
    // Pro mode: enroll with the control plane; a failure stops start-up (as the reference).
    let pro = match &config.pro {
        Some(p) => Some(pro::Pro::start(p.clone(), &config.server_url).await?),
        None => None,
    };
    Ok(AppState::with_pro(store, config, server_id, key, pro))
}

async fn not_found() -> impl IntoResponse {
    (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"detail": "Not Found"})))
}

/// The whole app: `/health`, `/ready` and the API under `/api/v1`.
pub fn router(state: AppState) -> Router {
    let server_header = HeaderValue::from_str(&state.server_id().to_string()).ok();
    let mut app = Router::new();
    if state.config().is_pro() {
        // No dashboard in Pro mode: `/` goes to the workspace's page on the control plane.
        let dashboard = state.config().dashboard_url.clone();
        app = app.route("/", get(move || async move { axum::response::Redirect::temporary(&dashboard) }));
    } else {
        // OSS mode: the workspace views at `/`, clients of this server's own REST API, logged in
        // with this server's auth cookie (`zenpro-dashboard`).
        let server_url = state.config().server_url.clone();
        let source: zenpro_dashboard::SharedSource = std::sync::Arc::new(zenpro_dashboard::OssSource {
            base_url: (!server_url.is_empty()).then_some(server_url),
            cookie_name: state.cookie_name(),
        });
        let http = zenpro_dashboard::http_client(&state.config().ca);
        app = app
            .merge(zenpro_dashboard::workspace_views(source.clone(), http.clone()))
            .merge(zenpro_dashboard::login_router(source, http))
            .merge(zenpro_dashboard::assets_router());
    }
    let pro_mode = state.config().is_pro();
    app.route("/health", get(routes::info::health))
        .route("/ready", get(routes::info::ready))
        .nest("/api/v1", routes::api())
        .fallback(not_found)
        // Pro mode: permission checks against the control plane (a no-op otherwise).
        .layer(axum::middleware::from_fn_with_state(state.clone(), pro::rbac::middleware))
        .layer(axum::middleware::from_fn_with_state(state.clone(), pro::account_rules))
        .with_state(state)
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            // Endpoints the reference does not register in Pro mode.
            if pro_mode
                && let Some(rest) = req.uri().path().strip_prefix("/api/v1")
                && let Some((status, detail)) = pro::disabled_endpoint(req.method(), rest)
            {
                return (status, axum::Json(serde_json::json!({ "detail": detail }))).into_response();
            }
            next.run(req).await
        }))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            let server_header = server_header.clone();
            async move {
                // Echo the client's request id (ZenML sends 8 hex chars) and name the server.
                let request_id = req.headers().get("x-request-id").cloned();
                let mut resp = next.run(req).await;
                if let Some(v) = server_header {
                    resp.headers_mut().insert("server", v);
                }
                if let Some(v) = request_id {
                    resp.headers_mut().insert("x-request-id", v);
                }
                resp
            }
        }))
        .layer(CatchPanicLayer::custom(|_| Error::internal("handler panicked").into_response()))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ))
}
