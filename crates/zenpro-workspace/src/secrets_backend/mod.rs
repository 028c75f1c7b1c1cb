//! Where secret values live: the SQL secrets store (the `secret.values` column, AES-GCM when a
//! key is set) or HashiCorp Vault (the `hashicorp` store: the `secret` row keeps name, scope and
//! owner with `values` NULL, the values live in Vault, as with the Python server).
//!
//! With Vault, every operation is ordered so that a failure leaves the SQL row and the Vault
//! entry in agreement: everything that can be refused (visibility, owner, name scope) is
//! checked first, then Vault is read (so an unreachable Vault changes nothing), then written,
//! then the row; when the row write fails, the Vault write is undone (create → delete the
//! entry; update → write the previous values back; delete → write the values back).

pub mod aws;
pub mod vault;

use std::sync::Arc;

use uuid::Uuid;
use zenpro_store::Store;
use zenpro_store::secrets::{NewSecret, SecretRow, SecretUpdate, SecretValues, SecretsCodec};
use zenpro_types::Error;

use crate::config::{Config, SecretsStoreType};
pub use vault::{VaultClient, VaultConfig};

/// The configured secrets store.
#[derive(Debug, Clone)]
pub enum SecretsBackend {
    /// Values in the `secret` row.
    Sql(SecretsCodec),
    /// Values in HashiCorp Vault.
    Vault(Arc<VaultClient>),
    /// No store zenpro can use: secret operations answer 501 with this message.
    Unsupported(String),
}

impl SecretsBackend {
    /// The store `config` asks for; `server_id` labels the Vault entries this server writes.
    pub fn from_config(config: &Config, server_id: Uuid) -> SecretsBackend {
        match &config.secrets_store_type {
            SecretsStoreType::Sql => {
                SecretsBackend::Sql(SecretsCodec::new(config.secrets_encryption_key.as_ref().map(|k| k.0.as_str())))
            }
            SecretsStoreType::Other(t) if t == "hashicorp" => match &config.vault {
                Some(v) => match VaultClient::new(v.clone(), server_id) {
                    Ok(client) => SecretsBackend::Vault(Arc::new(client)),
                    Err(e) => {
                        SecretsBackend::Unsupported(format!("The HashiCorp Vault secrets store is unusable: {e}"))
                    }
                },
                None => SecretsBackend::Unsupported("The HashiCorp Vault secrets store is not configured.".into()),
            },
            SecretsStoreType::Other(t) => SecretsBackend::Unsupported(format!(
                "The '{t}' secrets store (ZENML_SECRETS_STORE_TYPE={t}) is not supported by this zenpro \
                 version: secret operations are unavailable. Use ZENML_SECRETS_STORE_TYPE=sql or hashicorp."
            )),
            SecretsStoreType::None => SecretsBackend::Unsupported(
                "No secrets store is configured (ZENML_SECRETS_STORE_TYPE=none): secret operations are unavailable."
                    .into(),
            ),
        }
    }

    /// 501 when no usable store is configured.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            SecretsBackend::Unsupported(msg) => Err(Error::NotImplemented(msg.clone())),
            _ => Ok(()),
        }
    }

    /// Create a secret (scope checked first).
    pub async fn create(&self, store: &Store, new: NewSecret) -> Result<(SecretRow, SecretValues), Error> {
        let vault = match self {
            SecretsBackend::Sql(codec) => return store.create_secret(new, codec).await,
            SecretsBackend::Unsupported(m) => return Err(Error::NotImplemented(m.clone())),
            SecretsBackend::Vault(v) => v,
        };
        store.check_new_secret_scope(&new.name, new.private, new.user_id).await?;
        let id = Uuid::new_v4();
        vault.create(id, &new.values).await?;
        match store.insert_secret_row(id, &new.name, new.private, new.user_id).await {
            Ok(row) => Ok((row, new.values)),
            Err(e) => {
                undo(vault.delete(id).await, id, "delete the Vault entry of a secret whose row was not written");
                Err(e)
            }
        }
    }

    /// A secret visible to `active_user`, with its values.
    pub async fn get(&self, store: &Store, id: Uuid, active_user: Uuid) -> Result<(SecretRow, SecretValues), Error> {
        let row = store.get_visible_secret(id, active_user).await?;
        let values = match self {
            SecretsBackend::Sql(codec) => store.secret_values(id, codec).await?,
            SecretsBackend::Unsupported(m) => return Err(Error::NotImplemented(m.clone())),
            SecretsBackend::Vault(v) => v.read(id).await?.ok_or_else(|| missing_values(id))?,
        };
        Ok((row, values))
    }

    /// Update a secret: name/scope in the row, values (replaced or patched) in the store.
    pub async fn update(
        &self,
        store: &Store,
        id: Uuid,
        active_user: Uuid,
        upd: SecretUpdate,
    ) -> Result<(SecretRow, SecretValues), Error> {
        let vault = match self {
            SecretsBackend::Sql(codec) => return store.update_secret(id, active_user, upd, codec).await,
            SecretsBackend::Unsupported(m) => return Err(Error::NotImplemented(m.clone())),
            SecretsBackend::Vault(v) => v,
        };
        store.check_secret_row_update(id, active_user, upd.name.as_deref(), upd.private).await?;
        // The reference endpoint reads the secret (with its values) before updating it.
        let old = vault.read(id).await?.ok_or_else(|| missing_values(id))?;
        let Some(vu) = &upd.values else {
            let row = store.update_secret_row(id, active_user, upd.name.as_deref(), upd.private).await?;
            return Ok((row, old));
        };
        let mut values = old.clone();
        if vu.replace {
            let dropped: Vec<String> =
                values.keys().filter(|k| !vu.entries.iter().any(|(uk, _)| uk == k)).map(str::to_string).collect();
            for k in dropped {
                values.remove(&k);
            }
        }
        values.merge(&vu.entries);
        vault.update(id, &values).await?;
        match store.update_secret_row(id, active_user, upd.name.as_deref(), upd.private).await {
            Ok(row) => Ok((row, values)),
            Err(e) => {
                undo(vault.update(id, &old).await, id, "restore the Vault values of a secret whose row update failed");
                Err(e)
            }
        }
    }

    /// Delete a secret visible to `active_user`: its Vault entry, then its row.
    pub async fn delete(&self, store: &Store, id: Uuid, active_user: Uuid) -> Result<(), Error> {
        let vault = match self {
            SecretsBackend::Sql(_) => return store.delete_secret(id, active_user).await,
            SecretsBackend::Unsupported(m) => return Err(Error::NotImplemented(m.clone())),
            SecretsBackend::Vault(v) => v,
        };
        store.get_visible_secret(id, active_user).await?;
        let old = vault.read(id).await?;
        if old.is_some() {
            vault.delete(id).await?;
        }
        match store.delete_secret(id, active_user).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(old) = old {
                    undo(vault.create(id, &old).await, id, "restore the Vault values of a secret whose row was kept");
                }
                Err(e)
            }
        }
    }
}

/// The Python store's `KeyError` when Vault has no values for a secret.
fn missing_values(id: Uuid) -> Error {
    Error::NotFound(format!(
        "Can't find the secret values for secret ID '{id}' in the secrets store back-end: no HashiCorp Vault \
         entry for this secret."
    ))
}

/// Log a failed compensation (the original error is what the caller gets).
fn undo(result: Result<(), Error>, id: Uuid, what: &str) {
    if let Err(e) = result {
        tracing::error!(secret_id = %id, error = %e, "could not {what}");
    }
}
