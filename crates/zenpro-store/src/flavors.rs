//! Stack component flavors (`flavor` table): the 82 built-in rows seeded with the schema and
//! custom flavors registered by users. Unique per (name, type).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::stacks::python_json;
use crate::users::UserRow;
use crate::{Store, Tx, db_err, parse_opt_id, q};

/// `STR_FIELD_MAX_LENGTH`/`TEXT_FIELD_MAX_LENGTH` of the reference.
pub const TEXT_FIELD_MAX_LENGTH: usize = 65_535;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlavorRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub source: String,
    pub display_name: Option<String>,
    pub config_schema: String,
    pub integration: Option<String>,
    pub connector_type: Option<String>,
    pub connector_resource_type: Option<String>,
    pub connector_resource_id_attr: Option<String>,
    pub user_id: Option<String>,
    pub logo_url: Option<String>,
    pub docs_url: Option<String>,
    pub sdk_docs_url: Option<String>,
    pub is_custom: bool,
}

impl FlavorRow {
    /// The display name the reference reports: the column, else the name title-cased with
    /// underscores as spaces (`vm_kubernetes` → `Vm Kubernetes`).
    pub fn display_name(&self) -> String {
        match self.display_name.as_deref() {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => python_title(&self.name.replace('_', " ")),
        }
    }

    /// The `config_schema` column parsed (JSON object text).
    pub fn config_schema_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.config_schema).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// Python's `str.title()`: a cased character is upper-cased when it follows an uncased one
/// (digits, spaces, punctuation), lower-cased otherwise.
pub fn python_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        let cased = c.is_lowercase() || c.is_uppercase();
        if cased {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
        } else {
            out.push(c);
        }
        prev_cased = cased;
    }
    out
}

pub const FLAVOR_COLS: &str = "`flavor`.`id`, `flavor`.`created`, `flavor`.`updated`, `flavor`.`name`, \
    `flavor`.`type`, `flavor`.`source`, `flavor`.`display_name`, `flavor`.`config_schema`, \
    `flavor`.`integration`, `flavor`.`connector_type`, `flavor`.`connector_resource_type`, \
    `flavor`.`connector_resource_id_attr`, `flavor`.`user_id`, `flavor`.`logo_url`, `flavor`.`docs_url`, \
    `flavor`.`sdk_docs_url`, `flavor`.`is_custom`";

/// Filters of `FlavorFilter`.
pub static FLAVOR_LIST: ListSpec = ListSpec {
    from: "`flavor`",
    id: "`flavor`.`id`",
    select: FLAVOR_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`flavor`.`id`"),
        Field::col("created", Kind::Datetime, "`flavor`.`created`"),
        Field::col("updated", Kind::Datetime, "`flavor`.`updated`"),
        Field::col("name", Kind::Str, "`flavor`.`name`"),
        Field::col("display_name", Kind::Str, "`flavor`.`display_name`"),
        Field::col("type", Kind::Str, "`flavor`.`type`"),
        Field::col("integration", Kind::Str, "`flavor`.`integration`"),
        Field::related("user", "`flavor`.`user_id`", "`user`", &["id", "name", "full_name"]),
    ],
};

/// A flavor with its owner, as the API shows it.
#[derive(Debug, Clone)]
pub struct FlavorView {
    pub row: FlavorRow,
    pub user: Option<UserRow>,
}

/// A new flavor (`FlavorRequest`).
#[derive(Debug, Clone)]
pub struct NewFlavor {
    pub name: String,
    pub kind: String,
    pub source: String,
    pub config_schema: serde_json::Value,
    pub integration: Option<String>,
    pub connector_type: Option<String>,
    pub connector_resource_type: Option<String>,
    pub connector_resource_id_attr: Option<String>,
    pub logo_url: Option<String>,
    pub docs_url: Option<String>,
    pub sdk_docs_url: Option<String>,
    pub is_custom: bool,
    /// Owner; ignored (NULL) for built-in flavors, as the reference does.
    pub user_id: Option<Uuid>,
}

/// Changes to a flavor (`FlavorUpdate`); `None` keeps the value, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct FlavorUpdate {
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub kind: Option<String>,
    pub config_schema: Option<serde_json::Value>,
    pub connector_type: Option<Option<String>>,
    pub connector_resource_type: Option<Option<String>>,
    pub connector_resource_id_attr: Option<Option<String>>,
    pub source: Option<String>,
    pub integration: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub docs_url: Option<Option<String>>,
    pub sdk_docs_url: Option<Option<String>>,
    pub is_custom: Option<bool>,
}

fn not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get flavor with ID '{id}': No flavor with this ID found"))
}

fn schema_text(v: &serde_json::Value) -> Result<String, Error> {
    let text = python_json(v);
    if text.len() > TEXT_FIELD_MAX_LENGTH {
        return Err(Error::bad_request("Json representation of configuration schemaexceeds max length."));
    }
    Ok(text)
}

impl Store {
    /// A page of flavors with their owners: three queries (count, page, owners).
    pub async fn list_flavors(&self, params: &ListParams) -> Result<Page<FlavorView>, Error> {
        let page: Page<FlavorRow> = list::list(&self.db, &FLAVOR_LIST, params, &Where::new()).await?;
        let ids: Vec<Uuid> = page.items.iter().filter_map(|f| parse_opt_id(&f.user_id)).collect();
        let users = self.users_by_id(&ids).await?;
        Ok(page.map(|row| {
            let user = parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned());
            FlavorView { row, user }
        }))
    }

    pub async fn find_flavor(&self, id: Uuid) -> Result<Option<FlavorRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {FLAVOR_COLS} FROM `flavor` WHERE `flavor`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A flavor by id with its owner (404 with the reference's message).
    pub async fn get_flavor(&self, id: Uuid) -> Result<FlavorView, Error> {
        let row = self.find_flavor(id).await?.ok_or_else(|| not_found(id))?;
        let user = match parse_opt_id(&row.user_id) {
            Some(u) => self.find_account_by_id(u).await?,
            None => None,
        };
        Ok(FlavorView { row, user })
    }

    /// The flavor of a (flavor name, component type) pair.
    pub async fn find_flavor_by_name_and_type(&self, name: &str, kind: &str) -> Result<Option<FlavorRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!("SELECT {FLAVOR_COLS} FROM `flavor` WHERE `flavor`.`name` = ? AND `flavor`.`type` = ?"),
                name,
                kind
            ))
            .await
            .map_err(db_err)
    }

    /// Flavors of these (name, type) pairs, in one query.
    pub async fn flavors_by_name_and_type(
        &self,
        pairs: &[(String, String)],
    ) -> Result<HashMap<(String, String), FlavorRow>, Error> {
        let mut names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = vec!["?"; names.len()].join(", ");
        let mut query = q!(format!("SELECT {FLAVOR_COLS} FROM `flavor` WHERE `flavor`.`name` IN ({marks})"));
        for n in names {
            query.push_param(n);
        }
        let rows: Vec<FlavorRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|f| ((f.name.clone(), f.kind.clone()), f)).collect())
    }

    /// Accounts by id, as a map (one query).
    pub(crate) async fn users_by_id(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UserRow>, Error> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let rows = self.accounts_by_ids(&ids).await?;
        Ok(rows.into_iter().map(|u| (crate::parse_id(&u.id), u)).collect())
    }

    /// Register a flavor; 409 when (name, type) exists.
    pub async fn create_flavor(&self, f: NewFlavor) -> Result<FlavorView, Error> {
        let conflict = format!(
            "Unable to register '{t}' flavor with name '{n}' and type '{t}': Found an existing flavor with the same name and type.",
            t = f.kind,
            n = f.name
        );
        if self.find_flavor_by_name_and_type(&f.name, &f.kind).await?.is_some() {
            return Err(Error::exists(conflict));
        }
        let config_schema = schema_text(&f.config_schema)?;
        let id = Uuid::new_v4();
        let now = utc_now();
        let user_id = if f.is_custom { f.user_id } else { None };
        // The reference never stores a display name for registered flavors.
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `flavor` (`id`, `created`, `updated`, `name`, `type`, `source`, `display_name`, \
                 `config_schema`, `integration`, `connector_type`, `connector_resource_type`, \
                 `connector_resource_id_attr`, `user_id`, `logo_url`, `docs_url`, `sdk_docs_url`, `is_custom`) \
                 VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                f.name,
                f.kind,
                f.source,
                config_schema,
                f.integration,
                f.connector_type,
                f.connector_resource_type,
                f.connector_resource_id_attr,
                user_id,
                f.logo_url,
                f.docs_url,
                f.sdk_docs_url,
                f.is_custom
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.get_flavor(id).await
    }

    /// Update a flavor; 409 when the new (name, type) is taken by another flavor.
    pub async fn update_flavor(&self, id: Uuid, u: FlavorUpdate) -> Result<FlavorView, Error> {
        let cur = self.find_flavor(id).await?.ok_or_else(|| not_found(id))?;
        let conflict = format!(
            "Unable to update '{}' flavor with name '{}': Found an existing flavor with the same name and type.",
            cur.kind, cur.name
        );
        let name = u.name.unwrap_or_else(|| cur.name.clone());
        let kind = u.kind.unwrap_or_else(|| cur.kind.clone());
        if (name != cur.name || kind != cur.kind)
            && let Some(other) = self.find_flavor_by_name_and_type(&name, &kind).await?
            && other.id != cur.id
        {
            return Err(Error::exists(conflict));
        }
        let config_schema = match &u.config_schema {
            Some(v) => schema_text(v)?,
            None => cur.config_schema.clone(),
        };
        self.db
            .clone()
            .execute(q!(
                "UPDATE `flavor` SET `updated` = ?, `name` = ?, `type` = ?, `source` = ?, `display_name` = ?, \
                 `config_schema` = ?, `integration` = ?, `connector_type` = ?, `connector_resource_type` = ?, \
                 `connector_resource_id_attr` = ?, `logo_url` = ?, `docs_url` = ?, `sdk_docs_url` = ?, \
                 `is_custom` = ? WHERE `id` = ?",
                utc_now(),
                name,
                kind,
                u.source.unwrap_or(cur.source),
                u.display_name.unwrap_or(cur.display_name),
                config_schema,
                u.integration.unwrap_or(cur.integration),
                u.connector_type.unwrap_or(cur.connector_type),
                u.connector_resource_type.unwrap_or(cur.connector_resource_type),
                u.connector_resource_id_attr.unwrap_or(cur.connector_resource_id_attr),
                u.logo_url.unwrap_or(cur.logo_url),
                u.docs_url.unwrap_or(cur.docs_url),
                u.sdk_docs_url.unwrap_or(cur.sdk_docs_url),
                u.is_custom.unwrap_or(cur.is_custom),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.get_flavor(id).await
    }

    /// Delete a flavor no component uses (403 otherwise).
    pub async fn delete_flavor(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let cur: FlavorRow = tx
            .fetch_optional(q!(format!("SELECT {FLAVOR_COLS} FROM `flavor` WHERE `flavor`.`id` = ?"), id))
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(id))?;
        let used = components_of_flavor(&mut tx, &cur.name, &cur.kind).await?;
        if used > 0 {
            return Err(Error::forbidden(format!(
                "Stack Component `{}` of type `{} cannot be deleted as it is used by {used} components. \
                 Before deleting this flavor, make sure to delete all associated components.",
                cur.name, cur.kind
            )));
        }
        tx.execute(q!("DELETE FROM `flavor` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }
}

async fn components_of_flavor(tx: &mut Tx, name: &str, kind: &str) -> Result<i64, Error> {
    tx.fetch_i64(q!("SELECT count(*) FROM `stack_component` WHERE `flavor` = ? AND `type` = ?", name, kind))
        .await
        .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_follow_python_title() {
        assert_eq!(python_title("vm kubernetes"), "Vm Kubernetes");
        assert_eq!(python_title("local docker"), "Local Docker");
        assert_eq!(python_title("s3"), "S3");
        assert_eq!(python_title("mlflow"), "Mlflow");
        assert_eq!(python_title("spark-kubernetes"), "Spark-Kubernetes");
        assert_eq!(python_title("gcp2x"), "Gcp2X");
        assert_eq!(python_title("AzureML"), "Azureml");
    }
}
