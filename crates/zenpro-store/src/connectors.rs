//! Service connectors (`service_connector` table): globally unique names; `resource_types`,
//! `configuration` and `labels` are base64(json.dumps(...)) BLOBs. A connector's secret values
//! live in an internal secret (`secret.internal = 1`) named `connector-<name>-<4 letters>`,
//! referenced by `secret_id` and written with the SQL secrets store's codec, so they are
//! encrypted exactly as the Python server encrypts them. The plain part of the configuration
//! stays in the row. Which values are secret is decided by the connector type's specification
//! ([`types`]); for types the specifications do not cover, every value is plain, as in the
//! reference.

mod secret;
pub mod types;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::secrets::{SecretValues, SecretsCodec};
use crate::stacks::{decode_b64_json, encode_b64_json};
use crate::users::UserRow;
use crate::{Store, db_err, parse_id, parse_opt_id, q};
use secret::{create_connector_secret, delete_connector_secret, need_codec, update_connector_secret};

pub use types::{SplitConfiguration, find_connector_type, get_connector_type, list_connector_types};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectorRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub connector_type: Option<String>,
    pub description: String,
    pub auth_method: Option<String>,
    pub resource_types: Vec<u8>,
    pub resource_id: Option<String>,
    pub supports_instances: bool,
    pub configuration: Option<Vec<u8>>,
    pub secret_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub expires_skew_tolerance: Option<i64>,
    pub expiration_seconds: Option<i64>,
    pub labels: Option<Vec<u8>>,
    pub user_id: Option<String>,
}

impl ConnectorRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    pub fn connector_type(&self) -> &str {
        self.connector_type.as_deref().unwrap_or_default()
    }
    pub fn auth_method(&self) -> &str {
        self.auth_method.as_deref().unwrap_or_default()
    }
    /// The resource types (a JSON list of strings).
    pub fn resource_types_list(&self) -> Vec<String> {
        match decode_b64_json(Some(&self.resource_types)) {
            Json::Array(items) => items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }
    /// The plain configuration values (`{}` when the column is NULL).
    pub fn configuration_map(&self) -> Map<String, Json> {
        match decode_b64_json(self.configuration.as_deref()) {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }
    /// The labels (`{}` when the column is NULL).
    pub fn labels_map(&self) -> Map<String, Json> {
        match decode_b64_json(self.labels.as_deref()) {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }
    pub fn secret_uuid(&self) -> Option<Uuid> {
        parse_opt_id(&self.secret_id)
    }
}

pub const CONNECTOR_COLS: &str = "`service_connector`.`id`, `service_connector`.`created`, \
    `service_connector`.`updated`, `service_connector`.`name`, `service_connector`.`connector_type`, \
    `service_connector`.`description`, `service_connector`.`auth_method`, `service_connector`.`resource_types`, \
    `service_connector`.`resource_id`, `service_connector`.`supports_instances`, `service_connector`.`configuration`, \
    `service_connector`.`secret_id`, `service_connector`.`expires_at`, `service_connector`.`expires_skew_tolerance`, \
    `service_connector`.`expiration_seconds`, `service_connector`.`labels`, `service_connector`.`user_id`";

/// The SQL part of `ServiceConnectorFilter`; `resource_type` and `labels_str` are matched on
/// the decoded columns ([`ConnectorFilters`]), as the reference does after its query.
const CONNECTOR_FIELDS: &[Field] = &[
    Field::col("id", Kind::Uuid, "`service_connector`.`id`"),
    Field::col("created", Kind::Datetime, "`service_connector`.`created`"),
    Field::col("updated", Kind::Datetime, "`service_connector`.`updated`"),
    Field::col("name", Kind::Str, "`service_connector`.`name`"),
    Field::col("connector_type", Kind::Str, "`service_connector`.`connector_type`"),
    Field::col("auth_method", Kind::Str, "`service_connector`.`auth_method`"),
    Field::col("resource_id", Kind::Str, "`service_connector`.`resource_id`"),
    Field::related("user", "`service_connector`.`user_id`", "`user`", &["id", "name", "full_name"]),
];

pub static CONNECTOR_LIST: ListSpec = ListSpec {
    from: "`service_connector`",
    id: "`service_connector`.`id`",
    select: CONNECTOR_COLS,
    fields: CONNECTOR_FIELDS,
};

/// The same list, selecting only what the decoded-column filters need.
static CONNECTOR_KEYS: ListSpec = ListSpec {
    from: "`service_connector`",
    id: "`service_connector`.`id`",
    select: "`service_connector`.`id`, `service_connector`.`resource_types`, `service_connector`.`labels`",
    fields: CONNECTOR_FIELDS,
};

#[derive(sqlx::FromRow)]
struct ConnectorKey {
    id: String,
    resource_types: Vec<u8>,
    labels: Option<Vec<u8>>,
}

/// Filters on decoded columns: a resource type the connector offers, and labels
/// (`labels_str`: a JSON object, or `k1=v1,k2` where a name without `=` only asks for the
/// label to be present).
#[derive(Debug, Clone, Default)]
pub struct ConnectorFilters {
    pub resource_type: Option<String>,
    pub labels: Option<Vec<(String, Option<Json>)>>,
}

impl ConnectorFilters {
    /// `ServiceConnectorFilter.validate_labels`: JSON first, else comma-separated.
    pub fn parse_labels(labels_str: &str) -> Vec<(String, Option<Json>)> {
        if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(labels_str) {
            return m.into_iter().map(|(k, v)| (k, (!v.is_null()).then_some(v))).collect();
        }
        labels_str
            .split(',')
            .map(|label| match label.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(Json::String(v.to_string()))),
                None => (label.to_string(), None),
            })
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.resource_type.is_none() && self.labels.is_none()
    }

    fn matches(&self, key: &ConnectorKey) -> bool {
        if let Some(rt) = &self.resource_type {
            let types = decode_b64_json(Some(&key.resource_types));
            if !types.as_array().is_some_and(|a| a.iter().any(|t| t.as_str() == Some(rt))) {
                return false;
            }
        }
        if let Some(wanted) = &self.labels {
            let labels = match decode_b64_json(key.labels.as_deref()) {
                Json::Object(m) => m,
                _ => Map::new(),
            };
            return wanted.iter().all(|(k, v)| match v {
                Some(v) => labels.get(k) == Some(v),
                None => labels.contains_key(k),
            });
        }
        true
    }
}

/// A connector with its owner and, when expanded, its secret values.
#[derive(Debug, Clone)]
pub struct ConnectorView {
    pub row: ConnectorRow,
    pub user: Option<UserRow>,
    /// `None` unless the secret values were asked for and the connector has a secret.
    pub secrets: Option<SecretValues>,
}

/// A new connector (`ServiceConnectorRequest`).
#[derive(Debug, Clone)]
pub struct NewConnector {
    pub name: String,
    pub connector_type: String,
    pub description: String,
    pub auth_method: String,
    pub resource_types: Vec<String>,
    pub resource_id: Option<String>,
    pub supports_instances: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub expires_skew_tolerance: Option<i64>,
    pub expiration_seconds: Option<i64>,
    pub configuration: Map<String, Json>,
    pub labels: Map<String, Json>,
}

/// Changes to a connector (`ServiceConnectorUpdate`). `None` keeps a value, except for
/// `resource_id` and `expiration_seconds`, which an update always replaces (`None` clears
/// them), as in the reference. `configuration` and `labels` replace the whole value.
#[derive(Debug, Clone, Default)]
pub struct ConnectorUpdate {
    pub name: Option<String>,
    pub connector_type: Option<String>,
    pub description: Option<String>,
    pub auth_method: Option<String>,
    pub resource_types: Option<Vec<String>>,
    pub resource_id: Option<String>,
    pub supports_instances: Option<bool>,
    pub expires_at: Option<NaiveDateTime>,
    pub expires_skew_tolerance: Option<i64>,
    pub expiration_seconds: Option<i64>,
    pub configuration: Option<Map<String, Json>>,
    pub labels: Option<Map<String, Json>>,
}

/// 404 with the reference's message (also used when a component links a missing connector).
pub fn connector_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get service connector with ID '{id}': No service connector with this ID found"))
}

fn exists_message(op: &str, name: &str) -> String {
    format!(
        "Unable to {op} the requested service connector with name '{name}': Found another existing service \
         connector with the same name."
    )
}

fn linked(what: &str) -> Error {
    Error::forbidden(format!(
        "The {what} of a service connector that is already actively used in one or more stack components cannot \
         be changed."
    ))
}

/// `b64(json)` of a map, or NULL when it is empty (how the reference writes `configuration`
/// and `labels`).
fn b64_or_null(m: &Map<String, Json>) -> Option<Vec<u8>> {
    (!m.is_empty()).then(|| encode_b64_json(&Json::Object(m.clone())))
}

fn b64_list(items: &[String]) -> Vec<u8> {
    encode_b64_json(&Json::Array(items.iter().cloned().map(Json::String).collect()))
}

/// Split a configuration with the connector type's specification when there is one.
fn split(
    connector_type: &str,
    auth_method: &str,
    resource_types: Option<&[String]>,
    configuration: Option<&Map<String, Json>>,
) -> Result<Option<types::Configured>, Error> {
    match find_connector_type(connector_type) {
        Some(spec) => types::validate_and_configure(&spec, auth_method, resource_types, configuration).map(Some),
        None => Ok(None),
    }
}

impl Store {
    /// A page of connectors. Queries: count and page (or, with `resource_type`/labels filters,
    /// the matching ids' keys, then the page's rows), owners, and secrets when `expand` is
    /// given: at most five, whatever the page size.
    pub async fn list_connectors(
        &self,
        params: &ListParams,
        filters: &ConnectorFilters,
        expand: Option<&SecretsCodec>,
    ) -> Result<Page<ConnectorView>, Error> {
        let wh = Where::new();
        let page: Page<ConnectorRow> = if filters.is_empty() {
            list::list(&self.db, &CONNECTOR_LIST, params, &wh).await?
        } else {
            let mut all = params.clone();
            all.page = 1;
            all.size = i64::MAX as u64;
            let keys: Page<ConnectorKey> = list::list(&self.db, &CONNECTOR_KEYS, &all, &wh).await?;
            let ids: Vec<Uuid> = keys.items.iter().filter(|k| filters.matches(k)).map(|k| parse_id(&k.id)).collect();
            let total = ids.len() as u64;
            let total_pages = if total == 0 { 1 } else { total.div_ceil(params.size) };
            if params.page > total_pages {
                return Err(Error::bad_request(format!(
                    "Invalid page {}. The requested page size is {} and there are a total of {} items \
                     for this query. The maximum page value therefore is {}.",
                    params.page, params.size, total, total_pages
                )));
            }
            let start = ((params.page - 1) * params.size) as usize;
            let slice = &ids[start.min(ids.len())..(start + params.size as usize).min(ids.len())];
            let mut rows: HashMap<Uuid, ConnectorRow> =
                self.connectors_by_ids(slice).await?.into_iter().map(|r| (r.uuid(), r)).collect();
            let items = slice.iter().filter_map(|id| rows.remove(id)).collect();
            Page { index: params.page, max_size: params.size, total_pages, total, items }
        };
        let views = self.connector_views(page.items.clone(), expand).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners and (with `expand`) secret values of these connectors, in at most two queries.
    async fn connector_views(
        &self,
        rows: Vec<ConnectorRow>,
        expand: Option<&SecretsCodec>,
    ) -> Result<Vec<ConnectorView>, Error> {
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|r| parse_opt_id(&r.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let mut secrets = match expand {
            Some(codec) => {
                let ids: Vec<Uuid> = rows.iter().filter_map(ConnectorRow::secret_uuid).collect();
                self.connector_secrets(&ids, codec).await?
            }
            None => HashMap::new(),
        };
        Ok(rows
            .into_iter()
            .map(|row| ConnectorView {
                user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                secrets: row.secret_uuid().and_then(|s| secrets.remove(&s)),
                row,
            })
            .collect())
    }

    /// Connectors by id (one query).
    pub async fn connectors_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ConnectorRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let mut query =
            q!(format!("SELECT {CONNECTOR_COLS} FROM `service_connector` WHERE `service_connector`.`id` IN ({marks})"));
        for id in ids {
            query.push_param(*id);
        }
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    pub async fn find_connector(&self, id: Uuid) -> Result<Option<ConnectorRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!("SELECT {CONNECTOR_COLS} FROM `service_connector` WHERE `service_connector`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)
    }

    /// A connector by id (404 with the reference's message); its secret values when `expand`
    /// is given.
    pub async fn get_connector(&self, id: Uuid, expand: Option<&SecretsCodec>) -> Result<ConnectorView, Error> {
        let row = self.find_connector(id).await?.ok_or_else(|| connector_not_found(id))?;
        let mut views = self.connector_views(vec![row], expand).await?;
        Ok(views.pop().expect("one view per row"))
    }

    /// Register a connector owned by `user_id`: validated against its type's specification
    /// when zenpro has it (400 otherwise), 409 on a duplicate name, secret values stored in a
    /// new internal secret. The answer carries the secret values.
    pub async fn create_connector(
        &self,
        c: NewConnector,
        user_id: Uuid,
        codec: Option<&SecretsCodec>,
    ) -> Result<ConnectorView, Error> {
        let (resource_types, supports_instances, config) =
            match split(&c.connector_type, &c.auth_method, Some(&c.resource_types), Some(&c.configuration))? {
                Some(conf) => (conf.resource_types, conf.supports_instances, conf.configuration.unwrap_or_default()),
                None => (c.resource_types, c.supports_instances, SplitConfiguration::unvalidated(c.configuration)),
            };
        let conflict = exists_message("create", &c.name);
        let mut tx = self.db.begin().await?;
        let taken = tx
            .fetch_i64(q!("SELECT count(*) FROM `service_connector` WHERE `name` = ?", &c.name))
            .await
            .map_err(db_err)?;
        if taken > 0 {
            return Err(Error::exists(conflict));
        }
        let secret_id = create_connector_secret(&mut tx, &c.name, &config.secrets, user_id, codec).await?;
        let id = Uuid::new_v4();
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `service_connector` (`id`, `created`, `updated`, `name`, `connector_type`, `description`, \
             `auth_method`, `resource_types`, `resource_id`, `supports_instances`, `configuration`, `secret_id`, \
             `expires_at`, `expires_skew_tolerance`, `expiration_seconds`, `labels`, `user_id`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            id,
            now,
            now,
            &c.name,
            &c.connector_type,
            &c.description,
            &c.auth_method,
            b64_list(&resource_types),
            c.resource_id.clone(),
            supports_instances,
            b64_or_null(&config.plain),
            secret_id,
            c.expires_at,
            c.expires_skew_tolerance,
            c.expiration_seconds,
            b64_or_null(&c.labels),
            user_id
        ))
        .await
        .map_err(|e| crate::db::map_err(e, &conflict))?;
        tx.commit().await?;
        let mut view = self.get_connector(id, None).await?;
        view.secrets = secret_id.map(|_| config.secrets);
        Ok(view)
    }

    /// Update a connector with the reference's rules: 409 when renamed onto another name; 403
    /// when a connector used by components would change type, auth method, resource types or
    /// resource id; a configuration replaces the whole configuration (and the secret values).
    /// The answer carries the secret values.
    pub async fn update_connector(
        &self,
        id: Uuid,
        mut u: ConnectorUpdate,
        user_id: Uuid,
        codec: Option<&SecretsCodec>,
    ) -> Result<ConnectorView, Error> {
        let mut tx = self.db.begin().await?;
        let cur: ConnectorRow = tx
            .fetch_optional(q!(
                format!("SELECT {CONNECTOR_COLS} FROM `service_connector` WHERE `service_connector`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| connector_not_found(id))?;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let conflict = exists_message("update", &name);
        if name != cur.name {
            let taken = tx
                .fetch_i64(q!("SELECT count(*) FROM `service_connector` WHERE `name` = ? AND `id` != ?", &name, id))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(Error::exists(conflict));
            }
        }
        let components = tx
            .fetch_i64(q!("SELECT count(*) FROM `stack_component` WHERE `connector_id` = ?", id))
            .await
            .map_err(db_err)?;
        if components > 0 {
            if u.connector_type.as_deref().is_some_and(|t| !t.is_empty() && t != cur.connector_type()) {
                return Err(linked("service type"));
            }
            if u.auth_method.as_deref().is_some_and(|a| !a.is_empty() && a != cur.auth_method()) {
                return Err(linked("authentication method"));
            }
            if u.resource_types.as_ref().is_some_and(|r| !r.is_empty() && *r != cur.resource_types_list()) {
                return Err(linked("resource type"));
            }
            if u.resource_id != cur.resource_id {
                return Err(linked("resource ID"));
            }
        }
        let mut config = u.configuration.take().map(SplitConfiguration::unvalidated);
        if find_connector_type(cur.connector_type()).is_some() {
            let auth_method = u.auth_method.clone().filter(|a| !a.is_empty()).unwrap_or(cur.auth_method().to_string());
            let conf = split(
                cur.connector_type(),
                &auth_method,
                u.resource_types.as_deref(),
                config.as_ref().map(|c| &c.plain),
            )?
            .expect("the connector type is known");
            u.auth_method = Some(auth_method);
            u.resource_types = Some(conf.resource_types);
            u.supports_instances = Some(conf.supports_instances);
            if conf.configuration.is_some() {
                config = conf.configuration;
            }
        }
        let mut secret_id = cur.secret_uuid();
        if let Some(c) = &config {
            secret_id = update_connector_secret(&mut tx, &cur.name, secret_id, &c.secrets, user_id, codec).await?;
        }
        tx.execute(q!(
            "UPDATE `service_connector` SET `updated` = ?, `name` = ?, `connector_type` = ?, `description` = ?, \
             `auth_method` = ?, `resource_types` = ?, `resource_id` = ?, `supports_instances` = ?, \
             `configuration` = ?, `secret_id` = ?, `expires_at` = ?, `expires_skew_tolerance` = ?, \
             `expiration_seconds` = ?, `labels` = ? WHERE `id` = ?",
            utc_now(),
            &name,
            u.connector_type.clone().or(cur.connector_type.clone()),
            u.description.clone().unwrap_or(cur.description.clone()),
            u.auth_method.clone().or(cur.auth_method.clone()),
            u.resource_types.as_deref().map(b64_list).unwrap_or(cur.resource_types.clone()),
            u.resource_id.clone(),
            u.supports_instances.unwrap_or(cur.supports_instances),
            match &config {
                Some(c) => b64_or_null(&c.plain),
                None => cur.configuration.clone(),
            },
            secret_id,
            u.expires_at.or(cur.expires_at),
            u.expires_skew_tolerance.or(cur.expires_skew_tolerance),
            u.expiration_seconds,
            match &u.labels {
                Some(l) => b64_or_null(l),
                None => cur.labels.clone(),
            },
            id
        ))
        .await
        .map_err(|e| crate::db::map_err(e, &conflict))?;
        tx.commit().await?;
        match (config, secret_id) {
            (Some(c), Some(_)) => {
                let mut view = self.get_connector(id, None).await?;
                view.secrets = Some(c.secrets);
                Ok(view)
            }
            (None, Some(_)) => self.get_connector(id, Some(need_codec(codec)?)).await,
            (_, None) => self.get_connector(id, None).await,
        }
    }

    /// Delete a connector that no component uses (403 otherwise, with the reference's
    /// message), with its secret.
    pub async fn delete_connector(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let cur: ConnectorRow = tx
            .fetch_optional(q!(
                format!("SELECT {CONNECTOR_COLS} FROM `service_connector` WHERE `service_connector`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| connector_not_found(id))?;
        let components = tx
            .fetch_i64(q!("SELECT count(*) FROM `stack_component` WHERE `connector_id` = ?", id))
            .await
            .map_err(db_err)?;
        if components > 0 {
            return Err(Error::forbidden(format!(
                "Service connector with ID {id} cannot be deleted as it is still referenced by {components} stack \
                 components. Before deleting this service connector, make sure to remove it from all stack \
                 components."
            )));
        }
        tx.execute(q!("DELETE FROM `service_connector` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if let Some(secret) = cur.secret_uuid() {
            delete_connector_secret(&mut tx, secret).await?;
        }
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_filters_parse_as_the_reference() {
        assert_eq!(
            ConnectorFilters::parse_labels(r#"{"a": "1", "b": null}"#),
            vec![("a".to_string(), Some(json!("1"))), ("b".to_string(), None)]
        );
        // `k=` asks for an empty value, a bare name for presence.
        assert_eq!(
            ConnectorFilters::parse_labels("a=1,b=,c"),
            vec![("a".to_string(), Some(json!("1"))), ("b".to_string(), Some(json!(""))), ("c".to_string(), None)]
        );
    }

    #[test]
    fn filters_match_decoded_columns() {
        let key = ConnectorKey {
            id: Uuid::nil().simple().to_string(),
            resource_types: b64_list(&["docker-registry".to_string()]),
            labels: Some(encode_b64_json(&json!({"env": "prod"}))),
        };
        let f = |rt: Option<&str>, labels: Option<&str>| ConnectorFilters {
            resource_type: rt.map(str::to_string),
            labels: labels.map(ConnectorFilters::parse_labels),
        };
        assert!(f(Some("docker-registry"), None).matches(&key));
        assert!(!f(Some("kubernetes-cluster"), None).matches(&key));
        assert!(f(None, Some("env=prod")).matches(&key));
        assert!(f(None, Some("env")).matches(&key));
        assert!(!f(None, Some("env=dev")).matches(&key));
        assert!(!f(None, Some("team")).matches(&key));
    }

    #[test]
    fn empty_maps_are_stored_as_null() {
        assert_eq!(b64_or_null(&Map::new()), None);
        assert_eq!(b64_or_null(&json!({"a": "b"}).as_object().unwrap().clone()), Some(b"eyJhIjogImIifQ==".to_vec()));
    }
}
