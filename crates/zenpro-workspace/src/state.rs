//! Application state passed to every handler (no globals).

use std::sync::Arc;

use uuid::Uuid;
use zenpro_store::Store;

use crate::config::Config;
use crate::secrets_backend::SecretsBackend;

/// Shared, cheap-to-clone state of one workspace server.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub store: Store,
    pub config: Config,
    /// `server_settings.id`: JWT issuer/audience, `server` header, cookie suffix.
    pub server_id: Uuid,
    /// HS256 key of access tokens.
    pub jwt_key: Vec<u8>,
    /// Pro mode: the control-plane client, caches and heartbeat.
    pub pro: Option<crate::pro::Pro>,
    /// Where secret values live (SQL or Vault), from the configuration.
    pub secrets: SecretsBackend,
}

impl AppState {
    pub fn new(store: Store, config: Config, server_id: Uuid, jwt_key: Vec<u8>) -> Self {
        Self::with_pro(store, config, server_id, jwt_key, None)
    }
    pub fn with_pro(
        store: Store,
        config: Config,
        server_id: Uuid,
        jwt_key: Vec<u8>,
        pro: Option<crate::pro::Pro>,
    ) -> Self {
        let secrets = SecretsBackend::from_config(&config, server_id);
        AppState { inner: Arc::new(Inner { store, config, server_id, jwt_key, pro, secrets }) }
    }
    /// The Pro side (control plane client), in Pro mode.
    pub fn pro(&self) -> Option<&crate::pro::Pro> {
        self.inner.pro.as_ref()
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn secrets(&self) -> &SecretsBackend {
        &self.inner.secrets
    }
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    pub fn server_id(&self) -> Uuid {
        self.inner.server_id
    }
    /// JWT issuer (configured or the server id, with dashes).
    pub fn issuer(&self) -> String {
        self.config().jwt_issuer.clone().unwrap_or_else(|| self.server_id().to_string())
    }
    pub fn audience(&self) -> String {
        self.config().jwt_audience.clone().unwrap_or_else(|| self.server_id().to_string())
    }
    /// Name of the auth cookie.
    pub fn cookie_name(&self) -> String {
        self.config().auth_cookie_name.clone().unwrap_or_else(|| format!("zenml-server-{}", self.server_id()))
    }
}
