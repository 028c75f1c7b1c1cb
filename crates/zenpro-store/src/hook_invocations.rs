//! Hook invocations (`hook_invocation`, `hook_invocation_output_artifact`): the record the
//! client writes after running a step's `on_success`/`on_failure` hook (or a pipeline's init/
//! cleanup hook), with the artifact versions the hook returned and a link from its log record.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::logs::{LOGS_COLS, LogsRow};
use crate::pipelines::{missing_reference, not_found, push_ids, unique};
use crate::users::UserRow;
use crate::{Query, Store, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HookInvocationRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub hook_type: String,
    pub name: Option<String>,
    pub status: String,
    pub start_time: NaiveDateTime,
    pub end_time: Option<NaiveDateTime>,
    pub source: Option<String>,
    pub exception_info: Option<String>,
    pub pipeline_run_id: String,
    pub step_run_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: String,
}

impl HookInvocationRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

const COLS: &str = "`hook_invocation`.`id`, `hook_invocation`.`created`, `hook_invocation`.`updated`, \
    `hook_invocation`.`hook_type`, `hook_invocation`.`name`, `hook_invocation`.`status`, \
    `hook_invocation`.`start_time`, `hook_invocation`.`end_time`, `hook_invocation`.`source`, \
    `hook_invocation`.`exception_info`, `hook_invocation`.`pipeline_run_id`, `hook_invocation`.`step_run_id`, \
    `hook_invocation`.`user_id`, `hook_invocation`.`project_id`";

/// The fields of `HookInvocationFilter`.
pub static HOOK_INVOCATION_LIST: ListSpec = ListSpec {
    from: "`hook_invocation`",
    id: "`hook_invocation`.`id`",
    select: COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`hook_invocation`.`id`"),
        Field::col("created", Kind::Datetime, "`hook_invocation`.`created`"),
        Field::col("updated", Kind::Datetime, "`hook_invocation`.`updated`"),
        Field::related("user", "`hook_invocation`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::col("name", Kind::Str, "`hook_invocation`.`name`"),
        Field::col("hook_type", Kind::Str, "`hook_invocation`.`hook_type`"),
        Field::col("status", Kind::Str, "`hook_invocation`.`status`"),
        Field::col("start_time", Kind::Datetime, "`hook_invocation`.`start_time`"),
        Field::col("end_time", Kind::Datetime, "`hook_invocation`.`end_time`"),
        Field::col("source", Kind::Str, "`hook_invocation`.`source`"),
        Field::col("pipeline_run_id", Kind::Uuid, "`hook_invocation`.`pipeline_run_id`"),
        Field::col("step_run_id", Kind::Uuid, "`hook_invocation`.`step_run_id`"),
    ],
};

/// A hook invocation with what its response nests.
#[derive(Debug, Clone)]
pub struct HookInvocationView {
    pub row: HookInvocationRow,
    pub user: Option<UserRow>,
    /// `(output name, artifact version id)`, in name order.
    pub outputs: Vec<(String, Uuid)>,
    pub logs: Vec<LogsRow>,
}

/// `HookInvocationRequest` (the id is chosen by the client).
#[derive(Debug, Clone)]
pub struct NewHookInvocation {
    pub id: Uuid,
    pub project_id: Uuid,
    pub hook_type: String,
    pub name: Option<String>,
    pub status: String,
    pub start_time: NaiveDateTime,
    pub end_time: Option<NaiveDateTime>,
    pub source: Option<String>,
    pub exception_info: Option<String>,
    pub pipeline_run_id: Uuid,
    pub step_run_id: Option<Uuid>,
    pub outputs: Vec<(String, Vec<Uuid>)>,
    pub logs_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct OutputRow {
    name: String,
    hook_invocation_id: String,
    artifact_version_id: String,
}

impl Store {
    /// Record a hook invocation: the run (and step) must exist; outputs are linked, and the
    /// log record named by `logs_id` (if it exists) gets linked to it.
    pub async fn create_hook_invocation(&self, h: NewHookInvocation, user_id: Uuid) -> Result<Uuid, Error> {
        self.require_project(h.project_id, "hook invocation").await?;
        if self.find_run(h.pipeline_run_id).await?.is_none() {
            return Err(missing_reference("pipeline run", h.pipeline_run_id, "hook invocation"));
        }
        if let Some(s) = h.step_run_id
            && self.find_step(s).await?.is_none()
        {
            return Err(missing_reference("step run", s, "hook invocation"));
        }
        let versions: Vec<Uuid> = h.outputs.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let found = self.artifact_versions_by_ids(&versions).await?;
        if let Some(missing) = unique(versions).into_iter().find(|v| !found.iter().any(|f| parse_id(&f.id) == *v)) {
            return Err(missing_reference("artifact version", missing, "hook invocation"));
        }
        let conflict = format!("A hook invocation with ID '{}' already exists.", h.id);
        let now = utc_now();
        let mut tx = self.db.begin().await?;
        let mut insert = q!(
            "INSERT INTO `hook_invocation` (`id`, `created`, `updated`, `hook_type`, `name`, `status`, `start_time`, \
             `end_time`, `source`, `exception_info`, `pipeline_run_id`, `step_run_id`, `user_id`, `project_id`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            h.id,
            now,
            now,
            h.hook_type,
            h.name,
            h.status,
            h.start_time,
            h.end_time,
            h.source,
            h.exception_info,
            h.pipeline_run_id,
            h.step_run_id
        );
        insert.push_param(user_id);
        insert.push_param(h.project_id);
        tx.execute(insert).await.map_err(|e| crate::db::map_err(e, &conflict))?;
        for (name, ids) in &h.outputs {
            for v in unique(ids.iter().copied()) {
                tx.execute(q!(
                    "INSERT INTO `hook_invocation_output_artifact` (`name`, `hook_invocation_id`, \
                     `artifact_version_id`) VALUES (?, ?, ?)",
                    name.clone(),
                    h.id,
                    v
                ))
                .await
                .map_err(db_err)?;
            }
        }
        if let Some(logs) = h.logs_id {
            tx.execute(q!("UPDATE `logs` SET `hook_invocation_id` = ? WHERE `id` = ?", h.id, logs))
                .await
                .map_err(db_err)?;
        }
        tx.commit().await?;
        Ok(h.id)
    }

    /// A hook invocation with its owner, outputs and logs.
    pub async fn get_hook_invocation(&self, id: Uuid) -> Result<HookInvocationView, Error> {
        let mut query = Query::new(format!("SELECT {COLS} FROM `hook_invocation` WHERE `hook_invocation`.`id` = "));
        query.push_sql("?");
        query.push_param(id);
        let row: HookInvocationRow = self
            .db
            .clone()
            .fetch_optional(query)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("hook invocation", id))?;
        let mut views = self.hook_invocation_views(vec![row]).await?;
        Ok(views.remove(0))
    }

    /// A page of hook invocations of a project: count, page, then owners, outputs and logs of
    /// the whole page (one query each).
    pub async fn list_hook_invocations(
        &self,
        project_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<HookInvocationView>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`hook_invocation`.`project_id` = ?", project_id));
        let page: Page<HookInvocationRow> = list::list(&self.db, &HOOK_INVOCATION_LIST, params, &wh).await?;
        let Page { index, max_size, total_pages, total, items } = page;
        let items = self.hook_invocation_views(items).await?;
        Ok(Page { index, max_size, total_pages, total, items })
    }

    pub async fn delete_hook_invocation(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        tx.execute(q!("UPDATE `logs` SET `hook_invocation_id` = NULL WHERE `hook_invocation_id` = ?", id))
            .await
            .map_err(db_err)?;
        tx.execute(q!("DELETE FROM `hook_invocation_output_artifact` WHERE `hook_invocation_id` = ?", id))
            .await
            .map_err(db_err)?;
        let n = tx.execute(q!("DELETE FROM `hook_invocation` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("hook invocation", id));
        }
        tx.commit().await
    }

    async fn hook_invocation_views(&self, rows: Vec<HookInvocationRow>) -> Result<Vec<HookInvocationView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(HookInvocationRow::uuid).collect();
        let users = self.users_by_id(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        let mut outputs: HashMap<Uuid, Vec<(String, Uuid)>> = HashMap::new();
        let mut logs: HashMap<Uuid, Vec<LogsRow>> = HashMap::new();
        if !ids.is_empty() {
            let mut query = Query::new(
                "SELECT `name`, `hook_invocation_id`, `artifact_version_id` FROM `hook_invocation_output_artifact` \
                 WHERE `hook_invocation_id` IN ",
            );
            push_ids(&mut query, &ids);
            query.push_sql(" ORDER BY `name`, `artifact_version_id`");
            let rows: Vec<OutputRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            for o in rows {
                outputs
                    .entry(parse_id(&o.hook_invocation_id))
                    .or_default()
                    .push((o.name, parse_id(&o.artifact_version_id)));
            }
            let mut query = Query::new(format!("SELECT {LOGS_COLS} FROM `logs` WHERE `logs`.`hook_invocation_id` IN "));
            push_ids(&mut query, &ids);
            query.push_sql(" ORDER BY `logs`.`created`, `logs`.`id`");
            let rows: Vec<LogsRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            for l in rows {
                if let Some(h) = parse_opt_id(&l.hook_invocation_id) {
                    logs.entry(h).or_default().push(l);
                }
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.uuid();
                HookInvocationView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    outputs: outputs.remove(&id).unwrap_or_default(),
                    logs: logs.remove(&id).unwrap_or_default(),
                    row,
                }
            })
            .collect())
    }
}
