//! Secrets (`secret` table) and the SQL secrets store's value codec.
//!
//! Values are stored the way ZenML's `SqlSecretsStore` stores them (`schemas/secret_schemas.py`):
//! the plaintext is Python's `json.dumps(dict)`; without an encryption key the column holds
//! `base64(plaintext)` written as bytes (a BLOB on SQLite); with a key it holds
//! sqlalchemy_utils `AesGcmEngine` output written as text: `base64(iv[12] ‖ tag[16] ‖ ciphertext)`,
//! AES-256-GCM with key = SHA-256(passphrase) and no associated data. Both storage classes are
//! read back. Values never reach a log: [`SecretValues`]' `Debug` shows the keys only.

use aes_gcm::{AeadInPlace, Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine;
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::db::{Tx, Value, is_unique_violation};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::stacks::python_json;
use crate::{Store, db_err, q};

/// Maximum total UTF-8 bytes of all keys and values of one secret (`SECRET_KEY_VALUE_BYTES_MAX`).
pub const SECRET_KEY_VALUE_BYTES_MAX: usize = 64 * 1024;

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A secret row, without its values (those are loaded separately, as the Python secrets store
/// does, so lists never read them).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecretRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub private: bool,
    pub internal: bool,
    pub user_id: String,
}

const COLS: &str = "`secret`.`id`, `secret`.`created`, `secret`.`updated`, `secret`.`name`, \
    `secret`.`private`, `secret`.`internal`, `secret`.`user_id`";

/// `SecretFilter`: `id`, `created`, `updated`, `name`, `private` and `user` (name, full name or
/// id of the owner).
pub static SECRET_LIST: ListSpec = ListSpec {
    from: "`secret`",
    id: "`secret`.`id`",
    select: COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`secret`.`id`"),
        Field::col("created", Kind::Datetime, "`secret`.`created`"),
        Field::col("updated", Kind::Datetime, "`secret`.`updated`"),
        Field::col("name", Kind::Str, "`secret`.`name`"),
        Field::col("private", Kind::Bool, "`secret`.`private`"),
        Field::related("user", "`secret`.`user_id`", "`user`", &["id", "name", "full_name"]),
    ],
};

/// The key/value pairs of a secret, in insertion order (Python dict order, which is the order
/// `json.dumps` writes). `Debug` prints the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(Vec<(String, String)>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(k, _)| k)).finish()
    }
}

impl SecretValues {
    pub fn new() -> Self {
        SecretValues::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Set a value: an existing key keeps its position, a new key goes last (as in a dict).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// UTF-8 bytes of all keys and values.
    pub fn total_bytes(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// The values as a JSON object (for responses).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
        )
    }

    /// Python's `json.dumps(values)`.
    pub fn to_python_json(&self) -> String {
        python_json(&self.to_json())
    }

    /// Parse a JSON object of strings; anything else is `None`.
    pub fn from_json_text(bytes: &[u8]) -> Option<SecretValues> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let obj = v.as_object()?;
        let mut out = SecretValues::new();
        for (k, v) in obj {
            out.set(k.clone(), v.as_str()?.to_string());
        }
        Some(out)
    }

    /// Apply an update the way `SqlZenStore._update_secret_values` merges: a value overwrites
    /// (keeping the key's position), `None` removes the key.
    pub fn merge(&mut self, update: &[(String, Option<String>)]) {
        for (k, v) in update {
            match v {
                Some(v) => self.set(k.clone(), v.clone()),
                None => self.remove(k),
            }
        }
    }
}

impl FromIterator<(String, String)> for SecretValues {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut out = SecretValues::new();
        for (k, v) in iter {
            out.set(k, v);
        }
        out
    }
}

/// Why stored values could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not base64.
    Base64,
    /// Wrong key, tampered or unencrypted data given to the decrypter.
    Decrypt,
    /// Not a JSON object of strings (or not UTF-8).
    Json,
}

/// Encrypts and decrypts secret values exactly as the Python SQL secrets store does.
#[derive(Clone, Default)]
pub struct SecretsCodec {
    key: Option<[u8; 32]>,
}

impl std::fmt::Debug for SecretsCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsCodec").field("encrypted", &self.key.is_some()).finish()
    }
}

/// `AesGcmEngine._update_key`: SHA-256 of the passphrase's UTF-8 bytes.
pub fn derive_key(passphrase: &str) -> [u8; 32] {
    let digest = Sha256::digest(passphrase.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(&digest);
    key
}

/// `AesGcmEngine.encrypt`: `base64(iv ‖ tag ‖ ciphertext)` with a random 12-byte iv.
pub fn aes_gcm_encrypt(key: &[u8; 32], plaintext: &[u8]) -> Result<String, Error> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::internal("AES-256 key must be 32 bytes"))?;
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::from(iv), b"", &mut buf)
        .map_err(|_| Error::internal("secret values could not be encrypted"))?;
    let mut out = Vec::with_capacity(IV_LEN + TAG_LEN + buf.len());
    out.extend_from_slice(&iv);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&buf);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Base64 as Python's `b64decode` reads it (whitespace ignored).
fn b64decode(stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let trimmed: Vec<u8> = stored.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(&trimmed).map_err(|_| DecodeError::Base64)
}

/// `AesGcmEngine.decrypt`: the plaintext bytes of a stored value.
pub fn aes_gcm_decrypt(key: &[u8; 32], stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let raw = b64decode(stored)?;
    if raw.len() < IV_LEN + TAG_LEN {
        return Err(DecodeError::Decrypt);
    }
    let (iv, rest) = raw.split_at(IV_LEN);
    let (tag, ct) = rest.split_at(TAG_LEN);
    let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| DecodeError::Decrypt)?;
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| DecodeError::Decrypt)?;
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| DecodeError::Decrypt)?;
    let mut buf = ct.to_vec();
    cipher
        .decrypt_in_place_detached(&Nonce::from(iv), b"", &mut buf, &Tag::from(tag))
        .map_err(|_| DecodeError::Decrypt)?;
    Ok(buf)
}

impl SecretsCodec {
    /// A codec with the configured passphrase (`ZENML_SECRETS_STORE_ENCRYPTION_KEY`), or none.
    pub fn new(passphrase: Option<&str>) -> Self {
        SecretsCodec { key: passphrase.map(derive_key) }
    }

    pub fn encrypts(&self) -> bool {
        self.key.is_some()
    }

    /// The column value for `values` (`SecretSchema._dump_secret_values`): checks the size
    /// limit (400 `ValueError` as the reference), then bytes when unencrypted, text when
    /// encrypted, as Python hands them to the driver.
    pub fn encode(&self, values: &SecretValues) -> Result<Value, Error> {
        if values.total_bytes() > SECRET_KEY_VALUE_BYTES_MAX {
            return Err(Error::bad_request(format!(
                "Secret key and value strings exceed the maximum total size ({} KiB of UTF-8 across \
                 all keys and values). Split the data or use an artifact store for large files.",
                SECRET_KEY_VALUE_BYTES_MAX / 1024
            )));
        }
        let plaintext = values.to_python_json();
        Ok(match &self.key {
            None => Value::Bytes(base64::engine::general_purpose::STANDARD.encode(plaintext).into_bytes()),
            Some(key) => Value::Str(aes_gcm_encrypt(key, plaintext.as_bytes())?),
        })
    }

    /// Read a stored value (`SecretSchema._load_secret_values`).
    pub fn decode(&self, stored: &[u8]) -> Result<SecretValues, DecodeError> {
        let plaintext = match &self.key {
            None => b64decode(stored)?,
            Some(key) => aes_gcm_decrypt(key, stored)?,
        };
        if std::str::from_utf8(&plaintext).is_err() {
            return Err(DecodeError::Json);
        }
        SecretValues::from_json_text(&plaintext).ok_or(DecodeError::Json)
    }
}

/// A new secret.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub name: String,
    pub private: bool,
    pub user_id: Uuid,
    pub values: SecretValues,
}

/// New values of a secret: `replace` drops the keys the update does not name (a `PUT` without
/// `patch_values`); otherwise the update is merged. A `None` value removes its key either way.
#[derive(Debug, Clone)]
pub struct ValuesUpdate {
    pub entries: Vec<(String, Option<String>)>,
    pub replace: bool,
}

/// Changes to a secret; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SecretUpdate {
    pub name: Option<String>,
    pub private: Option<bool>,
    pub values: Option<ValuesUpdate>,
}

#[derive(sqlx::FromRow)]
struct StoredValues {
    values: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct OwnerName {
    name: String,
}

fn not_visible(id: Uuid) -> Error {
    Error::not_found(format!("Secret with name or ID {id} not found or is private and not owned by the current user."))
}

fn missing(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get secret with name or ID '{id}': No secret with this ID found."))
}

fn undecodable(id: Uuid) -> Error {
    Error::not_found(format!(
        "Secret values for secret {id} could not be decoded. This can happen if encryption has been \
         enabled/disabled or if the encryption key has been reconfigured without proper secrets migration."
    ))
}

fn not_stored(id: Uuid) -> Error {
    Error::not_found(format!("Secret values for secret {id} have not been stored in the SQL secrets store."))
}

/// Decode the stored column of secret `id` (`SqlSecretsStore.get_secret_values`).
fn decode_stored(id: Uuid, stored: Option<Vec<u8>>, codec: &SecretsCodec) -> Result<SecretValues, Error> {
    match stored {
        None => Err(not_stored(id)),
        Some(bytes) if bytes.is_empty() => Err(not_stored(id)),
        Some(bytes) => codec.decode(&bytes).map_err(|_| undecodable(id)),
    }
}

async fn find_in(tx: &mut Tx, id: Uuid) -> Result<Option<SecretRow>, Error> {
    tx.fetch_optional(q!(format!("SELECT {COLS} FROM `secret` WHERE `secret`.`id` = ?"), id)).await.map_err(db_err)
}

/// `_get_visible_secret_schema`: internal secrets and other users' private secrets are 404.
fn check_visible(id: Uuid, row: Option<SecretRow>, active_user: Uuid) -> Result<SecretRow, Error> {
    let row = row.ok_or_else(|| missing(id))?;
    if row.internal || (row.private && crate::parse_id(&row.user_id) != active_user) {
        return Err(not_visible(id));
    }
    Ok(row)
}

async fn stored_values_in(tx: &mut Tx, id: Uuid) -> Result<Option<Vec<u8>>, Error> {
    let row: Option<StoredValues> =
        tx.fetch_optional(q!("SELECT `values` FROM `secret` WHERE `id` = ?", id)).await.map_err(db_err)?;
    Ok(row.and_then(|r| r.values))
}

/// `_check_sql_secret_scope`: two public secrets cannot share a name; a user cannot own two
/// private secrets with the same name. Returns the reference's 409 message.
async fn check_scope(tx: &mut Tx, name: &str, private: bool, owner: Uuid, exclude: Option<Uuid>) -> Result<(), Error> {
    let mut query = q!(
        "SELECT `user`.`name` FROM `secret` JOIN `user` ON `user`.`id` = `secret`.`user_id` \
         WHERE `secret`.`name` = ? AND `secret`.`private` = ?",
        name,
        private
    );
    if private {
        query.push_sql(" AND `secret`.`user_id` = ?");
        query.push_param(owner);
    }
    if let Some(id) = exclude {
        query.push_sql(" AND `secret`.`id` != ?");
        query.push_param(id);
    }
    query.push_sql(" LIMIT 1");
    let hit: Option<OwnerName> = tx.fetch_optional(query).await.map_err(db_err)?;
    match hit {
        None => Ok(()),
        Some(owner) => Err(Error::exists(scope_conflict(name, private, &owner.name))),
    }
}

fn scope_conflict(name: &str, private: bool, owner: &str) -> String {
    if private {
        format!("Found an existing private secret with the same '{name}' name for the same '{owner}' user")
    } else {
        format!("Found an existing public secret with the same '{name}' name")
    }
}

/// The checks of an update: visible to the active user, only the owner changes `private`, and
/// a new name or scope must be free. Returns the current row and the resulting name and flag.
async fn check_row_update(
    tx: &mut Tx,
    id: Uuid,
    active_user: Uuid,
    name: Option<&str>,
    private: Option<bool>,
) -> Result<(SecretRow, String, bool), Error> {
    let cur = check_visible(id, find_in(tx, id).await?, active_user)?;
    let owner = crate::parse_id(&cur.user_id);
    if private.is_some() && owner != active_user {
        return Err(Error::forbidden("Only the user who created the secret is allowed to update its private status."));
    }
    let new_name = name.map(str::to_string).unwrap_or_else(|| cur.name.clone());
    let new_private = private.unwrap_or(cur.private);
    if new_name != cur.name || new_private != cur.private {
        check_scope(tx, &new_name, new_private, owner, Some(id)).await?;
    }
    Ok((cur, new_name, new_private))
}

impl Store {
    /// A failed secret write: a unique violation (a concurrent writer won the scope check) is
    /// the reference's 409, naming the owner as `_check_sql_secret_scope` does.
    async fn write_error(&self, e: sqlx::Error, name: &str, private: bool, owner: Uuid) -> Error {
        if !is_unique_violation(&e) {
            return db_err(e);
        }
        let owner_name = match self.find_account_by_id(owner).await {
            Ok(Some(u)) => u.name,
            _ => owner.to_string(),
        };
        Error::exists(scope_conflict(name, private, &owner_name))
    }

    /// Non-internal secrets: public ones and the active user's private ones.
    pub async fn list_secrets(&self, params: &ListParams, active_user: Uuid) -> Result<Page<SecretRow>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`secret`.`internal` = ?", false));
        wh.and(q!(
            "(`secret`.`private` = ? OR (`secret`.`private` = ? AND `secret`.`user_id` = ?))",
            false,
            true,
            active_user
        ));
        list::list(&self.db, &SECRET_LIST, params, &wh).await
    }

    /// A secret row by id, whoever owns it (internal secrets included).
    pub async fn find_secret(&self, id: Uuid) -> Result<Option<SecretRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {COLS} FROM `secret` WHERE `secret`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A secret the active user may see (404 otherwise, with the reference's messages).
    pub async fn get_visible_secret(&self, id: Uuid, active_user: Uuid) -> Result<SecretRow, Error> {
        check_visible(id, self.find_secret(id).await?, active_user)
    }

    /// The raw `values` column (for tests and diagnostics; never logged).
    pub async fn secret_values_raw(&self, id: Uuid) -> Result<Option<Vec<u8>>, Error> {
        let row: Option<StoredValues> = self
            .db
            .clone()
            .fetch_optional(q!("SELECT `values` FROM `secret` WHERE `id` = ?", id))
            .await
            .map_err(db_err)?;
        Ok(row.and_then(|r| r.values))
    }

    /// The decoded values of a secret (404 `KeyError` when missing or undecodable).
    pub async fn secret_values(&self, id: Uuid, codec: &SecretsCodec) -> Result<SecretValues, Error> {
        decode_stored(id, self.secret_values_raw(id).await?, codec)
    }

    /// Create a secret after the scope check; returns the row and the stored values.
    pub async fn create_secret(
        &self,
        new: NewSecret,
        codec: &SecretsCodec,
    ) -> Result<(SecretRow, SecretValues), Error> {
        let encoded = codec.encode(&new.values)?;
        let id = Uuid::new_v4();
        let now = utc_now();
        let mut tx = self.db.begin().await?;
        check_scope(&mut tx, &new.name, new.private, new.user_id, None).await?;
        let inserted = tx
            .execute(q!(
                "INSERT INTO `secret` (`id`, `created`, `updated`, `name`, `private`, `internal`, `values`, `user_id`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                new.name.clone(),
                new.private,
                false,
                encoded,
                new.user_id
            ))
            .await;
        if let Err(e) = inserted {
            return Err(self.write_error(e, &new.name, new.private, new.user_id).await);
        }
        let row = find_in(&mut tx, id).await?.ok_or_else(|| Error::internal("created secret vanished"))?;
        tx.commit().await?;
        Ok((row, new.values))
    }

    /// Update a secret visible to the active user (`SqlZenStore.update_secret` plus the
    /// endpoint's replace semantics). Only the owner may change `private`.
    pub async fn update_secret(
        &self,
        id: Uuid,
        active_user: Uuid,
        upd: SecretUpdate,
        codec: &SecretsCodec,
    ) -> Result<(SecretRow, SecretValues), Error> {
        let mut tx = self.db.begin().await?;
        let cur = check_visible(id, find_in(&mut tx, id).await?, active_user)?;
        let owner = crate::parse_id(&cur.user_id);
        if upd.private.is_some() && owner != active_user {
            return Err(Error::forbidden(
                "Only the user who created the secret is allowed to update its private status.",
            ));
        }
        let name = upd.name.clone().unwrap_or_else(|| cur.name.clone());
        let private = upd.private.unwrap_or(cur.private);
        if name != cur.name || private != cur.private {
            check_scope(&mut tx, &name, private, owner, Some(id)).await?;
        }
        let stored = stored_values_in(&mut tx, id).await?;
        let (values, write) = match &upd.values {
            // Replacing reads the current values first and fails when they cannot be read, as
            // the reference endpoint does (its `get_secret`); a patch of missing or unreadable
            // values starts from scratch, as `_update_secret_values` does.
            Some(vu) if vu.replace => {
                let mut values = decode_stored(id, stored, codec)?;
                let dropped: Vec<String> =
                    values.keys().filter(|k| !vu.entries.iter().any(|(uk, _)| uk == k)).map(str::to_string).collect();
                for k in dropped {
                    values.remove(&k);
                }
                values.merge(&vu.entries);
                (values, true)
            }
            Some(vu) => {
                let mut values = decode_stored(id, stored, codec).unwrap_or_default();
                values.merge(&vu.entries);
                (values, true)
            }
            None => (decode_stored(id, stored, codec)?, false),
        };
        let mut query = q!("UPDATE `secret` SET `updated` = ?, `name` = ?, `private` = ?", utc_now(), &name, private);
        if write {
            query.push_sql(", `values` = ?");
            query.push_param(codec.encode(&values)?);
        }
        query.push_sql(" WHERE `id` = ?");
        query.push_param(id);
        if let Err(e) = tx.execute(query).await {
            return Err(self.write_error(e, &name, private, owner).await);
        }
        let row = find_in(&mut tx, id).await?.ok_or_else(|| Error::internal("updated secret vanished"))?;
        tx.commit().await?;
        Ok((row, values))
    }

    /// The scope check of a new secret without writing anything (a store that keeps values
    /// outside SQL checks before it writes them, then inserts with [`Store::insert_secret_row`]).
    pub async fn check_new_secret_scope(&self, name: &str, private: bool, owner: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        check_scope(&mut tx, name, private, owner, None).await
    }

    /// Insert the row of a secret whose values live in another secrets store (`values` is
    /// NULL, as the Python server leaves it with a non-SQL secrets store), after the scope check.
    pub async fn insert_secret_row(
        &self,
        id: Uuid,
        name: &str,
        private: bool,
        owner: Uuid,
    ) -> Result<SecretRow, Error> {
        let now = utc_now();
        let mut tx = self.db.begin().await?;
        check_scope(&mut tx, name, private, owner, None).await?;
        let inserted = tx
            .execute(q!(
                "INSERT INTO `secret` (`id`, `created`, `updated`, `name`, `private`, `internal`, `values`, `user_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                id,
                now,
                now,
                name,
                private,
                false,
                owner
            ))
            .await;
        if let Err(e) = inserted {
            return Err(self.write_error(e, name, private, owner).await);
        }
        let row = find_in(&mut tx, id).await?.ok_or_else(|| Error::internal("created secret vanished"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// The checks of a row update (visible, only the owner changes `private`, scope) without
    /// writing; returns the current row.
    pub async fn check_secret_row_update(
        &self,
        id: Uuid,
        active_user: Uuid,
        name: Option<&str>,
        private: Option<bool>,
    ) -> Result<SecretRow, Error> {
        let mut tx = self.db.begin().await?;
        check_row_update(&mut tx, id, active_user, name, private).await.map(|(cur, _, _)| cur)
    }

    /// Update the name and `private` flag of a secret's row (values untouched), with the checks
    /// of [`Store::check_secret_row_update`].
    pub async fn update_secret_row(
        &self,
        id: Uuid,
        active_user: Uuid,
        name: Option<&str>,
        private: Option<bool>,
    ) -> Result<SecretRow, Error> {
        let mut tx = self.db.begin().await?;
        let (cur, name, private) = check_row_update(&mut tx, id, active_user, name, private).await?;
        let owner = crate::parse_id(&cur.user_id);
        let query = q!(
            "UPDATE `secret` SET `updated` = ?, `name` = ?, `private` = ? WHERE `id` = ?",
            utc_now(),
            &name,
            private,
            id
        );
        if let Err(e) = tx.execute(query).await {
            return Err(self.write_error(e, &name, private, owner).await);
        }
        let row = find_in(&mut tx, id).await?.ok_or_else(|| Error::internal("updated secret vanished"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Delete a secret visible to the active user, with its resource links.
    pub async fn delete_secret(&self, id: Uuid, active_user: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        check_visible(id, find_in(&mut tx, id).await?, active_user)?;
        tx.execute(q!("DELETE FROM `secret_resource` WHERE `secret_id` = ?", id)).await.map_err(db_err)?;
        tx.execute(q!("DELETE FROM `secret` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with the reference venv (sqlalchemy_utils 0.43 as used by zenml 0.98.0):
    /// ```text
    /// ~/.cache/zenml-ref-venv/bin/python -c "
    /// from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    /// e = AesGcmEngine(); e._update_key('test-key'); print(e.encrypt('{\"a\": \"b\"}'))"
    /// ```
    const PYTHON_AES_GCM: &str = "o88dHZUG4pc7/GlN8CT6fEF+eKqx+z8zZLqAhPGB+lBebELWc8o=";

    /// Same command with `'{"username": "alice", "password": "s3cr3t", "u": "\u00e9"}'`.
    const PYTHON_AES_GCM_2: &str = "dJVrXvA7icuo+Ye7/5E4bTc8J1vHJJX9OwCFgsXnfMe+VxFFyVvxAGXZqxQw3JFpCXzVIdy93TuqQtIwGCGi5oUDf7/BASBseWHT6Mos0a8ZSDELbvo=";

    #[test]
    fn decrypts_python_aes_gcm_engine_output() {
        let key = derive_key("test-key");
        assert_eq!(aes_gcm_decrypt(&key, PYTHON_AES_GCM.as_bytes()).unwrap(), br#"{"a": "b"}"#);
        let codec = SecretsCodec::new(Some("test-key"));
        let v = codec.decode(PYTHON_AES_GCM_2.as_bytes()).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), vec![("username", "alice"), ("password", "s3cr3t"), ("u", "é")]);
        assert_eq!(SecretsCodec::new(Some("other-key")).decode(PYTHON_AES_GCM.as_bytes()), Err(DecodeError::Decrypt));
    }

    /// The reverse direction was checked once by hand: the value printed by
    /// `cargo test -p zenpro-store secrets::tests::encrypt_round_trip -- --nocapture` was
    /// decrypted by Python with
    /// ```text
    /// ~/.cache/zenml-ref-venv/bin/python -c "
    /// from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    /// e = AesGcmEngine(); e._update_key('test-key'); print(e.decrypt('<printed value>'))"
    /// ```
    /// which printed `{"a": "b"}`.
    #[test]
    fn encrypt_round_trip() {
        let codec = SecretsCodec::new(Some("test-key"));
        let values: SecretValues = [("a".to_string(), "b".to_string())].into_iter().collect();
        let Value::Str(stored) = codec.encode(&values).unwrap() else { panic!("encrypted values are text") };
        println!("{stored}");
        let raw = base64::engine::general_purpose::STANDARD.decode(&stored).unwrap();
        assert_eq!(raw.len(), IV_LEN + TAG_LEN + r#"{"a": "b"}"#.len());
        assert!(!stored.contains("\"a\""));
        assert_eq!(codec.decode(stored.as_bytes()).unwrap(), values);
        // A fresh iv every time.
        let Value::Str(again) = codec.encode(&values).unwrap() else { panic!() };
        assert_ne!(stored, again);
    }

    #[test]
    fn unencrypted_values_are_base64_of_python_json_bytes() {
        let codec = SecretsCodec::new(None);
        let values: SecretValues =
            [("username".to_string(), "alice".to_string()), ("pw".to_string(), "é\"".to_string())]
                .into_iter()
                .collect();
        let Value::Bytes(stored) = codec.encode(&values).unwrap() else { panic!("unencrypted values are bytes") };
        let plain = base64::engine::general_purpose::STANDARD.decode(&stored).unwrap();
        assert_eq!(plain, br#"{"username": "alice", "pw": "\u00e9\""}"#);
        assert_eq!(codec.decode(&stored).unwrap(), values);
        // An encrypted value read without the key (and the reverse) is a decode error.
        assert!(codec.decode(PYTHON_AES_GCM.as_bytes()).is_err());
        assert!(SecretsCodec::new(Some("k")).decode(&stored).is_err());
    }

    #[test]
    fn size_limit_counts_utf8_bytes_of_keys_and_values() {
        let codec = SecretsCodec::new(None);
        let mut values = SecretValues::new();
        values.set("k", "x".repeat(SECRET_KEY_VALUE_BYTES_MAX - 1));
        assert!(codec.encode(&values).is_ok());
        values.set("k", "é".repeat(SECRET_KEY_VALUE_BYTES_MAX / 2));
        assert!(matches!(codec.encode(&values), Err(Error::BadRequest(_))));
    }

    #[test]
    fn merge_keeps_dict_order_and_removes_nulls() {
        let mut v: SecretValues =
            [("a", "1"), ("b", "2"), ("c", "3")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.merge(&[("b".into(), Some("20".into())), ("d".into(), Some("4".into())), ("a".into(), None)]);
        assert_eq!(v.iter().collect::<Vec<_>>(), vec![("b", "20"), ("c", "3"), ("d", "4")]);
        assert_eq!(format!("{v:?}"), r#"["b", "c", "d"]"#);
    }
}
