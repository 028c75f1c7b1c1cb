//! Stack components (`stack_component` table), unique per (name, type). `configuration`,
//! `labels` and `environment` are base64(json.dumps(...)) BLOBs; the flavor is referenced by
//! (name, type), not by id; secrets are linked through `secret_resource`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::Value as Json;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::connectors::{ConnectorRow, connector_not_found};
use crate::flavors::FlavorRow;
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::stacks::{RESOURCE_COMPONENT, decode_b64_json, encode_b64_json};
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

/// Name shared by the default stack and its components.
pub const DEFAULT_NAME: &str = "default";

/// Component types whose `default` component belongs to the default stack and is protected.
pub const PROTECTED_DEFAULT_TYPES: [&str; 3] = ["orchestrator", "deployer", "artifact_store"];

/// Every `StackComponentType` value, in the reference's declaration order.
pub const COMPONENT_TYPES: [&str; 15] = [
    "alerter",
    "annotator",
    "artifact_store",
    "container_registry",
    "data_validator",
    "experiment_tracker",
    "feature_store",
    "image_builder",
    "log_store",
    "model_deployer",
    "orchestrator",
    "step_operator",
    "model_registry",
    "deployer",
    "sandbox",
];

/// Types of which a stack may hold several components.
pub const MULTIPLE_PER_STACK: [&str; 4] = ["alerter", "experiment_tracker", "step_operator", "sandbox"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComponentRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub flavor: String,
    pub configuration: Vec<u8>,
    pub labels: Option<Vec<u8>>,
    pub environment: Option<Vec<u8>>,
    pub user_id: Option<String>,
    pub connector_id: Option<String>,
    pub connector_resource_id: Option<String>,
}

impl ComponentRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    /// The configuration object (`{}` when the column holds no object).
    pub fn configuration_json(&self) -> Json {
        match decode_b64_json(Some(&self.configuration)) {
            Json::Null => Json::Object(Default::default()),
            v => v,
        }
    }
    /// Labels (`null` when unset).
    pub fn labels_json(&self) -> Json {
        decode_b64_json(self.labels.as_deref())
    }
    /// Environment (`{}` when unset or null).
    pub fn environment_json(&self) -> Json {
        match decode_b64_json(self.environment.as_deref()) {
            Json::Null => Json::Object(Default::default()),
            v => v,
        }
    }
    /// Whether this is one of the default stack's components.
    pub fn is_protected_default(&self) -> bool {
        self.name == DEFAULT_NAME && PROTECTED_DEFAULT_TYPES.contains(&self.kind.as_str())
    }
}

pub const COMPONENT_COLS: &str = "`stack_component`.`id`, `stack_component`.`created`, \
    `stack_component`.`updated`, `stack_component`.`name`, `stack_component`.`type`, \
    `stack_component`.`flavor`, `stack_component`.`configuration`, `stack_component`.`labels`, \
    `stack_component`.`environment`, `stack_component`.`user_id`, `stack_component`.`connector_id`, \
    `stack_component`.`connector_resource_id`";

/// Filters of `ComponentFilter`. `scope_type` always applies (ANDed); `stack_id` is resolved
/// through `stack_composition` and also ANDed.
pub static COMPONENT_LIST: ListSpec = ListSpec {
    from: "`stack_component`",
    id: "`stack_component`.`id`",
    select: COMPONENT_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`stack_component`.`id`"),
        Field::col("created", Kind::Datetime, "`stack_component`.`created`"),
        Field::col("updated", Kind::Datetime, "`stack_component`.`updated`"),
        Field::col("name", Kind::Str, "`stack_component`.`name`"),
        Field::col("flavor", Kind::Str, "`stack_component`.`flavor`"),
        Field::col("type", Kind::Str, "`stack_component`.`type`"),
        Field::col("connector_id", Kind::Uuid, "`stack_component`.`connector_id`"),
        Field::related("user", "`stack_component`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("scope_type", Kind::Str),
        Field::custom("stack_id", Kind::Uuid),
    ],
};

/// A component with what its response shows: flavor, owner and (hydrated) secrets and
/// service connector.
#[derive(Debug, Clone)]
pub struct ComponentView {
    pub row: ComponentRow,
    pub flavor: Option<FlavorRow>,
    pub user: Option<UserRow>,
    /// Ids of linked secrets, by secret name; empty unless hydrated.
    pub secrets: Vec<Uuid>,
    /// The linked service connector; `None` unless hydrated.
    pub connector: Option<ConnectorRow>,
}

/// A new component (`ComponentRequest`, flavor by name).
#[derive(Debug, Clone)]
pub struct NewComponent {
    pub name: String,
    pub kind: String,
    pub flavor: String,
    pub configuration: Json,
    pub labels: Option<Json>,
    pub environment: Option<Json>,
    pub connector_resource_id: Option<String>,
    /// Secret names or ids.
    pub secrets: Vec<String>,
}

/// Changes to a component (`ComponentUpdate`); `None` keeps the value. As in the reference,
/// every update that links no connector clears the connector and its resource id, and one
/// that links a connector also sets the resource id it sends.
#[derive(Debug, Clone, Default)]
pub struct ComponentUpdate {
    pub name: Option<String>,
    pub configuration: Option<Json>,
    /// `Some(Json::Null)` stores `null` (read back as `{}`).
    pub environment: Option<Json>,
    /// `Some(Json::Null)` stores `null`.
    pub labels: Option<Json>,
    pub add_secrets: Vec<String>,
    pub remove_secrets: Vec<String>,
    /// The service connector to link (404 when missing).
    pub connector: Option<Uuid>,
    pub connector_resource_id: Option<String>,
}

pub(crate) fn component_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get stack component with ID '{id}': No stack component with this ID found"))
}

fn exists_message(kind: &str, name: &str) -> String {
    format!(
        "Unable to register '{kind}' component with name '{name}': Found an existing component with the same name and type."
    )
}

/// `validate_name`: names must not contain control whitespace.
pub fn check_name(model: &str, name: &str) -> Result<(), Error> {
    let banned: String = name.chars().filter(|c| "\t\n\r\u{0b}\u{0c}".contains(*c)).collect();
    if name.is_empty() {
        return Err(Error::bad_request(format!(
            "The class `{model}Request` has no attribute `name` or it is set to `None`. Cannot validate the name."
        )));
    }
    if !banned.is_empty() {
        return Err(Error::bad_request(format!(
            "The name `{name}` of the `{model}` contains the following forbidden characters: `{banned}`."
        )));
    }
    Ok(())
}

/// Python's `repr` of a list of strings (`['a', 'b']`), for messages.
fn py_list(items: &[&str]) -> String {
    let inner: Vec<String> =
        items.iter().map(|s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))).collect();
    format!("[{}]", inner.join(", "))
}

/// Check a configuration against the flavor's config schema the way the reference's
/// `validate_stack_component_config` does for the parts a schema can tell: unknown keys
/// (except keys already stored) and missing required keys. Custom flavors, whose classes the
/// server cannot import, are not validated.
pub fn validate_configuration(flavor: &FlavorRow, config: &Json, existing: Option<&Json>) -> Result<(), Error> {
    if flavor.is_custom {
        return Ok(());
    }
    let Some(config) = config.as_object() else {
        return Err(Error::validation("The stack component configuration must be an object."));
    };
    let schema = flavor.config_schema_json();
    let props = schema.get("properties").and_then(Json::as_object);
    let existing = existing.and_then(Json::as_object);
    let extra: Vec<&str> = config
        .keys()
        .filter(|k| !props.is_some_and(|p| p.contains_key(k.as_str())))
        .filter(|k| !existing.is_some_and(|e| e.contains_key(k.as_str())))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return Err(Error::bad_request(format!(
            "Invalid configuration keys {} for {} {}.",
            py_list(&extra),
            flavor.name,
            flavor.kind
        )));
    }
    let missing: Vec<&str> = schema
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).filter(|k| !config.contains_key(*k)).collect())
        .unwrap_or_default();
    if !missing.is_empty() {
        let title = schema.get("title").and_then(Json::as_str).unwrap_or("configuration");
        return Err(Error::bad_request(format!(
            "{} validation error{} for {title}: missing required field{} {}.",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            if missing.len() == 1 { "" } else { "s" },
            py_list(&missing)
        )));
    }
    Ok(())
}

/// Append the `stack_id` and `scope_type` conditions of a component list.
fn component_scope(backend: crate::Backend, params: &mut ListParams, wh: &mut Where) {
    for f in params.take("scope_type") {
        let mut c = Query::default();
        list::condition(&mut c, backend, "`stack_component`.`type`", Kind::Str, &f);
        wh.and(c);
    }
    for f in params.take("stack_id") {
        let mut c = Query::new("`stack_component`.`id` IN (SELECT `component_id` FROM `stack_composition` WHERE ");
        list::condition(&mut c, backend, "`stack_id`", Kind::Uuid, &f);
        c.push_sql(")");
        wh.and(c);
    }
}

impl Store {
    /// A page of components. Queries: count, page, flavors, owners, and (hydrated) secrets
    /// and connectors: at most six, whatever the page size.
    pub async fn list_components(&self, params: &ListParams) -> Result<Page<ComponentView>, Error> {
        let mut params = params.clone();
        let mut wh = Where::new();
        component_scope(self.backend(), &mut params, &mut wh);
        let page: Page<ComponentRow> = list::list(&self.db, &COMPONENT_LIST, &params, &wh).await?;
        let views = self.component_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Flavors, owners and (when `with_secrets`) secrets and connectors of these components, in
    /// at most four queries.
    pub async fn component_views(
        &self,
        rows: Vec<ComponentRow>,
        with_secrets: bool,
    ) -> Result<Vec<ComponentView>, Error> {
        let pairs: Vec<(String, String)> = rows.iter().map(|c| (c.flavor.clone(), c.kind.clone())).collect();
        let flavors = self.flavors_by_name_and_type(&pairs).await?;
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|c| parse_opt_id(&c.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let (mut secrets, connectors) = if with_secrets {
            let ids: Vec<Uuid> = rows.iter().map(ComponentRow::uuid).collect();
            let mut connector_ids: Vec<Uuid> = rows.iter().filter_map(|c| parse_opt_id(&c.connector_id)).collect();
            connector_ids.sort_unstable();
            connector_ids.dedup();
            let connectors: HashMap<Uuid, ConnectorRow> =
                self.connectors_by_ids(&connector_ids).await?.into_iter().map(|c| (c.uuid(), c)).collect();
            (self.secrets_of(RESOURCE_COMPONENT, &ids).await?, connectors)
        } else {
            (HashMap::new(), HashMap::new())
        };
        Ok(rows
            .into_iter()
            .map(|row| ComponentView {
                flavor: flavors.get(&(row.flavor.clone(), row.kind.clone())).cloned(),
                user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                secrets: secrets.remove(&row.uuid()).unwrap_or_default(),
                connector: parse_opt_id(&row.connector_id).and_then(|c| connectors.get(&c).cloned()),
                row,
            })
            .collect())
    }

    pub async fn find_component(&self, id: Uuid) -> Result<Option<ComponentRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!("SELECT {COMPONENT_COLS} FROM `stack_component` WHERE `stack_component`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)
    }

    /// A component by id (404 with the reference's message).
    pub async fn get_component(&self, id: Uuid, hydrate: bool) -> Result<ComponentView, Error> {
        let row = self.find_component(id).await?.ok_or_else(|| component_not_found(id))?;
        let mut views = self.component_views(vec![row], hydrate).await?;
        Ok(views.pop().expect("one view per row"))
    }

    /// Components by id (one query).
    pub async fn components_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ComponentRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let mut query =
            q!(format!("SELECT {COMPONENT_COLS} FROM `stack_component` WHERE `stack_component`.`id` IN ({marks})"));
        for id in ids {
            query.push_param(*id);
        }
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    /// The flavor a new component names, after checking its configuration against it.
    pub async fn flavor_for_component(
        &self,
        kind: &str,
        flavor: &str,
        config: &Json,
        existing: Option<&Json>,
    ) -> Result<FlavorRow, Error> {
        let f = self
            .find_flavor_by_name_and_type(flavor, kind)
            .await?
            .ok_or_else(|| Error::not_found(format!("No flavor with name '{flavor}' and type '{kind}' exists.")))?;
        validate_configuration(&f, config, existing)?;
        Ok(f)
    }

    /// Register a component owned by `user_id`, linked to `connector` when given: 409 on a
    /// duplicate (name, type), 404 for an unknown flavor or connector, 400 for an invalid
    /// configuration.
    pub async fn create_component(
        &self,
        c: NewComponent,
        connector: Option<Uuid>,
        user_id: Uuid,
    ) -> Result<ComponentView, Error> {
        check_name("Component", &c.name)?;
        let secrets = self.resolve_secrets(&c.secrets, user_id).await?;
        let mut tx = self.db.begin().await?;
        if component_exists(&mut tx, &c.name, &c.kind).await? {
            return Err(Error::exists(exists_message(&c.kind, &c.name)));
        }
        self.flavor_for_component(&c.kind, &c.flavor, &c.configuration, None).await?;
        if let Some(cid) = connector {
            connector_in(&mut tx, cid).await?;
        }
        let id = insert_component(&mut tx, &c, Some(user_id)).await?;
        if let Some(cid) = connector {
            tx.execute(q!("UPDATE `stack_component` SET `connector_id` = ? WHERE `id` = ?", cid, id))
                .await
                .map_err(db_err)?;
        }
        crate::stacks::link_secrets(&mut tx, id, RESOURCE_COMPONENT, &secrets).await?;
        tx.commit().await?;
        self.get_component(id, true).await
    }

    /// Update a component (the reference's rules: configuration checked against the flavor,
    /// default components refused, renames checked for (name, type) conflicts).
    pub async fn update_component(&self, id: Uuid, u: ComponentUpdate, user_id: Uuid) -> Result<ComponentView, Error> {
        let cur = self.find_component(id).await?.ok_or_else(|| component_not_found(id))?;
        if let Some(cfg) = &u.configuration {
            self.flavor_for_component(&cur.kind, &cur.flavor, cfg, Some(&cur.configuration_json())).await?;
        }
        if cur.is_protected_default() {
            return Err(Error::forbidden(format!("The default {} cannot be modified.", cur.kind)));
        }
        if let Some(n) = &u.name {
            check_name("Component", n)?;
        }
        let add = self.resolve_secrets(&u.add_secrets, user_id).await?;
        let remove = self.resolve_secrets(&u.remove_secrets, user_id).await?;
        let mut tx = self.db.begin().await?;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        if name != cur.name && component_exists(&mut tx, &name, &cur.kind).await? {
            return Err(Error::exists(exists_message(&cur.kind, &name)));
        }
        if let Some(cid) = u.connector {
            connector_in(&mut tx, cid).await?;
        }
        let connector_resource_id = u.connector.and(u.connector_resource_id.clone());
        let configuration = u.configuration.as_ref().map(encode_b64_json).unwrap_or(cur.configuration);
        let labels = u.labels.as_ref().map(encode_b64_json).or(cur.labels);
        let environment = u.environment.as_ref().map(encode_b64_json).or(cur.environment);
        tx.execute(q!(
            "UPDATE `stack_component` SET `updated` = ?, `name` = ?, `configuration` = ?, `labels` = ?, \
             `environment` = ?, `connector_id` = ?, `connector_resource_id` = ? WHERE `id` = ?",
            utc_now(),
            name.clone(),
            configuration,
            labels,
            environment,
            u.connector,
            connector_resource_id,
            id
        ))
        .await
        .map_err(|e| crate::db::map_err(e, &exists_message(&cur.kind, &name)))?;
        crate::stacks::link_secrets(&mut tx, id, RESOURCE_COMPONENT, &add).await?;
        crate::stacks::unlink_secrets(&mut tx, id, RESOURCE_COMPONENT, &remove).await?;
        tx.commit().await?;
        self.get_component(id, true).await
    }

    /// Delete a component that is neither a default component, nor in a stack, nor a deployer
    /// still managing deployments (403 otherwise, with the reference's messages).
    pub async fn delete_component(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let cur: ComponentRow = tx
            .fetch_optional(q!(
                format!("SELECT {COMPONENT_COLS} FROM `stack_component` WHERE `stack_component`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| component_not_found(id))?;
        if cur.is_protected_default() {
            return Err(Error::forbidden(format!("The default {} cannot be deleted.", cur.kind)));
        }
        if cur.kind == "deployer" {
            let n = tx
                .fetch_i64(q!(
                    "SELECT count(*) FROM `deployment` WHERE `deployer_id` = ? AND `status` != ?",
                    id,
                    "absent"
                ))
                .await
                .map_err(db_err)?;
            if n > 0 {
                return Err(Error::forbidden(format!(
                    "The {} deployer stack component cannot be deleted because there are still {n} deployments \
                     being managed by it and this would result in orphaned resources.Please deprovision or delete \
                     the deployments first.",
                    cur.name
                )));
            }
        }
        let stacks = tx
            .fetch_i64(q!("SELECT count(*) FROM `stack_composition` WHERE `component_id` = ?", id))
            .await
            .map_err(db_err)?;
        if stacks > 0 {
            return Err(Error::forbidden(format!(
                "Stack Component `{}` of type `{} cannot be deleted as it is part of {stacks} stacks. \
                 Before deleting this stack component, make sure to remove it from all stacks.",
                cur.name, cur.kind
            )));
        }
        tx.execute(q!(
            "DELETE FROM `secret_resource` WHERE `resource_id` = ? AND `resource_type` = ?",
            id,
            RESOURCE_COMPONENT
        ))
        .await
        .map_err(db_err)?;
        tx.execute(q!("DELETE FROM `stack_component` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }
}

/// The service connector a component links (404 with the reference's message when missing).
async fn connector_in(tx: &mut Tx, id: Uuid) -> Result<(), Error> {
    let n = tx.fetch_i64(q!("SELECT count(*) FROM `service_connector` WHERE `id` = ?", id)).await.map_err(db_err)?;
    if n == 0 {
        return Err(connector_not_found(id));
    }
    Ok(())
}

/// Whether a component of this (name, type) exists.
pub(crate) async fn component_exists(tx: &mut Tx, name: &str, kind: &str) -> Result<bool, Error> {
    let n = tx
        .fetch_i64(q!("SELECT count(*) FROM `stack_component` WHERE `name` = ? AND `type` = ?", name, kind))
        .await
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Insert a component row (no checks) and return its id.
pub(crate) async fn insert_component(tx: &mut Tx, c: &NewComponent, user_id: Option<Uuid>) -> Result<Uuid, Error> {
    let id = Uuid::new_v4();
    let now = utc_now();
    let null = Json::Null;
    tx.execute(q!(
        "INSERT INTO `stack_component` (`id`, `created`, `updated`, `name`, `type`, `flavor`, `configuration`, \
         `labels`, `environment`, `user_id`, `connector_id`, `connector_resource_id`) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        id,
        now,
        now,
        c.name.clone(),
        c.kind.clone(),
        c.flavor.clone(),
        encode_b64_json(&c.configuration),
        encode_b64_json(c.labels.as_ref().unwrap_or(&null)),
        encode_b64_json(c.environment.as_ref().unwrap_or(&null)),
        user_id,
        c.connector_resource_id.clone()
    ))
    .await
    .map_err(|e| crate::db::map_err(e, &exists_message(&c.kind, &c.name)))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flavor(schema: &str, custom: bool) -> FlavorRow {
        FlavorRow {
            id: Uuid::nil().simple().to_string(),
            created: utc_now(),
            updated: utc_now(),
            name: "local".into(),
            kind: "artifact_store".into(),
            source: "x.Y".into(),
            display_name: None,
            config_schema: schema.into(),
            integration: Some("built-in".into()),
            connector_type: None,
            connector_resource_type: None,
            connector_resource_id_attr: None,
            user_id: None,
            logo_url: None,
            docs_url: None,
            sdk_docs_url: None,
            is_custom: custom,
        }
    }

    #[test]
    fn configuration_keys_are_checked_against_the_schema() {
        let f = flavor(r#"{"properties": {"path": {"type": "string"}}, "required": ["path"], "title": "C"}"#, false);
        assert!(validate_configuration(&f, &serde_json::json!({"path": "/x"}), None).is_ok());
        let e = validate_configuration(&f, &serde_json::json!({"path": "/x", "bad": 1}), None).unwrap_err();
        assert_eq!(e.to_string(), "Invalid configuration keys ['bad'] for local artifact_store.");
        // Keys already stored are tolerated on update.
        assert!(
            validate_configuration(
                &f,
                &serde_json::json!({"path": "/x", "bad": 1}),
                Some(&serde_json::json!({"bad": 0}))
            )
            .is_ok()
        );
        assert!(validate_configuration(&f, &serde_json::json!({}), None).is_err());
        // Custom flavors are not validated.
        assert!(validate_configuration(&flavor("{}", true), &serde_json::json!({"any": 1}), None).is_ok());
    }

    #[test]
    fn names_with_control_whitespace_are_refused() {
        assert!(check_name("Component", "ok name").is_ok());
        assert!(check_name("Component", "bad\tname").is_err());
    }
}
