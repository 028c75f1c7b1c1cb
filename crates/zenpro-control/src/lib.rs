//! The zenpro control plane: users, organizations, workspaces, teams, roles, service accounts
//! and the ZenML Pro protocol (`docs/control-plane.md`).
//!
//! [`migrate`] opens the database and brings its own schema up to date; [`build`] also loads the
//! token key and creates the bootstrap admin, returning the [`AppState`]; [`router`] builds the
//! axum app, so tests run the same app in-process. All SQL lives in `store` (over `db`, the one
//! place that knows the three backends); it does not depend on the workspace server's crates.

pub mod access;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod extract;
pub mod models;
pub mod pages;
pub mod rbac;
pub mod routes;
pub mod schema;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::http::Request;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
pub use zenpro_types::Error;

pub use config::Config;
pub use store::Store;

/// Shared state of every request: the store, the configuration and the token key.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    /// HMAC key of CP tokens.
    pub token_key: Arc<Vec<u8>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The current UTC time as stored: ISO-8601 with microseconds, no zone.
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

/// A UTC time as stored.
pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Open the database and bring the control-plane schema to the current version (no serving).
/// Used by `zenpro control-plane migrate` and by [`build`].
pub async fn migrate(config: &Config) -> Result<Store, Error> {
    let db = db::Db::connect(&config.database_url).await?;
    let version = schema::migrate(&db).await?;
    tracing::info!(version, database = %db::redact_url(&config.database_url), "control-plane database ready");
    Ok(Store::new(db))
}

/// Read or create the token key: the configured one, else a key generated once and kept in
/// `<data_dir>/control-plane/token_secret` (owner-only), so tokens survive a restart.
fn token_key(config: &Config) -> Result<Vec<u8>, Error> {
    if let Some(k) = &config.token_secret {
        return Ok(k.0.as_bytes().to_vec());
    }
    let path = config.data_dir.join("control-plane").join("token_secret");
    zenpro_auth::key_file::load_or_generate(&path, "ZENPRO_CP_TOKEN_SECRET")
}

/// Open and migrate the database, load the token key, create the bootstrap admin on first start.
pub async fn build(config: Config) -> Result<AppState, Error> {
    let store = migrate(&config).await?;
    let key = token_key(&config)?;
    bootstrap_admin(&store, &config).await?;
    Ok(AppState { store, config: Arc::new(config), token_key: Arc::new(key) })
}

/// On first start (no user at all), create the super-user `ZENPRO_CP_ADMIN_USERNAME` with
/// `ZENPRO_CP_ADMIN_PASSWORD`; without a password, warn and create nobody.
async fn bootstrap_admin(store: &Store, config: &Config) -> Result<(), Error> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let Some(pw) = config.admin_password.as_ref().filter(|p| !p.0.is_empty()) else {
        tracing::warn!("no users yet and ZENPRO_CP_ADMIN_PASSWORD is not set: no admin was created");
        return Ok(());
    };
    let hash = zenpro_auth::password::hash(pw.0.clone()).await?;
    match store
        .create_user(store::users::NewUser {
            username: config.admin_username.clone(),
            password_hash: Some(hash),
            is_superuser: true,
            active: true,
            ..Default::default()
        })
        .await
    {
        Ok(_) => tracing::info!(username = %config.admin_username, "created the bootstrap super-user"),
        // Another replica created it first.
        Err(Error::EntityExists(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn not_found() -> Error {
    Error::not_found("Not found")
}

/// The whole app: `/health`, the browser pages (login, device approval, the dashboard) at the
/// root and the API under `/api/v1`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", axum::routing::get(|| async { axum::Json(serde_json::json!("OK")) }))
        .route("/ready", axum::routing::get(routes::ready))
        .nest("/api/v1", routes::api())
        .merge(routes::root())
        .merge(dashboard::router(&state.config))
        .fallback(not_found)
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| Error::internal("handler panicked").into_response()))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ))
}
