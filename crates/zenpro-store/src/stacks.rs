//! Stacks and their composition (`stack`, `stack_composition`), plus the secret links of
//! stacks and components (`secret_resource`). Labels and environment are stored as
//! base64(json.dumps(...)) BLOBs. Stack names are globally unique; the stack named `default`
//! cannot be changed or deleted.

use std::collections::HashMap;

use base64::Engine;
use chrono::NaiveDateTime;
use serde_json::Value as Json;
use uuid::Uuid;
use zenpro_types::filter::{Filter, Kind, Op, Value as FilterValue};
use zenpro_types::{Error, Page, time::utc_now};

use crate::components::{
    COMPONENT_TYPES, ComponentRow, MULTIPLE_PER_STACK, NewComponent, component_exists, component_not_found,
    insert_component,
};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

/// `base64(json)` as ZenML writes its LargeBinary JSON columns.
pub fn encode_b64_json(v: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.encode(python_json(v)).into_bytes()
}

/// Decode a base64 JSON column; `None`/empty/invalid become JSON null.
pub fn decode_b64_json(raw: Option<&[u8]>) -> serde_json::Value {
    let Some(raw) = raw else {
        return serde_json::Value::Null;
    };
    let trimmed: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&trimmed)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// JSON text the way Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII
/// escaped), so stored bytes match what the Python server writes.
pub fn python_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_py(v, &mut out);
    out
}

fn write_py(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as V;
    match v {
        V::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str(k, out);
                out.push_str(": ");
                write_py(val, out);
            }
            out.push('}');
        }
        V::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(val, out);
            }
            out.push(']');
        }
        V::String(s) => write_py_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_py_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Types of the default stack's components, in the order the Python server creates them.
pub const DEFAULT_COMPONENT_TYPES: [&str; 3] = ["orchestrator", "deployer", "artifact_store"];

impl Store {
    /// Get-or-create the stack named `default` with local components (all owned by nobody).
    pub async fn ensure_default_stack(&self) -> Result<(), Error> {
        let n = self
            .db
            .clone()
            .fetch_i64(q!("SELECT count(*) FROM `stack` WHERE `name` = ?", "default"))
            .await
            .map_err(db_err)?;
        if n > 0 {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let empty = encode_b64_json(&serde_json::json!({}));
        let null = encode_b64_json(&serde_json::Value::Null);
        let stack_id = Uuid::new_v4();
        let mut components = Vec::new();
        for kind in DEFAULT_COMPONENT_TYPES {
            let id = Uuid::new_v4();
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `stack_component` (`id`, `created`, `updated`, `name`, `type`, `flavor`, `configuration`, \
                 `labels`, `environment`, `user_id`, `connector_id`, `connector_resource_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                id,
                now,
                now,
                "default",
                kind,
                "local",
                empty.clone(),
                null.clone(),
                null.clone()
            ))
            .await
            .map_err(db_err)?;
            components.push((id, kind));
        }
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `stack` (`id`, `created`, `updated`, `name`, `description`, `stack_spec_path`, `labels`, \
             `environment`, `user_id`) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
            stack_id,
            now,
            now,
            "default",
            "",
            empty,
            null
        ))
        .await
        .map_err(db_err)?;
        for (id, kind) in components {
            tx.execute(q!(
                "INSERT INTO `stack_composition` (`stack_id`, `component_id`, `default_for_type`) VALUES (?, ?, ?)",
                stack_id,
                id,
                kind
            ))
            .await
            .map_err(db_err)?;
        }
        match tx.commit().await {
            Ok(()) | Err(Error::EntityExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `secret_resource.resource_type` of stacks.
pub const RESOURCE_STACK: &str = "stack";
/// `secret_resource.resource_type` of stack components.
pub const RESOURCE_COMPONENT: &str = "stack_component";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StackRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub description: Option<String>,
    pub stack_spec_path: Option<String>,
    pub labels: Option<Vec<u8>>,
    pub environment: Option<Vec<u8>>,
    pub user_id: Option<String>,
}

impl StackRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
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
}

pub const STACK_COLS: &str = "`stack`.`id`, `stack`.`created`, `stack`.`updated`, `stack`.`name`, \
    `stack`.`description`, `stack`.`stack_spec_path`, `stack`.`labels`, `stack`.`environment`, `stack`.`user_id`";

/// Filters of `StackFilter`; `component_id` and `component` go through `stack_composition`
/// and are ANDed.
pub static STACK_LIST: ListSpec = ListSpec {
    from: "`stack`",
    id: "`stack`.`id`",
    select: STACK_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`stack`.`id`"),
        Field::col("created", Kind::Datetime, "`stack`.`created`"),
        Field::col("updated", Kind::Datetime, "`stack`.`updated`"),
        Field::col("name", Kind::Str, "`stack`.`name`"),
        Field::col("description", Kind::Str, "`stack`.`description`"),
        Field::related("user", "`stack`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("component_id", Kind::Uuid),
        Field::custom("component", Kind::Str),
    ],
};

/// A component of a stack, as the stack's metadata shows it (body only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StackMember {
    pub stack_id: String,
    pub default_for_type: Option<String>,
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub flavor: String,
    pub user_id: Option<String>,
    /// From the component's flavor row.
    pub integration: Option<String>,
    pub logo_url: Option<String>,
}

/// A stack with its owner and, when hydrated, its components and secrets.
#[derive(Debug, Clone)]
pub struct StackView {
    pub row: StackRow,
    pub user: Option<UserRow>,
    /// `None` unless hydrated; grouped by type in type order, the type's default first.
    pub components: Option<Vec<StackMember>>,
    pub secrets: Vec<Uuid>,
}

/// A component of a new stack: an existing one, or one to create with the stack.
#[derive(Debug, Clone)]
pub enum ComponentRef {
    Id(Uuid),
    New { flavor: String, configuration: Json },
}

/// A new stack (`StackRequest`). `components` keeps the request's type order.
#[derive(Debug, Clone)]
pub struct NewStack {
    pub name: String,
    pub description: String,
    pub stack_spec_path: Option<String>,
    pub components: Vec<(String, Vec<ComponentRef>)>,
    pub environment: Option<Json>,
    pub labels: Option<Json>,
    pub secrets: Vec<String>,
}

/// Changes to a stack (`StackUpdate`); `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct StackUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears it.
    pub stack_spec_path: Option<Option<String>>,
    pub components: Option<Vec<(String, Vec<Uuid>)>>,
    /// `Some(Json::Null)` stores `null`.
    pub environment: Option<Json>,
    /// `Some(Json::Null)` stores `null`.
    pub labels: Option<Json>,
    pub add_secrets: Vec<String>,
    pub remove_secrets: Vec<String>,
}

fn stack_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get stack with ID '{id}': No stack with this ID found"))
}

fn stack_exists_message(op: &str, name: &str) -> String {
    format!("Unable to {op} the requested stack with name '{name}': Found another existing stack with the same name.")
}

/// The `StackRequest`/`StackUpdate` validator: known types, one component per type except the
/// repeatable ones, and at least an orchestrator and an artifact store (422 otherwise).
pub fn check_stack_components<T>(components: &[(String, Vec<T>)]) -> Result<(), Error> {
    for (kind, list) in components {
        if !COMPONENT_TYPES.contains(&kind.as_str()) {
            return Err(Error::validation(format!(
                "Input should be {}: '{kind}' is not a stack component type.",
                COMPONENT_TYPES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
            )));
        }
        if !MULTIPLE_PER_STACK.contains(&kind.as_str()) && list.len() > 1 {
            return Err(Error::validation(format!(
                "Value error, Stack component type '{kind}' does not support multiple components in a single stack."
            )));
        }
    }
    let has = |t: &str| components.iter().any(|(k, l)| k == t && !l.is_empty());
    if has("orchestrator") && has("artifact_store") {
        Ok(())
    } else {
        Err(Error::validation("Value error, Stack must contain at least an orchestrator and artifact store."))
    }
}

/// A name-or-id filter value applied to an id column: hex when it is a UUID.
fn as_id_filter(f: &Filter) -> Filter {
    let value = match &f.value {
        FilterValue::Str(s) => match zenpro_types::filter::uuid_hex(s) {
            Some(h) => FilterValue::Str(h),
            None if matches!(f.op, Op::Equals) => FilterValue::Never,
            None => FilterValue::Str(s.replace('-', "").to_lowercase()),
        },
        FilterValue::List(items) => {
            FilterValue::List(items.iter().filter_map(|s| zenpro_types::filter::uuid_hex(s)).collect())
        }
        other => other.clone(),
    };
    Filter { field: f.field.clone(), op: f.op, value }
}

impl Store {
    /// A page of stacks. Queries: count, page, owners, and (hydrated) components with their
    /// flavors and secrets: at most five, whatever the page size.
    pub async fn list_stacks(&self, params: &ListParams) -> Result<Page<StackView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        for f in params.take("component_id") {
            let mut c = Query::new("`stack`.`id` IN (SELECT `stack_id` FROM `stack_composition` WHERE ");
            list::condition(&mut c, backend, "`component_id`", Kind::Uuid, &f);
            c.push_sql(")");
            wh.and(c);
        }
        for f in params.take("component") {
            let mut c = Query::new(
                "`stack`.`id` IN (SELECT `sc`.`stack_id` FROM `stack_composition` AS `sc` JOIN `stack_component` AS `c` \
                 ON `c`.`id` = `sc`.`component_id` WHERE (",
            );
            list::condition(&mut c, backend, "`c`.`id`", Kind::Uuid, &as_id_filter(&f));
            c.push_sql(") OR (");
            list::condition(&mut c, backend, "`c`.`name`", Kind::Str, &f);
            c.push_sql("))");
            wh.and(c);
        }
        let page: Page<StackRow> = list::list(&self.db, &STACK_LIST, &params, &wh).await?;
        let views = self.stack_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners and (hydrated) components and secrets of these stacks, in at most three queries.
    pub async fn stack_views(&self, rows: Vec<StackRow>, hydrate: bool) -> Result<Vec<StackView>, Error> {
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|s| parse_opt_id(&s.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let ids: Vec<Uuid> = rows.iter().map(StackRow::uuid).collect();
        let (mut members, mut secrets) = if hydrate && !ids.is_empty() {
            (self.stack_members(&ids).await?, self.secrets_of(RESOURCE_STACK, &ids).await?)
        } else {
            (HashMap::new(), HashMap::new())
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                StackView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    components: hydrate.then(|| members.remove(&id).unwrap_or_default()),
                    secrets: secrets.remove(&id).unwrap_or_default(),
                    row,
                }
            })
            .collect())
    }

    /// Components of these stacks with their flavors' logo and integration (one query).
    async fn stack_members(&self, stack_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<StackMember>>, Error> {
        let marks = vec!["?"; stack_ids.len()].join(", ");
        let mut query = q!(format!(
            "SELECT `sc`.`stack_id`, `sc`.`default_for_type`, `c`.`id`, `c`.`created`, `c`.`updated`, `c`.`name`, \
             `c`.`type`, `c`.`flavor`, `c`.`user_id`, `f`.`integration`, `f`.`logo_url` \
             FROM `stack_composition` AS `sc` JOIN `stack_component` AS `c` ON `c`.`id` = `sc`.`component_id` \
             LEFT JOIN `flavor` AS `f` ON `f`.`name` = `c`.`flavor` AND `f`.`type` = `c`.`type` \
             WHERE `sc`.`stack_id` IN ({marks}) \
             ORDER BY `c`.`type`, (`sc`.`default_for_type` IS NULL), `c`.`created`, `c`.`id`"
        ));
        for id in stack_ids {
            query.push_param(*id);
        }
        let rows: Vec<StackMember> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<StackMember>> = HashMap::new();
        for m in rows {
            out.entry(parse_id(&m.stack_id)).or_default().push(m);
        }
        Ok(out)
    }

    pub async fn find_stack(&self, id: Uuid) -> Result<Option<StackRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {STACK_COLS} FROM `stack` WHERE `stack`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A stack by id (404 with the reference's message).
    pub async fn get_stack(&self, id: Uuid, hydrate: bool) -> Result<StackView, Error> {
        let row = self.find_stack(id).await?.ok_or_else(|| stack_not_found(id))?;
        let mut views = self.stack_views(vec![row], hydrate).await?;
        Ok(views.pop().expect("one view per row"))
    }

    /// Existing components of a stack request, checked to exist and to be of the type they
    /// are listed under.
    async fn check_members(&self, components: &[(String, Vec<Uuid>)]) -> Result<(), Error> {
        let ids: Vec<Uuid> = components.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        let found: HashMap<Uuid, ComponentRow> =
            self.components_by_ids(&ids).await?.into_iter().map(|c| (c.uuid(), c)).collect();
        for (kind, list) in components {
            for id in list {
                let c = found.get(id).ok_or_else(|| component_not_found(*id))?;
                if &c.kind != kind {
                    return Err(Error::bad_request(format!(
                        "The stack component '{}' ({id}) is of type '{}' and cannot be used as '{kind}'.",
                        c.name, c.kind
                    )));
                }
            }
        }
        Ok(())
    }

    /// Register a stack owned by `user_id`, creating the components given by flavor and
    /// configuration (named after the stack) in the same transaction.
    pub async fn create_stack(&self, s: NewStack, user_id: Uuid) -> Result<StackView, Error> {
        check_stack_components(&s.components)?;
        crate::components::check_name("Stack", &s.name)?;
        let existing: Vec<(String, Vec<Uuid>)> = s
            .components
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    l.iter().filter_map(|c| if let ComponentRef::Id(id) = c { Some(*id) } else { None }).collect(),
                )
            })
            .collect();
        self.check_members(&existing).await?;
        for (kind, list) in &s.components {
            for c in list {
                if let ComponentRef::New { flavor, configuration } = c {
                    self.flavor_for_component(kind, flavor, configuration, None).await.map_err(|e| match e {
                        Error::NotFound(_) => {
                            Error::bad_request(format!("Flavor '{flavor}' not found for component type '{kind}'."))
                        }
                        e => e,
                    })?;
                }
            }
        }
        let secrets = self.resolve_secrets(&s.secrets, user_id).await?;
        let labels = s.labels.clone().unwrap_or_else(|| Json::Object(Default::default()));
        let mut tx = self.db.begin().await?;
        let taken =
            tx.fetch_i64(q!("SELECT count(*) FROM `stack` WHERE `name` = ?", s.name.clone())).await.map_err(db_err)?;
        if taken > 0 {
            return Err(Error::exists(stack_exists_message("create", &s.name)));
        }
        let mut members: Vec<(String, Vec<Uuid>)> = Vec::new();
        for (kind, list) in &s.components {
            let mut ids = Vec::new();
            for c in list {
                match c {
                    ComponentRef::Id(id) => ids.push(*id),
                    ComponentRef::New { flavor, configuration } => {
                        let mut name = s.name.clone();
                        while component_exists(&mut tx, &name, kind).await? {
                            name = format!("{}-{}", s.name, &Uuid::new_v4().simple().to_string()[..4]).to_lowercase();
                        }
                        let new = NewComponent {
                            name,
                            kind: kind.clone(),
                            flavor: flavor.clone(),
                            configuration: configuration.clone(),
                            labels: Some(labels.clone()),
                            environment: None,
                            connector_resource_id: None,
                            secrets: Vec::new(),
                        };
                        ids.push(insert_component(&mut tx, &new, Some(user_id)).await?);
                    }
                }
            }
            members.push((kind.clone(), ids));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        let null = Json::Null;
        tx.execute(q!(
            "INSERT INTO `stack` (`id`, `created`, `updated`, `name`, `description`, `stack_spec_path`, `labels`, \
             `environment`, `user_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            id,
            now,
            now,
            s.name.clone(),
            s.description.clone(),
            s.stack_spec_path.clone(),
            encode_b64_json(&labels),
            encode_b64_json(s.environment.as_ref().unwrap_or(&null)),
            user_id
        ))
        .await
        .map_err(|e| crate::db::map_err(e, &stack_exists_message("create", &s.name)))?;
        add_compositions(&mut tx, id, &members).await?;
        link_secrets(&mut tx, id, RESOURCE_STACK, &secrets).await?;
        tx.commit().await?;
        self.get_stack(id, true).await
    }

    /// Update a stack (not the default one: 403); 409 when renamed onto another stack's name.
    pub async fn update_stack(&self, id: Uuid, u: StackUpdate, user_id: Uuid) -> Result<StackView, Error> {
        let cur = self.find_stack(id).await?.ok_or_else(|| stack_not_found(id))?;
        if let Some(c) = &u.components {
            check_stack_components(c)?;
            self.check_members(c).await?;
        }
        if cur.name == crate::components::DEFAULT_NAME {
            return Err(Error::forbidden("The default stack cannot be modified."));
        }
        let add = self.resolve_secrets(&u.add_secrets, user_id).await?;
        let remove = self.resolve_secrets(&u.remove_secrets, user_id).await?;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let conflict = stack_exists_message("update", &name);
        let mut tx = self.db.begin().await?;
        if name != cur.name {
            let taken = tx
                .fetch_i64(q!("SELECT count(*) FROM `stack` WHERE `name` = ? AND `id` != ?", name.clone(), id))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(Error::exists(conflict));
            }
        }
        tx.execute(q!(
            "UPDATE `stack` SET `updated` = ?, `name` = ?, `description` = ?, `stack_spec_path` = ?, `labels` = ?, \
             `environment` = ? WHERE `id` = ?",
            utc_now(),
            name.clone(),
            u.description.clone().or(cur.description),
            u.stack_spec_path.clone().unwrap_or(cur.stack_spec_path),
            u.labels.as_ref().map(encode_b64_json).or(cur.labels),
            u.environment.as_ref().map(encode_b64_json).or(cur.environment),
            id
        ))
        .await
        .map_err(|e| crate::db::map_err(e, &conflict))?;
        if let Some(components) = &u.components {
            tx.execute(q!("DELETE FROM `stack_composition` WHERE `stack_id` = ?", id)).await.map_err(db_err)?;
            add_compositions(&mut tx, id, components).await?;
        }
        link_secrets(&mut tx, id, RESOURCE_STACK, &add).await?;
        unlink_secrets(&mut tx, id, RESOURCE_STACK, &remove).await?;
        tx.commit().await?;
        self.get_stack(id, true).await
    }

    /// Delete a stack (not the default one: 403). Its components stay.
    pub async fn delete_stack(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let cur: StackRow = tx
            .fetch_optional(q!(format!("SELECT {STACK_COLS} FROM `stack` WHERE `stack`.`id` = ?"), id))
            .await
            .map_err(db_err)?
            .ok_or_else(|| stack_not_found(id))?;
        if cur.name == crate::components::DEFAULT_NAME {
            return Err(Error::forbidden("The default stack cannot be deleted."));
        }
        for stmt in [
            "DELETE FROM `stack_composition` WHERE `stack_id` = ?",
            "DELETE FROM `secret_resource` WHERE `resource_id` = ? AND `resource_type` = 'stack'",
            "DELETE FROM `stack` WHERE `id` = ?",
        ] {
            tx.execute(q!(stmt, id)).await.map_err(db_err)?;
        }
        tx.commit().await
    }

    /// Resolve secret names or ids to the ids of secrets the user may use: not internal, and
    /// public or their own (404 with the reference's message otherwise).
    pub async fn resolve_secrets(&self, keys: &[String], user_id: Uuid) -> Result<Vec<Uuid>, Error> {
        #[derive(sqlx::FromRow)]
        struct SecretId {
            id: String,
        }
        let mut out = Vec::new();
        for key in keys {
            let visible = "`internal` = ? AND (`private` = ? OR `user_id` = ?)";
            let query = match Uuid::parse_str(key) {
                Ok(id) => {
                    q!(format!("SELECT `id` FROM `secret` WHERE `id` = ? AND {visible}"), id, false, false, user_id)
                }
                Err(_) => q!(
                    format!("SELECT `id` FROM `secret` WHERE `name` = ? AND {visible} ORDER BY `private` DESC"),
                    key,
                    false,
                    false,
                    user_id
                ),
            };
            let found: Vec<SecretId> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            let Some(s) = found.first() else {
                return Err(Error::not_found(format!(
                    "Secret with name or ID {key} not found or is private and not owned by the current user."
                )));
            };
            let id = parse_id(&s.id);
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Secret ids linked to these resources, each list ordered by secret name (one query).
    pub async fn secrets_of(&self, resource_type: &str, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, Error> {
        #[derive(sqlx::FromRow)]
        struct Link {
            resource_id: String,
            secret_id: String,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let mut query = q!(
            format!(
                "SELECT `sr`.`resource_id`, `sr`.`secret_id` FROM `secret_resource` AS `sr` \
                 JOIN `secret` AS `s` ON `s`.`id` = `sr`.`secret_id` \
                 WHERE `sr`.`resource_type` = ? AND `sr`.`resource_id` IN ({marks}) ORDER BY `s`.`name`, `s`.`id`"
            ),
            resource_type
        );
        for id in ids {
            query.push_param(*id);
        }
        let links: Vec<Link> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for l in links {
            out.entry(parse_id(&l.resource_id)).or_default().push(parse_id(&l.secret_id));
        }
        Ok(out)
    }
}

/// Composition rows; the first component of each type is that type's default.
async fn add_compositions(tx: &mut Tx, stack_id: Uuid, components: &[(String, Vec<Uuid>)]) -> Result<(), Error> {
    for (kind, ids) in components {
        let mut seen: Vec<Uuid> = Vec::new();
        for (i, cid) in ids.iter().enumerate() {
            if seen.contains(cid) {
                continue;
            }
            seen.push(*cid);
            let default_for_type: Option<&str> = (i == 0).then_some(kind.as_str());
            tx.execute(q!(
                "INSERT INTO `stack_composition` (`stack_id`, `component_id`, `default_for_type`) VALUES (?, ?, ?)",
                stack_id,
                *cid,
                default_for_type
            ))
            .await
            .map_err(db_err)?;
        }
    }
    Ok(())
}

/// Link secrets to a stack or component (existing links are kept).
pub(crate) async fn link_secrets(
    tx: &mut Tx,
    resource_id: Uuid,
    resource_type: &str,
    secrets: &[Uuid],
) -> Result<(), Error> {
    for sid in secrets {
        let n = tx
            .fetch_i64(q!(
                "SELECT count(*) FROM `secret_resource` WHERE `resource_id` = ? AND `resource_type` = ? AND `secret_id` = ?",
                resource_id,
                resource_type,
                *sid
            ))
            .await
            .map_err(db_err)?;
        if n > 0 {
            continue;
        }
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `secret_resource` (`id`, `created`, `updated`, `secret_id`, `resource_id`, `resource_type`) \
             VALUES (?, ?, ?, ?, ?, ?)",
            Uuid::new_v4(),
            now,
            now,
            *sid,
            resource_id,
            resource_type
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Remove secret links of a stack or component.
pub(crate) async fn unlink_secrets(
    tx: &mut Tx,
    resource_id: Uuid,
    resource_type: &str,
    secrets: &[Uuid],
) -> Result<(), Error> {
    for sid in secrets {
        tx.execute(q!(
            "DELETE FROM `secret_resource` WHERE `resource_id` = ? AND `resource_type` = ? AND `secret_id` = ?",
            resource_id,
            resource_type,
            *sid
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_json_matches_python() {
        assert_eq!(encode_b64_json(&serde_json::json!({})), b"e30=");
        assert_eq!(encode_b64_json(&serde_json::Value::Null), b"bnVsbA==");
        assert_eq!(decode_b64_json(Some(b"e30=")), serde_json::json!({}));
        assert_eq!(python_json(&serde_json::json!({"a": [1, "é"], "b": null})), r#"{"a": [1, "\u00e9"], "b": null}"#);
    }
}
