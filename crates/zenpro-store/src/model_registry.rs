//! The model control plane: models (`model`), model versions (`model_version`) and their links
//! to artifact versions (`model_versions_artifacts`) and pipeline runs (`model_versions_runs`).
//!
//! Model names are unique per project. Version numbers are `max(number) + 1` per model,
//! retried on a unique violation; a version without a custom name is named after its number.
//! `producer_run_id_if_numeric` holds the producing run for numeric versions and the row's own
//! id otherwise, so the unique (model_id, producer_run_id_if_numeric) allows one numeric
//! version per run: [`Store::model_version_for_run`] relies on it to be idempotent per run.
//! At most one version of a model is in a given stage: promoting archives the previous holder
//! (with `force`) or is refused.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::{self, Kind};
use zenpro_types::{Error, Page, time::utc_now};

use crate::artifacts::{MAX_VERSION_RETRIES, backoff, is_retryable, name_or_id_condition, run_metadata_conditions};
use crate::db::{Tx, map_err};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::tags::{TagRow, marks, push_ids, tags_conditions};
use crate::users::UserRow;
use crate::{NameOrId, Query, Store, db_err, parse_id, parse_opt_id, q};

pub const RESOURCE_MODEL: &str = "model";
pub const RESOURCE_MODEL_VERSION: &str = "model_version";

/// `ModelStages` values.
pub const STAGES: [&str; 5] = ["none", "staging", "production", "archived", "latest"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub license: Option<String>,
    pub description: Option<String>,
    pub audience: Option<String>,
    pub use_cases: Option<String>,
    pub limitations: Option<String>,
    pub trade_offs: Option<String>,
    pub ethics: Option<String>,
    pub save_models_to_registry: bool,
}

impl ModelRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const MODEL_COLS: &str = "`model`.`id`, `model`.`created`, `model`.`updated`, `model`.`name`, \
    `model`.`project_id`, `model`.`user_id`, `model`.`license`, `model`.`description`, `model`.`audience`, \
    `model`.`use_cases`, `model`.`limitations`, `model`.`trade_offs`, `model`.`ethics`, \
    `model`.`save_models_to_registry`";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelVersionRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub model_id: String,
    pub number: i64,
    pub description: Option<String>,
    pub stage: Option<String>,
    pub producer_run_id_if_numeric: String,
}

impl ModelVersionRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const MODEL_VERSION_COLS: &str = "`model_version`.`id`, `model_version`.`created`, `model_version`.`updated`, \
    `model_version`.`name`, `model_version`.`project_id`, `model_version`.`user_id`, `model_version`.`model_id`, \
    `model_version`.`number`, `model_version`.`description`, `model_version`.`stage`, \
    `model_version`.`producer_run_id_if_numeric`";

/// A link row of `model_versions_artifacts` or `model_versions_runs` (`target_id` is the
/// artifact version or the pipeline run).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelLinkRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub model_version_id: String,
    pub target_id: String,
}

impl ModelLinkRow {
    pub fn target(&self) -> Uuid {
        parse_id(&self.target_id)
    }
}

const MVA_COLS: &str = "`model_versions_artifacts`.`id`, `model_versions_artifacts`.`created`, \
    `model_versions_artifacts`.`updated`, `model_versions_artifacts`.`model_version_id`, \
    `model_versions_artifacts`.`artifact_version_id` AS `target_id`";
const MVR_COLS: &str = "`model_versions_runs`.`id`, `model_versions_runs`.`created`, \
    `model_versions_runs`.`updated`, `model_versions_runs`.`model_version_id`, \
    `model_versions_runs`.`pipeline_run_id` AS `target_id`";

/// `ModelFilter`; project scope is a fixed condition.
pub static MODEL_LIST: ListSpec = ListSpec {
    from: "`model`",
    id: "`model`.`id`",
    select: MODEL_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`model`.`id`"),
        Field::col("created", Kind::Datetime, "`model`.`created`"),
        Field::col("updated", Kind::Datetime, "`model`.`updated`"),
        Field::col("name", Kind::Str, "`model`.`name`"),
        Field::related("user", "`model`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("tags", Kind::Str),
        // Sort key only: the newest version's creation time (the model's own when it has none).
        Field {
            name: "latest_version",
            kind: Kind::Datetime,
            sql: list::FieldSql::Column(
                "COALESCE((SELECT MAX(`v`.`created`) FROM `model_version` AS `v` WHERE `v`.`model_id` = `model`.`id`), \
                 `model`.`created`)",
            ),
            sortable: true,
        },
    ],
};

/// `ModelVersionFilter`.
pub static MODEL_VERSION_LIST: ListSpec = ListSpec {
    from: "`model_version`",
    id: "`model_version`.`id`",
    select: MODEL_VERSION_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`model_version`.`id`"),
        Field::col("created", Kind::Datetime, "`model_version`.`created`"),
        Field::col("updated", Kind::Datetime, "`model_version`.`updated`"),
        Field::col("name", Kind::Str, "`model_version`.`name`"),
        Field::col("number", Kind::Int, "`model_version`.`number`"),
        Field::col("stage", Kind::Str, "`model_version`.`stage`"),
        Field::related("user", "`model_version`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::related("model", "`model_version`.`model_id`", "`model`", &["id", "name"]),
        Field::custom("tags", Kind::Str),
        Field::custom("run_metadata", Kind::Str),
    ],
};

/// `ModelVersionArtifactFilter`.
pub static MVA_LIST: ListSpec = ListSpec {
    from: "`model_versions_artifacts`",
    id: "`model_versions_artifacts`.`id`",
    select: MVA_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`model_versions_artifacts`.`id`"),
        Field::col("created", Kind::Datetime, "`model_versions_artifacts`.`created`"),
        Field::col("updated", Kind::Datetime, "`model_versions_artifacts`.`updated`"),
        Field::col("model_version_id", Kind::Uuid, "`model_versions_artifacts`.`model_version_id`"),
        Field::col("artifact_version_id", Kind::Uuid, "`model_versions_artifacts`.`artifact_version_id`"),
        Field::custom("artifact_name", Kind::Str),
        Field::custom("only_data_artifacts", Kind::Bool),
        Field::custom("only_model_artifacts", Kind::Bool),
        Field::custom("only_deployment_artifacts", Kind::Bool),
        Field::custom("has_custom_name", Kind::Bool),
        Field::custom("user", Kind::Str),
    ],
};

/// `ModelVersionPipelineRunFilter`.
pub static MVR_LIST: ListSpec = ListSpec {
    from: "`model_versions_runs`",
    id: "`model_versions_runs`.`id`",
    select: MVR_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`model_versions_runs`.`id`"),
        Field::col("created", Kind::Datetime, "`model_versions_runs`.`created`"),
        Field::col("updated", Kind::Datetime, "`model_versions_runs`.`updated`"),
        Field::col("model_version_id", Kind::Uuid, "`model_versions_runs`.`model_version_id`"),
        Field::col("pipeline_run_id", Kind::Uuid, "`model_versions_runs`.`pipeline_run_id`"),
        Field::custom("pipeline_run_name", Kind::Str),
        Field::custom("user", Kind::Str),
    ],
};

/// A model with its owner, tags and newest version.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub row: ModelRow,
    pub user: Option<UserRow>,
    pub tags: Vec<TagRow>,
    /// (id, name) of the version with the highest number.
    pub latest: Option<(Uuid, String)>,
}

/// A model version with its model, owner, tags and (hydrated) run metadata.
#[derive(Debug, Clone)]
pub struct ModelVersionView {
    pub row: ModelVersionRow,
    pub model: ModelRow,
    pub user: Option<UserRow>,
    pub tags: Vec<TagRow>,
    pub run_metadata: Option<Map<String, Json>>,
}

/// A new model (`ModelRequest`).
#[derive(Debug, Clone, Default)]
pub struct NewModel {
    pub project_id: Uuid,
    pub name: String,
    pub license: Option<String>,
    pub description: Option<String>,
    pub audience: Option<String>,
    pub use_cases: Option<String>,
    pub limitations: Option<String>,
    pub trade_offs: Option<String>,
    pub ethics: Option<String>,
    pub tags: Option<Vec<String>>,
    pub save_models_to_registry: bool,
}

/// Changes to a model (`ModelUpdate`); `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct ModelUpdate {
    pub name: Option<String>,
    pub license: Option<String>,
    pub description: Option<String>,
    pub audience: Option<String>,
    pub use_cases: Option<String>,
    pub limitations: Option<String>,
    pub trade_offs: Option<String>,
    pub ethics: Option<String>,
    pub save_models_to_registry: Option<bool>,
    pub add_tags: Option<Vec<String>>,
    pub remove_tags: Option<Vec<String>>,
}

/// A new model version (`ModelVersionRequest`).
#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    pub project_id: Uuid,
    pub model_id: Uuid,
    pub name: Option<String>,
    pub description: Option<String>,
    pub stage: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Changes to a model version (`ModelVersionUpdate`).
#[derive(Debug, Clone, Default)]
pub struct ModelVersionUpdate {
    pub stage: Option<String>,
    pub force: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    pub add_tags: Option<Vec<String>>,
    pub remove_tags: Option<Vec<String>>,
}

/// A stage is held by another version and `force` was not given: the reference raises a
/// `RuntimeError` (500 with this message).
#[derive(Debug, Clone)]
pub struct StageConflict(pub String);

/// The `model` of a run's (or step's) configuration (`Model` in `pipeline_configuration`):
/// what [`Store::model_version_for_run_config`] creates when missing.
#[derive(Debug, Clone, Default)]
pub struct RunModel {
    pub name: String,
    /// A version name, number or stage; `None` for a new numeric version.
    pub version: Option<String>,
    pub license: Option<String>,
    pub description: Option<String>,
    pub audience: Option<String>,
    pub use_cases: Option<String>,
    pub limitations: Option<String>,
    pub trade_offs: Option<String>,
    pub ethics: Option<String>,
    pub tags: Option<Vec<String>>,
    pub save_models_to_registry: bool,
}

impl RunModel {
    /// Read the `model` object of a pipeline or step configuration; `None` without a name.
    /// `{date}`/`{time}` and other `{key}` placeholders are filled from `substitutions`.
    pub fn from_config(model: &Json, substitutions: &Map<String, Json>) -> Option<RunModel> {
        let text = |k: &str| model.get(k).and_then(Json::as_str).map(|s| s.to_string());
        let name = format_template(&text("name")?, substitutions);
        let version = match model.get("version") {
            Some(Json::String(s)) => Some(format_template(s, substitutions)),
            Some(Json::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let tags = model.get("tags").and_then(Json::as_array).map(|a| {
            a.iter()
                .filter_map(|t| match t {
                    Json::String(s) => Some(s.clone()),
                    Json::Object(o) => o.get("name").and_then(Json::as_str).map(str::to_string),
                    _ => None,
                })
                .collect()
        });
        Some(RunModel {
            name,
            version,
            license: text("license"),
            description: text("description"),
            audience: text("audience"),
            use_cases: text("use_cases"),
            limitations: text("limitations"),
            trade_offs: text("trade_offs"),
            ethics: text("ethics"),
            tags,
            save_models_to_registry: model.get("save_models_to_registry").and_then(Json::as_bool).unwrap_or(true),
        })
    }
}

/// `format_name_template` for the placeholders it can fill: the given substitutions, and
/// `{date}`/`{time}` from the current time when not given. Unknown placeholders are kept.
pub fn format_template(template: &str, substitutions: &Map<String, Json>) -> String {
    let now = utc_now();
    let mut out = template.to_string();
    for (k, v) in substitutions {
        let s = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{k}}}"), &s);
    }
    out = out.replace("{date}", &now.format("%Y_%m_%d").to_string());
    out.replace("{time}", &now.format("%H_%M_%S_%6f").to_string())
}

fn model_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get model with ID '{id}': No model with this ID found"))
}

fn model_version_not_found(id: Uuid) -> Error {
    Error::not_found(format!("Unable to get model version with ID '{id}': No model version with this ID found"))
}

/// `STR_FIELD_MAX_LENGTH` checks of names (422).
fn check_len(what: &str, v: &str) -> Result<(), Error> {
    if v.chars().count() > 255 {
        return Err(Error::validation(format!("The {what} must be at most 255 characters long.")));
    }
    Ok(())
}

impl Store {
    // ------------------------------------------------------------------- models

    pub async fn find_model(&self, key: &NameOrId, project_id: Option<Uuid>) -> Result<Option<ModelRow>, Error> {
        let mut query = match key {
            NameOrId::Id(id) => q!(format!("SELECT {MODEL_COLS} FROM `model` WHERE `model`.`id` = ?"), *id),
            NameOrId::Name(n) => q!(format!("SELECT {MODEL_COLS} FROM `model` WHERE `model`.`name` = ?"), n),
        };
        if let Some(p) = project_id {
            query.push_sql(" AND `model`.`project_id` = ?");
            query.push_param(p);
        }
        self.db.clone().fetch_optional(query).await.map_err(db_err)
    }

    /// A model by name or id within a project (404 with the reference's message).
    pub async fn get_model_row(&self, key: &NameOrId, project_id: Option<Uuid>) -> Result<ModelRow, Error> {
        self.find_model(key, project_id).await?.ok_or_else(|| match key {
            NameOrId::Id(id) => model_not_found(*id),
            NameOrId::Name(n) => Error::not_found(format!(
                "Unable to get model with name or ID '{n}': '{n}' is not a valid  UUID and no model with this name exists."
            )),
        })
    }

    pub async fn get_model(&self, id: Uuid) -> Result<ModelView, Error> {
        let row = self.get_model_row(&NameOrId::Id(id), None).await?;
        Ok(self.model_views(vec![row]).await?.pop().expect("one view per row"))
    }

    /// Models by id (one query).
    pub async fn models_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ModelRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = q!(format!("SELECT {MODEL_COLS} FROM `model` WHERE `model`.`id` IN ({})", marks(ids.len())));
        push_ids(&mut query, ids);
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    /// A page of models of a project. Queries: count, page, owners, tags, latest versions:
    /// five, whatever the page size.
    pub async fn list_models(&self, project_id: Uuid, params: &ListParams) -> Result<Page<ModelView>, Error> {
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`model`.`project_id` = ?", project_id));
        for c in tags_conditions(self.backend(), &mut params, "`model`.`id`") {
            wh.and(c);
        }
        params.take("latest_version");
        let page: Page<ModelRow> = list::list(&self.db, &MODEL_LIST, &params, &wh).await?;
        let views = self.model_views(page.items.clone()).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners, tags and newest versions of these models (three queries).
    pub async fn model_views(&self, rows: Vec<ModelRow>) -> Result<Vec<ModelView>, Error> {
        #[derive(sqlx::FromRow)]
        struct Latest {
            model_id: String,
            id: String,
            name: String,
        }
        let ids: Vec<Uuid> = rows.iter().map(ModelRow::uuid).collect();
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|m| parse_opt_id(&m.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let mut tags = self.tags_of(RESOURCE_MODEL, &ids).await?;
        let latest: HashMap<Uuid, (Uuid, String)> = if ids.is_empty() {
            HashMap::new()
        } else {
            let mut query = q!(format!(
                "SELECT `mv`.`model_id`, `mv`.`id`, `mv`.`name` FROM `model_version` AS `mv` \
                 WHERE `mv`.`model_id` IN ({}) AND `mv`.`number` = \
                 (SELECT MAX(`v2`.`number`) FROM `model_version` AS `v2` WHERE `v2`.`model_id` = `mv`.`model_id`)",
                marks(ids.len())
            ));
            push_ids(&mut query, &ids);
            let rows: Vec<Latest> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            rows.into_iter().map(|l| (parse_id(&l.model_id), (parse_id(&l.id), l.name))).collect()
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                ModelView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    tags: tags.remove(&id).unwrap_or_default(),
                    latest: latest.get(&id).cloned(),
                    row,
                }
            })
            .collect())
    }

    async fn project_name_of(&self, id: Uuid) -> Result<String, Error> {
        Ok(self.find_project(&NameOrId::Id(id)).await?.map(|p| p.name).unwrap_or_default())
    }

    /// `POST /models`: 409 when the project has a model of that name.
    pub async fn create_model(&self, m: NewModel, user_id: Option<Uuid>) -> Result<ModelView, Error> {
        crate::components::check_name("Model", &m.name)?;
        check_len("model name", &m.name)?;
        let conflict = format!(
            "Unable to create the requested model with name '{}': Found another existing model with the same name \
             in the '{}' project.",
            m.name,
            self.project_name_of(m.project_id).await?
        );
        if self.find_model(&NameOrId::Name(m.name.clone()), Some(m.project_id)).await?.is_some() {
            return Err(Error::exists(conflict));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `model` (`id`, `created`, `updated`, `name`, `project_id`, `user_id`, `license`, \
                 `description`, `audience`, `use_cases`, `limitations`, `trade_offs`, `ethics`, \
                 `save_models_to_registry`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                m.name.clone(),
                m.project_id,
                user_id,
                m.license.clone(),
                m.description.clone(),
                m.audience.clone(),
                m.use_cases.clone(),
                m.limitations.clone(),
                m.trade_offs.clone(),
                m.ethics.clone(),
                m.save_models_to_registry
            ))
            .await
            .map_err(|e| map_err(e, &conflict))?;
        if let (Some(tags), Some(user)) = (&m.tags, user_id) {
            self.tag_resource_by_names(RESOURCE_MODEL, id, tags, user).await?;
        } else if let Some(tags) = &m.tags {
            let found = self.get_or_create_tags(tags).await?;
            let ids: Vec<Uuid> = found.iter().map(TagRow::uuid).collect();
            self.attach_tags(RESOURCE_MODEL, id, &ids).await?;
        }
        self.get_model(id).await
    }

    /// `PUT /models/{id}`: fields given are set (null ones kept), tags added and removed.
    pub async fn update_model(&self, id: Uuid, u: ModelUpdate, user_id: Uuid) -> Result<ModelView, Error> {
        let cur = self.get_model_row(&NameOrId::Id(id), None).await?;
        if let Some(n) = &u.name
            && *n != cur.name
        {
            let taken = self
                .db
                .clone()
                .fetch_i64(q!(
                    "SELECT count(*) FROM `model` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                    n,
                    cur.project_id.clone(),
                    cur.id.clone()
                ))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(Error::exists(format!(
                    "Unable to update the requested model with name '{n}': Found another existing model with the same \
                     name in the '{}' project.",
                    self.project_name_of(parse_id(&cur.project_id)).await?
                )));
            }
        }
        self.db
            .clone()
            .execute(q!(
                "UPDATE `model` SET `updated` = ?, `name` = ?, `license` = ?, `description` = ?, `audience` = ?, \
                 `use_cases` = ?, `limitations` = ?, `trade_offs` = ?, `ethics` = ?, `save_models_to_registry` = ? \
                 WHERE `id` = ?",
                utc_now(),
                u.name.clone().unwrap_or(cur.name.clone()),
                u.license.or(cur.license),
                u.description.or(cur.description),
                u.audience.or(cur.audience),
                u.use_cases.or(cur.use_cases),
                u.limitations.or(cur.limitations),
                u.trade_offs.or(cur.trade_offs),
                u.ethics.or(cur.ethics),
                u.save_models_to_registry.unwrap_or(cur.save_models_to_registry),
                id
            ))
            .await
            .map_err(|e| map_err(e, "A model with this name already exists in the project."))?;
        if let Some(add) = &u.add_tags {
            self.tag_resource_by_names(RESOURCE_MODEL, id, add, user_id).await?;
        }
        if let Some(remove) = &u.remove_tags {
            self.untag_resource_by_names(RESOURCE_MODEL, id, remove).await?;
        }
        self.get_model(id).await
    }

    /// Delete a model with its versions and their links.
    pub async fn delete_model(&self, id: Uuid) -> Result<(), Error> {
        self.get_model_row(&NameOrId::Id(id), None).await?;
        #[derive(sqlx::FromRow)]
        struct Id {
            id: String,
        }
        let mut tx = self.db.begin().await?;
        let versions: Vec<Id> =
            tx.fetch_all(q!("SELECT `id` FROM `model_version` WHERE `model_id` = ?", id)).await.map_err(db_err)?;
        let ids: Vec<Uuid> = versions.iter().map(|v| parse_id(&v.id)).collect();
        delete_model_versions_in(&mut tx, &ids).await?;
        Store::untag_in(&mut tx, RESOURCE_MODEL, &[id]).await?;
        tx.execute(q!(
            "DELETE FROM `curated_visualization` WHERE `resource_type` = ? AND `resource_id` = ?",
            RESOURCE_MODEL,
            id
        ))
        .await
        .map_err(db_err)?;
        tx.execute(q!("DELETE FROM `model` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }

    // ----------------------------------------------------------- model versions

    /// Model versions by id (one query).
    pub async fn model_versions_by_ids(&self, ids: &[Uuid]) -> Result<Vec<ModelVersionRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = q!(format!(
            "SELECT {MODEL_VERSION_COLS} FROM `model_version` WHERE `model_version`.`id` IN ({})",
            marks(ids.len())
        ));
        push_ids(&mut query, ids);
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    pub async fn get_model_version_row(&self, id: Uuid) -> Result<ModelVersionRow, Error> {
        self.model_versions_by_ids(&[id]).await?.pop().ok_or_else(|| model_version_not_found(id))
    }

    pub async fn get_model_version(&self, id: Uuid, hydrate: bool) -> Result<ModelVersionView, Error> {
        let row = self.get_model_version_row(id).await?;
        Ok(self.model_version_views(vec![row], hydrate).await?.pop().expect("one view per row"))
    }

    /// Models, owners, tags and (hydrated) run metadata of these versions: at most four
    /// queries.
    pub async fn model_version_views(
        &self,
        rows: Vec<ModelVersionRow>,
        hydrate: bool,
    ) -> Result<Vec<ModelVersionView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(ModelVersionRow::uuid).collect();
        let mut model_ids: Vec<Uuid> = rows.iter().map(|r| parse_id(&r.model_id)).collect();
        model_ids.sort_unstable();
        model_ids.dedup();
        let models: HashMap<Uuid, ModelRow> =
            self.models_by_ids(&model_ids).await?.into_iter().map(|m| (m.uuid(), m)).collect();
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|r| parse_opt_id(&r.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let mut tags = self.tags_of(RESOURCE_MODEL_VERSION, &ids).await?;
        let mut metadata =
            if hydrate { self.run_metadata_of(RESOURCE_MODEL_VERSION, &ids).await? } else { HashMap::new() };
        rows.into_iter()
            .map(|row| {
                let id = row.uuid();
                Ok(ModelVersionView {
                    model: models
                        .get(&parse_id(&row.model_id))
                        .cloned()
                        .ok_or_else(|| Error::internal(format!("model version {id} has no model")))?,
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    tags: tags.remove(&id).unwrap_or_default(),
                    run_metadata: hydrate.then(|| metadata.remove(&id).unwrap_or_default()),
                    row,
                })
            })
            .collect()
    }

    /// A page of model versions of a project. Queries: count, page, models, owners, tags and
    /// (hydrated) run metadata: at most six.
    pub async fn list_model_versions(
        &self,
        project_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<ModelVersionView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`model_version`.`project_id` = ?", project_id));
        for c in tags_conditions(backend, &mut params, "`model_version`.`id`") {
            wh.and(c);
        }
        for c in run_metadata_conditions(backend, &mut params, RESOURCE_MODEL_VERSION, "`model_version`.`id`")? {
            wh.and(c);
        }
        let page: Page<ModelVersionRow> = list::list(&self.db, &MODEL_VERSION_LIST, &params, &wh).await?;
        let views = self.model_version_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// `POST /model_versions`: a version named `v.name` (neither numeric nor a stage; 409 when
    /// taken) or named after its number. See [`Store::create_model_version_for`].
    pub async fn create_model_version(&self, v: NewModelVersion, user_id: Option<Uuid>) -> Result<Uuid, Error> {
        self.create_model_version_for(v, user_id, None).await
    }

    /// Create a version with the next number (retried on conflicts). With a producer run, a
    /// numeric version is unique per (model, run): when the run already has one, that one's id
    /// is returned.
    pub async fn create_model_version_for(
        &self,
        v: NewModelVersion,
        user_id: Option<Uuid>,
        producer_run_id: Option<Uuid>,
    ) -> Result<Uuid, Error> {
        if let Some(name) = &v.name {
            crate::components::check_name("ModelVersion", name)?;
            check_len("model version name", name)?;
            if !name.is_empty() && name.chars().all(|c| c.is_numeric()) {
                return Err(Error::bad_request("Can't create model version with custom numeric model version name."));
            }
            if STAGES.contains(&name.to_lowercase().as_str()) {
                return Err(Error::bad_request(format!(
                    "Can't create model version with a name that is used as a model version stage ({}).",
                    py_list(&STAGES)
                )));
            }
        }
        if let Some(stage) = &v.stage {
            check_len("model version stage", stage)?;
        }
        let model = self.find_model(&NameOrId::Id(v.model_id), None).await?.ok_or_else(|| {
            Error::not_found(format!(
                "The model with ID {} referenced by the model version being created was not found",
                v.model_id
            ))
        })?;
        let mut attempt = 0;
        let id = loop {
            attempt += 1;
            match self.try_insert_model_version(&v, user_id, producer_run_id).await? {
                Ok(id) => break id,
                Err(e) if is_retryable(&e) => {
                    if let Some(name) = &v.name
                        && self.find_model_version_named(v.model_id, name).await?.is_some()
                    {
                        return Err(Error::exists(format!(
                            "Unable to create model version {} (version {name}): A model with the same name and \
                             version already exists.",
                            model.name
                        )));
                    }
                    if let Some(run) = producer_run_id
                        && let Some(existing) = self.numeric_version_of_run(v.model_id, run).await?
                    {
                        return Ok(existing.uuid());
                    }
                    if attempt >= MAX_VERSION_RETRIES {
                        return Err(Error::internal(format!(
                            "Failed to create version for model {}. This is most likely caused by multiple parallel \
                             requests that try to create versions for this model in the database.",
                            model.name
                        )));
                    }
                    backoff(attempt).await;
                }
                Err(e) => return Err(db_err(e)),
            }
        };
        if let Some(tags) = &v.tags {
            let specs: Vec<crate::tags::TagSpec> = tags.iter().map(|n| n.as_str().into()).collect();
            let found = self.get_or_create_tag_specs(&specs, user_id).await?;
            let ids: Vec<Uuid> = found.iter().map(TagRow::uuid).collect();
            self.attach_tags(RESOURCE_MODEL_VERSION, id, &ids).await?;
        }
        Ok(id)
    }

    async fn try_insert_model_version(
        &self,
        v: &NewModelVersion,
        user_id: Option<Uuid>,
        producer_run_id: Option<Uuid>,
    ) -> Result<Result<Uuid, sqlx::Error>, Error> {
        let mut tx = self.db.begin().await?;
        let max = match tx
            .fetch_i64(q!("SELECT COALESCE(MAX(`number`), 0) FROM `model_version` WHERE `model_id` = ?", v.model_id))
            .await
        {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        let number = max + 1;
        let name = v.name.clone().unwrap_or_else(|| number.to_string());
        let id = Uuid::new_v4();
        let is_numeric = name == number.to_string();
        let producer = match producer_run_id {
            Some(run) if is_numeric => run,
            _ => id,
        };
        let now = utc_now();
        let res = tx
            .execute(q!(
                "INSERT INTO `model_version` (`id`, `created`, `updated`, `name`, `project_id`, `user_id`, `model_id`, \
                 `number`, `description`, `stage`, `producer_run_id_if_numeric`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                name,
                v.project_id,
                user_id,
                v.model_id,
                number,
                v.description.clone(),
                v.stage.clone(),
                producer
            ))
            .await;
        if let Err(e) = res {
            return Ok(Err(e));
        }
        tx.commit().await?;
        Ok(Ok(id))
    }

    async fn find_model_version_named(&self, model_id: Uuid, name: &str) -> Result<Option<ModelVersionRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!(
                    "SELECT {MODEL_VERSION_COLS} FROM `model_version` WHERE `model_version`.`model_id` = ? \
                     AND `model_version`.`name` = ?"
                ),
                model_id,
                name
            ))
            .await
            .map_err(db_err)
    }

    async fn numeric_version_of_run(&self, model_id: Uuid, run_id: Uuid) -> Result<Option<ModelVersionRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!(
                    "SELECT {MODEL_VERSION_COLS} FROM `model_version` WHERE `model_version`.`model_id` = ? \
                     AND `model_version`.`producer_run_id_if_numeric` = ?"
                ),
                model_id,
                run_id
            ))
            .await
            .map_err(db_err)
    }

    /// A version of a model by name, number (digits), or stage (`latest`: the highest number).
    /// 404 with the reference's messages.
    pub async fn model_version_by_name(&self, model_id: Uuid, version: &str) -> Result<ModelVersionRow, Error> {
        let base = format!("SELECT {MODEL_VERSION_COLS} FROM `model_version` WHERE `model_version`.`model_id` = ?");
        let (query, error) = if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) {
            (
                q!(format!("{base} AND `model_version`.`number` = ?"), model_id, version.parse::<i64>().unwrap_or(-1)),
                format!("No version with number {version} found for model {model_id}."),
            )
        } else if version == "latest" {
            (
                q!(format!("{base} ORDER BY `model_version`.`number` DESC LIMIT 1"), model_id),
                format!("No {version} stage version found for model {model_id}."),
            )
        } else if STAGES.contains(&version) {
            (
                q!(format!("{base} AND `model_version`.`stage` = ?"), model_id, version),
                format!("No {version} stage version found for model {model_id}."),
            )
        } else {
            (
                q!(format!("{base} AND `model_version`.`name` = ?"), model_id, version),
                format!("No {version} version found for model {model_id}."),
            )
        };
        let row: Option<ModelVersionRow> = self.db.clone().fetch_optional(query).await.map_err(db_err)?;
        row.ok_or_else(|| Error::not_found(error))
    }

    /// The model version of a run whose configuration names model `model_name` (G12): the
    /// model is created when missing; without `version` the run gets a new numeric version (one
    /// per run, also under concurrent or repeated calls); a named version is created when
    /// missing; a number or a stage must exist (404). Links the run to the version in
    /// `model_versions_runs` (once). See [`Store::model_version_for_run_config`] for the full
    /// model configuration.
    pub async fn model_version_for_run(
        &self,
        project_id: Uuid,
        user_id: Option<Uuid>,
        model_name: &str,
        version: Option<String>,
        run_id: Uuid,
    ) -> Result<ModelVersionRow, Error> {
        let model =
            RunModel { name: model_name.to_string(), version, save_models_to_registry: true, ..RunModel::default() };
        self.model_version_for_run_config(project_id, user_id, &model, run_id).await
    }

    /// [`Store::model_version_for_run`] with the configured model's fields: they fill a model
    /// created now (`description` also becomes the new version's description) and `tags` tag a
    /// version created now.
    pub async fn model_version_for_run_config(
        &self,
        project_id: Uuid,
        user_id: Option<Uuid>,
        m: &RunModel,
        run_id: Uuid,
    ) -> Result<ModelVersionRow, Error> {
        let model = match self.find_model(&NameOrId::Name(m.name.clone()), Some(project_id)).await? {
            Some(model) => model,
            None => {
                let new = NewModel {
                    project_id,
                    name: m.name.clone(),
                    license: m.license.clone(),
                    description: m.description.clone(),
                    audience: m.audience.clone(),
                    use_cases: m.use_cases.clone(),
                    limitations: m.limitations.clone(),
                    trade_offs: m.trade_offs.clone(),
                    ethics: m.ethics.clone(),
                    tags: None,
                    save_models_to_registry: m.save_models_to_registry,
                };
                match self.create_model(new, user_id).await {
                    Ok(v) => v.row,
                    Err(Error::EntityExists(_)) => {
                        self.get_model_row(&NameOrId::Name(m.name.clone()), Some(project_id)).await?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let model_id = model.uuid();
        let version = match &m.version {
            Some(v) if (!v.is_empty() && v.chars().all(|c| c.is_numeric())) || STAGES.contains(&v.as_str()) => {
                self.model_version_by_name(model_id, v).await?
            }
            _ => {
                let new = NewModelVersion {
                    project_id,
                    model_id,
                    name: m.version.clone(),
                    description: m.description.clone(),
                    stage: None,
                    tags: m.tags.clone(),
                };
                let id = match self.create_model_version_for(new, user_id, Some(run_id)).await {
                    Ok(id) => id,
                    Err(Error::EntityExists(_)) => {
                        self.model_version_by_name(model_id, m.version.as_deref().unwrap_or_default()).await?.uuid()
                    }
                    Err(e) => return Err(e),
                };
                self.get_model_version_row(id).await?
            }
        };
        self.link_model_version_run(version.uuid(), run_id).await?;
        Ok(version)
    }

    /// `PUT /model_versions/{id}`. A stage held by another version of the model is taken over
    /// (that one becomes `archived`) with `force`, otherwise it is a [`StageConflict`].
    pub async fn update_model_version(
        &self,
        id: Uuid,
        u: ModelVersionUpdate,
        user_id: Uuid,
    ) -> Result<Result<ModelVersionView, StageConflict>, Error> {
        let cur = self.get_model_version_row(id).await?;
        if let Some(n) = &u.name {
            check_len("model version name", n)?;
        }
        let mut tx = self.db.begin().await?;
        let backend = tx.backend();
        if let Some(stage) = &u.stage {
            let holder: Option<ModelVersionRow> = tx
                .fetch_optional(q!(
                    format!(
                        "SELECT {MODEL_VERSION_COLS} FROM `model_version` WHERE `model_version`.`model_id` = ? \
                         AND `model_version`.`stage` = ? AND `model_version`.`id` != ?{}",
                        backend.for_update()
                    ),
                    cur.model_id.clone(),
                    stage,
                    id
                ))
                .await
                .map_err(db_err)?;
            if let Some(holder) = holder {
                if !u.force {
                    return Ok(Err(StageConflict(format!(
                        "Model version {} is in {stage}, but `force` flag is False.",
                        holder.name
                    ))));
                }
                tx.execute(q!(
                    "UPDATE `model_version` SET `stage` = ?, `updated` = ? WHERE `model_id` = ? AND `stage` = ? AND `id` != ?",
                    "archived",
                    utc_now(),
                    cur.model_id.clone(),
                    stage,
                    id
                ))
                .await
                .map_err(db_err)?;
            }
        }
        let name = u.name.clone().unwrap_or(cur.name.clone());
        let conflict = format!(
            "Unable to update model version {}: A model version with the name '{name}' already exists.",
            cur.name
        );
        tx.execute(q!(
            "UPDATE `model_version` SET `updated` = ?, `stage` = ?, `name` = ?, `description` = ? WHERE `id` = ?",
            utc_now(),
            u.stage.clone().or(cur.stage.clone()),
            name,
            u.description.clone().or(cur.description.clone()),
            id
        ))
        .await
        .map_err(|e| map_err(e, &conflict))?;
        tx.commit().await?;
        if let Some(add) = &u.add_tags {
            self.tag_resource_by_names(RESOURCE_MODEL_VERSION, id, add, user_id).await?;
        }
        if let Some(remove) = &u.remove_tags {
            self.untag_resource_by_names(RESOURCE_MODEL_VERSION, id, remove).await?;
        }
        Ok(Ok(self.get_model_version(id, true).await?))
    }

    pub async fn delete_model_version(&self, id: Uuid) -> Result<(), Error> {
        self.model_versions_by_ids(&[id]).await?.pop().ok_or_else(|| {
            Error::not_found(format!(
                "Unable to delete model version with id `{id}`: No model version with this id found."
            ))
        })?;
        let mut tx = self.db.begin().await?;
        delete_model_versions_in(&mut tx, &[id]).await?;
        tx.commit().await
    }

    // -------------------------------------------------------------------- links

    /// Link a model version and an artifact version, or return the existing link. 404 for an
    /// unknown model version or artifact version.
    pub async fn link_model_version_artifact(
        &self,
        model_version_id: Uuid,
        artifact_version_id: Uuid,
    ) -> Result<ModelLinkRow, Error> {
        self.get_model_version_row(model_version_id).await?;
        if self.find_artifact_version(artifact_version_id).await?.is_none() {
            return Err(Error::not_found(format!(
                "Unable to get artifact version with ID '{artifact_version_id}': No artifact version with this ID found"
            )));
        }
        self.get_or_create_link(LinkKind::Artifact, model_version_id, artifact_version_id).await
    }

    /// Link a model version and a pipeline run, or return the existing link.
    pub async fn link_model_version_run(&self, model_version_id: Uuid, run_id: Uuid) -> Result<ModelLinkRow, Error> {
        self.get_or_create_link(LinkKind::Run, model_version_id, run_id).await
    }

    /// Check that a pipeline run exists (404 with the reference's message).
    pub async fn check_pipeline_run_exists(&self, run_id: Uuid) -> Result<(), Error> {
        let n = self
            .db
            .clone()
            .fetch_i64(q!("SELECT count(*) FROM `pipeline_run` WHERE `id` = ?", run_id))
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::not_found(format!(
                "Unable to get pipeline run with ID '{run_id}': No pipeline run with this ID found"
            )));
        }
        Ok(())
    }

    /// Get or create a link. The link tables have no unique constraint: the model version
    /// row is locked first (`FOR UPDATE`; SQLite serialises writers) so concurrent calls
    /// cannot both insert.
    async fn get_or_create_link(
        &self,
        kind: LinkKind,
        model_version_id: Uuid,
        target: Uuid,
    ) -> Result<ModelLinkRow, Error> {
        let (table, cols, target_col) = kind.sql();
        let mut tx = self.db.begin().await?;
        let backend = tx.backend();
        tx.fetch_optional::<IdOnly>(q!(
            format!("SELECT `id` FROM `model_version` WHERE `id` = ?{}", backend.for_update()),
            model_version_id
        ))
        .await
        .map_err(db_err)?;
        let select = q!(
            format!("SELECT {cols} FROM {table} WHERE {table}.`model_version_id` = ? AND {table}.`{target_col}` = ?"),
            model_version_id,
            target
        );
        if let Some(existing) = tx.fetch_optional::<ModelLinkRow>(select.clone()).await.map_err(db_err)? {
            return Ok(existing);
        }
        let now = utc_now();
        tx.execute(q!(
            format!(
                "INSERT INTO {table} (`id`, `created`, `updated`, `model_version_id`, `{target_col}`) VALUES (?, ?, ?, ?, ?)"
            ),
            Uuid::new_v4(),
            now,
            now,
            model_version_id,
            target
        ))
        .await
        .map_err(db_err)?;
        let row = tx.fetch_optional::<ModelLinkRow>(select).await.map_err(db_err)?;
        tx.commit().await?;
        row.ok_or_else(|| Error::internal("the new model version link vanished"))
    }

    /// A page of model version ↔ artifact version links (count and page: two queries).
    pub async fn list_model_version_artifact_links(&self, params: &ListParams) -> Result<Page<ModelLinkRow>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        let via_version =
            "`model_versions_artifacts`.`artifact_version_id` IN (SELECT `av`.`id` FROM `artifact_version` AS `av`";
        for f in params.take("artifact_name") {
            let mut c =
                Query::new(format!("{via_version} JOIN `artifact` AS `a` ON `a`.`id` = `av`.`artifact_id` WHERE "));
            list::condition(&mut c, backend, "`a`.`name`", Kind::Str, &f);
            c.push_sql(")");
            wh.and(c);
        }
        let flag = |params: &mut ListParams, name: &str| {
            params.take(name).iter().any(|f| f.value == filter::Value::Bool(true))
        };
        if flag(&mut params, "only_data_artifacts") {
            wh.and(q!(format!("{via_version} WHERE `av`.`type` NOT IN (?, ?))"), "ServiceArtifact", "ModelArtifact"));
        }
        if flag(&mut params, "only_model_artifacts") {
            wh.and(q!(format!("{via_version} WHERE `av`.`type` = ?)"), "ModelArtifact"));
        }
        if flag(&mut params, "only_deployment_artifacts") {
            wh.and(q!(format!("{via_version} WHERE `av`.`type` = ?)"), "ServiceArtifact"));
        }
        for f in params.take("has_custom_name") {
            if let filter::Value::Bool(b) = f.value {
                wh.and(q!(
                    format!("{via_version} JOIN `artifact` AS `a` ON `a`.`id` = `av`.`artifact_id` WHERE `a`.`has_custom_name` = ?)"),
                    b
                ));
            }
        }
        for f in params.take("user") {
            let mut c = Query::new(format!("{via_version} JOIN `user` AS `u` ON `u`.`id` = `av`.`user_id` WHERE "));
            user_condition(&mut c, backend, &f);
            c.push_sql(")");
            wh.and(c);
        }
        list::list(&self.db, &MVA_LIST, &params, &wh).await
    }

    /// A page of model version ↔ pipeline run links (count and page: two queries).
    pub async fn list_model_version_run_links(&self, params: &ListParams) -> Result<Page<ModelLinkRow>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        for f in params.take("pipeline_run_name") {
            let mut c = Query::new(
                "`model_versions_runs`.`pipeline_run_id` IN (SELECT `r`.`id` FROM `pipeline_run` AS `r` WHERE ",
            );
            list::condition(&mut c, backend, "`r`.`name`", Kind::Str, &f);
            c.push_sql(")");
            wh.and(c);
        }
        for f in params.take("user") {
            let mut c = Query::new(
                "`model_versions_runs`.`pipeline_run_id` IN (SELECT `r`.`id` FROM `pipeline_run` AS `r` \
                 JOIN `user` AS `u` ON `u`.`id` = `r`.`user_id` WHERE ",
            );
            user_condition(&mut c, backend, &f);
            c.push_sql(")");
            wh.and(c);
        }
        list::list(&self.db, &MVR_LIST, &params, &wh).await
    }

    pub async fn find_model_version_artifact_link(&self, id: Uuid) -> Result<Option<ModelLinkRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {MVA_COLS} FROM `model_versions_artifacts` WHERE `id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// `DELETE /model_versions/{id}/artifacts/{link name or id}`: by link id, or by the name
    /// of the linked artifact.
    pub async fn delete_model_version_artifact_link(&self, model_version_id: Uuid, key: &str) -> Result<(), Error> {
        self.delete_model_version_link(LinkKind::Artifact, model_version_id, key).await
    }

    /// `DELETE /model_versions/{id}/artifacts`: all links, and with `only_links = false` the
    /// linked artifact versions too.
    pub async fn delete_all_model_version_artifact_links(
        &self,
        model_version_id: Uuid,
        only_links: bool,
    ) -> Result<(), Error> {
        self.get_model_version_row(model_version_id).await?;
        let mut tx = self.db.begin().await?;
        if !only_links {
            let linked: Vec<IdOnly> = tx
                .fetch_all(q!(
                    "SELECT `artifact_version_id` AS `id` FROM `model_versions_artifacts` WHERE `model_version_id` = ?",
                    model_version_id
                ))
                .await
                .map_err(db_err)?;
            let ids: Vec<Uuid> = linked.iter().map(|l| parse_id(&l.id)).collect();
            for chunk in ids.chunks(500) {
                Store::untag_in(&mut tx, crate::artifacts::RESOURCE_ARTIFACT_VERSION, chunk).await?;
                for sql in [
                    "DELETE FROM `artifact_visualization` WHERE `artifact_version_id` IN",
                    "DELETE FROM `model_versions_artifacts` WHERE `artifact_version_id` IN",
                    "DELETE FROM `step_run_output_artifact` WHERE `artifact_id` IN",
                    "DELETE FROM `step_run_input_artifact` WHERE `artifact_id` IN",
                    "DELETE FROM `artifact_version` WHERE `id` IN",
                ] {
                    let mut query = Query::new(format!("{sql} ({})", marks(chunk.len())));
                    push_ids(&mut query, chunk);
                    tx.execute(query).await.map_err(db_err)?;
                }
            }
        }
        tx.execute(q!("DELETE FROM `model_versions_artifacts` WHERE `model_version_id` = ?", model_version_id))
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    /// `DELETE /model_versions/{id}/runs/{link name or id}`: by link id, or by run name.
    pub async fn delete_model_version_run_link(&self, model_version_id: Uuid, key: &str) -> Result<(), Error> {
        self.delete_model_version_link(LinkKind::Run, model_version_id, key).await
    }

    /// Delete one link of a model version, found by link id (a UUID key) or by the name of
    /// what it links (the artifact's name, the run's name); 404 when there is none.
    async fn delete_model_version_link(&self, kind: LinkKind, model_version_id: Uuid, key: &str) -> Result<(), Error> {
        self.get_model_version_row(model_version_id).await?;
        let (table, ..) = kind.sql();
        let query = match Uuid::parse_str(key) {
            Ok(id) => {
                q!(format!("SELECT `id` FROM {table} WHERE `model_version_id` = ? AND `id` = ?"), model_version_id, id)
            }
            Err(_) => q!(kind.by_name_sql(), model_version_id, key),
        };
        let found: Option<IdOnly> = self.db.clone().fetch_optional(query).await.map_err(db_err)?;
        let found = found.ok_or_else(|| Error::not_found(kind.link_not_found(key)))?;
        self.db.clone().execute(q!(format!("DELETE FROM {table} WHERE `id` = ?"), found.id)).await.map_err(db_err)?;
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct IdOnly {
    id: String,
}

#[derive(Clone, Copy)]
enum LinkKind {
    Artifact,
    Run,
}

impl LinkKind {
    /// (table, select columns, target column)
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            LinkKind::Artifact => ("`model_versions_artifacts`", MVA_COLS, "artifact_version_id"),
            LinkKind::Run => ("`model_versions_runs`", MVR_COLS, "pipeline_run_id"),
        }
    }

    /// The id of a model version's link (`model_version_id = ?`) by the name of what it links
    /// (`name = ?`).
    fn by_name_sql(self) -> &'static str {
        match self {
            LinkKind::Artifact => {
                "SELECT `mva`.`id` FROM `model_versions_artifacts` AS `mva` \
                 JOIN `artifact_version` AS `av` ON `av`.`id` = `mva`.`artifact_version_id` \
                 JOIN `artifact` AS `a` ON `a`.`id` = `av`.`artifact_id` \
                 WHERE `mva`.`model_version_id` = ? AND `a`.`name` = ?"
            }
            LinkKind::Run => {
                "SELECT `mvr`.`id` FROM `model_versions_runs` AS `mvr` \
                 JOIN `pipeline_run` AS `r` ON `r`.`id` = `mvr`.`pipeline_run_id` \
                 WHERE `mvr`.`model_version_id` = ? AND `r`.`name` = ?"
            }
        }
    }

    /// The reference's 404 message for a link that is not there (the two differ).
    fn link_not_found(self, key: &str) -> String {
        match self {
            LinkKind::Artifact => format!(
                "Unable to delete model version link with name or ID `{key}`: No model version link with this name found."
            ),
            LinkKind::Run => {
                format!(
                    "Unable to delete model version link with name `{key}`: No model version link with this name found."
                )
            }
        }
    }
}

/// Delete model versions with their links, tags and metadata links.
async fn delete_model_versions_in(tx: &mut Tx, ids: &[Uuid]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    Store::untag_in(tx, RESOURCE_MODEL_VERSION, ids).await?;
    let m = marks(ids.len());
    for sql in [
        format!("DELETE FROM `model_versions_artifacts` WHERE `model_version_id` IN ({m})"),
        format!("DELETE FROM `model_versions_runs` WHERE `model_version_id` IN ({m})"),
        format!("UPDATE `pipeline_run` SET `model_version_id` = NULL WHERE `model_version_id` IN ({m})"),
        format!("UPDATE `step_run` SET `model_version_id` = NULL WHERE `model_version_id` IN ({m})"),
        format!("UPDATE `service` SET `model_version_id` = NULL WHERE `model_version_id` IN ({m})"),
        format!("DELETE FROM `model_version` WHERE `id` IN ({m})"),
    ] {
        let mut query = Query::new(sql);
        push_ids(&mut query, ids);
        tx.execute(query).await.map_err(db_err)?;
    }
    let mut query = q!(
        format!("DELETE FROM `run_metadata_resource` WHERE `resource_type` = ? AND `resource_id` IN ({m})"),
        RESOURCE_MODEL_VERSION
    );
    push_ids(&mut query, ids);
    tx.execute(query).await.map_err(db_err)?;
    Ok(())
}

/// A name-or-id-or-full-name filter on the user aliased `u`.
fn user_condition(q: &mut Query, backend: crate::Backend, f: &filter::Filter) {
    q.push_sql("(");
    name_or_id_condition(q, backend, "`u`", f);
    q.push_sql(" OR (");
    list::condition(q, backend, "`u`.`full_name`", Kind::Str, f);
    q.push_sql("))");
}

/// Python's `repr` of a list of strings.
fn py_list(items: &[&str]) -> String {
    format!("[{}]", items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
}
