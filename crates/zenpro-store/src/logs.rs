//! Log records (`logs`): where the client wrote the logs of a run, a step or a hook. The bytes
//! never pass through the server; a record is linked to at most one run or step.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::pipelines::{missing_reference, not_found, push_ids, unique};
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogsRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub uri: Option<String>,
    pub source: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub pipeline_run_id: Option<String>,
    pub step_run_id: Option<String>,
    pub artifact_store_id: Option<String>,
    pub log_store_id: Option<String>,
    pub hook_invocation_id: Option<String>,
}

pub const LOGS_COLS: &str = "`logs`.`id`, `logs`.`created`, `logs`.`updated`, `logs`.`uri`, `logs`.`source`, \
    `logs`.`project_id`, `logs`.`user_id`, `logs`.`pipeline_run_id`, `logs`.`step_run_id`, \
    `logs`.`artifact_store_id`, `logs`.`log_store_id`, `logs`.`hook_invocation_id`";

/// A log record with its owner.
#[derive(Debug, Clone)]
pub struct LogsView {
    pub row: LogsRow,
    pub user: Option<UserRow>,
}

/// A new log record (`LogsRequest`); `id` is chosen by the client.
#[derive(Debug, Clone)]
pub struct NewLogs {
    pub id: Option<Uuid>,
    pub project_id: Uuid,
    pub uri: Option<String>,
    pub source: String,
    pub artifact_store_id: Option<Uuid>,
    pub log_store_id: Option<Uuid>,
    pub pipeline_run_id: Option<Uuid>,
    pub step_run_id: Option<Uuid>,
    pub hook_invocation_id: Option<Uuid>,
}

/// Insert a log record in a transaction (references are not checked here).
pub(crate) async fn insert_logs(tx: &mut Tx, l: &NewLogs, user_id: Option<Uuid>) -> Result<Uuid, Error> {
    let id = l.id.unwrap_or_else(Uuid::new_v4);
    let now = utc_now();
    tx.execute(q!(
        "INSERT INTO `logs` (`id`, `created`, `updated`, `uri`, `source`, `project_id`, `user_id`, `pipeline_run_id`, \
         `step_run_id`, `artifact_store_id`, `log_store_id`, `hook_invocation_id`) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        id,
        now,
        now,
        l.uri.clone(),
        l.source.clone(),
        l.project_id,
        user_id,
        l.pipeline_run_id,
        l.step_run_id,
        l.artifact_store_id,
        l.log_store_id,
        l.hook_invocation_id
    ))
    .await
    .map_err(|e| crate::db::map_err(e, &format!("Unable to create logs with ID '{id}': logs with this ID exist.")))?;
    Ok(id)
}

/// Link a log record to a run or a step (`_update_logs` of the reference): a record already
/// linked to another entity cannot be moved (403).
pub(crate) async fn link_logs(
    tx: &mut Tx,
    logs_id: Uuid,
    pipeline_run_id: Option<Uuid>,
    step_run_id: Option<Uuid>,
) -> Result<(), Error> {
    let cur: LogsRow = tx
        .fetch_optional(q!(format!("SELECT {LOGS_COLS} FROM `logs` WHERE `logs`.`id` = ?"), logs_id))
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found("log", logs_id))?;
    let (cur_run, cur_step) = (parse_opt_id(&cur.pipeline_run_id), parse_opt_id(&cur.step_run_id));
    if (cur_run.is_some() || cur_step.is_some()) && (cur_run != pipeline_run_id || cur_step != step_run_id) {
        return Err(Error::forbidden("The logs entry is already associated with a different entity."));
    }
    if let Some(r) = pipeline_run_id {
        let n = tx.fetch_i64(q!("SELECT count(*) FROM `pipeline_run` WHERE `id` = ?", r)).await.map_err(db_err)?;
        if n == 0 {
            return Err(Error::not_found(format!(
                "The pipeline run with ID {r} referenced by the logs being updated was not found"
            )));
        }
    }
    if let Some(s) = step_run_id {
        let n = tx.fetch_i64(q!("SELECT count(*) FROM `step_run` WHERE `id` = ?", s)).await.map_err(db_err)?;
        if n == 0 {
            return Err(Error::not_found(format!(
                "The step run with ID {s} referenced by the logs being updated was not found"
            )));
        }
    }
    tx.execute(q!(
        "UPDATE `logs` SET `pipeline_run_id` = ?, `step_run_id` = ? WHERE `id` = ?",
        pipeline_run_id.or(cur_run),
        step_run_id.or(cur_step),
        logs_id
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Store {
    /// A log record by id (404 with the reference's message).
    pub async fn get_logs(&self, id: Uuid) -> Result<LogsView, Error> {
        let row: LogsRow = self
            .db
            .clone()
            .fetch_optional(q!(format!("SELECT {LOGS_COLS} FROM `logs` WHERE `logs`.`id` = ?"), id))
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("log", id))?;
        let user = match parse_opt_id(&row.user_id) {
            Some(u) => self.users_by_id(&[u]).await?.remove(&u),
            None => None,
        };
        Ok(LogsView { row, user })
    }

    /// Create a log record; the referenced components, run and step must exist (404).
    pub async fn create_logs(&self, l: NewLogs, user_id: Uuid) -> Result<Uuid, Error> {
        self.require_project(l.project_id, "logs").await?;
        for c in [l.artifact_store_id, l.log_store_id].into_iter().flatten() {
            if self.find_component(c).await?.is_none() {
                return Err(missing_reference("stack component", c, "logs"));
            }
        }
        let mut tx = self.db.begin().await?;
        if let Some(r) = l.pipeline_run_id {
            let n = tx.fetch_i64(q!("SELECT count(*) FROM `pipeline_run` WHERE `id` = ?", r)).await.map_err(db_err)?;
            if n == 0 {
                return Err(missing_reference("pipeline run", r, "logs"));
            }
        }
        if let Some(s) = l.step_run_id {
            let n = tx.fetch_i64(q!("SELECT count(*) FROM `step_run` WHERE `id` = ?", s)).await.map_err(db_err)?;
            if n == 0 {
                return Err(missing_reference("step run", s, "logs"));
            }
        }
        let id = insert_logs(&mut tx, &l, Some(user_id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `LogsUpdate`: link the record to a run or a step.
    pub async fn update_logs(
        &self,
        id: Uuid,
        pipeline_run_id: Option<Uuid>,
        step_run_id: Option<Uuid>,
    ) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        link_logs(&mut tx, id, pipeline_run_id, step_run_id).await?;
        tx.commit().await
    }

    /// Log records of these runs (`pipeline_run_id`) or steps (`step_run_id`), oldest first,
    /// in one query.
    pub async fn logs_of(&self, column: LogsOwner, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<LogsRow>>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let col = match column {
            LogsOwner::Run => "`pipeline_run_id`",
            LogsOwner::Step => "`step_run_id`",
        };
        let mut query = Query::new(format!("SELECT {LOGS_COLS} FROM `logs` WHERE `logs`.{col} IN "));
        push_ids(&mut query, &ids);
        query.push_sql(" ORDER BY `logs`.`created`, `logs`.`id`");
        let rows: Vec<LogsRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<LogsRow>> = HashMap::new();
        for r in rows {
            let owner = match column {
                LogsOwner::Run => parse_opt_id(&r.pipeline_run_id),
                LogsOwner::Step => parse_opt_id(&r.step_run_id),
            };
            if let Some(o) = owner {
                out.entry(o).or_default().push(r);
            }
        }
        Ok(out)
    }
}

/// Which link of a log record to group by.
#[derive(Debug, Clone, Copy)]
pub enum LogsOwner {
    Run,
    Step,
}

impl LogsRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}
