//! The internal secret of a connector (`_create_connector_secret`, `_update_connector_secret`
//! and the secret values read back), written through the SQL secrets store's codec.

use std::collections::HashMap;

use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::secrets::{SecretValues, SecretsCodec};
use crate::{Store, Tx, db_err, parse_id, q};

/// The codec, or 501 when secret values must be stored or read without a SQL secrets store.
pub(super) fn need_codec(codec: Option<&SecretsCodec>) -> Result<&SecretsCodec, Error> {
    codec.ok_or_else(|| {
        Error::NotImplemented(
            "Service connector credentials are kept in the SQL secrets store, which is not configured on this \
             server (ZENML_SECRETS_STORE_TYPE is not 'sql'): connectors with secret values are unavailable."
                .into(),
        )
    })
}

/// Four random lowercase letters (`random_str(4).lower()`).
fn random_suffix() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| char::from(b'a' + x % 26)).collect()
}

/// `_create_connector_secret`: an internal, public secret owned by the caller, named
/// `connector-<name with non-alphanumerics as dashes>-<4 letters>` (lowercase, unused).
pub(super) async fn create_connector_secret(
    tx: &mut Tx,
    connector_name: &str,
    secrets: &SecretValues,
    user_id: Uuid,
    codec: Option<&SecretsCodec>,
) -> Result<Option<Uuid>, Error> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let encoded = need_codec(codec)?.encode(secrets)?;
    let base: String =
        connector_name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    let name = loop {
        let name = format!("connector-{base}-{}", random_suffix()).to_lowercase();
        let taken = tx.fetch_i64(q!("SELECT count(*) FROM `secret` WHERE `name` = ?", &name)).await.map_err(db_err)?;
        if taken == 0 {
            break name;
        }
    };
    let id = Uuid::new_v4();
    let now = utc_now();
    tx.execute(q!(
        "INSERT INTO `secret` (`id`, `created`, `updated`, `name`, `private`, `internal`, `values`, `user_id`) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        id,
        now,
        now,
        name,
        false,
        true,
        encoded,
        user_id
    ))
    .await
    .map_err(db_err)?;
    Ok(Some(id))
}

/// Delete a connector's secret and any resource links to it.
pub(super) async fn delete_connector_secret(tx: &mut Tx, secret_id: Uuid) -> Result<(), Error> {
    tx.execute(q!("DELETE FROM `secret_resource` WHERE `secret_id` = ?", secret_id)).await.map_err(db_err)?;
    tx.execute(q!("DELETE FROM `secret` WHERE `id` = ?", secret_id)).await.map_err(db_err)?;
    Ok(())
}

/// `_update_connector_secret`: no secret values delete the secret; otherwise the existing
/// secret's values are replaced, or a secret is created.
pub(super) async fn update_connector_secret(
    tx: &mut Tx,
    connector_name: &str,
    existing: Option<Uuid>,
    secrets: &SecretValues,
    user_id: Uuid,
    codec: Option<&SecretsCodec>,
) -> Result<Option<Uuid>, Error> {
    if secrets.is_empty() {
        if let Some(id) = existing {
            delete_connector_secret(tx, id).await?;
        }
        return Ok(None);
    }
    if let Some(id) = existing {
        let encoded = need_codec(codec)?.encode(secrets)?;
        let n = tx
            .execute(q!("UPDATE `secret` SET `updated` = ?, `values` = ? WHERE `id` = ?", utc_now(), encoded, id))
            .await
            .map_err(db_err)?;
        if n > 0 {
            return Ok(Some(id));
        }
    }
    create_connector_secret(tx, connector_name, secrets, user_id, codec).await
}

impl Store {
    /// Decoded values of these secrets (one query). As `_get_secret_values` does, a secret that
    /// is missing or cannot be decoded is a 404.
    pub(super) async fn connector_secrets(
        &self,
        ids: &[Uuid],
        codec: &SecretsCodec,
    ) -> Result<HashMap<Uuid, SecretValues>, Error> {
        #[derive(sqlx::FromRow)]
        struct Stored {
            id: String,
            values: Option<Vec<u8>>,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let mut query = q!(format!("SELECT `id`, `values` FROM `secret` WHERE `id` IN ({marks})"));
        for id in ids {
            query.push_param(*id);
        }
        let rows: Vec<Stored> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out = HashMap::new();
        for r in rows {
            let id = parse_id(&r.id);
            let values = r.values.filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::not_found(format!(
                    "Secret values for secret {id} have not been stored in the SQL secrets store."
                ))
            })?;
            let values = codec.decode(&values).map_err(|_| {
                Error::not_found(format!(
                    "Secret values for secret {id} could not be decoded. This can happen if encryption has been \
                     enabled/disabled or if the encryption key has been reconfigured without proper secrets migration."
                ))
            })?;
            out.insert(id, values);
        }
        if let Some(missing) = ids.iter().find(|id| !out.contains_key(id)) {
            return Err(Error::not_found(format!(
                "Unable to get secret with name or ID '{missing}': No secret with this ID found."
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_name_suffixes_are_four_lowercase_letters() {
        let s = random_suffix();
        assert_eq!(s.len(), 4);
        assert!(s.chars().all(|c| c.is_ascii_lowercase()));
    }
}
