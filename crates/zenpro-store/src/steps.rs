//! Step runs (`step_run`) with their DAG edges (`step_run_parents`), input and output
//! artifacts (`step_run_input_artifact`, `step_run_output_artifact`) and logs.
//!
//! A step's configuration is not stored with it: it is the snapshot's step configuration
//! merged with the pipeline configuration, whose `date`/`time` substitutions come from the
//! run's start time ([`crate::snapshots::merged_step`]). Every step change re-derives the status
//! of its run ([`Store::update_run_status`]).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::{Kind, Value as FilterValue};
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::logs::{LogsOwner, LogsRow, NewLogs, insert_logs, link_logs};
use crate::pipelines::{missing_reference, name_or_id_condition, not_found, push_ids, unique};
use crate::runs::is_finished;
use crate::snapshots::{SnapshotRow, StepConfigRow, finalize_substitutions, invocation_input_overrides, merged_step};
use crate::stacks::python_json;
use crate::tags::marks;
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub latest_heartbeat: Option<NaiveDateTime>,
    pub status: String,
    pub docstring: Option<String>,
    pub cache_key: Option<String>,
    pub cache_expires_at: Option<NaiveDateTime>,
    pub source_code: Option<String>,
    pub code_hash: Option<String>,
    pub version: i64,
    pub is_retriable: bool,
    pub exception_info: Option<String>,
    pub heartbeat_threshold: Option<i64>,
    pub original_step_run_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub pipeline_run_id: String,
    pub user_id: Option<String>,
    pub project_id: String,
    pub model_version_id: Option<String>,
    pub resource_request_id: Option<String>,
    pub step_configuration: Option<String>,
}

impl StepRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const STEP_COLS: &str = "`step_run`.`id`, `step_run`.`created`, `step_run`.`updated`, `step_run`.`name`, \
    `step_run`.`start_time`, `step_run`.`end_time`, `step_run`.`latest_heartbeat`, `step_run`.`status`, \
    `step_run`.`docstring`, `step_run`.`cache_key`, `step_run`.`cache_expires_at`, `step_run`.`source_code`, \
    `step_run`.`code_hash`, `step_run`.`version`, `step_run`.`is_retriable`, `step_run`.`exception_info`, \
    `step_run`.`heartbeat_threshold`, `step_run`.`original_step_run_id`, `step_run`.`snapshot_id`, \
    `step_run`.`pipeline_run_id`, `step_run`.`user_id`, `step_run`.`project_id`, `step_run`.`model_version_id`, \
    `step_run`.`resource_request_id`, `step_run`.`step_configuration`";

/// The fields of `StepRunFilter`; `model`, `exclude_retried` and `cache_expired` are resolved
/// here, `project` by the caller.
pub static STEP_LIST: ListSpec = ListSpec {
    from: "`step_run`",
    id: "`step_run`.`id`",
    select: STEP_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`step_run`.`id`"),
        Field::col("created", Kind::Datetime, "`step_run`.`created`"),
        Field::col("updated", Kind::Datetime, "`step_run`.`updated`"),
        Field::col("name", Kind::Str, "`step_run`.`name`"),
        Field::col("code_hash", Kind::Str, "`step_run`.`code_hash`"),
        Field::col("cache_key", Kind::Str, "`step_run`.`cache_key`"),
        Field::col("status", Kind::Str, "`step_run`.`status`"),
        Field::col("start_time", Kind::Datetime, "`step_run`.`start_time`"),
        Field::col("end_time", Kind::Datetime, "`step_run`.`end_time`"),
        Field::col("pipeline_run_id", Kind::Uuid, "`step_run`.`pipeline_run_id`"),
        Field::col("snapshot_id", Kind::Uuid, "`step_run`.`snapshot_id`"),
        Field::col("original_step_run_id", Kind::Uuid, "`step_run`.`original_step_run_id`"),
        Field::col("model_version_id", Kind::Uuid, "`step_run`.`model_version_id`"),
        Field::col("version", Kind::Int, "`step_run`.`version`"),
        Field::col("cache_expires_at", Kind::Datetime, "`step_run`.`cache_expires_at`"),
        Field::related("user", "`step_run`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("model", Kind::Str),
        Field::custom("exclude_retried", Kind::Bool),
        Field::custom("cache_expired", Kind::Bool),
    ],
};

/// An input artifact link of a step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepInput {
    pub step_id: String,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub input_index: i64,
    pub chunk_index: Option<i64>,
    pub chunk_size: Option<i64>,
    pub artifact_id: String,
}

/// A step with what its response shows.
#[derive(Debug, Clone)]
pub struct StepView {
    pub row: StepRow,
    pub user: Option<UserRow>,
    /// `{spec, config, step_config_overrides}` (null when it cannot be rebuilt).
    pub step: Json,
    pub logs: Vec<LogsRow>,
    /// Ordered by name, then index.
    pub inputs: Vec<StepInput>,
    /// (output name, artifact version id), ordered by name.
    pub outputs: Vec<(String, Uuid)>,
    /// Filled when hydrated.
    pub parent_step_ids: Vec<Uuid>,
    pub run_metadata: Map<String, Json>,
}

/// The logs of a new step: an existing record, or one to create.
#[derive(Debug, Clone)]
pub enum StepLogs {
    Existing(Uuid),
    New(NewLogs),
}

/// A new step run (`StepRunRequest`).
#[derive(Debug, Clone)]
pub struct NewStep {
    pub project_id: Uuid,
    pub name: String,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub status: String,
    pub cache_key: Option<String>,
    pub cache_expires_at: Option<NaiveDateTime>,
    pub code_hash: Option<String>,
    pub docstring: Option<String>,
    pub source_code: Option<String>,
    pub pipeline_run_id: Uuid,
    pub original_step_run_id: Option<Uuid>,
    /// Input name → artifact version ids, in request order.
    pub inputs: Vec<(String, Vec<Uuid>)>,
    pub outputs: Vec<(String, Vec<Uuid>)>,
    pub logs: Option<StepLogs>,
    pub exception_info: Option<Json>,
    /// A step configuration of a dynamic pipeline (`{spec, config, ...}`).
    pub dynamic_config: Option<Json>,
}

/// `StepRunUpdate`.
#[derive(Debug, Clone, Default)]
pub struct StepUpdate {
    pub outputs: Vec<(String, Vec<Uuid>)>,
    pub loaded_artifact_versions: Vec<(String, Uuid)>,
    pub status: Option<String>,
    pub end_time: Option<NaiveDateTime>,
    pub exception_info: Option<Json>,
    pub cache_expires_at: Option<NaiveDateTime>,
    pub add_logs: Vec<NewLogs>,
}

/// What `create_step` tells its caller.
#[derive(Debug, Clone)]
pub struct CreatedStep {
    pub id: Uuid,
    /// The model version of an earlier attempt, to be reused.
    pub previous_model_version: Option<Uuid>,
    /// Whether this is the first attempt (model versions are resolved for it).
    pub first_attempt: bool,
    /// The merged step configuration.
    pub step: Json,
}

/// `_verify_step_status_transition`.
fn verify_transition(current: Option<&str>, new: &str) -> Result<(), Error> {
    if !crate::runs::STATUSES.contains(&new) {
        return Err(Error::validation(format!("status: Input should be one of the execution statuses, got '{new}'")));
    }
    if matches!(new, "retrying" | "retried" | "cancelling" | "queued") {
        return Err(Error::forbidden(format!("Execution status `{new}` cannot be set manually.")));
    }
    let Some(current) = current else { return Ok(()) };
    if is_finished(current) {
        return Err(Error::forbidden("The status of finished steps can not be updated."));
    }
    if current == "stopping" && !matches!(new, "stopped" | "failed") {
        return Err(Error::forbidden(format!("Stopping steps can not be transitioned to status `{new}`.")));
    }
    if current == "cancelling" && !matches!(new, "cancelled" | "failed") {
        return Err(Error::forbidden(format!("Cancelling steps can not be transitioned to status `{new}`")));
    }
    Ok(())
}

/// `retry.max_retries` of a merged step configuration.
fn max_retries(step: &Json) -> i64 {
    step.get("config")
        .and_then(|c| c.get("retry"))
        .and_then(|r| r.get("max_retries"))
        .and_then(Json::as_i64)
        .unwrap_or(0)
}

/// A step configuration as the reference serves it: merged with the pipeline configuration
/// (with the run's `date`/`time` substitutions), minus parameters shadowed by input overrides.
fn resolve_step(
    name: &str,
    config: Option<&StepConfigRow>,
    legacy: Option<&str>,
    snapshot: Option<&SnapshotRow>,
    run_start: Option<NaiveDateTime>,
) -> Json {
    let (Some(c), Some(s)) = (config, snapshot) else {
        return legacy.and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Json::Null);
    };
    let stored: Json = serde_json::from_str(&c.config).unwrap_or(Json::Null);
    let mut pc = s.pipeline_configuration_json();
    finalize_substitutions(&mut pc, run_start);
    let mut step = merged_step(&stored, &pc, s.is_dynamic);
    let step_name = step.get("config").and_then(|c| c.get("name")).and_then(Json::as_str).unwrap_or(name).to_string();
    let overrides = invocation_input_overrides(&pc, name, &step_name);
    if !overrides.is_empty()
        && let Some(Json::Object(params)) = step.get_mut("config").and_then(|c| c.get_mut("parameters"))
    {
        params.retain(|k, _| !overrides.contains(k));
    }
    step
}

/// How a step received an input (`_get_step_run_input_type_from_config`).
fn input_type(name: &str, step: &Json, overrides: &[String]) -> &'static str {
    let has = |obj: Option<&Json>| obj.and_then(Json::as_object).is_some_and(|m| m.contains_key(name));
    let config = step.get("config");
    if overrides.iter().any(|o| o == name) {
        "override"
    } else if has(step.get("spec").and_then(|s| s.get("inputs"))) {
        "step_output"
    } else if has(config.and_then(|c| c.get("external_input_artifacts"))) {
        "external"
    } else if has(config.and_then(|c| c.get("model_artifacts_or_metadata")))
        || has(config.and_then(|c| c.get("client_lazy_loaders")))
    {
        "lazy"
    } else {
        "manual"
    }
}

/// Check an artifact version exists (404 with the reference's wording otherwise).
async fn require_artifact_version(tx: &mut Tx, id: Uuid, role: &str, op: &str) -> Result<(), Error> {
    let n = tx.fetch_i64(q!("SELECT count(*) FROM `artifact_version` WHERE `id` = ?", id)).await.map_err(db_err)?;
    if n == 0 {
        return Err(Error::not_found(format!(
            "The {role} artifact with ID {id} referenced by the step run being {op} was not found"
        )));
    }
    Ok(())
}

/// Insert an input link; manual inputs are recorded once per (step, artifact, name).
#[allow(clippy::too_many_arguments)]
async fn add_input(
    tx: &mut Tx,
    step_id: Uuid,
    artifact: Uuid,
    name: &str,
    kind: &str,
    index: Option<i64>,
    chunk_index: Option<i64>,
    chunk_size: Option<i64>,
) -> Result<(), Error> {
    let exists = tx
        .fetch_i64(q!(
            "SELECT count(*) FROM `step_run_input_artifact` WHERE `step_id` = ? AND `artifact_id` = ? AND `name` = ? \
             AND `input_index` = ?",
            step_id,
            artifact,
            name,
            index.unwrap_or(0)
        ))
        .await
        .map_err(db_err)?;
    let manual_exists = kind == "manual"
        && tx
            .fetch_i64(q!(
                "SELECT count(*) FROM `step_run_input_artifact` WHERE `step_id` = ? AND `artifact_id` = ? AND `name` = ?",
                step_id,
                artifact,
                name
            ))
            .await
            .map_err(db_err)?
            > 0;
    if exists > 0 || manual_exists {
        return Ok(());
    }
    tx.execute(q!(
        "INSERT INTO `step_run_input_artifact` (`name`, `type`, `input_index`, `chunk_index`, `chunk_size`, `step_id`, \
         `artifact_id`) VALUES (?, ?, ?, ?, ?, ?, ?)",
        name,
        kind,
        index.unwrap_or(0),
        chunk_index,
        chunk_size,
        step_id,
        artifact
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Insert an output link unless it exists.
async fn add_output(tx: &mut Tx, step_id: Uuid, artifact: Uuid, name: &str) -> Result<(), Error> {
    let n = tx
        .fetch_i64(q!(
            "SELECT count(*) FROM `step_run_output_artifact` WHERE `step_id` = ? AND `artifact_id` = ?",
            step_id,
            artifact
        ))
        .await
        .map_err(db_err)?;
    if n == 0 {
        tx.execute(q!(
            "INSERT INTO `step_run_output_artifact` (`name`, `step_id`, `artifact_id`) VALUES (?, ?, ?)",
            name,
            step_id,
            artifact
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    /// A page of step runs of a project. Queries: count, page, then owners, snapshots, runs,
    /// step configurations (2), logs, inputs, outputs and (hydrated) parents and metadata.
    pub async fn list_steps(&self, project_id: Uuid, params: &ListParams) -> Result<Page<StepView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`step_run`.`project_id` = ?", project_id));
        for f in params.take("exclude_retried") {
            if f.value == FilterValue::Bool(true) {
                wh.and(q!("`step_run`.`status` != ?", "retried"));
            }
        }
        for f in params.take("cache_expired") {
            let now = utc_now();
            wh.and(if f.value == FilterValue::Bool(true) {
                q!("(`step_run`.`cache_expires_at` IS NOT NULL AND `step_run`.`cache_expires_at` < ?)", now)
            } else {
                q!("(`step_run`.`cache_expires_at` > ? OR `step_run`.`cache_expires_at` IS NULL)", now)
            });
        }
        for f in params.take("model") {
            let c = name_or_id_condition(backend, "`model_id`", "`model`", &f);
            wh.and(Query {
                sql: format!("`step_run`.`model_version_id` IN (SELECT `id` FROM `model_version` WHERE {})", c.sql),
                params: c.params,
            });
        }
        let page: Page<StepRow> = list::list(&self.db, &STEP_LIST, &params, &wh).await?;
        let views = self.step_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Everything step responses show, for a batch of steps, in a bounded number of queries.
    pub async fn step_views(&self, rows: Vec<StepRow>, hydrate: bool) -> Result<Vec<StepView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(StepRow::uuid).collect();
        let users = self.users_by_id(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        let snapshots = self
            .snapshots_by_ids(&rows.iter().filter_map(|r| parse_opt_id(&r.snapshot_id)).collect::<Vec<_>>(), true)
            .await?;
        let runs = self.runs_by_ids(&rows.iter().map(|r| parse_id(&r.pipeline_run_id)).collect::<Vec<_>>()).await?;
        let pairs: Vec<(Uuid, String)> =
            rows.iter().filter_map(|r| Some((parse_opt_id(&r.snapshot_id)?, r.name.clone()))).collect();
        let dynamic_ids: Vec<Uuid> = rows
            .iter()
            .filter(|r| parse_opt_id(&r.snapshot_id).and_then(|s| snapshots.get(&s)).is_some_and(|s| s.is_dynamic))
            .map(StepRow::uuid)
            .collect();
        let (statics, dynamics) = self.step_configs_for(&pairs, &dynamic_ids).await?;
        let mut logs = self.logs_of(LogsOwner::Step, &ids).await?;
        let mut inputs = self.step_inputs(&ids).await?;
        let mut outputs = self.step_outputs(&ids).await?;
        let (mut parents, mut metadata) = if hydrate {
            (self.step_parents(&ids).await?, self.run_metadata_of("step_run", &ids).await?)
        } else {
            (HashMap::new(), HashMap::new())
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                let snapshot_id = parse_opt_id(&row.snapshot_id);
                let snapshot = snapshot_id.and_then(|s| snapshots.get(&s));
                let config =
                    dynamics.get(&id).or_else(|| snapshot_id.and_then(|s| statics.get(&(s, row.name.clone()))));
                let start = runs.get(&parse_id(&row.pipeline_run_id)).and_then(|r| r.start_time);
                let step = resolve_step(&row.name, config, row.step_configuration.as_deref(), snapshot, start);
                // Parents in the order they were linked: the order of the spec's upstream steps.
                let upstream: Vec<&str> = step
                    .get("spec")
                    .and_then(|s| s.get("upstream_steps"))
                    .and_then(Json::as_array)
                    .map(|a| a.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                let mut step_parents = parents.remove(&id).unwrap_or_default();
                step_parents.sort_by_key(|(_, name)| upstream.iter().position(|u| u == name).unwrap_or(usize::MAX));
                let parent_step_ids = step_parents.into_iter().map(|(p, _)| p).collect();
                StepView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    step,
                    logs: logs.remove(&id).unwrap_or_default(),
                    inputs: inputs.remove(&id).unwrap_or_default(),
                    outputs: outputs.remove(&id).unwrap_or_default(),
                    parent_step_ids,
                    run_metadata: metadata.remove(&id).unwrap_or_default(),
                    row,
                }
            })
            .collect())
    }

    async fn step_inputs(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<StepInput>>, Error> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(self.backend().step_inputs_sql(&marks(ids.len())));
        for id in ids {
            query.push_param(*id);
        }
        let rows: Vec<StepInput> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<StepInput>> = HashMap::new();
        for r in rows {
            out.entry(parse_id(&r.step_id)).or_default().push(r);
        }
        Ok(out)
    }

    async fn step_outputs(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<(String, Uuid)>>, Error> {
        #[derive(sqlx::FromRow)]
        struct Output {
            step_id: String,
            name: String,
            artifact_id: String,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query =
            Query::new("SELECT `step_id`, `name`, `artifact_id` FROM `step_run_output_artifact` WHERE `step_id` IN ");
        push_ids(&mut query, ids);
        query.push_sql(" ORDER BY `name`, `artifact_id`");
        let rows: Vec<Output> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<(String, Uuid)>> = HashMap::new();
        for r in rows {
            out.entry(parse_id(&r.step_id)).or_default().push((r.name, parse_id(&r.artifact_id)));
        }
        Ok(out)
    }

    /// Parent step ids and names of these steps (one query).
    async fn step_parents(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<(Uuid, String)>>, Error> {
        #[derive(sqlx::FromRow)]
        struct Edge {
            parent_id: String,
            child_id: String,
            name: String,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(
            "SELECT `e`.`parent_id`, `e`.`child_id`, `p`.`name` FROM `step_run_parents` AS `e` JOIN `step_run` AS `p` \
             ON `p`.`id` = `e`.`parent_id` WHERE `e`.`child_id` IN ",
        );
        push_ids(&mut query, ids);
        query.push_sql(" ORDER BY `p`.`start_time`, `p`.`created`, `p`.`id`");
        let rows: Vec<Edge> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
        for r in rows {
            out.entry(parse_id(&r.child_id)).or_default().push((parse_id(&r.parent_id), r.name));
        }
        Ok(out)
    }

    pub async fn find_step(&self, id: Uuid) -> Result<Option<StepRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {STEP_COLS} FROM `step_run` WHERE `step_run`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A step run by id (404 with the reference's message).
    pub async fn get_step(&self, id: Uuid, hydrate: bool) -> Result<StepView, Error> {
        let row = self.find_step(id).await?.ok_or_else(|| not_found("step run", id))?;
        Ok(self.step_views(vec![row], hydrate).await?.pop().expect("one view per row"))
    }

    /// `create_run_step`: the step run with its parents, inputs, outputs and logs; then the run
    /// status is derived again unless the step is running.
    pub async fn create_step(&self, s: NewStep, user_id: Uuid) -> Result<CreatedStep, Error> {
        const R: &str = "step run";
        verify_transition(None, &s.status)?;
        self.require_project(s.project_id, R).await?;
        let run = self
            .find_run(s.pipeline_run_id)
            .await?
            .filter(|r| parse_id(&r.project_id) == s.project_id)
            .ok_or_else(|| missing_reference("pipeline run", s.pipeline_run_id, R))?;
        if matches!(run.status.as_str(), "stopping" | "stopped") {
            return Err(Error::forbidden(format!(
                "Cannot create step '{}' for pipeline in {} state. Pipeline run ID: {}",
                s.name, run.status, s.pipeline_run_id
            )));
        }
        let snapshot_id = parse_opt_id(&run.snapshot_id)
            .ok_or_else(|| Error::bad_request(format!("Pipeline run {} has no snapshot.", s.pipeline_run_id)))?;
        let snapshot = self
            .snapshots_by_ids(&[snapshot_id], true)
            .await?
            .remove(&snapshot_id)
            .ok_or_else(|| not_found("pipeline snapshot", snapshot_id))?;
        let mut pc = snapshot.pipeline_configuration_json();
        finalize_substitutions(&mut pc, run.start_time);
        if run.status == "failed" {
            let mode = pc.get("execution_mode").and_then(Json::as_str).unwrap_or("continue_on_failure").to_string();
            if mode != "continue_on_failure" {
                return Err(Error::forbidden(format!(
                    "Cannot create step '{}' for the run '{}' because the run is in a FAILED state and the execution \
                     mode is {mode}.",
                    s.name, run.name
                )));
            }
        }
        if let Some(o) = s.original_step_run_id
            && self.find_step(o).await?.is_none()
        {
            return Err(missing_reference("original step run", o, R));
        }
        let step = match &s.dynamic_config {
            Some(d) => {
                if !snapshot.is_dynamic {
                    return Err(Error::forbidden("Dynamic step configurations are not allowed for static pipelines."));
                }
                merged_step(d, &pc, true)
            }
            None => {
                let (statics, _) = self.step_configs_for(&[(snapshot_id, s.name.clone())], &[]).await?;
                let row = statics
                    .get(&(snapshot_id, s.name.clone()))
                    .ok_or_else(|| Error::not_found(format!("Step configuration for step `{}` not found.", s.name)))?;
                resolve_step(&s.name, Some(row), None, Some(&snapshot), run.start_time)
            }
        };
        let spec = step.get("spec").cloned().unwrap_or(Json::Null);
        let config = step.get("config").cloned().unwrap_or(Json::Null);

        let mut tx = self.db.begin().await?;
        let lock = tx.backend().for_update();
        tx.fetch_optional::<crate::pipelines::IdRow>(q!(
            format!("SELECT `id` FROM `pipeline_snapshot` WHERE `id` = ?{lock}"),
            snapshot_id
        ))
        .await
        .map_err(db_err)?;
        tx.fetch_optional::<crate::pipelines::IdRow>(q!(
            format!("SELECT `id` FROM `pipeline_run` WHERE `id` = ?{lock}"),
            s.pipeline_run_id
        ))
        .await
        .map_err(db_err)?;
        #[derive(sqlx::FromRow)]
        struct Attempt {
            status: String,
            model_version_id: Option<String>,
        }
        let attempts: Vec<Attempt> = tx
            .fetch_all(q!(
                "SELECT `status`, `model_version_id` FROM `step_run` WHERE `pipeline_run_id` = ? AND `name` = ? \
                 ORDER BY `version` DESC",
                s.pipeline_run_id,
                s.name.clone()
            ))
            .await
            .map_err(db_err)?;
        if attempts.iter().any(|a| matches!(a.status.as_str(), "completed" | "cached" | "skipped")) {
            return Err(Error::exists(format!(
                "Unable to create step `{}`: A successful step with this name already exists in the pipeline run \
                 with ID '{}'.",
                s.name, s.pipeline_run_id
            )));
        }
        let max_retries = max_retries(&step);
        let tried = attempts.len() as i64;
        if tried > max_retries {
            return Err(Error::exists(format!(
                "Unable to create step `{}`: The step has exceeded the maximum number of retries.",
                s.name
            )));
        }
        if tried > 0 {
            tx.execute(q!(
                "UPDATE `step_run` SET `status` = ?, `end_time` = COALESCE(`end_time`, ?) WHERE `pipeline_run_id` = ? \
                 AND `name` = ?",
                "retried",
                utc_now(),
                s.pipeline_run_id,
                s.name.clone()
            ))
            .await
            .map_err(db_err)?;
        }
        let is_retriable = tried < max_retries;
        let status = if is_retriable && s.status == "failed" { "retrying".to_string() } else { s.status.clone() };
        let heartbeat_enabled =
            spec.get("enable_heartbeat").and_then(Json::as_bool).unwrap_or(false) && run.enable_heartbeat;
        let heartbeat_threshold =
            if heartbeat_enabled { config.get("heartbeat_healthy_threshold").and_then(Json::as_i64) } else { None };
        let id = Uuid::new_v4();
        let now = utc_now();
        let inserted = tx
            .execute(q!(
                "INSERT INTO `step_run` (`id`, `created`, `updated`, `name`, `start_time`, `end_time`, `latest_heartbeat`, \
                 `status`, `docstring`, `cache_key`, `cache_expires_at`, `source_code`, `code_hash`, `version`, \
                 `is_retriable`, `exception_info`, `heartbeat_threshold`, `original_step_run_id`, `snapshot_id`, \
                 `pipeline_run_id`, `user_id`, `project_id`, `model_version_id`, `resource_request_id`, \
                 `step_configuration`) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
                 NULL, NULL, NULL)",
                id,
                now,
                now,
                s.name.clone(),
                s.start_time,
                s.end_time,
                status.clone(),
                s.docstring.clone(),
                s.cache_key.clone(),
                s.cache_expires_at,
                s.source_code.clone(),
                s.code_hash.clone(),
                tried + 1,
                is_retriable,
                s.exception_info.as_ref().map(|e| serde_json::to_string(e).unwrap_or_default()),
                heartbeat_threshold,
                s.original_step_run_id,
                snapshot_id,
                s.pipeline_run_id,
                user_id,
                s.project_id
            ))
            .await;
        if let Err(e) = inserted {
            if crate::db::is_unique_violation(&e) {
                return Err(Error::exists(format!(
                    "Unable to create step `{}`: A step with this name already exists in the pipeline run with ID '{}'.",
                    s.name, s.pipeline_run_id
                )));
            }
            return Err(db_err(e));
        }
        if let Some(d) = &s.dynamic_config {
            let mut stored = Map::new();
            stored.insert("spec".into(), d.get("spec").cloned().unwrap_or(Json::Null));
            stored.insert(
                "step_config_overrides".into(),
                d.get("step_config_overrides").or_else(|| d.get("config")).cloned().unwrap_or(Json::Null),
            );
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `step_configuration` (`id`, `created`, `updated`, `index`, `name`, `config`, `snapshot_id`, \
                 `step_run_id`) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                Uuid::new_v4(),
                now,
                now,
                0i64,
                s.name.clone(),
                serde_json::to_string(&Json::Object(stored)).unwrap_or_default(),
                id
            ))
            .await
            .map_err(db_err)?;
        }
        match &s.logs {
            Some(StepLogs::Existing(logs_id)) => link_logs(&mut tx, *logs_id, None, Some(id)).await?,
            Some(StepLogs::New(l)) => {
                let l = NewLogs {
                    project_id: s.project_id,
                    pipeline_run_id: None,
                    step_run_id: Some(id),
                    hook_invocation_id: None,
                    source: if l.source.is_empty() { "step".into() } else { l.source.clone() },
                    ..l.clone()
                };
                insert_logs(&mut tx, &l, Some(user_id)).await?;
            }
            None => {}
        }
        if matches!(status.as_str(), "cached" | "skipped")
            && let Some(original) = s.original_step_run_id
        {
            crate::run_metadata::copy_step_metadata_links(&mut tx, original, id).await?;
        }
        // Parents: the runs of this run's upstream steps.
        let upstream: Vec<String> = spec
            .get("upstream_steps")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        for up in upstream {
            let parent: Option<crate::pipelines::IdRow> = tx
                .fetch_optional(q!(
                    "SELECT `id` FROM `step_run` WHERE `name` = ? AND `pipeline_run_id` = ? ORDER BY `version` DESC LIMIT 1",
                    up.clone(),
                    s.pipeline_run_id
                ))
                .await
                .map_err(db_err)?;
            let Some(parent) = parent else {
                tracing::warn!(step = %s.name, parent = %up, "parent step run not found");
                continue;
            };
            let parent_id = parse_id(&parent.id);
            let linked = tx
                .fetch_i64(q!(
                    "SELECT count(*) FROM `step_run_parents` WHERE `parent_id` = ? AND `child_id` = ?",
                    parent_id,
                    id
                ))
                .await
                .map_err(db_err)?;
            if linked == 0 {
                tx.execute(q!("INSERT INTO `step_run_parents` (`parent_id`, `child_id`) VALUES (?, ?)", parent_id, id))
                    .await
                    .map_err(db_err)?;
            }
        }
        // Inputs.
        let step_name = config.get("name").and_then(Json::as_str).unwrap_or(&s.name).to_string();
        let overrides = invocation_input_overrides(&pc, &s.name, &step_name);
        for (name, artifacts) in &s.inputs {
            for (i, artifact) in artifacts.iter().enumerate() {
                require_artifact_version(&mut tx, *artifact, "input", "created").await?;
                let from_original = match s.original_step_run_id {
                    Some(original) => tx
                        .fetch_optional::<StepInput>(q!(
                            "SELECT `step_id`, `name`, `type`, `input_index`, `chunk_index`, `chunk_size`, `artifact_id` \
                             FROM `step_run_input_artifact` WHERE `name` = ? AND `artifact_id` = ? AND `step_id` = ?",
                            name.clone(),
                            *artifact,
                            original
                        ))
                        .await
                        .map_err(db_err)?,
                    None => None,
                };
                let (kind, index, chunk_index, chunk_size) = match from_original {
                    Some(o) => (o.kind, Some(o.input_index), o.chunk_index, o.chunk_size),
                    None => {
                        let kind = input_type(name, &step, &overrides);
                        if kind == "step_output" {
                            let spec_input = spec.get("inputs").and_then(|m| m.get(name));
                            let spec_input = match spec_input {
                                Some(Json::Array(a)) => a.get(i).cloned(),
                                Some(other) if i == 0 => Some(other.clone()),
                                _ => None,
                            };
                            let chunk = |k: &str| spec_input.as_ref().and_then(|x| x.get(k)).and_then(Json::as_i64);
                            (kind.to_string(), Some(i as i64), chunk("chunk_index"), chunk("chunk_size"))
                        } else {
                            (kind.to_string(), None, None, None)
                        }
                    }
                };
                add_input(&mut tx, id, *artifact, name, &kind, index, chunk_index, chunk_size).await?;
            }
        }
        for (name, artifacts) in &s.outputs {
            for artifact in artifacts {
                require_artifact_version(&mut tx, *artifact, "output", "created").await?;
                add_output(&mut tx, id, *artifact, name).await?;
            }
        }
        tx.commit().await?;
        if status != "running" {
            self.update_run_status(s.pipeline_run_id, None, None).await?;
        }
        Ok(CreatedStep {
            id,
            previous_model_version: attempts.last().and_then(|a| parse_opt_id(&a.model_version_id)),
            first_attempt: attempts.is_empty(),
            step,
        })
    }

    /// Set the model version of a step run and link it to the step's run.
    pub async fn set_step_model_version(
        &self,
        step_id: Uuid,
        run_id: Uuid,
        model_version_id: Uuid,
    ) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        tx.execute(q!("UPDATE `step_run` SET `model_version_id` = ? WHERE `id` = ?", model_version_id, step_id))
            .await
            .map_err(db_err)?;
        crate::runs::link_model_version_run(&mut tx, model_version_id, run_id).await?;
        tx.commit().await
    }

    /// `update_run_step`: status (failed becomes retrying for retriable steps), end time,
    /// exception info, outputs, manually loaded inputs and logs; then the run status is derived
    /// again.
    pub async fn update_step(&self, id: Uuid, u: StepUpdate) -> Result<(), Error> {
        let cur = self.find_step(id).await?.ok_or_else(|| not_found("step run", id))?;
        let run_id = parse_id(&cur.pipeline_run_id);
        let mut status = u.status.clone();
        if let Some(new) = &status {
            verify_transition(Some(&cur.status), new)?;
        }
        if matches!(status.as_deref(), Some("failed" | "cancelled")) && cur.is_retriable {
            let run_status = self.find_run(run_id).await?.map(|r| r.status).unwrap_or_default();
            if !matches!(run_status.as_str(), "stopping" | "stopped") {
                status = Some("retrying".into());
            }
        }
        if cur.status == "stopping" && status.as_deref() == Some("failed") {
            status = Some("stopped".into());
        }
        let mut tx = self.db.begin().await?;
        let mut query = q!("UPDATE `step_run` SET `updated` = ?", utc_now());
        if let Some(s) = &status {
            query.push_sql(", `status` = ?");
            query.push_param(s.clone());
        }
        if let Some(t) = u.end_time {
            query.push_sql(", `end_time` = ?");
            query.push_param(t);
        }
        if let Some(e) = u.exception_info.as_ref().filter(|e| !e.is_null()) {
            query.push_sql(", `exception_info` = ?");
            query.push_param(python_json(e));
        }
        if let Some(t) = u.cache_expires_at {
            query.push_sql(", `cache_expires_at` = ?");
            query.push_param(t);
        }
        query.push_sql(" WHERE `id` = ?");
        query.push_param(id);
        tx.execute(query).await.map_err(db_err)?;
        for (name, artifacts) in &u.outputs {
            for artifact in artifacts {
                require_artifact_version(&mut tx, *artifact, "output", "updated").await?;
                add_output(&mut tx, id, *artifact, name).await?;
            }
        }
        for (name, artifact) in &u.loaded_artifact_versions {
            require_artifact_version(&mut tx, *artifact, "input", "updated").await?;
            add_input(&mut tx, id, *artifact, name, "manual", None, None, None).await?;
        }
        tx.commit().await?;
        self.update_run_status(run_id, None, None).await?;
        if !u.add_logs.is_empty() {
            let mut tx = self.db.begin().await?;
            for l in &u.add_logs {
                let l = NewLogs {
                    project_id: parse_id(&cur.project_id),
                    pipeline_run_id: None,
                    step_run_id: Some(id),
                    hook_invocation_id: None,
                    source: if l.source.is_empty() { "step".into() } else { l.source.clone() },
                    ..l.clone()
                };
                insert_logs(&mut tx, &l, parse_opt_id(&cur.user_id)).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// `PUT /steps/{id}/heartbeat`: record a heartbeat of an unfinished step. Returns the step
    /// status, the time, whether heartbeats are enabled and the run status.
    pub async fn step_heartbeat(
        &self,
        id: Uuid,
        token_run_id: Option<Uuid>,
    ) -> Result<(String, NaiveDateTime, bool, String), Error> {
        let step = self.find_step(id).await?.ok_or_else(|| not_found("step run", id))?;
        if is_finished(&step.status) {
            return Err(Error::forbidden("Can not update heartbeat for finished steps."));
        }
        let run_id = parse_id(&step.pipeline_run_id);
        if token_run_id.is_some_and(|t| t != run_id) {
            return Err(Error::credentials(format!("Authentication token provided is invalid for step: {id}")));
        }
        let run = self.find_run(run_id).await?.ok_or_else(|| not_found("pipeline run", run_id))?;
        let now = utc_now();
        self.db
            .clone()
            .execute(q!("UPDATE `step_run` SET `latest_heartbeat` = ? WHERE `id` = ?", now, id))
            .await
            .map_err(db_err)?;
        Ok((step.status, now, step.heartbeat_threshold.is_some(), run.status))
    }
}
