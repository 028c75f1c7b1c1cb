//! Pipeline runs (`pipeline_run`): get-or-create with placeholder claiming, the run index,
//! status derivation from step statuses, and the batch loading of what run responses show.
//!
//! `POST /runs` is a get-or-create keyed on (snapshot, orchestrator run id): a client first
//! makes a placeholder run (status `initializing`, no orchestrator run id); the orchestrator's
//! request with an orchestrator run id claims it; later requests with the same ids get that
//! run back. The snapshot row is locked (`FOR UPDATE` on MySQL; SQLite serialises writers)
//! so concurrent requests for one snapshot queue up, and a unique violation on (snapshot,
//! orchestrator run id) is resolved by re-reading, never as an error.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::filter::{Kind, Value as FilterValue};
use zenpro_types::{Error, Page, time::utc_now};

use crate::code_refs::CodeReferenceView;
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::logs::{LogsOwner, LogsRow, NewLogs, insert_logs, link_logs};
use crate::pipelines::{
    BuildRow, PipelineRow, delete_links, missing_reference, name_or_id_condition, not_found, push_ids, tags_condition,
    unique,
};
use crate::schedules::ScheduleRow;
use crate::snapshots::SnapshotRow;
use crate::stacks::{StackRow, python_json};
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

/// `ExecutionStatus` values whose runs or steps are over.
pub const FINISHED: [&str; 7] = ["failed", "completed", "cached", "skipped", "retried", "stopped", "cancelled"];
/// Every `ExecutionStatus` value.
pub const STATUSES: [&str; 16] = [
    "initializing",
    "provisioning",
    "queued",
    "running",
    "failed",
    "completed",
    "cached",
    "skipped",
    "retrying",
    "retried",
    "cancelling",
    "cancelled",
    "paused",
    "resuming",
    "stopped",
    "stopping",
];

pub fn is_finished(status: &str) -> bool {
    FINISHED.contains(&status)
}

/// The largest orchestrator environment the reference stores.
const TEXT_FIELD_MAX_LENGTH: usize = 65_535;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub orchestrator_run_id: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub in_progress: bool,
    pub status: String,
    pub status_reason: Option<String>,
    pub orchestrator_environment: Option<String>,
    pub index: i64,
    pub enable_heartbeat: bool,
    pub exception_info: Option<String>,
    pub child_key: Option<String>,
    pub snapshot_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: String,
    pub pipeline_id: Option<String>,
    pub model_version_id: Option<String>,
    pub pipeline_configuration: Option<String>,
    pub client_environment: Option<String>,
    pub stack_id: Option<String>,
    pub build_id: Option<String>,
    pub schedule_id: Option<String>,
    pub original_run_id: Option<String>,
    pub parent_run_id: Option<String>,
    pub root_run_id: Option<String>,
    pub triggered_by: Option<String>,
    pub triggered_by_type: Option<String>,
}

impl RunRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const RUN_COLS: &str = "`pipeline_run`.`id`, `pipeline_run`.`created`, `pipeline_run`.`updated`, \
    `pipeline_run`.`name`, `pipeline_run`.`orchestrator_run_id`, `pipeline_run`.`start_time`, \
    `pipeline_run`.`end_time`, `pipeline_run`.`in_progress`, `pipeline_run`.`status`, \
    `pipeline_run`.`status_reason`, `pipeline_run`.`orchestrator_environment`, `pipeline_run`.`index`, \
    `pipeline_run`.`enable_heartbeat`, `pipeline_run`.`exception_info`, `pipeline_run`.`child_key`, \
    `pipeline_run`.`snapshot_id`, `pipeline_run`.`user_id`, `pipeline_run`.`project_id`, \
    `pipeline_run`.`pipeline_id`, `pipeline_run`.`model_version_id`, `pipeline_run`.`pipeline_configuration`, \
    `pipeline_run`.`client_environment`, `pipeline_run`.`stack_id`, `pipeline_run`.`build_id`, \
    `pipeline_run`.`schedule_id`, `pipeline_run`.`original_run_id`, `pipeline_run`.`parent_run_id`, \
    `pipeline_run`.`root_run_id`, `pipeline_run`.`triggered_by`, `pipeline_run`.`triggered_by_type`";

/// The fields of the reference's `PipelineRunFilter`; the custom ones are resolved here
/// (through the snapshot, tags, models...), `project` by the caller.
pub static RUN_LIST: ListSpec = ListSpec {
    from: "`pipeline_run`",
    id: "`pipeline_run`.`id`",
    select: RUN_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`pipeline_run`.`id`"),
        Field::col("created", Kind::Datetime, "`pipeline_run`.`created`"),
        Field::col("updated", Kind::Datetime, "`pipeline_run`.`updated`"),
        Field::col("name", Kind::Str, "`pipeline_run`.`name`"),
        Field::col("index", Kind::Int, "`pipeline_run`.`index`"),
        Field::col("orchestrator_run_id", Kind::Str, "`pipeline_run`.`orchestrator_run_id`"),
        Field::col("pipeline_id", Kind::Uuid, "`pipeline_run`.`pipeline_id`"),
        Field::col("snapshot_id", Kind::Uuid, "`pipeline_run`.`snapshot_id`"),
        Field::col("model_version_id", Kind::Uuid, "`pipeline_run`.`model_version_id`"),
        Field::col("status", Kind::Str, "`pipeline_run`.`status`"),
        Field::col("in_progress", Kind::Bool, "`pipeline_run`.`in_progress`"),
        Field::col("start_time", Kind::Datetime, "`pipeline_run`.`start_time`"),
        Field::col("end_time", Kind::Datetime, "`pipeline_run`.`end_time`"),
        Field::col("parent_run_id", Kind::Uuid, "`pipeline_run`.`parent_run_id`"),
        Field::related("user", "`pipeline_run`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("tags", Kind::Str),
        Field::custom("stack_id", Kind::Uuid),
        Field::custom("schedule_id", Kind::Uuid),
        Field::custom("build_id", Kind::Uuid),
        Field::custom("code_repository_id", Kind::Uuid),
        Field::custom("template_id", Kind::Uuid),
        Field::custom("source_snapshot_id", Kind::Uuid),
        Field::custom("linked_to_model_version_id", Kind::Uuid),
        Field::custom("pipeline_name", Kind::Str),
        Field::custom("pipeline", Kind::Str),
        Field::custom("stack", Kind::Str),
        Field::custom("code_repository", Kind::Str),
        Field::custom("model", Kind::Str),
        Field::custom("stack_component", Kind::Str),
        Field::custom("templatable", Kind::Bool),
        Field::custom("triggered_by_step_run_id", Kind::Uuid),
        Field::custom("triggered_by_deployment_id", Kind::Uuid),
        Field::custom("root_runs_only", Kind::Bool),
    ],
};

/// The logs of a new run: an existing record, or one to create.
#[derive(Debug, Clone)]
pub enum RunLogs {
    Existing(Uuid),
    New(NewLogs),
}

/// A new run (`PipelineRunRequest`).
#[derive(Debug, Clone)]
pub struct NewRun {
    pub project_id: Uuid,
    pub name: String,
    pub snapshot_id: Uuid,
    pub orchestrator_run_id: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub status: String,
    pub status_reason: Option<String>,
    pub orchestrator_environment: Json,
    /// (`step_run_id`, `deployment_id`) of `trigger_info`.
    pub triggered_by_step_run: Option<Uuid>,
    pub triggered_by_deployment: Option<Uuid>,
    pub logs: Option<RunLogs>,
    pub exception_info: Option<Json>,
    pub original_run_id: Option<Uuid>,
    pub parent_run_id: Option<Uuid>,
    pub child_key: Option<String>,
}

/// What `get_or_create_run` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// A run of the same snapshot and orchestrator run id existed.
    Existing,
    /// The placeholder run of the snapshot was claimed.
    Claimed,
    /// A new run was inserted.
    Created,
}

impl RunOutcome {
    /// The `created` flag of the response.
    pub fn created(self) -> bool {
        self != RunOutcome::Existing
    }
}

impl NewRun {
    pub fn is_placeholder(&self) -> bool {
        matches!(self.status.as_str(), "initializing" | "provisioning")
    }
}

/// `PipelineRunUpdate` (tags are handled by the caller).
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub orchestrator_run_id: Option<String>,
    pub exception_info: Option<Json>,
    /// Output name → artifact version, in order.
    pub outputs: Option<Vec<(String, Uuid)>>,
    pub add_logs: Vec<NewLogs>,
}

/// What a run's response shows besides the run row.
#[derive(Debug, Clone)]
pub struct RunView {
    pub row: RunRow,
    pub user: Option<UserRow>,
    /// With its large columns when hydrated.
    pub snapshot: Option<SnapshotRow>,
    pub source_snapshot: Option<SnapshotRow>,
    pub stack: Option<StackRow>,
    pub pipeline: Option<PipelineRow>,
    pub build: Option<BuildRow>,
    pub schedule: Option<ScheduleRow>,
    pub code_reference: Option<CodeReferenceView>,
    pub logs: Vec<LogsRow>,
    pub original_run: Option<RunRow>,
    pub parent_run: Option<RunRow>,
    /// Output name → artifact version id, by output index.
    pub outputs: Vec<(String, Uuid)>,
    /// Filled when hydrated.
    pub run_metadata: Map<String, Json>,
    /// (`runnable`, `deployable`) of the snapshot and of the source snapshot.
    pub snapshot_flags: (bool, bool),
    pub source_snapshot_flags: (bool, bool),
}

impl RunView {
    /// `is_templatable`: a snapshot with a non-local build on a stack.
    pub fn is_templatable(&self) -> bool {
        self.snapshot.is_some() && self.build.as_ref().is_some_and(BuildRow::is_runnable)
    }
}

fn duplicate_name_message(name: &str) -> String {
    format!(
        "Pipeline run name '{name}' already exists in this project. Each pipeline run must have a unique name.\n\n\
         To fix this, you can:\n1. Use a different run name\n2. Use a dynamic run name with placeholders like: \
         \"{name}_{{date}}_{{time}}\"\n3. Remove the run name from your configuration to auto-generate unique \
         names\n\nFor more information on run naming, see: \
         https://docs.zenml.io/concepts/steps_and_pipelines/yaml_configuration#run-name"
    )
}

/// Snapshot facts the run status derivation needs.
#[derive(sqlx::FromRow)]
struct SnapshotFacts {
    is_dynamic: bool,
    step_count: i64,
    pipeline_configuration: String,
    pipeline_spec: Option<String>,
    stack_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StepStatusRow {
    name: String,
    status: String,
    start_time: Option<NaiveDateTime>,
    latest_heartbeat: Option<NaiveDateTime>,
    heartbeat_threshold: Option<i64>,
}

/// `_compute_static_pipeline_run_status`.
fn static_run_status(run_status: &str, steps: &[&str], num_steps: i64) -> String {
    let all_finished = steps.iter().all(|s| is_finished(s));
    let s = if run_status == "stopping" {
        if all_finished { "stopped" } else { "stopping" }
    } else if run_status == "failed" || steps.contains(&"failed") {
        "failed"
    } else if steps.contains(&"stopped") {
        if all_finished { "stopped" } else { "stopping" }
    } else if steps.contains(&"running") || steps.contains(&"retrying") {
        "running"
    } else if (steps.len() as i64) < num_steps {
        if matches!(run_status, "initializing" | "provisioning") { run_status } else { "running" }
    } else {
        "completed"
    };
    s.to_string()
}

/// `is_heartbeat_unhealthy`.
fn heartbeat_unhealthy(s: &StepStatusRow, now: NaiveDateTime) -> bool {
    let Some(threshold) = s.heartbeat_threshold.filter(|t| *t != 0) else { return false };
    if is_finished(&s.status) {
        return false;
    }
    let Some(since) = s.latest_heartbeat.or(s.start_time) else { return false };
    (now - since).num_milliseconds() as f64 / 1000.0 > (threshold * 60) as f64
}

/// `_check_if_run_in_progress` of a static pipeline run with status `status`.
fn static_run_in_progress(status: &str, facts: &SnapshotFacts, steps: &[StepStatusRow]) -> bool {
    if !is_finished(status) {
        return true;
    }
    if status != "failed" {
        return false;
    }
    let config: Json = serde_json::from_str(&facts.pipeline_configuration).unwrap_or(Json::Null);
    let mode = config.get("execution_mode").and_then(Json::as_str).unwrap_or("continue_on_failure");
    if mode != "continue_on_failure" {
        return false;
    }
    let spec: Option<Json> = facts.pipeline_spec.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let Some(spec_steps) = spec.as_ref().and_then(|s| s.get("steps")).and_then(Json::as_array) else {
        return steps.iter().any(|s| !is_finished(&s.status));
    };
    let upstream: Vec<(String, Vec<String>)> = spec_steps
        .iter()
        .map(|s| {
            let id = s.get("invocation_id").and_then(Json::as_str).unwrap_or_default().to_string();
            let up = s
                .get("upstream_steps")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            (id, up)
        })
        .collect();
    let mut downstream: HashMap<&str, Vec<&str>> = HashMap::new();
    for (step, ups) in &upstream {
        for u in ups {
            downstream.entry(u.as_str()).or_default().push(step.as_str());
        }
    }
    let mut skip: HashSet<String> = HashSet::new();
    for s in steps.iter().filter(|s| matches!(s.status.as_str(), "failed" | "cancelled")) {
        let mut stack = vec![s.name.as_str()];
        while let Some(n) = stack.pop() {
            for d in downstream.get(n).cloned().unwrap_or_default() {
                if skip.insert(d.to_string()) {
                    stack.push(d);
                }
            }
        }
        skip.insert(s.name.clone());
    }
    for s in steps.iter().filter(|s| is_finished(&s.status)) {
        skip.insert(s.name.clone());
    }
    let now = utc_now();
    for (name, _) in &upstream {
        if skip.contains(name) {
            continue;
        }
        match steps.iter().find(|s| &s.name == name) {
            None => return true,
            Some(s) if !heartbeat_unhealthy(s, now) => return true,
            Some(_) => {}
        }
    }
    false
}

/// The first rows' ids of a query.
async fn first_id(tx: &mut Tx, query: Query) -> Result<Option<Uuid>, Error> {
    let row: Option<crate::pipelines::IdRow> = tx.fetch_optional(query).await.map_err(db_err)?;
    Ok(row.map(|r| parse_id(&r.id)))
}

/// Delete the polymorphic links (tags, metadata) of runs and their step runs, which the
/// database does not cascade.
pub(crate) async fn delete_run_dependents(tx: &mut Tx, run_ids: &[Uuid]) -> Result<(), Error> {
    if run_ids.is_empty() {
        return Ok(());
    }
    let mut steps_q = Query::new("SELECT `id` FROM `step_run` WHERE `pipeline_run_id` IN ");
    push_ids(&mut steps_q, run_ids);
    let steps: Vec<crate::pipelines::IdRow> = tx.fetch_all(steps_q).await.map_err(db_err)?;
    let steps: Vec<Uuid> = steps.iter().map(|r| parse_id(&r.id)).collect();
    delete_links(tx, "step_run", &steps).await?;
    delete_links(tx, "pipeline_run", run_ids).await?;
    Ok(())
}

impl Store {
    /// The run of (snapshot, orchestrator run id) that is no longer a placeholder.
    pub async fn find_claimed_run(&self, snapshot_id: Uuid, orchestrator_run_id: &str) -> Result<Option<Uuid>, Error> {
        let row: Option<crate::pipelines::IdRow> = self
            .db
            .clone()
            .fetch_optional(q!(
                "SELECT `id` FROM `pipeline_run` WHERE `snapshot_id` = ? AND `orchestrator_run_id` = ? \
                 AND `status` != ? AND `status` != ?",
                snapshot_id,
                orchestrator_run_id,
                "initializing",
                "provisioning"
            ))
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| parse_id(&r.id)))
    }

    /// Get or create a run (`get_or_create_run`): returns the run id and whether this request
    /// created (or claimed) it.
    pub async fn get_or_create_run(&self, r: NewRun, user_id: Uuid) -> Result<(Uuid, RunOutcome), Error> {
        const R: &str = "pipeline run";
        if !matches!(r.status.as_str(), "initializing" | "running") {
            return Err(Error::validation("Value error, Run must be started in the initializing or running state."));
        }
        if r.parent_run_id.is_some() != r.child_key.is_some() {
            return Err(Error::validation("Value error, `parent_run_id` and `child_key` must be set together."));
        }
        if let Some(orch) = &r.orchestrator_run_id
            && let Some(id) = self.find_claimed_run(r.snapshot_id, orch).await?
        {
            return Ok((id, RunOutcome::Existing));
        }
        self.require_project(r.project_id, R).await?;
        let snapshot = self
            .snapshots_by_ids(&[r.snapshot_id], true)
            .await?
            .remove(&r.snapshot_id)
            .filter(|s| parse_id(&s.project_id) == r.project_id)
            .ok_or_else(|| missing_reference("pipeline snapshot", r.snapshot_id, R))?;
        let mut root_run_id = None;
        for (id, label) in [(r.original_run_id, "original run"), (r.parent_run_id, "parent run")] {
            if let Some(id) = id {
                let run = self.runs_by_ids(&[id]).await?.remove(&id).ok_or_else(|| missing_reference(label, id, R))?;
                if label == "parent run" {
                    root_run_id = Some(parse_opt_id(&run.root_run_id).unwrap_or(id));
                }
            }
        }
        let mut orchestrator_environment = python_json(&r.orchestrator_environment);
        if orchestrator_environment.len() > TEXT_FIELD_MAX_LENGTH {
            tracing::warn!("Orchestrator environment is too large to be stored in the database. Skipping.");
            orchestrator_environment = "{}".into();
        }
        let enable_heartbeat = snapshot
            .pipeline_configuration
            .as_deref()
            .and_then(|c| serde_json::from_str::<Json>(c).ok())
            .and_then(|c| c.get("enable_heartbeat").cloned())
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        let pipeline_id = parse_id(&snapshot.pipeline_id);

        let mut tx = self.db.begin().await?;
        let backend = tx.backend();
        tx.fetch_optional::<crate::pipelines::IdRow>(q!(
            format!("SELECT `id` FROM `pipeline_snapshot` WHERE `id` = ?{}", backend.for_update()),
            r.snapshot_id
        ))
        .await
        .map_err(db_err)?;
        if !r.is_placeholder() {
            let placeholder = first_id(
                &mut tx,
                q!(
                    format!(
                        "SELECT `id` FROM `pipeline_run` WHERE `snapshot_id` = ? AND (`orchestrator_run_id` = ? OR \
                         `orchestrator_run_id` IS NULL) AND `status` IN (?, ?) ORDER BY `orchestrator_run_id` DESC \
                         LIMIT 1{}",
                        backend.for_update()
                    ),
                    r.snapshot_id,
                    r.orchestrator_run_id.clone(),
                    "initializing",
                    "provisioning"
                ),
            )
            .await?;
            if let Some(id) = placeholder {
                let Some(orch) = &r.orchestrator_run_id else {
                    return Err(Error::validation("Orchestrator run ID is required to replace a placeholder run."));
                };
                tx.execute(q!(
                    "UPDATE `pipeline_run` SET `orchestrator_run_id` = ?, `orchestrator_environment` = ?, `status` = ?, \
                     `in_progress` = ?, `updated` = ? WHERE `id` = ?",
                    orch.clone(),
                    python_json(&r.orchestrator_environment),
                    r.status.clone(),
                    !is_finished(&r.status),
                    utc_now(),
                    id
                ))
                .await
                .map_err(db_err)?;
                tx.commit().await?;
                return Ok((id, RunOutcome::Claimed));
            }
        }
        tx.execute(q!("UPDATE `pipeline` SET `run_count` = `run_count` + 1 WHERE `id` = ?", pipeline_id))
            .await
            .map_err(db_err)?;
        let index =
            tx.fetch_i64(q!("SELECT `run_count` FROM `pipeline` WHERE `id` = ?", pipeline_id)).await.map_err(db_err)?;
        let (triggered_by, triggered_by_type) = match (r.triggered_by_step_run, r.triggered_by_deployment) {
            (Some(s), _) => (Some(s), Some("step_run")),
            (None, Some(d)) => (Some(d), Some("deployment")),
            _ => (None, None),
        };
        let id = Uuid::new_v4();
        let now = utc_now();
        let inserted = tx
            .execute(q!(
                "INSERT INTO `pipeline_run` (`id`, `created`, `updated`, `name`, `orchestrator_run_id`, `start_time`, \
                 `end_time`, `in_progress`, `status`, `status_reason`, `orchestrator_environment`, `index`, \
                 `enable_heartbeat`, `exception_info`, `child_key`, `snapshot_id`, `user_id`, `project_id`, \
                 `pipeline_id`, `model_version_id`, `pipeline_configuration`, `client_environment`, `stack_id`, \
                 `build_id`, `schedule_id`, `original_run_id`, `parent_run_id`, `root_run_id`, `triggered_by`, \
                 `triggered_by_type`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, \
                 NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                r.name.clone(),
                r.orchestrator_run_id.clone(),
                r.start_time,
                r.end_time,
                !is_finished(&r.status),
                r.status.clone(),
                r.status_reason.clone(),
                orchestrator_environment,
                index,
                enable_heartbeat,
                r.exception_info.as_ref().map(|e| serde_json::to_string(e).unwrap_or_default()),
                r.child_key.clone(),
                r.snapshot_id,
                user_id,
                r.project_id,
                pipeline_id,
                r.original_run_id,
                r.parent_run_id,
                root_run_id,
                triggered_by,
                triggered_by_type
            ))
            .await;
        if let Err(e) = inserted {
            if !crate::db::is_unique_violation(&e) {
                return Err(db_err(e));
            }
            drop(tx);
            if let Some(orch) = &r.orchestrator_run_id
                && let Some(existing) = self.find_claimed_run(r.snapshot_id, orch).await?
            {
                return Ok((existing, RunOutcome::Existing));
            }
            return Err(Error::exists(duplicate_name_message(&r.name)));
        }
        match &r.logs {
            Some(RunLogs::Existing(logs_id)) => link_logs(&mut tx, *logs_id, Some(id), None).await?,
            Some(RunLogs::New(l)) => {
                let l = NewLogs {
                    project_id: r.project_id,
                    pipeline_run_id: Some(id),
                    step_run_id: None,
                    hook_invocation_id: None,
                    source: if l.source.is_empty() { "client".into() } else { l.source.clone() },
                    ..l.clone()
                };
                insert_logs(&mut tx, &l, Some(user_id)).await?;
            }
            None => {}
        }
        tx.commit().await?;
        Ok((id, RunOutcome::Created))
    }

    /// Link a run to the model version it produces (`model_version_id` and a
    /// `model_versions_runs` row).
    pub async fn set_run_model_version(&self, run_id: Uuid, model_version_id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        tx.execute(q!("UPDATE `pipeline_run` SET `model_version_id` = ? WHERE `id` = ?", model_version_id, run_id))
            .await
            .map_err(db_err)?;
        link_model_version_run(&mut tx, model_version_id, run_id).await?;
        tx.commit().await
    }

    /// Runs by id (one query).
    pub async fn runs_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, RunRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(format!("SELECT {RUN_COLS} FROM `pipeline_run` WHERE `pipeline_run`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<RunRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    pub async fn find_run(&self, id: Uuid) -> Result<Option<RunRow>, Error> {
        Ok(self.runs_by_ids(&[id]).await?.remove(&id))
    }

    /// A run by id (404 with the reference's message).
    pub async fn get_run(&self, id: Uuid, hydrate: bool, full_metadata: bool) -> Result<RunView, Error> {
        let row = self.find_run(id).await?.ok_or_else(|| not_found("pipeline run", id))?;
        Ok(self.run_views(vec![row], hydrate, full_metadata).await?.pop().expect("one view per row"))
    }

    /// A page of runs of a project. Queries: count and page, then one query each for owners,
    /// snapshots, source snapshots, stacks, pipelines, builds, schedules, code references (2),
    /// logs, original and parent runs, outputs, and (hydrated) metadata: bounded by the number
    /// of relations, not by the page size.
    pub async fn list_runs(
        &self,
        project_id: Uuid,
        params: &ListParams,
        full_metadata: bool,
    ) -> Result<Page<RunView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`pipeline_run`.`project_id` = ?", project_id));
        let via_snapshot = |cond: Query| Query {
            sql: format!("`pipeline_run`.`snapshot_id` IN (SELECT `id` FROM `pipeline_snapshot` WHERE {})", cond.sql),
            params: cond.params,
        };
        for f in params.take("tags") {
            wh.and(tags_condition(backend, "`pipeline_run`.`id`", &f));
        }
        for (field, col) in [
            ("stack_id", "`stack_id`"),
            ("schedule_id", "`schedule_id`"),
            ("build_id", "`build_id`"),
            ("template_id", "`template_id`"),
            ("source_snapshot_id", "`source_snapshot_id`"),
        ] {
            for f in params.take(field) {
                let mut c = Query::default();
                list::condition(&mut c, backend, col, Kind::Uuid, &f);
                wh.and(via_snapshot(c));
            }
        }
        for f in params.take("code_repository_id") {
            let mut c = Query::new("`code_reference_id` IN (SELECT `id` FROM `code_reference` WHERE ");
            list::condition(&mut c, backend, "`code_repository_id`", Kind::Uuid, &f);
            c.push_sql(")");
            wh.and(via_snapshot(c));
        }
        for f in params.take("pipeline_name") {
            let mut c = Query::new("`pipeline_run`.`pipeline_id` IN (SELECT `id` FROM `pipeline` WHERE ");
            list::condition(&mut c, backend, "`name`", Kind::Str, &f);
            c.push_sql(")");
            wh.and(c);
        }
        for f in params.take("pipeline") {
            wh.and(name_or_id_condition(backend, "`pipeline_run`.`pipeline_id`", "`pipeline`", &f));
        }
        for f in params.take("stack") {
            wh.and(via_snapshot(name_or_id_condition(backend, "`stack_id`", "`stack`", &f)));
        }
        for f in params.take("code_repository") {
            let c = name_or_id_condition(backend, "`code_repository_id`", "`code_repository`", &f);
            wh.and(via_snapshot(Query {
                sql: format!("`code_reference_id` IN (SELECT `id` FROM `code_reference` WHERE {})", c.sql),
                params: c.params,
            }));
        }
        for f in params.take("model") {
            let c = name_or_id_condition(backend, "`model_id`", "`model`", &f);
            wh.and(Query {
                sql: format!("`pipeline_run`.`model_version_id` IN (SELECT `id` FROM `model_version` WHERE {})", c.sql),
                params: c.params,
            });
        }
        for f in params.take("stack_component") {
            let c = name_or_id_condition(backend, "`component_id`", "`stack_component`", &f);
            wh.and(via_snapshot(Query {
                sql: format!("`stack_id` IN (SELECT `stack_id` FROM `stack_composition` WHERE {})", c.sql),
                params: c.params,
            }));
        }
        for f in params.take("linked_to_model_version_id") {
            let mut a = Query::default();
            list::condition(&mut a, backend, "`model_version_id`", Kind::Uuid, &f);
            let mut c = Query::new("(");
            list::condition(&mut c, backend, "`pipeline_run`.`model_version_id`", Kind::Uuid, &f);
            c.push_sql(&format!(
                " OR `pipeline_run`.`id` IN (SELECT `pipeline_run_id` FROM `model_versions_runs` WHERE {}) \
                 OR `pipeline_run`.`id` IN (SELECT `pipeline_run_id` FROM `step_run` WHERE {}))",
                a.sql, a.sql
            ));
            c.params.extend(a.params.iter().cloned());
            c.params.extend(a.params);
            wh.and(c);
        }
        for (field, kind) in [("triggered_by_step_run_id", "step_run"), ("triggered_by_deployment_id", "deployment")] {
            for f in params.take(field) {
                let mut c = q!("`pipeline_run`.`triggered_by_type` = ? AND ", kind);
                list::condition(&mut c, backend, "`pipeline_run`.`triggered_by`", Kind::Uuid, &f);
                wh.and(c);
            }
        }
        for f in params.take("templatable") {
            let templatable = "`pipeline_run`.`snapshot_id` IN (SELECT `s`.`id` FROM `pipeline_snapshot` AS `s` \
                               JOIN `pipeline_build` AS `b` ON `b`.`id` = `s`.`build_id` WHERE `b`.`is_local` = ? AND \
                               `b`.`stack_id` IS NOT NULL)";
            wh.and(if f.value == FilterValue::Bool(true) {
                q!(templatable, false)
            } else {
                q!(format!("NOT {templatable}"), false)
            });
        }
        for f in params.take("root_runs_only") {
            if f.value == FilterValue::Bool(true) {
                wh.and(Query::new("`pipeline_run`.`parent_run_id` IS NULL"));
            }
        }
        let page: Page<RunRow> = list::list(&self.db, &RUN_LIST, &params, &wh).await?;
        let views = self.run_views(page.items.clone(), params.hydrate, full_metadata).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Everything run responses show, for a batch of runs, in a bounded number of queries.
    pub async fn run_views(
        &self,
        rows: Vec<RunRow>,
        hydrate: bool,
        full_metadata: bool,
    ) -> Result<Vec<RunView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(RunRow::uuid).collect();
        let users = self.users_by_id(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        let snapshots = self
            .snapshots_by_ids(&rows.iter().filter_map(|r| parse_opt_id(&r.snapshot_id)).collect::<Vec<_>>(), hydrate)
            .await?;
        let sources = self
            .snapshots_by_ids(
                &snapshots.values().filter_map(|s| parse_opt_id(&s.source_snapshot_id)).collect::<Vec<_>>(),
                false,
            )
            .await?;
        // A run shows the stack, pipeline, build and schedule of its snapshot (its own columns
        // only for legacy runs without one).
        let pick =
            |r: &RunRow, of_snapshot: fn(&SnapshotRow) -> &Option<String>, own: &Option<String>| -> Option<Uuid> {
                match parse_opt_id(&r.snapshot_id).and_then(|s| snapshots.get(&s)) {
                    Some(s) => parse_opt_id(of_snapshot(s)),
                    None if r.snapshot_id.is_none() => parse_opt_id(own),
                    None => None,
                }
            };
        let stack_of: Vec<Option<Uuid>> = rows.iter().map(|r| pick(r, |s| &s.stack_id, &r.stack_id)).collect();
        let build_of: Vec<Option<Uuid>> = rows.iter().map(|r| pick(r, |s| &s.build_id, &r.build_id)).collect();
        let schedule_of: Vec<Option<Uuid>> = rows.iter().map(|r| pick(r, |s| &s.schedule_id, &r.schedule_id)).collect();
        let pipeline_of: Vec<Option<Uuid>> = rows
            .iter()
            .map(|r| match parse_opt_id(&r.snapshot_id).and_then(|s| snapshots.get(&s)) {
                Some(s) => Some(parse_id(&s.pipeline_id)),
                None => parse_opt_id(&r.pipeline_id),
            })
            .collect();
        let code_ref_of: Vec<Option<Uuid>> = rows
            .iter()
            .map(|r| {
                parse_opt_id(&r.snapshot_id)
                    .and_then(|s| snapshots.get(&s))
                    .and_then(|s| parse_opt_id(&s.code_reference_id))
            })
            .collect();
        let stacks = self.stacks_by_ids(&stack_of.iter().flatten().copied().collect::<Vec<_>>()).await?;
        let source_builds = sources.values().filter_map(|s| parse_opt_id(&s.build_id));
        let builds =
            self.builds_by_ids(&build_of.iter().flatten().copied().chain(source_builds).collect::<Vec<_>>()).await?;
        // Deployable snapshots have a build and a stack with a deployer.
        let with_build = snapshots.values().chain(sources.values()).filter(|s| s.build_id.is_some());
        let deployers = self
            .stacks_with_deployer(&with_build.filter_map(|s| parse_opt_id(&s.stack_id)).collect::<Vec<_>>())
            .await?;
        let flags = |s: &SnapshotRow| -> (bool, bool) {
            let build = parse_opt_id(&s.build_id).and_then(|b| builds.get(&b));
            let deployable = build.is_some() && parse_opt_id(&s.stack_id).is_some_and(|st| deployers.contains(&st));
            (build.is_some_and(BuildRow::is_runnable), deployable)
        };
        let schedules = self.schedules_by_ids(&schedule_of.iter().flatten().copied().collect::<Vec<_>>()).await?;
        let pipelines = self.pipelines_by_ids(&pipeline_of.iter().flatten().copied().collect::<Vec<_>>()).await?;
        let code_refs = self.code_references_by_ids(&code_ref_of.iter().flatten().copied().collect::<Vec<_>>()).await?;
        let mut logs = self.logs_of(LogsOwner::Run, &ids).await?;
        let related = self
            .runs_by_ids(
                &rows
                    .iter()
                    .flat_map(|r| [parse_opt_id(&r.original_run_id), parse_opt_id(&r.parent_run_id)])
                    .flatten()
                    .collect::<Vec<_>>(),
            )
            .await?;
        let mut outputs = self.run_outputs(&ids).await?;
        let mut metadata = if hydrate { self.run_metadata_of("pipeline_run", &ids).await? } else { HashMap::new() };
        if hydrate && full_metadata {
            self.add_full_metadata(&rows, &snapshots, &mut metadata).await?;
        }
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let id = row.uuid();
                let snapshot = parse_opt_id(&row.snapshot_id).and_then(|s| snapshots.get(&s).cloned());
                let source_snapshot = snapshot
                    .as_ref()
                    .and_then(|s| parse_opt_id(&s.source_snapshot_id))
                    .and_then(|s| sources.get(&s).cloned());
                RunView {
                    snapshot_flags: snapshot.as_ref().map(flags).unwrap_or_default(),
                    source_snapshot_flags: source_snapshot.as_ref().map(flags).unwrap_or_default(),
                    source_snapshot,
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    snapshot,
                    stack: stack_of[i].and_then(|s| stacks.get(&s).cloned()),
                    pipeline: pipeline_of[i].and_then(|p| pipelines.get(&p).cloned()),
                    build: build_of[i].and_then(|b| builds.get(&b).cloned()),
                    schedule: schedule_of[i].and_then(|s| schedules.get(&s).cloned()),
                    code_reference: code_ref_of[i].and_then(|c| code_refs.get(&c).cloned()),
                    logs: logs.remove(&id).unwrap_or_default(),
                    original_run: parse_opt_id(&row.original_run_id).and_then(|r| related.get(&r).cloned()),
                    parent_run: parse_opt_id(&row.parent_run_id).and_then(|r| related.get(&r).cloned()),
                    outputs: outputs.remove(&id).unwrap_or_default(),
                    run_metadata: metadata.remove(&id).unwrap_or_default(),
                    row,
                }
            })
            .collect())
    }

    /// `include_full_metadata`: the metadata of each run's steps (`<step>::<key>`) and of its
    /// schedule (`schedule:<key>`).
    async fn add_full_metadata(
        &self,
        rows: &[RunRow],
        snapshots: &HashMap<Uuid, SnapshotRow>,
        metadata: &mut HashMap<Uuid, Map<String, Json>>,
    ) -> Result<(), Error> {
        #[derive(sqlx::FromRow)]
        struct StepName {
            id: String,
            name: String,
            pipeline_run_id: String,
        }
        let ids: Vec<Uuid> = rows.iter().map(RunRow::uuid).collect();
        let mut query =
            Query::new("SELECT `id`, `name`, `pipeline_run_id` FROM `step_run` WHERE `pipeline_run_id` IN ");
        push_ids(&mut query, &ids);
        query.push_sql(" ORDER BY `start_time`, `id`");
        let steps: Vec<StepName> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let step_meta =
            self.run_metadata_of("step_run", &steps.iter().map(|s| parse_id(&s.id)).collect::<Vec<_>>()).await?;
        for s in &steps {
            if let Some(m) = step_meta.get(&parse_id(&s.id)) {
                let out = metadata.entry(parse_id(&s.pipeline_run_id)).or_default();
                for (k, v) in m {
                    out.insert(format!("{}::{k}", s.name), v.clone());
                }
            }
        }
        let schedule_of: HashMap<Uuid, Uuid> = rows
            .iter()
            .filter_map(|r| {
                let s = snapshots.get(&parse_opt_id(&r.snapshot_id)?)?;
                Some((r.uuid(), parse_opt_id(&s.schedule_id)?))
            })
            .collect();
        let schedule_meta =
            self.run_metadata_of("schedule", &schedule_of.values().copied().collect::<Vec<_>>()).await?;
        for (run, schedule) in schedule_of {
            if let Some(m) = schedule_meta.get(&schedule) {
                let out = metadata.entry(run).or_default();
                for (k, v) in m {
                    out.insert(format!("schedule:{k}"), v.clone());
                }
            }
        }
        Ok(())
    }

    /// `pipeline_run_output` rows of these runs, by output index (one query).
    async fn run_outputs(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<(String, Uuid)>>, Error> {
        #[derive(sqlx::FromRow)]
        struct Output {
            pipeline_run_id: String,
            name: String,
            artifact_id: String,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(
            "SELECT `pipeline_run_id`, `name`, `artifact_id` FROM `pipeline_run_output` WHERE `pipeline_run_id` IN ",
        );
        push_ids(&mut query, ids);
        query.push_sql(" ORDER BY `output_index`");
        let rows: Vec<Output> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<(String, Uuid)>> = HashMap::new();
        for r in rows {
            out.entry(parse_id(&r.pipeline_run_id)).or_default().push((r.name, parse_id(&r.artifact_id)));
        }
        Ok(out)
    }

    /// `update_run`: status transition (derived with the step statuses), orchestrator run id,
    /// exception info, outputs and new logs.
    pub async fn update_run(&self, id: Uuid, u: RunUpdate) -> Result<(), Error> {
        let cur = self.find_run(id).await?.ok_or_else(|| not_found("pipeline run", id))?;
        if let Some(status) = &u.status {
            self.update_run_status(id, Some(status), u.status_reason.clone()).await?;
        }
        let cur = if u.status.is_some() { self.find_run(id).await?.unwrap_or(cur) } else { cur };
        let placeholder = matches!(cur.status.as_str(), "initializing" | "provisioning");
        if let Some(orch) = &u.orchestrator_run_id {
            if !placeholder {
                return Err(Error::forbidden(
                    "Cannot update the orchestrator run id of a pipeline run that is not a placeholder run.",
                ));
            }
            if let Some(existing) = cur.orchestrator_run_id.as_ref().filter(|e| *e != orch) {
                return Err(Error::forbidden(format!(
                    "Pipeline run already has a different orchestrator run id. Existing: {existing}, New: {orch}"
                )));
            }
        }
        let mut tx = self.db.begin().await?;
        if let Some(outputs) = &u.outputs {
            for (_, artifact) in outputs {
                let n = tx
                    .fetch_i64(q!(
                        "SELECT count(*) FROM `artifact_version` WHERE `id` = ? AND `project_id` = ?",
                        *artifact,
                        cur.project_id.clone()
                    ))
                    .await
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(Error::not_found(format!(
                        "The output artifact version with ID {artifact} referenced by the pipeline run being updated \
                         was not found"
                    )));
                }
            }
        }
        let mut query = q!("UPDATE `pipeline_run` SET `updated` = ?", utc_now());
        if let Some(orch) = &u.orchestrator_run_id {
            query.push_sql(", `orchestrator_run_id` = ?");
            query.push_param(orch.clone());
        }
        if let Some(e) = &u.exception_info {
            query.push_sql(", `exception_info` = ?");
            query.push_param(serde_json::to_string(e).unwrap_or_default());
        }
        query.push_sql(" WHERE `id` = ?");
        query.push_param(id);
        tx.execute(query).await.map_err(db_err)?;
        if let Some(outputs) = &u.outputs {
            tx.execute(q!("DELETE FROM `pipeline_run_output` WHERE `pipeline_run_id` = ?", id))
                .await
                .map_err(db_err)?;
            for (index, (name, artifact)) in outputs.iter().enumerate() {
                let now = utc_now();
                tx.execute(q!(
                    "INSERT INTO `pipeline_run_output` (`id`, `created`, `updated`, `name`, `output_index`, \
                     `pipeline_run_id`, `artifact_id`) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    Uuid::new_v4(),
                    now,
                    now,
                    name.clone(),
                    index as i64,
                    id,
                    *artifact
                ))
                .await
                .map_err(db_err)?;
            }
        }
        for l in &u.add_logs {
            let l = NewLogs {
                project_id: parse_id(&cur.project_id),
                pipeline_run_id: Some(id),
                step_run_id: None,
                hook_invocation_id: None,
                source: if l.source.is_empty() { "orchestrator".into() } else { l.source.clone() },
                ..l.clone()
            };
            insert_logs(&mut tx, &l, parse_opt_id(&cur.user_id)).await?;
        }
        tx.commit().await
    }

    /// Re-derive a run's status (`_update_pipeline_run_status`), optionally with a requested
    /// status: static pipelines take it from their step statuses; a run that finishes gets its
    /// end time and marks the server's onboarding steps. Returns whether the run changed.
    pub async fn update_run_status(
        &self,
        run_id: Uuid,
        requested: Option<&str>,
        reason: Option<String>,
    ) -> Result<bool, Error> {
        if let Some(r) = requested {
            if !STATUSES.contains(&r) {
                return Err(Error::validation(format!(
                    "status: Input should be one of the execution statuses, got '{r}'"
                )));
            }
            if matches!(r, "cached" | "skipped" | "retrying" | "retried") {
                return Err(Error::forbidden(format!("Execution status `{r}` is not valid for pipeline runs.")));
            }
        }
        let mut tx = self.db.begin().await?;
        let backend = tx.backend();
        let run: RunRow = tx
            .fetch_optional(q!(
                format!("SELECT {RUN_COLS} FROM `pipeline_run` WHERE `pipeline_run`.`id` = ?{}", backend.for_update()),
                run_id
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("pipeline run", run_id))?;
        let current = run.status.clone();
        if requested == Some("resuming") {
            if !matches!(current.as_str(), "paused" | "failed") {
                return Err(Error::forbidden("Only failed or paused runs can be resumed."));
            }
            if run.parent_run_id.is_some() {
                return Err(Error::forbidden("Cannot resume a child run. Resume the parent run instead."));
            }
        }
        if requested == Some("provisioning") && current != "initializing" {
            // The orchestrator may have started the run before the client sent this.
            return Ok(false);
        }
        let facts: Option<SnapshotFacts> = match parse_opt_id(&run.snapshot_id) {
            Some(s) => tx
                .fetch_optional(q!(
                    "SELECT `is_dynamic`, `step_count`, `pipeline_configuration`, `pipeline_spec`, `stack_id` \
                     FROM `pipeline_snapshot` WHERE `id` = ?",
                    s
                ))
                .await
                .map_err(db_err)?,
            None => None,
        };
        let steps: Vec<StepStatusRow> = tx
            .fetch_all(q!(
                "SELECT `name`, `status`, `start_time`, `latest_heartbeat`, `heartbeat_threshold` FROM `step_run` \
                 WHERE `pipeline_run_id` = ? AND `status` != ?",
                run_id,
                "retried"
            ))
            .await
            .map_err(db_err)?;
        let dynamic = facts.as_ref().is_none_or(|f| f.is_dynamic);
        let new_status = if dynamic {
            if requested.is_none() && reason.is_none() {
                return Ok(false);
            }
            let mut s = requested.unwrap_or(&current).to_string();
            if matches!(current.as_str(), "stopping" | "stopped") && s == "failed" {
                s = "stopped".into();
            }
            s
        } else {
            let statuses: Vec<&str> = steps.iter().map(|s| s.status.as_str()).collect();
            let f = facts.as_ref().expect("static runs have a snapshot");
            static_run_status(requested.unwrap_or(&current), &statuses, f.step_count)
        };
        if is_finished(&current) && !(current == "failed" && new_status == "resuming") && current != new_status {
            return Err(Error::forbidden("Cannot update the status of a finished run."));
        }
        let in_progress = match &facts {
            Some(f) if !f.is_dynamic => static_run_in_progress(&new_status, f, &steps),
            _ => !is_finished(&new_status),
        };
        let now = utc_now();
        let mut end_time = run.end_time;
        if !in_progress && end_time.is_none() {
            end_time = Some(now);
        } else if new_status == "resuming" {
            end_time = None;
        }
        let status_reason = if reason.is_some() {
            reason
        } else if current == "stopping" && new_status == "stopped" || current == new_status {
            run.status_reason.clone()
        } else {
            None
        };
        tx.execute(q!(
            "UPDATE `pipeline_run` SET `status` = ?, `in_progress` = ?, `end_time` = ?, `status_reason` = ?, \
             `updated` = ? WHERE `id` = ?",
            new_status.clone(),
            in_progress,
            end_time,
            status_reason,
            now,
            run_id
        ))
        .await
        .map_err(db_err)?;
        if is_finished(&new_status) && end_time.is_some() {
            let stack = facts.as_ref().and_then(|f| parse_opt_id(&f.stack_id));
            mark_onboarding(&mut tx, stack).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Delete a run with its steps (database cascade) and their tag and metadata links.
    pub async fn delete_run(&self, id: Uuid) -> Result<(), Error> {
        self.find_run(id).await?.ok_or_else(|| not_found("pipeline run", id))?;
        let mut tx = self.db.begin().await?;
        delete_run_dependents(&mut tx, &[id]).await?;
        tx.execute(q!("DELETE FROM `pipeline_run` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }

    /// `disable_run_heartbeat`: no heartbeats for the run and its steps.
    pub async fn disable_run_heartbeat(&self, id: Uuid) -> Result<(), Error> {
        self.find_run(id).await?.ok_or_else(|| not_found("pipeline run", id))?;
        let mut tx = self.db.begin().await?;
        tx.execute(q!("UPDATE `pipeline_run` SET `enable_heartbeat` = ? WHERE `id` = ?", false, id))
            .await
            .map_err(db_err)?;
        tx.execute(q!("UPDATE `step_run` SET `heartbeat_threshold` = NULL WHERE `pipeline_run_id` = ?", id))
            .await
            .map_err(db_err)?;
        tx.commit().await
    }
}

/// A `model_versions_runs` link, unless it exists.
pub(crate) async fn link_model_version_run(tx: &mut Tx, model_version_id: Uuid, run_id: Uuid) -> Result<(), Error> {
    let n = tx
        .fetch_i64(q!(
            "SELECT count(*) FROM `model_versions_runs` WHERE `model_version_id` = ? AND `pipeline_run_id` = ?",
            model_version_id,
            run_id
        ))
        .await
        .map_err(db_err)?;
    if n == 0 {
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `model_versions_runs` (`id`, `created`, `updated`, `model_version_id`, `pipeline_run_id`) \
             VALUES (?, ?, ?, ?, ?)",
            Uuid::new_v4(),
            now,
            now,
            model_version_id,
            run_id
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Add the onboarding steps a finished run completes to `server_settings.onboarding_state`.
async fn mark_onboarding(tx: &mut Tx, stack_id: Option<Uuid>) -> Result<(), Error> {
    #[derive(sqlx::FromRow)]
    struct Member {
        kind: String,
        flavor: String,
    }
    #[derive(sqlx::FromRow)]
    struct State {
        onboarding_state: Option<String>,
    }
    let mut steps = vec!["pipeline_run"];
    if let Some(stack) = stack_id {
        let members: Vec<Member> = tx
            .fetch_all(q!(
                "SELECT `c`.`type` AS `kind`, `c`.`flavor` FROM `stack_composition` AS `sc` JOIN `stack_component` AS `c` \
                 ON `c`.`id` = `sc`.`component_id` WHERE `sc`.`stack_id` = ?",
                stack
            ))
            .await
            .map_err(db_err)?;
        for m in members {
            if m.kind == "orchestrator" && !matches!(m.flavor.as_str(), "local" | "local_docker") {
                steps.push("pipeline_run_with_remote_orchestrator");
            }
            if m.kind == "artifact_store" && m.flavor != "local" {
                steps.push("pipeline_run_with_remote_artifact_store");
            }
        }
    }
    let Some(state) = tx
        .fetch_optional::<State>(Query::new("SELECT `onboarding_state` FROM `server_settings`"))
        .await
        .map_err(db_err)?
    else {
        return Ok(());
    };
    let mut list: Vec<Json> =
        state.onboarding_state.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let before = list.len();
    for s in steps {
        if !list.iter().any(|x| x.as_str() == Some(s)) {
            list.push(Json::String(s.into()));
        }
    }
    if list.len() != before {
        tx.execute(q!(
            "UPDATE `server_settings` SET `onboarding_state` = ?, `updated` = ?",
            python_json(&Json::Array(list)),
            utc_now()
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
    fn static_status_follows_the_steps() {
        assert_eq!(static_run_status("initializing", &["cached", "cached"], 3), "initializing");
        assert_eq!(static_run_status("initializing", &["cached", "cached", "cached"], 3), "completed");
        assert_eq!(static_run_status("running", &["completed", "failed"], 3), "failed");
        assert_eq!(static_run_status("running", &["completed", "running"], 3), "running");
        assert_eq!(static_run_status("running", &["completed"], 3), "running");
        assert_eq!(static_run_status("provisioning", &["completed", "completed"], 2), "completed");
        assert_eq!(static_run_status("stopping", &["completed", "running"], 2), "stopping");
    }

    fn step(name: &str, status: &str) -> StepStatusRow {
        StepStatusRow {
            name: name.into(),
            status: status.into(),
            start_time: None,
            latest_heartbeat: None,
            heartbeat_threshold: None,
        }
    }

    #[test]
    fn failed_runs_continue_with_independent_branches() {
        let facts = SnapshotFacts {
            is_dynamic: false,
            step_count: 3,
            pipeline_configuration: r#"{"execution_mode": "continue_on_failure"}"#.into(),
            pipeline_spec: Some(
                r#"{"steps": [{"invocation_id": "a", "upstream_steps": []}, {"invocation_id": "b", "upstream_steps": ["a"]},
                   {"invocation_id": "c", "upstream_steps": []}]}"#
                    .into(),
            ),
            stack_id: None,
        };
        assert!(static_run_in_progress("failed", &facts, &[step("a", "failed")]));
        assert!(!static_run_in_progress("failed", &facts, &[step("a", "failed"), step("c", "completed")]));
        assert!(static_run_in_progress("failed", &facts, &[step("a", "failed"), step("c", "running")]));
    }
}
