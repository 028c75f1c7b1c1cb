//! Pipeline snapshots (`pipeline_snapshot` + one `step_configuration` row per step) and run
//! templates (`run_template`).
//!
//! Stored as the reference stores them: `pipeline_configuration` as compact JSON (pydantic's
//! `model_dump_json`), `client_environment` as Python's `json.dumps`, `pipeline_spec` as
//! `json.dumps(..., sort_keys=True)`, and each step as `{"spec", "step_config_overrides"}`
//! without the merged `config`, which [`merged_step`] rebuilds from the pipeline
//! configuration on every read, as the reference's `Step.from_dict` does.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::code_refs::{CodeReferenceView, create_or_reuse_code_reference};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::pipelines::{
    BuildRow, LatestRun, PipelineRow, delete_links, missing_reference, name_or_id_condition, not_found, push_ids,
    tags_condition, unique,
};
use crate::schedules::ScheduleRow;
use crate::stacks::{StackRow, python_json};
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

/// The largest `client_environment` the reference stores (`TEXT_FIELD_MAX_LENGTH`).
const TEXT_FIELD_MAX_LENGTH: usize = 65_535;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SnapshotRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: Option<String>,
    pub is_dynamic: bool,
    pub run_name_template: String,
    pub client_version: Option<String>,
    pub server_version: Option<String>,
    pub pipeline_version_hash: Option<String>,
    pub code_path: Option<String>,
    pub user_id: Option<String>,
    pub project_id: String,
    pub stack_id: Option<String>,
    pub pipeline_id: String,
    pub schedule_id: Option<String>,
    pub build_id: Option<String>,
    pub code_reference_id: Option<String>,
    pub source_snapshot_id: Option<String>,
    pub template_id: Option<String>,
    pub step_count: i64,
    /// Large columns, `None` unless selected with [`SNAPSHOT_FULL_COLS`].
    pub description: Option<String>,
    pub pipeline_configuration: Option<String>,
    pub client_environment: Option<String>,
    pub pipeline_spec: Option<String>,
    pub source_code: Option<String>,
}

impl SnapshotRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    /// The pipeline configuration (`{}` unless loaded).
    pub fn pipeline_configuration_json(&self) -> Json {
        self.pipeline_configuration
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Json::Object(Default::default()))
    }
    /// The client environment without `python_packages` (as the reference shows it).
    pub fn client_environment_json(&self, include_python_packages: bool) -> Json {
        let mut env: Json = self
            .client_environment
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Json::Object(Default::default()));
        if !include_python_packages && let Some(m) = env.as_object_mut() {
            m.remove("python_packages");
        }
        env
    }
    /// The pipeline spec in the reference's field order, or null.
    pub fn pipeline_spec_json(&self) -> Json {
        self.pipeline_spec
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .map(pipeline_spec_order)
            .unwrap_or(Json::Null)
    }
}

/// Columns for bodies and resources (large columns as NULL).
pub const SNAPSHOT_COLS: &str = const_format_cols::LIGHT;
/// All columns.
pub const SNAPSHOT_FULL_COLS: &str = const_format_cols::FULL;

mod const_format_cols {
    macro_rules! base {
        () => {
            "`pipeline_snapshot`.`id`, `pipeline_snapshot`.`created`, `pipeline_snapshot`.`updated`, \
             `pipeline_snapshot`.`name`, `pipeline_snapshot`.`is_dynamic`, `pipeline_snapshot`.`run_name_template`, \
             `pipeline_snapshot`.`client_version`, `pipeline_snapshot`.`server_version`, \
             `pipeline_snapshot`.`pipeline_version_hash`, `pipeline_snapshot`.`code_path`, \
             `pipeline_snapshot`.`user_id`, `pipeline_snapshot`.`project_id`, `pipeline_snapshot`.`stack_id`, \
             `pipeline_snapshot`.`pipeline_id`, `pipeline_snapshot`.`schedule_id`, `pipeline_snapshot`.`build_id`, \
             `pipeline_snapshot`.`code_reference_id`, `pipeline_snapshot`.`source_snapshot_id`, \
             `pipeline_snapshot`.`template_id`, `pipeline_snapshot`.`step_count`"
        };
    }
    pub const LIGHT: &str = concat!(
        base!(),
        ", NULL AS `description`, NULL AS `pipeline_configuration`, NULL AS `client_environment`, \
         NULL AS `pipeline_spec`, NULL AS `source_code`"
    );
    pub const FULL: &str = concat!(
        base!(),
        ", `pipeline_snapshot`.`description`, `pipeline_snapshot`.`pipeline_configuration`, \
         `pipeline_snapshot`.`client_environment`, `pipeline_snapshot`.`pipeline_spec`, \
         `pipeline_snapshot`.`source_code`"
    );
}

/// The fields of `PipelineSnapshotFilter`; `tags`, `named_only`, `pipeline`, `stack` and
/// `runnable` are resolved here, `project` by the caller (`deployable`, `deployed` and
/// `trigger_id` are not supported).
pub static SNAPSHOT_LIST: ListSpec = ListSpec {
    from: "`pipeline_snapshot`",
    id: "`pipeline_snapshot`.`id`",
    select: SNAPSHOT_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`pipeline_snapshot`.`id`"),
        Field::col("created", Kind::Datetime, "`pipeline_snapshot`.`created`"),
        Field::col("updated", Kind::Datetime, "`pipeline_snapshot`.`updated`"),
        Field::col("name", Kind::Str, "`pipeline_snapshot`.`name`"),
        Field::related("user", "`pipeline_snapshot`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::col("build_id", Kind::Uuid, "`pipeline_snapshot`.`build_id`"),
        Field::col("schedule_id", Kind::Uuid, "`pipeline_snapshot`.`schedule_id`"),
        Field::col("source_snapshot_id", Kind::Uuid, "`pipeline_snapshot`.`source_snapshot_id`"),
        Field::custom("tags", Kind::Str),
        Field::custom("named_only", Kind::Bool),
        Field::custom("pipeline", Kind::Str),
        Field::custom("stack", Kind::Str),
        Field::custom("runnable", Kind::Bool),
    ],
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepConfigRow {
    pub index: i64,
    pub name: String,
    pub config: String,
    pub snapshot_id: Option<String>,
    pub step_run_id: Option<String>,
}

/// A snapshot with what its response shows.
#[derive(Debug, Clone)]
pub struct SnapshotView {
    pub row: SnapshotRow,
    pub user: Option<UserRow>,
    pub pipeline: Option<PipelineRow>,
    pub stack: Option<StackRow>,
    pub build: Option<BuildRow>,
    pub schedule: Option<ScheduleRow>,
    pub code_reference: Option<CodeReferenceView>,
    pub latest_run: Option<LatestRun>,
    /// Whether its stack has a deployer (with a build: `deployable`).
    pub stack_has_deployer: bool,
    /// Loaded when hydrated, in step order.
    pub step_configurations: Vec<StepConfigRow>,
}

impl SnapshotView {
    pub fn runnable(&self) -> bool {
        self.build.as_ref().is_some_and(BuildRow::is_runnable)
    }
    pub fn deployable(&self) -> bool {
        self.build.is_some() && self.stack.is_some() && self.stack_has_deployer
    }
}

/// A code reference of a new snapshot.
#[derive(Debug, Clone)]
pub struct NewCodeReference {
    pub code_repository: Uuid,
    pub commit: String,
    pub subdirectory: String,
}

/// A new snapshot (`PipelineSnapshotRequest`).
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub project_id: Uuid,
    pub run_name_template: String,
    pub pipeline_configuration: Json,
    /// (step name, `{spec, config, step_config_overrides}`), in request order.
    pub step_configurations: Vec<(String, Json)>,
    pub client_environment: Json,
    pub client_version: Option<String>,
    pub server_version: Option<String>,
    pub pipeline_version_hash: Option<String>,
    pub pipeline_spec: Option<Json>,
    pub is_dynamic: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    pub source_code: Option<String>,
    pub replace: bool,
    pub stack_id: Option<Uuid>,
    pub pipeline_id: Uuid,
    pub build_id: Option<Uuid>,
    pub schedule_id: Option<Uuid>,
    pub code_reference: Option<NewCodeReference>,
    pub code_path: Option<String>,
    pub template_id: Option<Uuid>,
    pub source_snapshot_id: Option<Uuid>,
}

/// `PipelineSnapshotUpdate`.
#[derive(Debug, Clone, Default)]
pub struct SnapshotUpdate {
    /// `Some(None)`: remove the name.
    pub name: Option<Option<String>>,
    pub description: Option<String>,
    pub replace: bool,
}

fn name_taken(name: &str, pipeline: &str) -> Error {
    Error::exists(format!(
        "Snapshot with name `{name}` already exists for pipeline `{pipeline}`. If you want to replace the existing \
         snapshot, set the `replace` flag to `True`."
    ))
}

/// JSON with object keys sorted recursively (`json.dumps(sort_keys=True)`).
pub fn sort_keys(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Json::Object(keys.into_iter().map(|k| (k.clone(), sort_keys(&m[k]))).collect())
        }
        Json::Array(a) => Json::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Reorder an object's keys: `fields` first in that order, the rest after.
fn ordered(v: Json, fields: &[&str]) -> Json {
    let Json::Object(mut m) = v else { return v };
    let mut out = Map::new();
    for f in fields {
        if let Some(x) = m.shift_remove(*f) {
            out.insert((*f).to_string(), x);
        }
    }
    out.extend(m);
    Json::Object(out)
}

const SOURCE_FIELDS: &[&str] = &["module", "attribute", "type"];
const INPUT_SPEC_FIELDS: &[&str] = &["step_name", "output_name", "chunk_index", "chunk_size"];

/// A step spec in `StepSpec` field order.
fn step_spec_order(v: Json) -> Json {
    let Json::Object(mut m) =
        ordered(v, &["source", "upstream_steps", "inputs", "invocation_id", "enable_heartbeat", "parameter_spec"])
    else {
        return Json::Null;
    };
    if let Some(s) = m.get_mut("source") {
        *s = ordered(s.take(), SOURCE_FIELDS);
    }
    if let Some(Json::Object(inputs)) = m.get_mut("inputs") {
        for (_, i) in inputs.iter_mut() {
            *i = match i.take() {
                Json::Array(a) => Json::Array(a.into_iter().map(|x| ordered(x, INPUT_SPEC_FIELDS)).collect()),
                other => ordered(other, INPUT_SPEC_FIELDS),
            };
        }
    }
    Json::Object(m)
}

/// A stored (key-sorted) pipeline spec in the field order of `PipelineSpec`, as the reference
/// re-serializes it; free-form dicts stay sorted.
pub fn pipeline_spec_order(v: Json) -> Json {
    let Json::Object(mut m) =
        ordered(v, &["version", "source", "parameters", "input_schema", "steps", "outputs", "output_schema"])
    else {
        return Json::Null;
    };
    if let Some(s) = m.get_mut("source") {
        *s = ordered(s.take(), SOURCE_FIELDS);
    }
    if let Some(Json::Array(steps)) = m.get_mut("steps") {
        for s in steps.iter_mut() {
            *s = step_spec_order(s.take());
        }
    }
    if let Some(Json::Array(outputs)) = m.get_mut("outputs") {
        for o in outputs.iter_mut() {
            *o = ordered(o.take(), &["step_name", "output_name"]);
        }
    }
    Json::Object(m)
}

/// Remove null members of objects, recursively (pydantic's `exclude_none` on models).
fn drop_nulls(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            Json::Object(m.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k.clone(), drop_nulls(x))).collect())
        }
        other => other.clone(),
    }
}

/// `_get_pipeline_values_to_propagate`: the pipeline settings every step inherits.
fn pipeline_values_to_propagate(pipeline_configuration: &Json, exclude_hook_sources: bool) -> Map<String, Json> {
    const KEYS: &[&str] = &["settings", "extra", "retry", "substitutions", "environment", "secrets", "cache_policy"];
    const HOOKS: &[&str] = &["failure_hook_source", "success_hook_source", "start_hook_source", "end_hook_source"];
    let mut out = Map::new();
    let Some(pc) = pipeline_configuration.as_object() else { return out };
    for (k, v) in pc {
        let included = KEYS.contains(&k.as_str()) || (!exclude_hook_sources && HOOKS.contains(&k.as_str()));
        if !included || v.is_null() {
            continue;
        }
        let v = match k.as_str() {
            // Models: their null fields are excluded.
            "retry" | "cache_policy" => drop_nulls(v),
            "settings" => match v {
                Json::Object(s) => Json::Object(s.iter().map(|(k, x)| (k.clone(), drop_nulls(x))).collect()),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    out
}

/// `dict_utils.recursive_update(original, update, ignore_none=True)`.
fn recursive_update(original: &mut Map<String, Json>, update: &Map<String, Json>) {
    for (k, v) in update {
        match v {
            Json::Null => {}
            Json::Object(u) => {
                let mut base = match original.get(k) {
                    Some(Json::Object(o)) => o.clone(),
                    Some(Json::Null) | None => Map::new(),
                    Some(_) => {
                        original.insert(k.clone(), v.clone());
                        continue;
                    }
                };
                recursive_update(&mut base, u);
                original.insert(k.clone(), Json::Object(base));
            }
            other => {
                original.insert(k.clone(), other.clone());
            }
        }
    }
}

/// `_apply_pipeline_configuration`.
fn apply_pipeline_configuration(config: &Map<String, Json>, pipeline: &Map<String, Json>) -> Map<String, Json> {
    if pipeline.is_empty() {
        return config.clone();
    }
    let mut combined = config.clone();
    for (k, v) in pipeline {
        combined.insert(k.clone(), v.clone());
    }
    let mut overrides: Map<String, Json> = config
        .iter()
        .filter(|(k, v)| pipeline.contains_key(*k) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut secrets: Vec<Json> = pipeline.get("secrets").and_then(Json::as_array).cloned().unwrap_or_default();
    secrets.extend(overrides.get("secrets").and_then(Json::as_array).cloned().unwrap_or_default());
    overrides.insert("secrets".into(), Json::Array(secrets));
    recursive_update(&mut combined, &overrides);
    combined
}

/// Put `v`'s keys in `template`'s order (recursively where both are objects), filling keys the
/// merge dropped with null: what validating into the model and dumping it again gives.
fn conform(v: Json, template: &Json) -> Json {
    match (v, template) {
        (Json::Object(mut m), Json::Object(t)) => {
            let mut out = Map::new();
            for (k, tv) in t {
                let x = m.shift_remove(k).unwrap_or(Json::Null);
                out.insert(k.clone(), conform(x, tv));
            }
            out.extend(m);
            Json::Object(out)
        }
        (v, _) => v,
    }
}

/// Add `date` and `time` substitutions from the run's start time (`finalize_substitutions`).
pub fn finalize_substitutions(pipeline_configuration: &mut Json, start_time: Option<NaiveDateTime>) {
    let start = start_time.unwrap_or_else(utc_now);
    let Some(pc) = pipeline_configuration.as_object_mut() else { return };
    let subs = pc.entry("substitutions").or_insert_with(|| Json::Object(Map::new()));
    if !subs.is_object() {
        *subs = Json::Object(Map::new());
    }
    if let Some(m) = subs.as_object_mut() {
        m.entry("date").or_insert_with(|| Json::String(start.format("%Y_%m_%d").to_string()));
        m.entry("time").or_insert_with(|| Json::String(start.format("%H_%M_%S_%6f").to_string()));
    }
}

/// A stored step (`{spec, step_config_overrides}`, or a legacy `{spec, config}`) with its merged
/// `config` rebuilt from the pipeline configuration (`Step.from_dict`):
/// `{spec, config, step_config_overrides}`.
pub fn merged_step(stored: &Json, pipeline_configuration: &Json, is_dynamic: bool) -> Json {
    let spec = stored.get("spec").cloned().unwrap_or(Json::Null);
    let empty = Map::new();
    let (config, overrides) = match (stored.get("config"), stored.get("step_config_overrides")) {
        (Some(Json::Object(config)), overrides) => {
            // Legacy rows hold the merged config: only the substitutions are applied.
            let mut p = Map::new();
            p.insert(
                "substitutions".into(),
                pipeline_configuration.get("substitutions").cloned().unwrap_or(Json::Object(Map::new())),
            );
            let merged = apply_pipeline_configuration(config, &p);
            (merged, overrides.cloned().unwrap_or_else(|| Json::Object(config.clone())))
        }
        (_, Some(Json::Object(o))) => {
            let p = pipeline_values_to_propagate(pipeline_configuration, is_dynamic);
            (apply_pipeline_configuration(o, &p), Json::Object(o.clone()))
        }
        _ => (empty.clone(), Json::Object(empty)),
    };
    let config = conform(Json::Object(config), &overrides);
    let mut out = Map::new();
    out.insert("spec".into(), spec);
    out.insert("config".into(), config);
    out.insert("step_config_overrides".into(), overrides);
    Json::Object(out)
}

/// Input names a run overrides for an invocation (`get_invocation_input_overrides`).
pub fn invocation_input_overrides(pipeline_configuration: &Json, invocation_id: &str, step_name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |key: &str, by: &str| {
        if let Some(m) = pipeline_configuration.get(key).and_then(|o| o.get(by)).and_then(Json::as_object) {
            for k in m.keys() {
                if !out.contains(k) {
                    out.push(k.clone());
                }
            }
        }
    };
    add("step_default_input_overrides", step_name);
    add("step_input_overrides", invocation_id);
    out
}

/// The snapshot column a request field checks against, with the reference's wording.
struct Reference {
    table: &'static str,
    label: &'static str,
    project_scoped: bool,
}

async fn check_reference(
    store: &Store,
    r: Reference,
    id: Option<Uuid>,
    project: Uuid,
    resource: &str,
) -> Result<(), Error> {
    let Some(id) = id else { return Ok(()) };
    let n = if r.project_scoped {
        store
            .db
            .clone()
            .fetch_i64(q!(
                format!("SELECT count(*) FROM `{}` WHERE `id` = ? AND `project_id` = ?", r.table),
                id,
                project
            ))
            .await
    } else {
        store.db.clone().fetch_i64(q!(format!("SELECT count(*) FROM `{}` WHERE `id` = ?", r.table), id)).await
    }
    .map_err(db_err)?;
    if n == 0 {
        return Err(missing_reference(r.label, id, resource));
    }
    Ok(())
}

/// Free the name of a snapshot of a pipeline: delete the snapshot holding it when nothing
/// references it, else keep it without a name (`_release_snapshot_name`).
async fn release_snapshot_name(tx: &mut Tx, pipeline_id: Uuid, name: &str, keep: Option<Uuid>) -> Result<(), Error> {
    let existing: Option<crate::pipelines::IdRow> = tx
        .fetch_optional(q!(
            format!(
                "SELECT `id` FROM `pipeline_snapshot` WHERE `pipeline_id` = ? AND `name` = ?{}",
                tx.backend().for_update()
            ),
            pipeline_id,
            name
        ))
        .await
        .map_err(db_err)?;
    let Some(existing) = existing else { return Ok(()) };
    let id = parse_id(&existing.id);
    if Some(id) == keep {
        return Ok(());
    }
    let referenced = tx
        .fetch_i64(q!(
            "SELECT (SELECT count(*) FROM `pipeline_snapshot` WHERE `id` = ? AND (`schedule_id` IS NOT NULL OR \
             `template_id` IS NOT NULL)) + (SELECT count(*) FROM `pipeline_run` WHERE `snapshot_id` = ?) + \
             (SELECT count(*) FROM `step_run` WHERE `snapshot_id` = ?) + (SELECT count(*) FROM `pipeline_snapshot` \
             WHERE `source_snapshot_id` = ?) + (SELECT count(*) FROM `run_template` WHERE `source_snapshot_id` = ?) + \
             (SELECT count(*) FROM `deployment` WHERE `snapshot_id` = ?)",
            id,
            id,
            id,
            id,
            id,
            id
        ))
        .await
        .map_err(db_err)?;
    if referenced > 0 {
        tx.execute(q!("UPDATE `pipeline_snapshot` SET `name` = NULL WHERE `id` = ?", id)).await.map_err(db_err)?;
    } else {
        delete_snapshot_dependents(tx, &[id]).await?;
        tx.execute(q!("DELETE FROM `pipeline_snapshot` WHERE `id` = ?", id)).await.map_err(db_err)?;
    }
    Ok(())
}

/// Before snapshots are deleted (their runs and step runs go by database cascade): delete the
/// polymorphic tag and metadata links of all of them and unlink derived snapshots.
pub(crate) async fn delete_snapshot_dependents(tx: &mut Tx, snapshot_ids: &[Uuid]) -> Result<(), Error> {
    if snapshot_ids.is_empty() {
        return Ok(());
    }
    let mut runs_q = Query::new("SELECT `id` FROM `pipeline_run` WHERE `snapshot_id` IN ");
    push_ids(&mut runs_q, snapshot_ids);
    let runs: Vec<crate::pipelines::IdRow> = tx.fetch_all(runs_q).await.map_err(db_err)?;
    let runs: Vec<Uuid> = runs.iter().map(|r| parse_id(&r.id)).collect();
    crate::runs::delete_run_dependents(tx, &runs).await?;
    delete_links(tx, "pipeline_snapshot", snapshot_ids).await?;
    let mut unlink =
        Query::new("UPDATE `pipeline_snapshot` SET `source_snapshot_id` = NULL WHERE `source_snapshot_id` IN ");
    push_ids(&mut unlink, snapshot_ids);
    tx.execute(unlink).await.map_err(db_err)?;
    Ok(())
}

impl Store {
    /// Create a snapshot with its step configurations and code reference; 409 when a named
    /// snapshot of the pipeline exists and `replace` is not set.
    pub async fn create_snapshot(&self, s: NewSnapshot, user_id: Uuid) -> Result<Uuid, Error> {
        const R: &str = "pipeline snapshot";
        self.require_project(s.project_id, R).await?;
        let p = s.project_id;
        let refs = [
            (Reference { table: "stack", label: "stack", project_scoped: false }, s.stack_id),
            (Reference { table: "pipeline", label: "pipeline", project_scoped: true }, Some(s.pipeline_id)),
            (Reference { table: "pipeline_build", label: "pipeline build", project_scoped: true }, s.build_id),
            (Reference { table: "schedule", label: "schedule", project_scoped: true }, s.schedule_id),
            (
                Reference { table: "code_repository", label: "code repository", project_scoped: true },
                s.code_reference.as_ref().map(|c| c.code_repository),
            ),
            (Reference { table: "run_template", label: "run template", project_scoped: true }, s.template_id),
            (
                Reference { table: "pipeline_snapshot", label: "pipeline snapshot", project_scoped: true },
                s.source_snapshot_id,
            ),
        ];
        for (r, id) in refs {
            check_reference(self, r, id, p, R).await?;
        }
        if let Some(n) = &s.name {
            crate::components::check_name("PipelineSnapshot", n)?;
        }
        let mut client_env = python_json(&s.client_environment);
        if client_env.len() > TEXT_FIELD_MAX_LENGTH {
            tracing::warn!("Client environment is too large to be stored in the database. Skipping.");
            client_env = "{}".into();
        }
        let pipeline_spec = s.pipeline_spec.as_ref().map(|spec| python_json(&sort_keys(spec)));
        let steps: Vec<(String, String)> = s
            .step_configurations
            .iter()
            .map(|(name, step)| {
                let overrides =
                    step.get("step_config_overrides").or_else(|| step.get("config")).cloned().unwrap_or(Json::Null);
                let mut stored = Map::new();
                stored.insert("spec".into(), step.get("spec").cloned().unwrap_or(Json::Null));
                stored.insert("step_config_overrides".into(), overrides);
                (name.clone(), serde_json::to_string(&Json::Object(stored)).unwrap_or_default())
            })
            .collect();
        let id = Uuid::new_v4();
        let mut tx = self.db.begin().await?;
        if let (Some(name), true) = (&s.name, s.replace) {
            release_snapshot_name(&mut tx, s.pipeline_id, name, None).await?;
        }
        let code_reference_id = match &s.code_reference {
            Some(c) => {
                Some(create_or_reuse_code_reference(&mut tx, p, c.code_repository, &c.commit, &c.subdirectory).await?)
            }
            None => None,
        };
        let now = utc_now();
        let insert = tx
            .execute(q!(
                "INSERT INTO `pipeline_snapshot` (`id`, `created`, `updated`, `name`, `description`, `is_dynamic`, \
                 `pipeline_configuration`, `client_environment`, `run_name_template`, `client_version`, \
                 `server_version`, `pipeline_version_hash`, `pipeline_spec`, `source_code`, `code_path`, `user_id`, \
                 `project_id`, `stack_id`, `pipeline_id`, `schedule_id`, `build_id`, `code_reference_id`, \
                 `source_snapshot_id`, `template_id`, `step_count`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                s.name.clone(),
                s.description.clone(),
                s.is_dynamic,
                serde_json::to_string(&s.pipeline_configuration).unwrap_or_default(),
                client_env,
                s.run_name_template.clone(),
                s.client_version.clone(),
                s.server_version.clone(),
                s.pipeline_version_hash.clone(),
                pipeline_spec,
                s.source_code.clone(),
                s.code_path.clone(),
                user_id,
                p,
                s.stack_id,
                s.pipeline_id,
                s.schedule_id,
                s.build_id,
                code_reference_id,
                s.source_snapshot_id,
                s.template_id,
                steps.len() as i64
            ))
            .await;
        if let Err(e) = insert {
            if crate::db::is_unique_violation(&e)
                && let Some(name) = &s.name
            {
                return Err(name_taken(name, &s.pipeline_id.to_string()));
            }
            return Err(db_err(e));
        }
        for (index, (name, config)) in steps.into_iter().enumerate() {
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `step_configuration` (`id`, `created`, `updated`, `index`, `name`, `config`, \
                 `snapshot_id`, `step_run_id`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                Uuid::new_v4(),
                now,
                now,
                index as i64,
                name,
                config,
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, "Duplicate step configuration name."))?;
        }
        tx.commit().await.map_err(|e| match (e, &s.name) {
            (Error::EntityExists(_), Some(name)) => name_taken(name, &s.pipeline_id.to_string()),
            (e, _) => e,
        })?;
        Ok(id)
    }

    /// Snapshots by id: bodies only, or with their large columns (one query).
    pub async fn snapshots_by_ids(&self, ids: &[Uuid], full: bool) -> Result<HashMap<Uuid, SnapshotRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let cols = if full { SNAPSHOT_FULL_COLS } else { SNAPSHOT_COLS };
        let mut query =
            Query::new(format!("SELECT {cols} FROM `pipeline_snapshot` WHERE `pipeline_snapshot`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<SnapshotRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    /// A page of snapshots of a project. Queries: count, page, then owners, pipelines, stacks,
    /// builds, schedules, code references (2), deployers and latest runs (2): bounded.
    pub async fn list_snapshots(&self, project_id: Uuid, params: &ListParams) -> Result<Page<SnapshotView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`pipeline_snapshot`.`project_id` = ?", project_id));
        for f in params.take("tags") {
            wh.and(tags_condition(backend, "`pipeline_snapshot`.`id`", &f));
        }
        for f in params.take("named_only") {
            if f.value == zenpro_types::filter::Value::Bool(true) {
                wh.and(Query::new("`pipeline_snapshot`.`name` IS NOT NULL"));
            }
        }
        for f in params.take("pipeline") {
            wh.and(name_or_id_condition(backend, "`pipeline_snapshot`.`pipeline_id`", "`pipeline`", &f));
        }
        for f in params.take("stack") {
            wh.and(name_or_id_condition(backend, "`pipeline_snapshot`.`stack_id`", "`stack`", &f));
        }
        for f in params.take("runnable") {
            let runnable = "`pipeline_snapshot`.`build_id` IN (SELECT `id` FROM `pipeline_build` WHERE `is_local` = ? \
                            AND `stack_id` IS NOT NULL)";
            let c = if f.value == zenpro_types::filter::Value::Bool(true) {
                q!(runnable, false)
            } else {
                q!(format!("(`pipeline_snapshot`.`build_id` IS NULL OR NOT {runnable})"), false)
            };
            wh.and(c);
        }
        let page: Page<SnapshotRow> = list::list(&self.db, &SNAPSHOT_LIST, &params, &wh).await?;
        let views = self.snapshot_views(page.items.clone(), false).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// What the responses of these snapshots show; `hydrate` loads step configurations (rows
    /// must then carry their large columns).
    pub async fn snapshot_views(&self, rows: Vec<SnapshotRow>, hydrate: bool) -> Result<Vec<SnapshotView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(SnapshotRow::uuid).collect();
        let users = self.users_by_id(&unique(rows.iter().filter_map(|s| parse_opt_id(&s.user_id)))).await?;
        let pipelines =
            self.pipelines_by_ids(&rows.iter().map(|s| parse_id(&s.pipeline_id)).collect::<Vec<_>>()).await?;
        let stack_ids: Vec<Uuid> = rows.iter().filter_map(|s| parse_opt_id(&s.stack_id)).collect();
        let stacks = self.stacks_by_ids(&stack_ids).await?;
        let builds =
            self.builds_by_ids(&rows.iter().filter_map(|s| parse_opt_id(&s.build_id)).collect::<Vec<_>>()).await?;
        let schedules = self
            .schedules_by_ids(&rows.iter().filter_map(|s| parse_opt_id(&s.schedule_id)).collect::<Vec<_>>())
            .await?;
        let code_refs = self
            .code_references_by_ids(&rows.iter().filter_map(|s| parse_opt_id(&s.code_reference_id)).collect::<Vec<_>>())
            .await?;
        let with_build: Vec<Uuid> =
            rows.iter().filter(|s| s.build_id.is_some()).filter_map(|s| parse_opt_id(&s.stack_id)).collect();
        let deployers = self.stacks_with_deployer(&with_build).await?;
        let latest = self.latest_runs_of_source_snapshots(&ids).await?;
        let mut configs = if hydrate { self.step_configs_of_snapshots(&ids).await? } else { HashMap::new() };
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                let stack_id = parse_opt_id(&row.stack_id);
                SnapshotView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    pipeline: pipelines.get(&parse_id(&row.pipeline_id)).cloned(),
                    stack: stack_id.and_then(|s| stacks.get(&s).cloned()),
                    build: parse_opt_id(&row.build_id).and_then(|b| builds.get(&b).cloned()),
                    schedule: parse_opt_id(&row.schedule_id).and_then(|s| schedules.get(&s).cloned()),
                    code_reference: parse_opt_id(&row.code_reference_id).and_then(|c| code_refs.get(&c).cloned()),
                    latest_run: latest.get(&id).cloned(),
                    stack_has_deployer: stack_id.is_some_and(|s| deployers.contains(&s)),
                    step_configurations: configs.remove(&id).unwrap_or_default(),
                    row,
                }
            })
            .collect())
    }

    /// Which of these stacks have a deployer component (one query).
    pub(crate) async fn stacks_with_deployer(&self, stack_ids: &[Uuid]) -> Result<HashSet<Uuid>, Error> {
        let ids = unique(stack_ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        #[derive(sqlx::FromRow)]
        struct StackId {
            stack_id: String,
        }
        let mut query = q!(
            "SELECT DISTINCT `sc`.`stack_id` FROM `stack_composition` AS `sc` JOIN `stack_component` AS `c` \
             ON `c`.`id` = `sc`.`component_id` WHERE `c`.`type` = ? AND `sc`.`stack_id` IN ",
            "deployer"
        );
        push_ids(&mut query, &ids);
        let rows: Vec<StackId> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.iter().map(|r| parse_id(&r.stack_id)).collect())
    }

    /// Step configurations of these snapshots, in step order (one query).
    pub async fn step_configs_of_snapshots(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<StepConfigRow>>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(
            "SELECT `index`, `name`, `config`, `snapshot_id`, `step_run_id` FROM `step_configuration` \
             WHERE `snapshot_id` IN ",
        );
        push_ids(&mut query, &ids);
        query.push_sql(" ORDER BY `index`, `name`");
        let rows: Vec<StepConfigRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<StepConfigRow>> = HashMap::new();
        for r in rows {
            if let Some(s) = parse_opt_id(&r.snapshot_id) {
                out.entry(s).or_default().push(r);
            }
        }
        Ok(out)
    }

    /// The step configuration rows for (snapshot, step name) pairs, and the dynamic ones of
    /// step runs: two queries at most.
    pub async fn step_configs_for(
        &self,
        pairs: &[(Uuid, String)],
        step_run_ids: &[Uuid],
    ) -> Result<(HashMap<(Uuid, String), StepConfigRow>, HashMap<Uuid, StepConfigRow>), Error> {
        let mut statics = HashMap::new();
        let snapshot_ids = unique(pairs.iter().map(|(s, _)| *s));
        if !snapshot_ids.is_empty() {
            let mut names: Vec<&String> = pairs.iter().map(|(_, n)| n).collect();
            names.sort();
            names.dedup();
            let mut query = Query::new(
                "SELECT `index`, `name`, `config`, `snapshot_id`, `step_run_id` FROM `step_configuration` \
                 WHERE `snapshot_id` IN ",
            );
            push_ids(&mut query, &snapshot_ids);
            query.push_sql(" AND `name` IN (");
            for (i, n) in names.iter().enumerate() {
                query.push_sql(if i == 0 { "?" } else { ", ?" });
                query.push_param((*n).clone());
            }
            query.push_sql(")");
            let rows: Vec<StepConfigRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            for r in rows {
                if let Some(s) = parse_opt_id(&r.snapshot_id) {
                    statics.insert((s, r.name.clone()), r);
                }
            }
        }
        let mut dynamics = HashMap::new();
        let step_ids = unique(step_run_ids.iter().copied());
        if !step_ids.is_empty() {
            let mut query = Query::new(
                "SELECT `index`, `name`, `config`, `snapshot_id`, `step_run_id` FROM `step_configuration` \
                 WHERE `step_run_id` IN ",
            );
            push_ids(&mut query, &step_ids);
            let rows: Vec<StepConfigRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            for r in rows {
                if let Some(s) = parse_opt_id(&r.step_run_id) {
                    dynamics.insert(s, r);
                }
            }
        }
        Ok((statics, dynamics))
    }

    /// A snapshot by id, hydrated or not (404 with the reference's message).
    pub async fn get_snapshot(&self, id: Uuid, hydrate: bool) -> Result<SnapshotView, Error> {
        let row = self
            .snapshots_by_ids(&[id], hydrate)
            .await?
            .remove(&id)
            .ok_or_else(|| not_found("pipeline snapshot", id))?;
        Ok(self.snapshot_views(vec![row], hydrate).await?.pop().expect("one view per row"))
    }

    /// Rename (or unname) a snapshot or change its description.
    pub async fn update_snapshot(&self, id: Uuid, u: SnapshotUpdate) -> Result<(), Error> {
        let cur =
            self.snapshots_by_ids(&[id], false).await?.remove(&id).ok_or_else(|| not_found("pipeline snapshot", id))?;
        let pipeline_id = parse_id(&cur.pipeline_id);
        if let Some(Some(n)) = &u.name {
            crate::components::check_name("PipelineSnapshot", n)?;
        }
        let mut tx = self.db.begin().await?;
        if let (Some(Some(name)), true) = (&u.name, u.replace) {
            release_snapshot_name(&mut tx, pipeline_id, name, Some(id)).await?;
        }
        let name = match &u.name {
            Some(n) => n.clone(),
            None => cur.name.clone(),
        };
        let mut query = q!("UPDATE `pipeline_snapshot` SET `name` = ?, `updated` = ?", name.clone(), utc_now());
        if let Some(d) = u.description.filter(|d| !d.is_empty()) {
            query.push_sql(", `description` = ?");
            query.push_param(d);
        }
        query.push_sql(" WHERE `id` = ?");
        query.push_param(id);
        if let Err(e) = tx.execute(query).await {
            if crate::db::is_unique_violation(&e)
                && let Some(name) = &name
            {
                return Err(name_taken(name, &pipeline_id.to_string()));
            }
            return Err(db_err(e));
        }
        tx.commit().await
    }

    /// Delete a snapshot with its runs (database cascade) and links; derived snapshots keep a
    /// null source.
    pub async fn delete_snapshot(&self, id: Uuid) -> Result<(), Error> {
        self.snapshots_by_ids(&[id], false).await?.remove(&id).ok_or_else(|| not_found("pipeline snapshot", id))?;
        let mut tx = self.db.begin().await?;
        delete_snapshot_dependents(&mut tx, &[id]).await?;
        tx.execute(q!("DELETE FROM `pipeline_snapshot` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }
}

// ------------------------------------------------------------------------------------------
// Run templates
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunTemplateRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub hidden: bool,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub project_id: String,
    pub source_snapshot_id: Option<String>,
}

impl RunTemplateRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const RUN_TEMPLATE_COLS: &str = "`run_template`.`id`, `run_template`.`created`, `run_template`.`updated`, \
    `run_template`.`name`, `run_template`.`hidden`, `run_template`.`description`, `run_template`.`user_id`, \
    `run_template`.`project_id`, `run_template`.`source_snapshot_id`";

/// The fields of `RunTemplateFilter`; `tags`, `pipeline_id`, `build_id`, `stack_id`,
/// `code_repository_id`, `pipeline` and `stack` go through the source snapshot.
pub static RUN_TEMPLATE_LIST: ListSpec = ListSpec {
    from: "`run_template`",
    id: "`run_template`.`id`",
    select: RUN_TEMPLATE_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`run_template`.`id`"),
        Field::col("created", Kind::Datetime, "`run_template`.`created`"),
        Field::col("updated", Kind::Datetime, "`run_template`.`updated`"),
        Field::col("name", Kind::Str, "`run_template`.`name`"),
        Field::col("hidden", Kind::Bool, "`run_template`.`hidden`"),
        Field::related("user", "`run_template`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("tags", Kind::Str),
        Field::custom("pipeline_id", Kind::Uuid),
        Field::custom("build_id", Kind::Uuid),
        Field::custom("stack_id", Kind::Uuid),
        Field::custom("code_repository_id", Kind::Uuid),
        Field::custom("pipeline", Kind::Str),
        Field::custom("stack", Kind::Str),
    ],
};

/// A run template with its owner, source snapshot and latest run.
#[derive(Debug, Clone)]
pub struct RunTemplateView {
    pub row: RunTemplateRow,
    pub user: Option<UserRow>,
    /// Loaded with its large columns when hydrated.
    pub source_snapshot: Option<SnapshotView>,
    pub latest_run: Option<LatestRun>,
}

/// A new run template (`RunTemplateRequest`).
#[derive(Debug, Clone)]
pub struct NewRunTemplate {
    pub project_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub source_snapshot_id: Uuid,
    pub hidden: bool,
}

/// `RunTemplateUpdate`.
#[derive(Debug, Clone, Default)]
pub struct RunTemplateUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub hidden: Option<bool>,
}

fn template_exists(op: &str, name: &str, project: &str) -> Error {
    Error::exists(format!(
        "Unable to {op} the requested run template with name '{name}': Found another existing run template with the \
         same name in the '{project}' project."
    ))
}

impl Store {
    /// A page of run templates of a project.
    pub async fn list_run_templates(
        &self,
        project_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<RunTemplateView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`run_template`.`project_id` = ?", project_id));
        for f in params.take("tags") {
            wh.and(tags_condition(backend, "`run_template`.`id`", &f));
        }
        let via = |col: &str| {
            format!("`run_template`.`source_snapshot_id` IN (SELECT `id` FROM `pipeline_snapshot` WHERE {col})")
        };
        for (field, col) in [("pipeline_id", "`pipeline_id`"), ("build_id", "`build_id`"), ("stack_id", "`stack_id`")] {
            for f in params.take(field) {
                let mut c = Query::default();
                list::condition(&mut c, backend, col, Kind::Uuid, &f);
                wh.and(Query { sql: via(&c.sql), params: c.params });
            }
        }
        for f in params.take("code_repository_id") {
            let mut c = Query::default();
            list::condition(&mut c, backend, "`code_repository_id`", Kind::Uuid, &f);
            wh.and(Query {
                sql: via(&format!("`code_reference_id` IN (SELECT `id` FROM `code_reference` WHERE {})", c.sql)),
                params: c.params,
            });
        }
        for f in params.take("pipeline") {
            let c = name_or_id_condition(backend, "`pipeline_id`", "`pipeline`", &f);
            wh.and(Query { sql: via(&c.sql), params: c.params });
        }
        for f in params.take("stack") {
            let c = name_or_id_condition(backend, "`stack_id`", "`stack`", &f);
            wh.and(Query { sql: via(&c.sql), params: c.params });
        }
        let page: Page<RunTemplateRow> = list::list(&self.db, &RUN_TEMPLATE_LIST, &params, &wh).await?;
        let views = self.run_template_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    async fn run_template_views(
        &self,
        rows: Vec<RunTemplateRow>,
        hydrate: bool,
    ) -> Result<Vec<RunTemplateView>, Error> {
        let users = self.users_by_id(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        let snapshot_ids: Vec<Uuid> = rows.iter().filter_map(|r| parse_opt_id(&r.source_snapshot_id)).collect();
        let snapshot_rows: Vec<SnapshotRow> =
            self.snapshots_by_ids(&snapshot_ids, hydrate).await?.into_values().collect();
        let snapshots: HashMap<Uuid, SnapshotView> =
            self.snapshot_views(snapshot_rows, hydrate).await?.into_iter().map(|v| (v.row.uuid(), v)).collect();
        let latest = self.latest_runs_of_source_snapshots(&snapshot_ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let source = parse_opt_id(&row.source_snapshot_id);
                RunTemplateView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    source_snapshot: source.and_then(|s| snapshots.get(&s).cloned()),
                    latest_run: source.and_then(|s| latest.get(&s).cloned()),
                    row,
                }
            })
            .collect())
    }

    /// A run template by id (404 with the reference's message).
    pub async fn get_run_template(&self, id: Uuid, hydrate: bool) -> Result<RunTemplateView, Error> {
        let row: RunTemplateRow = self
            .db
            .clone()
            .fetch_optional(q!(
                format!("SELECT {RUN_TEMPLATE_COLS} FROM `run_template` WHERE `run_template`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("run template", id))?;
        Ok(self.run_template_views(vec![row], hydrate).await?.pop().expect("one view per row"))
    }

    /// Create a run template of a snapshot; 409 when the name is taken in the project.
    pub async fn create_run_template(&self, t: NewRunTemplate, user_id: Uuid) -> Result<Uuid, Error> {
        crate::components::check_name("RunTemplate", &t.name)?;
        self.require_project(t.project_id, "run template").await?;
        self.snapshots_by_ids(&[t.source_snapshot_id], false)
            .await?
            .remove(&t.source_snapshot_id)
            .filter(|s| parse_id(&s.project_id) == t.project_id)
            .ok_or_else(|| missing_reference("pipeline snapshot", t.source_snapshot_id, "run template"))?;
        let project = self.find_project(&crate::NameOrId::Id(t.project_id)).await?.map(|p| p.name).unwrap_or_default();
        let taken = self
            .db
            .clone()
            .fetch_i64(q!(
                "SELECT count(*) FROM `run_template` WHERE `name` = ? AND `project_id` = ?",
                t.name.clone(),
                t.project_id
            ))
            .await
            .map_err(db_err)?;
        if taken > 0 {
            return Err(template_exists("create", &t.name, &project));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `run_template` (`id`, `created`, `updated`, `name`, `hidden`, `description`, `user_id`, \
                 `project_id`, `source_snapshot_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                t.name.clone(),
                t.hidden,
                t.description,
                user_id,
                t.project_id,
                t.source_snapshot_id
            ))
            .await
            .map_err(|e| match crate::db::map_err(e, "") {
                Error::EntityExists(_) => template_exists("create", &t.name, &project),
                e => e,
            })?;
        Ok(id)
    }

    /// Update a run template's name, description or hidden flag.
    pub async fn update_run_template(&self, id: Uuid, u: RunTemplateUpdate) -> Result<(), Error> {
        let cur = self.get_run_template(id, false).await?.row;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let project = self
            .find_project(&crate::NameOrId::Id(parse_id(&cur.project_id)))
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        if name != cur.name {
            let taken = self
                .db
                .clone()
                .fetch_i64(q!(
                    "SELECT count(*) FROM `run_template` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                    name.clone(),
                    cur.project_id.clone(),
                    id
                ))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(template_exists("update", &name, &project));
            }
        }
        self.db
            .clone()
            .execute(q!(
                "UPDATE `run_template` SET `updated` = ?, `name` = ?, `description` = ?, `hidden` = ? WHERE `id` = ?",
                utc_now(),
                name.clone(),
                u.description.or(cur.description),
                u.hidden.unwrap_or(cur.hidden),
                id
            ))
            .await
            .map_err(|e| match crate::db::map_err(e, "") {
                Error::EntityExists(_) => template_exists("update", &name, &project),
                e => e,
            })?;
        Ok(())
    }

    /// Delete a run template (its source snapshot stays); its tag links go too.
    pub async fn delete_run_template(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let n = tx.execute(q!("DELETE FROM `run_template` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("run template", id));
        }
        delete_links(&mut tx, "run_template", &[id]).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_inherit_pipeline_values() {
        let pc = json!({"settings": {}, "extra": {"a": 1}, "retry": null, "substitutions": {"date": "d"},
            "environment": {"E": "1"}, "secrets": ["s1"], "cache_policy": null, "failure_hook_source": null});
        let stored = json!({"spec": {"x": 1}, "step_config_overrides": {"enable_cache": null, "settings": {},
            "environment": {"F": "2"}, "secrets": ["s2"], "extra": {}, "retry": null, "substitutions": {},
            "cache_policy": {"include_step_code": true, "ignored_inputs": null}, "name": "s"}});
        let step = merged_step(&stored, &pc, false);
        assert_eq!(
            step["config"],
            json!({"enable_cache": null, "settings": {}, "environment": {"E": "1", "F": "2"}, "secrets": ["s1", "s2"],
                "extra": {"a": 1}, "retry": null, "substitutions": {"date": "d"},
                "cache_policy": {"include_step_code": true, "ignored_inputs": null}, "name": "s"})
        );
        let keys: Vec<&String> = step["config"].as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "enable_cache");
        assert_eq!(step["step_config_overrides"], stored["step_config_overrides"]);
    }

    #[test]
    fn pipeline_spec_is_sorted_for_storage_and_ordered_for_responses() {
        let spec = json!({"version": "0.5", "source": {"module": "m", "attribute": "a", "type": "user"},
            "parameters": {}, "steps": [{"source": {"module": "m", "attribute": "s", "type": "user"},
            "upstream_steps": [], "inputs": {"n": {"step_name": "p", "output_name": "o", "chunk_index": null,
            "chunk_size": null}}, "invocation_id": "s", "enable_heartbeat": false, "parameter_spec": {}}],
            "outputs": []});
        let stored = sort_keys(&spec);
        assert_eq!(stored.as_object().unwrap().keys().next().unwrap(), "outputs");
        assert_eq!(pipeline_spec_order(stored), spec);
    }

    #[test]
    fn substitutions_get_date_and_time() {
        let mut pc = json!({"substitutions": {"time": "x"}});
        let t = NaiveDateTime::parse_from_str("2026-11-26 10:31:19.990385", "%Y-%m-%d %H:%M:%S%.f").unwrap();
        finalize_substitutions(&mut pc, Some(t));
        assert_eq!(pc["substitutions"], json!({"time": "x", "date": "2026_11_26"}));
        let mut pc = json!({"substitutions": {}});
        finalize_substitutions(&mut pc, Some(t));
        assert_eq!(pc["substitutions"], json!({"date": "2026_11_26", "time": "10_31_19_990385"}));
    }
}
