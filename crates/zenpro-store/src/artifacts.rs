//! Artifacts (`artifact`), their versions (`artifact_version`), visualizations
//! (`artifact_visualization`) and the run metadata attached to versions.
//!
//! Artifact names are unique per project: versions created by name get-or-create their
//! artifact (a concurrent creator wins and the row is read back). Versions without an explicit
//! version are numbered `max(version_number) + 1` and retried on a unique violation of
//! (version, artifact_id), so concurrent creators get distinct numbers; an explicit version
//! that exists already is a 409. `materializer` and `data_type` are `Source` objects stored as
//! compact JSON (pydantic's `model_dump_json`).

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::{self, Kind, Logical, Op};
use zenpro_types::{Error, Page, time::utc_now};

use crate::db::{DbRow, Tx, is_unique_violation, map_err};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::stacks::python_json;
use crate::tags::{TagRow, marks, push_ids, tags_conditions};
use crate::users::UserRow;
use crate::{Backend, Query, Store, db_err, parse_id, parse_opt_id, q};

/// At most this many ids of a related entity are resolved into an `IN (...)` list.
const MAX_RESOLVED_IDS: usize = 500;

#[derive(sqlx::FromRow)]
struct IdRow {
    id: String,
}

/// `MAX_RETRIES_FOR_VERSIONED_ENTITY_CREATION`.
pub const MAX_VERSION_RETRIES: u32 = 10;
/// `TEXT_FIELD_MAX_LENGTH`: longer metadata values are skipped.
const TEXT_FIELD_MAX_LENGTH: usize = 65_535;

/// `TaggableResourceTypes` / `MetadataResourceTypes` values of this module.
pub const RESOURCE_ARTIFACT: &str = "artifact";
pub const RESOURCE_ARTIFACT_VERSION: &str = "artifact_version";

/// `ArtifactType` values (stored CamelCase).
pub const ARTIFACT_TYPES: [&str; 7] = [
    "DataAnalysisArtifact",
    "DataArtifact",
    "ModelArtifact",
    "SchemaArtifact",
    "ServiceArtifact",
    "StatisticsArtifact",
    "BaseArtifact",
];
/// `ArtifactSaveType` values.
pub const SAVE_TYPES: [&str; 4] = ["step_output", "manual", "preexisting", "external"];
/// `VisualizationType` values.
pub const VISUALIZATION_TYPES: [&str; 5] = ["csv", "html", "image", "markdown", "json"];

/// Whether a failed statement may succeed when retried: a unique violation (someone took the
/// version first) or a serialization failure / deadlock (SQLSTATE 40001).
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    is_unique_violation(e) || matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("40001"))
}

/// `exponential_backoff_with_jitter`: uniform in [0, 50ms * 1.5^attempt].
pub(crate) async fn backoff(attempt: u32) {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    let frac = u16::from_le_bytes(b) as f64 / u16::MAX as f64;
    let secs = 0.05 * 1.5f64.powi(attempt as i32) * frac;
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub has_custom_name: bool,
    pub project_id: String,
    pub user_id: Option<String>,
}

impl ArtifactRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const ARTIFACT_COLS: &str = "`artifact`.`id`, `artifact`.`created`, `artifact`.`updated`, `artifact`.`name`, \
    `artifact`.`has_custom_name`, `artifact`.`project_id`, `artifact`.`user_id`";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactVersionRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub version: String,
    pub version_number: Option<i64>,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub uri: String,
    pub materializer: String,
    pub data_type: String,
    pub save_type: String,
    pub content_hash: Option<String>,
    pub item_count: Option<i64>,
    pub artifact_id: String,
    pub artifact_store_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: String,
}

impl ArtifactVersionRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    /// The materializer `Source` as JSON.
    pub fn materializer_json(&self) -> Json {
        source_json(&self.materializer)
    }
    /// The data type `Source` as JSON.
    pub fn data_type_json(&self) -> Json {
        source_json(&self.data_type)
    }
}

pub const VERSION_COLS: &str = "`artifact_version`.`id`, `artifact_version`.`created`, `artifact_version`.`updated`, \
    `artifact_version`.`version`, `artifact_version`.`version_number`, `artifact_version`.`type`, \
    `artifact_version`.`uri`, `artifact_version`.`materializer`, `artifact_version`.`data_type`, \
    `artifact_version`.`save_type`, `artifact_version`.`content_hash`, `artifact_version`.`item_count`, \
    `artifact_version`.`artifact_id`, `artifact_version`.`artifact_store_id`, `artifact_version`.`user_id`, \
    `artifact_version`.`project_id`";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisualizationRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub uri: String,
    pub artifact_version_id: String,
}

const VIS_COLS: &str = "`artifact_visualization`.`id`, `artifact_visualization`.`created`, \
    `artifact_visualization`.`updated`, `artifact_visualization`.`type`, `artifact_visualization`.`uri`, \
    `artifact_visualization`.`artifact_version_id`";

/// A stored `Source` (compact JSON, or an old import path) as the response shows it.
pub fn source_json(stored: &str) -> Json {
    match serde_json::from_str::<Json>(stored) {
        Ok(v @ Json::Object(_)) => v,
        _ => source_from_import_path(stored),
    }
}

/// `Source.from_import_path`: `module.attribute` (anything after `@` dropped), type unknown.
pub fn source_from_import_path(path: &str) -> Json {
    let path = path.split('@').next().unwrap_or(path);
    let (module, attribute) = match path.rsplit_once('.') {
        Some((m, a)) => (m.to_string(), Json::String(a.to_string())),
        None => (path.to_string(), Json::Null),
    };
    let mut m = Map::new();
    m.insert("module".into(), Json::String(module));
    m.insert("attribute".into(), attribute);
    m.insert("type".into(), Json::String("unknown".into()));
    Json::Object(m)
}

/// Normalise a request `Source` (an object or an import path) to what `model_dump_json` writes:
/// `module`, `attribute`, `type`, then any extra keys in request order. `None` when invalid.
pub fn normalize_source(v: &Json) -> Option<Json> {
    let obj = match v {
        Json::String(s) => return Some(source_from_import_path(s)),
        Json::Object(o) => o,
        _ => return None,
    };
    let module = obj.get("module")?.as_str()?;
    let kind = obj.get("type")?.as_str()?;
    let attribute = match obj.get("attribute") {
        None | Some(Json::Null) => Json::Null,
        Some(Json::String(s)) => Json::String(s.clone()),
        Some(_) => return None,
    };
    let mut m = Map::new();
    m.insert("module".into(), Json::String(module.to_string()));
    m.insert("attribute".into(), attribute);
    m.insert("type".into(), Json::String(kind.to_string()));
    for (k, v) in obj {
        if !matches!(k.as_str(), "module" | "attribute" | "type") {
            m.insert(k.clone(), v.clone());
        }
    }
    Some(Json::Object(m))
}

/// `ArtifactFilter`; `tags` and `latest_version` sorting are handled by
/// [`Store::list_artifacts`]. Project scope is a fixed condition.
pub static ARTIFACT_LIST: ListSpec = ListSpec {
    from: "`artifact`",
    id: "`artifact`.`id`",
    select: ARTIFACT_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`artifact`.`id`"),
        Field::col("created", Kind::Datetime, "`artifact`.`created`"),
        Field::col("updated", Kind::Datetime, "`artifact`.`updated`"),
        Field::col("name", Kind::Str, "`artifact`.`name`"),
        Field::col("has_custom_name", Kind::Bool, "`artifact`.`has_custom_name`"),
        Field::related("user", "`artifact`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("tags", Kind::Str),
        // Sort key only: the newest version's creation time (the artifact's own when it has none).
        Field {
            name: "latest_version",
            kind: Kind::Datetime,
            sql: list::FieldSql::Column(
                "COALESCE((SELECT MAX(`v`.`created`) FROM `artifact_version` AS `v` \
                 WHERE `v`.`artifact_id` = `artifact`.`id`), `artifact`.`created`)",
            ),
            sortable: true,
        },
    ],
};

/// `ArtifactVersionFilter`. `artifact_id` is the deprecated spelling of `artifact` (used only
/// when `artifact` is absent); the custom fields are handled by
/// [`Store::list_artifact_versions`].
pub static VERSION_LIST: ListSpec = ListSpec {
    from: "`artifact_version`",
    id: "`artifact_version`.`id`",
    select: VERSION_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`artifact_version`.`id`"),
        Field::col("created", Kind::Datetime, "`artifact_version`.`created`"),
        Field::col("updated", Kind::Datetime, "`artifact_version`.`updated`"),
        Field::col("version", Kind::Str, "`artifact_version`.`version`"),
        Field::col("version_number", Kind::Int, "`artifact_version`.`version_number`"),
        Field::col("uri", Kind::Str, "`artifact_version`.`uri`"),
        Field::col("materializer", Kind::Str, "`artifact_version`.`materializer`"),
        Field::col("type", Kind::Str, "`artifact_version`.`type`"),
        Field::col("data_type", Kind::Str, "`artifact_version`.`data_type`"),
        Field::col("artifact_store_id", Kind::Uuid, "`artifact_version`.`artifact_store_id`"),
        Field::related("user", "`artifact_version`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::related("artifact", "`artifact_version`.`artifact_id`", "`artifact`", &["id", "name"]),
        Field::related("artifact_id", "`artifact_version`.`artifact_id`", "`artifact`", &["id", "name"]),
        Field::custom("model_version_id", Kind::Uuid),
        Field::custom("only_unused", Kind::Bool),
        Field::custom("has_custom_name", Kind::Bool),
        Field::custom("model", Kind::Str),
        Field::custom("pipeline_run", Kind::Str),
        Field::custom("tags", Kind::Str),
        Field::custom("run_metadata", Kind::Str),
    ],
};

/// An artifact with what its response shows besides the row.
#[derive(Debug, Clone)]
pub struct ArtifactView {
    pub row: ArtifactRow,
    pub user: Option<UserRow>,
    pub tags: Vec<TagRow>,
    /// (id, version) of the newest version.
    pub latest: Option<(Uuid, String)>,
}

/// An artifact version with its artifact and, as requested, its resources and metadata.
#[derive(Debug, Clone)]
pub struct ArtifactVersionView {
    pub row: ArtifactVersionRow,
    pub artifact: ArtifactRow,
    /// Filled when resources are requested.
    pub resources: Option<VersionResources>,
    /// Filled when hydrated.
    pub metadata: Option<VersionMetadata>,
}

#[derive(Debug, Clone)]
pub struct VersionResources {
    pub user: Option<UserRow>,
    pub tags: Vec<TagRow>,
    /// (producer step run, its pipeline run): the oldest completed step that output it.
    pub producer: Option<(Uuid, Uuid)>,
}

#[derive(Debug, Clone)]
pub struct VersionMetadata {
    pub visualizations: Vec<VisualizationRow>,
    pub run_metadata: Map<String, Json>,
}

/// A new artifact (`ArtifactRequest`).
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub project_id: Uuid,
    pub name: String,
    pub has_custom_name: bool,
    pub tags: Option<Vec<String>>,
}

/// Changes to an artifact (`ArtifactUpdate`).
#[derive(Debug, Clone, Default)]
pub struct ArtifactUpdate {
    pub name: Option<String>,
    pub has_custom_name: Option<bool>,
    pub add_tags: Option<Vec<String>>,
    pub remove_tags: Option<Vec<String>>,
}

/// A new artifact version (`ArtifactVersionRequest`), already validated.
#[derive(Debug, Clone)]
pub struct NewArtifactVersion {
    pub project_id: Uuid,
    pub artifact_id: Option<Uuid>,
    pub artifact_name: Option<String>,
    pub version: Option<String>,
    pub has_custom_name: bool,
    pub kind: String,
    pub artifact_store_id: Option<Uuid>,
    pub uri: String,
    /// Normalised `Source` objects (see [`normalize_source`]).
    pub materializer: Json,
    pub data_type: Json,
    pub content_hash: Option<String>,
    pub tags: Option<Vec<String>>,
    /// (type, uri)
    pub visualizations: Vec<(String, String)>,
    pub save_type: String,
    pub metadata: Option<Map<String, Json>>,
    pub item_count: Option<i64>,
}

fn artifact_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get artifact with ID '{id}': No artifact with this ID found"))
}

fn version_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get artifact version with ID '{id}': No artifact version with this ID found"))
}

/// `MetadataTypeEnum` value of a JSON metadata value (`None`: unsupported, skipped).
pub fn metadata_type(v: &Json) -> Option<&'static str> {
    match v {
        Json::String(_) => Some("str"),
        Json::Bool(_) => Some("bool"),
        Json::Number(n) if n.is_f64() => Some("float"),
        Json::Number(_) => Some("int"),
        Json::Object(_) => Some("dict"),
        Json::Array(_) => Some("list"),
        Json::Null => None,
    }
}

/// Insert run metadata rows for one resource (`create_run_metadata`): one `run_metadata` row
/// per key (value as `json.dumps`) and its `run_metadata_resource` link. Values too large for
/// a TEXT column or of unsupported types are skipped, as the reference does. Unlike
/// `Store::create_run_metadata` this writes inside the caller's transaction, so a version and
/// its metadata are stored together.
pub(crate) async fn insert_run_metadata(
    tx: &mut Tx,
    project_id: Uuid,
    user_id: Option<Uuid>,
    resource_type: &str,
    resource_id: Uuid,
    values: &Map<String, Json>,
) -> Result<(), Error> {
    for (key, value) in values {
        let text = python_json(value);
        let Some(kind) = metadata_type(value) else { continue };
        if text.len() > TEXT_FIELD_MAX_LENGTH {
            tracing::warn!(key, "metadata value is too large to be stored: skipped");
            continue;
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `run_metadata` (`id`, `created`, `updated`, `stack_component_id`, `user_id`, `project_id`, \
             `key`, `value`, `type`, `publisher_step_id`) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL)",
            id,
            now,
            now,
            user_id,
            project_id,
            key.clone(),
            text,
            kind
        ))
        .await
        .map_err(db_err)?;
        tx.execute(q!(
            "INSERT INTO `run_metadata_resource` (`id`, `resource_id`, `resource_type`, `run_metadata_id`) \
             VALUES (?, ?, ?, ?)",
            Uuid::new_v4(),
            resource_id,
            resource_type,
            id
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    // ---------------------------------------------------------------- artifacts

    pub async fn find_artifact(&self, id: Uuid) -> Result<Option<ArtifactRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {ARTIFACT_COLS} FROM `artifact` WHERE `artifact`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// Artifacts by id (one query).
    pub async fn artifacts_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ArtifactRow>, Error> {
        fetch_in(self, &format!("SELECT {ARTIFACT_COLS} FROM `artifact` WHERE `artifact`.`id` IN"), ids).await
    }

    /// A page of artifacts of a project. Queries: count, page, owners, tags and latest
    /// versions: five, whatever the page size.
    pub async fn list_artifacts(&self, project_id: Uuid, params: &ListParams) -> Result<Page<ArtifactView>, Error> {
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`artifact`.`project_id` = ?", project_id));
        for c in tags_conditions(self.backend(), &mut params, "`artifact`.`id`") {
            wh.and(c);
        }
        params.take("latest_version");
        let page: Page<ArtifactRow> = list::list(&self.db, &ARTIFACT_LIST, &params, &wh).await?;
        let views = self.artifact_views(page.items.clone()).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners, tags and latest versions of these artifacts (three queries).
    pub async fn artifact_views(&self, rows: Vec<ArtifactRow>) -> Result<Vec<ArtifactView>, Error> {
        #[derive(sqlx::FromRow)]
        struct Latest {
            artifact_id: String,
            id: String,
            version: String,
        }
        let ids: Vec<Uuid> = rows.iter().map(ArtifactRow::uuid).collect();
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|a| parse_opt_id(&a.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let mut tags = self.tags_of(RESOURCE_ARTIFACT, &ids).await?;
        let latest: HashMap<Uuid, (Uuid, String)> = if ids.is_empty() {
            HashMap::new()
        } else {
            // One pass over the page's versions (a correlated "latest" subquery per version row was
            // quadratic: minutes for an artifact with 10,000 versions).
            let mut query = q!(format!(
                "SELECT `t`.`artifact_id`, `t`.`id`, `t`.`version` FROM (SELECT `av`.`artifact_id`, `av`.`id`, \
                 `av`.`version`, ROW_NUMBER() OVER (PARTITION BY `av`.`artifact_id` ORDER BY `av`.`created` DESC, \
                 `av`.`version_number` DESC, `av`.`id` DESC) AS `rn` FROM `artifact_version` AS `av` \
                 WHERE `av`.`artifact_id` IN ({})) AS `t` WHERE `t`.`rn` = 1",
                marks(ids.len())
            ));
            push_ids(&mut query, &ids);
            let rows: Vec<Latest> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            rows.into_iter().map(|l| (parse_id(&l.artifact_id), (parse_id(&l.id), l.version))).collect()
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                ArtifactView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    tags: tags.remove(&id).unwrap_or_default(),
                    latest: latest.get(&id).cloned(),
                    row,
                }
            })
            .collect())
    }

    pub async fn get_artifact(&self, id: Uuid) -> Result<ArtifactView, Error> {
        let row = self.find_artifact(id).await?.ok_or_else(|| artifact_not_found(id))?;
        Ok(self.artifact_views(vec![row]).await?.pop().expect("one view per row"))
    }

    /// `POST /artifacts`: 409 when the project has an artifact of that name.
    pub async fn create_artifact(&self, a: NewArtifact, user_id: Uuid) -> Result<ArtifactView, Error> {
        crate::components::check_name("Artifact", &a.name)?;
        let conflict = format!(
            "Unable to create the requested artifact with name '{}': Found another existing artifact with the same \
             name in the '{}' project.",
            a.name,
            self.project_name(a.project_id).await?
        );
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `artifact` (`id`, `created`, `updated`, `name`, `has_custom_name`, `project_id`, `user_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                a.name.clone(),
                a.has_custom_name,
                a.project_id,
                user_id
            ))
            .await
            .map_err(|e| map_err(e, &conflict))?;
        if let Some(tags) = &a.tags {
            self.tag_resource_by_names(RESOURCE_ARTIFACT, id, tags, user_id).await?;
        }
        self.get_artifact(id).await
    }

    async fn project_name(&self, id: Uuid) -> Result<String, Error> {
        let p = self.find_project(&crate::NameOrId::Id(id)).await?;
        p.map(|p| p.name).ok_or_else(|| {
            Error::not_found(format!("The project with ID {id} referenced by the resource being created was not found"))
        })
    }

    /// Get-or-create and attach tags given by name to one resource.
    pub async fn tag_resource_by_names(
        &self,
        resource_type: &str,
        resource_id: Uuid,
        names: &[String],
        user_id: Uuid,
    ) -> Result<(), Error> {
        let specs: Vec<crate::tags::TagSpec> = names.iter().map(|n| n.as_str().into()).collect();
        let tags = self.get_or_create_tag_specs(&specs, Some(user_id)).await?;
        let ids: Vec<Uuid> = tags.iter().map(TagRow::uuid).collect();
        self.attach_tags(resource_type, resource_id, &ids).await
    }

    /// Detach tags given by name or id from one resource; unknown tags are skipped.
    pub async fn untag_resource_by_names(
        &self,
        resource_type: &str,
        resource_id: Uuid,
        names: &[String],
    ) -> Result<(), Error> {
        let mut ids = Vec::new();
        for n in names {
            if let Some(t) = self.find_tag(&crate::NameOrId::parse(n)).await? {
                ids.push(t.uuid());
            }
        }
        self.detach_tags(resource_type, resource_id, &ids).await
    }

    /// `PUT /artifacts/{id}`: rename (which marks the name custom; 409 when taken in the
    /// project), set `has_custom_name`, add and remove tags.
    pub async fn update_artifact(&self, id: Uuid, u: ArtifactUpdate, user_id: Uuid) -> Result<ArtifactView, Error> {
        let cur = self.find_artifact(id).await?.ok_or_else(|| artifact_not_found(id))?;
        let mut name = cur.name.clone();
        let mut has_custom_name = cur.has_custom_name;
        if let Some(n) = u.name.as_ref().filter(|n| !n.is_empty()) {
            if *n != cur.name {
                let taken = self
                    .db
                    .clone()
                    .fetch_i64(q!(
                        "SELECT count(*) FROM `artifact` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                        n,
                        cur.project_id.clone(),
                        cur.id.clone()
                    ))
                    .await
                    .map_err(db_err)?;
                if taken > 0 {
                    let project = self.project_name(parse_id(&cur.project_id)).await?;
                    return Err(Error::exists(format!(
                        "Unable to update the requested artifact with name '{n}': Found another existing artifact \
                         with the same name in the '{project}' project."
                    )));
                }
            }
            name = n.clone();
            has_custom_name = true;
        }
        if let Some(h) = u.has_custom_name {
            has_custom_name = h;
        }
        self.db
            .clone()
            .execute(q!(
                "UPDATE `artifact` SET `updated` = ?, `name` = ?, `has_custom_name` = ? WHERE `id` = ?",
                utc_now(),
                name,
                has_custom_name,
                id
            ))
            .await
            .map_err(|e| map_err(e, "An artifact with this name already exists in the project."))?;
        if let Some(add) = &u.add_tags {
            self.tag_resource_by_names(RESOURCE_ARTIFACT, id, add, user_id).await?;
        }
        if let Some(remove) = &u.remove_tags {
            self.untag_resource_by_names(RESOURCE_ARTIFACT, id, remove).await?;
        }
        self.get_artifact(id).await
    }

    /// Delete an artifact with its versions (and their visualizations, links and tags).
    pub async fn delete_artifact(&self, id: Uuid) -> Result<(), Error> {
        self.find_artifact(id).await?.ok_or_else(|| artifact_not_found(id))?;
        #[derive(sqlx::FromRow)]
        struct Id {
            id: String,
        }
        let mut tx = self.db.begin().await?;
        let versions: Vec<Id> = tx
            .fetch_all(q!("SELECT `id` FROM `artifact_version` WHERE `artifact_id` = ?", id))
            .await
            .map_err(db_err)?;
        let version_ids: Vec<Uuid> = versions.iter().map(|v| parse_id(&v.id)).collect();
        delete_versions_in(&mut tx, &version_ids).await?;
        Store::untag_in(&mut tx, RESOURCE_ARTIFACT, &[id]).await?;
        tx.execute(q!("DELETE FROM `artifact` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }

    /// Get the artifact `name` of a project, creating it when missing (a concurrent creator
    /// wins: its row is read back). A custom name given now marks the artifact custom.
    pub async fn get_or_create_artifact(
        &self,
        project_id: Uuid,
        name: &str,
        has_custom_name: bool,
        user_id: Uuid,
    ) -> Result<ArtifactRow, Error> {
        let select = q!(
            format!(
                "SELECT {ARTIFACT_COLS} FROM `artifact` WHERE `artifact`.`name` = ? AND `artifact`.`project_id` = ?"
            ),
            name,
            project_id
        );
        let mut row: Option<ArtifactRow> = self.db.clone().fetch_optional(select.clone()).await.map_err(db_err)?;
        if row.is_none() {
            let id = Uuid::new_v4();
            let now = utc_now();
            let res = self
                .db
                .clone()
                .execute(q!(
                    "INSERT INTO `artifact` (`id`, `created`, `updated`, `name`, `has_custom_name`, `project_id`, \
                     `user_id`) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    id,
                    now,
                    now,
                    name,
                    has_custom_name,
                    project_id,
                    user_id
                ))
                .await;
            match res {
                Ok(_) => {}
                // A concurrent request created it first: read theirs.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(db_err(e)),
            }
            row = self.db.clone().fetch_optional(select).await.map_err(db_err)?;
        }
        let mut row = row.ok_or_else(|| Error::internal(format!("artifact {name} vanished after creation")))?;
        if !row.has_custom_name && has_custom_name {
            self.db
                .clone()
                .execute(q!("UPDATE `artifact` SET `has_custom_name` = ? WHERE `id` = ?", true, row.id.clone()))
                .await
                .map_err(db_err)?;
            row.has_custom_name = true;
        }
        Ok(row)
    }

    // ---------------------------------------------------------- artifact versions

    /// Artifact versions by id, in no particular order (one query). Unknown ids are missing.
    pub async fn artifact_versions_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ArtifactVersionRow>, Error> {
        fetch_in(self, &format!("SELECT {VERSION_COLS} FROM `artifact_version` WHERE `artifact_version`.`id` IN"), ids)
            .await
    }

    pub async fn find_artifact_version(&self, id: Uuid) -> Result<Option<ArtifactVersionRow>, Error> {
        Ok(self.artifact_versions_by_ids(&[id]).await?.pop())
    }

    /// A version by id (404 with the reference's message).
    pub async fn get_artifact_version(&self, id: Uuid, hydrate: bool) -> Result<ArtifactVersionView, Error> {
        let row = self.find_artifact_version(id).await?.ok_or_else(|| version_not_found(id))?;
        Ok(self.artifact_version_views(vec![row], true, hydrate).await?.pop().expect("one view per row"))
    }

    /// Artifacts, and as requested resources (owners, tags, producers) and metadata
    /// (visualizations, run metadata) of these versions: at most six queries.
    pub async fn artifact_version_views(
        &self,
        rows: Vec<ArtifactVersionRow>,
        resources: bool,
        hydrate: bool,
    ) -> Result<Vec<ArtifactVersionView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(ArtifactVersionRow::uuid).collect();
        let mut artifact_ids: Vec<Uuid> = rows.iter().map(|r| parse_id(&r.artifact_id)).collect();
        artifact_ids.sort_unstable();
        artifact_ids.dedup();
        let artifacts: HashMap<Uuid, ArtifactRow> =
            self.artifacts_by_ids(&artifact_ids).await?.into_iter().map(|a| (a.uuid(), a)).collect();
        let (users, mut tags, producers) = if resources {
            let user_ids: Vec<Uuid> = rows.iter().filter_map(|r| parse_opt_id(&r.user_id)).collect();
            (
                self.users_by_id(&user_ids).await?,
                self.tags_of(RESOURCE_ARTIFACT_VERSION, &ids).await?,
                self.producers_of(&ids).await?,
            )
        } else {
            (HashMap::new(), HashMap::new(), HashMap::new())
        };
        let (mut visualizations, mut metadata) = if hydrate {
            (self.visualizations_of(&ids).await?, self.run_metadata_of(RESOURCE_ARTIFACT_VERSION, &ids).await?)
        } else {
            (HashMap::new(), HashMap::new())
        };
        rows.into_iter()
            .map(|row| {
                let id = row.uuid();
                let artifact = artifacts
                    .get(&parse_id(&row.artifact_id))
                    .cloned()
                    .ok_or_else(|| Error::internal(format!("artifact version {id} has no artifact")))?;
                Ok(ArtifactVersionView {
                    resources: resources.then(|| VersionResources {
                        user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                        tags: tags.remove(&id).unwrap_or_default(),
                        producer: producers.get(&id).copied(),
                    }),
                    metadata: hydrate.then(|| VersionMetadata {
                        visualizations: visualizations.remove(&id).unwrap_or_default(),
                        run_metadata: metadata.remove(&id).unwrap_or_default(),
                    }),
                    artifact,
                    row,
                })
            })
            .collect()
    }

    /// The producer (step run, pipeline run) of each version: the oldest completed step run
    /// that has it as an output (one query).
    async fn producers_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, (Uuid, Uuid)>, Error> {
        #[derive(sqlx::FromRow)]
        struct Producer {
            artifact_id: String,
            step_id: String,
            pipeline_run_id: String,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // `CROSS JOIN` keeps the output links as the outer loop on SQLite (it never reorders a
        // CROSS JOIN): the 0.98.0 SQLite schema has no index on `artifact_id`, and with a plain
        // JOIN SQLite scans the wide `step_run` table and probes the links by primary key
        // (0.5 s at 10,000 runs). This way it scans the narrow primary key index of the links
        // (step_id, artifact_id) and reads the few matching steps by id. MySQL treats CROSS JOIN
        // ... ON as an inner join and uses its foreign key index on `artifact_id`.
        let mut query = q!(
            format!(
                "SELECT `o`.`artifact_id`, `s`.`id` AS `step_id`, `s`.`pipeline_run_id` FROM `step_run_output_artifact` AS `o` \
                 CROSS JOIN `step_run` AS `s` ON `s`.`id` = `o`.`step_id` \
                 WHERE `s`.`status` = ? AND `o`.`artifact_id` IN ({}) ORDER BY `s`.`created`, `s`.`id`",
                marks(ids.len())
            ),
            "completed"
        );
        push_ids(&mut query, ids);
        let rows: Vec<Producer> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out = HashMap::new();
        for p in rows {
            out.entry(parse_id(&p.artifact_id)).or_insert((parse_id(&p.step_id), parse_id(&p.pipeline_run_id)));
        }
        Ok(out)
    }

    /// `` `artifact_version`.`artifact_id` IN (...) `` for the artifacts a name-or-id filter
    /// matches, resolved with one query on `artifact`; past [`MAX_RESOLVED_IDS`] matches the
    /// condition stays a subquery.
    async fn artifact_ids_condition(&self, f: &filter::Filter) -> Result<Query, Error> {
        let mut cond = Query::default();
        name_or_id_condition(&mut cond, self.backend(), "`artifact`", f);
        let mut query = Query::new(format!("SELECT `id` FROM `artifact` WHERE {} LIMIT ?", cond.sql));
        query.params.extend(cond.params.iter().cloned());
        query.push_param(MAX_RESOLVED_IDS as i64 + 1);
        let ids: Vec<IdRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        if ids.len() > MAX_RESOLVED_IDS {
            return Ok(Query {
                sql: format!("`artifact_version`.`artifact_id` IN (SELECT `id` FROM `artifact` WHERE {})", cond.sql),
                params: cond.params,
            });
        }
        if ids.is_empty() {
            return Ok(Query::new("1 = 0"));
        }
        let ids: Vec<Uuid> = ids.iter().map(|r| parse_id(&r.id)).collect();
        let mut c = Query::new(format!("`artifact_version`.`artifact_id` IN ({})", marks(ids.len())));
        push_ids(&mut c, &ids);
        Ok(c)
    }

    /// Visualizations of these versions, in creation order (one query).
    async fn visualizations_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<VisualizationRow>>, Error> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = q!(format!(
            "SELECT {VIS_COLS} FROM `artifact_visualization` WHERE `artifact_version_id` IN ({}) \
             ORDER BY `created`, `id`",
            marks(ids.len())
        ));
        push_ids(&mut query, ids);
        let rows: Vec<VisualizationRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<VisualizationRow>> = HashMap::new();
        for v in rows {
            out.entry(parse_id(&v.artifact_version_id)).or_default().push(v);
        }
        Ok(out)
    }

    /// `GET /artifact_visualizations/{id}`.
    pub async fn get_artifact_visualization(&self, id: Uuid) -> Result<VisualizationRow, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {VIS_COLS} FROM `artifact_visualization` WHERE `id` = ?"), id))
            .await
            .map_err(db_err)?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "Unable to get artifact visualization with ID '{id}': No artifact visualization with this ID found"
                ))
            })
    }

    /// A page of versions of a project. Queries: count, page, artifacts, owners, tags,
    /// producers, and (hydrated) visualizations and run metadata: at most eight.
    pub async fn list_artifact_versions(
        &self,
        project_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<ArtifactVersionView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`artifact_version`.`project_id` = ?", project_id));
        if params.filters.iter().any(|f| f.field == "artifact") {
            params.take("artifact_id");
        }
        // The artifact filter (by name or id), when it is ANDed with the rest: resolve the
        // artifact ids first, so the versions are filtered by a list of ids, which the
        // (artifact_id, version_number) index answers, rather than by a subquery.
        if params.logical == Logical::And || params.filters.len() == 1 {
            let field = if params.filters.iter().any(|f| f.field == "artifact") { "artifact" } else { "artifact_id" };
            for f in params.take(field) {
                wh.and(self.artifact_ids_condition(&f).await?);
            }
        }
        for f in params.take("model_version_id") {
            let mut c = Query::new(
                "`artifact_version`.`id` IN (SELECT `artifact_version_id` FROM `model_versions_artifacts` WHERE ",
            );
            list::condition(&mut c, backend, "`model_version_id`", Kind::Uuid, &f);
            c.push_sql(")");
            wh.and(c);
        }
        for f in params.take("only_unused") {
            if f.value == filter::Value::Bool(true) {
                wh.and(Query::new(
                    "`artifact_version`.`id` NOT IN (SELECT `artifact_id` FROM `step_run_output_artifact`) \
                     AND `artifact_version`.`id` NOT IN (SELECT `artifact_id` FROM `step_run_input_artifact`)",
                ));
            }
        }
        for f in params.take("has_custom_name") {
            if let filter::Value::Bool(b) = f.value {
                wh.and(q!(
                    "`artifact_version`.`artifact_id` IN (SELECT `id` FROM `artifact` WHERE `has_custom_name` = ?)",
                    b
                ));
            }
        }
        for f in params.take("model") {
            let mut c = Query::new(
                "`artifact_version`.`id` IN (SELECT `mva`.`artifact_version_id` FROM `model_versions_artifacts` AS `mva` \
                 JOIN `model_version` AS `mv` ON `mv`.`id` = `mva`.`model_version_id` \
                 JOIN `model` AS `m` ON `m`.`id` = `mv`.`model_id` WHERE ",
            );
            name_or_id_condition(&mut c, backend, "`m`", &f);
            c.push_sql(")");
            wh.and(c);
        }
        for f in params.take("pipeline_run") {
            let mut cond = Query::default();
            name_or_id_condition(&mut cond, backend, "`r`", &f);
            let mut c = Query::new(format!(
                "`artifact_version`.`id` IN (SELECT `o`.`artifact_id` FROM `step_run_output_artifact` AS `o` \
                 JOIN `step_run` AS `s` ON `s`.`id` = `o`.`step_id` JOIN `pipeline_run` AS `r` ON `r`.`id` = `s`.`pipeline_run_id` \
                 WHERE {} UNION SELECT `i`.`artifact_id` FROM `step_run_input_artifact` AS `i` \
                 JOIN `step_run` AS `s` ON `s`.`id` = `i`.`step_id` JOIN `pipeline_run` AS `r` ON `r`.`id` = `s`.`pipeline_run_id` \
                 WHERE {})",
                cond.sql, cond.sql
            ));
            c.params.extend(cond.params.iter().cloned());
            c.params.extend(cond.params);
            wh.and(c);
        }
        for c in tags_conditions(backend, &mut params, "`artifact_version`.`id`") {
            wh.and(c);
        }
        for c in run_metadata_conditions(backend, &mut params, RESOURCE_ARTIFACT_VERSION, "`artifact_version`.`id`")? {
            wh.and(c);
        }
        let page: Page<ArtifactVersionRow> = list::list(&self.db, &VERSION_LIST, &params, &wh).await?;
        let views = self.artifact_version_views(page.items.clone(), true, params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// `POST /artifact_versions`: get-or-create the artifact by name (or check the given
    /// artifact id), number the version, store visualizations and metadata, attach tags.
    /// Returns the new version's id.
    pub async fn create_artifact_version(&self, v: NewArtifactVersion, user_id: Uuid) -> Result<Uuid, Error> {
        if let Some(store_id) = v.artifact_store_id
            && self.find_component(store_id).await?.is_none()
        {
            return Err(Error::not_found(format!(
                "The artifact store with ID {store_id} referenced by the artifact version being created was not found"
            )));
        }
        let artifact = match (&v.artifact_name, v.artifact_id) {
            (Some(name), _) => self.get_or_create_artifact(v.project_id, name, v.has_custom_name, user_id).await?,
            (None, Some(id)) => self.find_artifact(id).await?.ok_or_else(|| {
                Error::not_found(format!(
                    "The artifact with ID {id} referenced by the artifact version being created was not found"
                ))
            })?,
            (None, None) => {
                return Err(Error::validation("Value error, Either artifact_name or artifact_id must be set."));
            }
        };
        let artifact_id = artifact.uuid();
        let mut attempt = 0;
        let id = loop {
            attempt += 1;
            match self.try_insert_version(&v, artifact_id, user_id).await? {
                Ok(id) => break id,
                Err(e) if is_retryable(&e) => {
                    if let Some(version) = &v.version
                        && is_unique_violation(&e)
                    {
                        return Err(Error::exists(format!(
                            "Unable to create artifact version {} (version {version}): An artifact with the same name \
                             and version already exists.",
                            artifact.name
                        )));
                    }
                    if attempt >= MAX_VERSION_RETRIES {
                        return Err(Error::internal(format!(
                            "Failed to create version for artifact {}. This is most likely caused by multiple parallel \
                             requests that try to create versions for this artifact in the database.",
                            artifact.name
                        )));
                    }
                    backoff(attempt).await;
                }
                Err(e) => return Err(db_err(e)),
            }
        };
        if let Some(tags) = &v.tags {
            self.tag_resource_by_names(RESOURCE_ARTIFACT_VERSION, id, tags, user_id).await?;
        }
        Ok(id)
    }

    /// One attempt: the next number (or the given version), the row, its visualizations and
    /// metadata, in one transaction. The inner error is the failed statement, for the caller
    /// to retry or report; the outer one is final.
    async fn try_insert_version(
        &self,
        v: &NewArtifactVersion,
        artifact_id: Uuid,
        user_id: Uuid,
    ) -> Result<Result<Uuid, sqlx::Error>, Error> {
        let mut tx = self.db.begin().await?;
        let (version, number) = match &v.version {
            Some(s) => (s.clone(), s.trim().parse::<i64>().ok()),
            None => {
                let max = match tx
                    .fetch_i64(q!(
                        "SELECT COALESCE(MAX(`version_number`), 0) FROM `artifact_version` WHERE `artifact_id` = ?",
                        artifact_id
                    ))
                    .await
                {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                ((max + 1).to_string(), Some(max + 1))
            }
        };
        let id = Uuid::new_v4();
        let now = utc_now();
        let inserted = tx.execute(q!(
            "INSERT INTO `artifact_version` (`id`, `created`, `updated`, `version`, `version_number`, `type`, `uri`, \
             `materializer`, `data_type`, `save_type`, `content_hash`, `item_count`, `artifact_id`, \
             `artifact_store_id`, `user_id`, `project_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            id,
            now,
            now,
            version,
            number,
            v.kind.clone(),
            v.uri.clone(),
            v.materializer.to_string(),
            v.data_type.to_string(),
            v.save_type.clone(),
            v.content_hash.clone(),
            v.item_count,
            artifact_id,
            v.artifact_store_id,
            user_id,
            v.project_id
        ))
        .await;
        if let Err(e) = inserted {
            return Ok(Err(e));
        }
        for (kind, uri) in &v.visualizations {
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `artifact_visualization` (`id`, `created`, `updated`, `type`, `uri`, `artifact_version_id`) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                Uuid::new_v4(),
                now,
                now,
                kind.clone(),
                uri.clone(),
                id
            ))
            .await
            .map_err(db_err)?;
        }
        if let Some(metadata) = &v.metadata {
            insert_run_metadata(&mut tx, v.project_id, Some(user_id), RESOURCE_ARTIFACT_VERSION, id, metadata).await?;
        }
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// `PUT /artifact_versions/{id}`: add and remove tags (the name of the update is ignored,
    /// as in the reference); `updated` moves.
    pub async fn update_artifact_version(
        &self,
        id: Uuid,
        add_tags: Option<Vec<String>>,
        remove_tags: Option<Vec<String>>,
        user_id: Uuid,
    ) -> Result<(), Error> {
        self.find_artifact_version(id).await?.ok_or_else(|| version_not_found(id))?;
        self.db
            .clone()
            .execute(q!("UPDATE `artifact_version` SET `updated` = ? WHERE `id` = ?", utc_now(), id))
            .await
            .map_err(db_err)?;
        if let Some(add) = &add_tags {
            self.tag_resource_by_names(RESOURCE_ARTIFACT_VERSION, id, add, user_id).await?;
        }
        if let Some(remove) = &remove_tags {
            self.untag_resource_by_names(RESOURCE_ARTIFACT_VERSION, id, remove).await?;
        }
        Ok(())
    }

    /// Whether a version is used by no step run (as input or output).
    pub async fn artifact_version_is_unused(&self, id: Uuid) -> Result<bool, Error> {
        let n = self
            .db
            .clone()
            .fetch_i64(q!(
                "SELECT (SELECT count(*) FROM `step_run_output_artifact` WHERE `artifact_id` = ?) + \
                 (SELECT count(*) FROM `step_run_input_artifact` WHERE `artifact_id` = ?)",
                id,
                id
            ))
            .await
            .map_err(db_err)?;
        Ok(n == 0)
    }

    /// Delete a version with its visualizations, model links, step links and tags.
    pub async fn delete_artifact_version(&self, id: Uuid) -> Result<(), Error> {
        self.find_artifact_version(id).await?.ok_or_else(|| version_not_found(id))?;
        let mut tx = self.db.begin().await?;
        delete_versions_in(&mut tx, &[id]).await?;
        tx.commit().await
    }

    /// `DELETE /artifact_versions?project_name_or_id=`: delete the versions of a project that
    /// no step or pipeline run uses, and (unless `only_versions`) artifacts left without versions.
    pub async fn prune_artifact_versions(&self, project_id: Uuid, only_versions: bool) -> Result<(), Error> {
        #[derive(sqlx::FromRow)]
        struct Id {
            id: String,
        }
        let mut tx = self.db.begin().await?;
        let unused: Vec<Id> = tx
            .fetch_all(q!(
                "SELECT `id` FROM `artifact_version` WHERE `project_id` = ? \
                 AND `id` NOT IN (SELECT `artifact_id` FROM `step_run_output_artifact`) \
                 AND `id` NOT IN (SELECT `artifact_id` FROM `step_run_input_artifact`) \
                 AND `id` NOT IN (SELECT `artifact_id` FROM `pipeline_run_output`) \
                 AND `id` NOT IN (SELECT `artifact_version_id` FROM `hook_invocation_output_artifact`)",
                project_id
            ))
            .await
            .map_err(db_err)?;
        let ids: Vec<Uuid> = unused.iter().map(|r| parse_id(&r.id)).collect();
        for chunk in ids.chunks(500) {
            delete_versions_in(&mut tx, chunk).await?;
        }
        if !only_versions {
            let empty: Vec<Id> = tx
                .fetch_all(Query::new(
                    "SELECT `id` FROM `artifact` WHERE `id` NOT IN (SELECT `artifact_id` FROM `artifact_version`)",
                ))
                .await
                .map_err(db_err)?;
            let ids: Vec<Uuid> = empty.iter().map(|r| parse_id(&r.id)).collect();
            for chunk in ids.chunks(500) {
                Store::untag_in(&mut tx, RESOURCE_ARTIFACT, chunk).await?;
                let mut query = q!(format!("DELETE FROM `artifact` WHERE `id` IN ({})", marks(chunk.len())));
                push_ids(&mut query, chunk);
                tx.execute(query).await.map_err(db_err)?;
            }
        }
        tx.commit().await
    }
}

/// Delete versions and what hangs off them (the reference's ORM cascades plus tag links and
/// the metadata links of the versions).
async fn delete_versions_in(tx: &mut Tx, ids: &[Uuid]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    Store::untag_in(tx, RESOURCE_ARTIFACT_VERSION, ids).await?;
    let m = marks(ids.len());
    for sql in [
        format!(
            "DELETE FROM `curated_visualization` WHERE `artifact_visualization_id` IN (SELECT `id` FROM `artifact_visualization` WHERE `artifact_version_id` IN ({m}))"
        ),
        format!("DELETE FROM `artifact_visualization` WHERE `artifact_version_id` IN ({m})"),
        format!("DELETE FROM `model_versions_artifacts` WHERE `artifact_version_id` IN ({m})"),
        format!("DELETE FROM `step_run_output_artifact` WHERE `artifact_id` IN ({m})"),
        format!("DELETE FROM `step_run_input_artifact` WHERE `artifact_id` IN ({m})"),
        format!("DELETE FROM `artifact_version` WHERE `id` IN ({m})"),
    ] {
        let mut query = Query::new(sql);
        push_ids(&mut query, ids);
        tx.execute(query).await.map_err(db_err)?;
    }
    let mut query = q!(
        format!("DELETE FROM `run_metadata_resource` WHERE `resource_type` = ? AND `resource_id` IN ({m})"),
        RESOURCE_ARTIFACT_VERSION
    );
    push_ids(&mut query, ids);
    tx.execute(query).await.map_err(db_err)?;
    Ok(())
}

/// `SELECT ... IN (ids)`, one query (none for no ids).
async fn fetch_in<T: DbRow>(store: &Store, select_in: &str, ids: &[Uuid]) -> Result<Vec<T>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::new(format!("{select_in} ({})", marks(ids.len())));
    push_ids(&mut query, ids);
    store.db.clone().fetch_all(query).await.map_err(db_err)
}

/// A name-or-id filter on the `id` and `name` columns of table alias `alias`
/// (`generate_name_or_id_query_conditions`).
pub(crate) fn name_or_id_condition(q: &mut Query, backend: Backend, alias: &str, f: &filter::Filter) {
    let as_id = match &f.value {
        filter::Value::Str(s) => match (filter::uuid_hex(s), f.op) {
            (Some(h), _) => filter::Value::Str(h),
            (None, Op::Equals | Op::NotEquals) => filter::Value::Never,
            (None, _) => filter::Value::Str(s.replace('-', "").to_lowercase()),
        },
        filter::Value::List(items) => filter::Value::List(
            items.iter().map(|s| filter::uuid_hex(s).unwrap_or_else(|| s.replace('-', "").to_lowercase())).collect(),
        ),
        other => other.clone(),
    };
    q.push_sql("((");
    list::condition(q, backend, &format!("{alias}.`id`"), Kind::Uuid, &filter::Filter { value: as_id, ..f.clone() });
    q.push_sql(") OR (");
    list::condition(q, backend, &format!("{alias}.`name`"), Kind::Str, f);
    q.push_sql("))");
}

/// The `run_metadata` filter (`key:value` or `key:op:value`) of resources of `resource_type`:
/// an EXISTS over the resource's metadata; string operators also match the JSON-quoted value.
pub fn run_metadata_conditions(
    backend: Backend,
    params: &mut ListParams,
    resource_type: &str,
    id_col: &str,
) -> Result<Vec<Query>, Error> {
    let mut out = Vec::new();
    for f in params.take("run_metadata") {
        let raw = match (&f.op, &f.value) {
            (Op::Equals, filter::Value::Str(s)) => s.clone(),
            (op, filter::Value::Str(s)) => format!("{}:{s}", op.as_str()),
            (op, _) => op.as_str().to_string(),
        };
        let Some((key, value)) = raw.split_once(':') else {
            return Err(Error::invalid_filter(format!(
                "Invalid run_metadata entry format: '{raw}'. Entry must be in format 'key:value' for direct equality \
                 comparison or 'key:filterop:value' where filterop is one of: equals, notequals, contains, \
                 notcontains, startswith, endswith, oneof, notoneof, isnull, isnotnull, gte, gt, lte, lt, in."
            )));
        };
        let vf = filter::parse("run_metadata", Kind::Str, value)?;
        let mut c = q!(
            format!(
                "EXISTS (SELECT 1 FROM `run_metadata_resource` AS `rmr` JOIN `run_metadata` AS `rm` \
                 ON `rm`.`id` = `rmr`.`run_metadata_id` WHERE `rmr`.`resource_id` = {id_col} \
                 AND `rmr`.`resource_type` = ? AND `rm`.`key` = ? AND (("
            ),
            resource_type,
            key
        );
        list::condition(&mut c, backend, "`rm`.`value`", Kind::Str, &vf);
        c.push_sql(")");
        if let (Op::Equals | Op::NotEquals, filter::Value::Str(s)) = (&vf.op, &vf.value) {
            c.push_sql(" OR (");
            let quoted =
                filter::Filter { value: filter::Value::Str(python_json(&Json::String(s.clone()))), ..vf.clone() };
            list::condition(&mut c, backend, "`rm`.`value`", Kind::Str, &quoted);
            c.push_sql(")");
        }
        c.push_sql("))");
        out.push(c);
    }
    Ok(out)
}
