//! Schedules (`schedule`, unique per (name, project)). `interval_second` is a float number of
//! seconds (the API shows it as an ISO 8601 duration).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::pipelines::{missing_reference, not_found, push_ids, unique};
use crate::users::UserRow;
use crate::{Query, Store, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub pipeline_id: Option<String>,
    pub orchestrator_id: Option<String>,
    pub active: bool,
    pub cron_expression: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub interval_second: Option<f64>,
    pub catchup: bool,
    pub run_once_start_time: Option<NaiveDateTime>,
    pub is_archived: bool,
}

impl ScheduleRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const SCHEDULE_COLS: &str = "`schedule`.`id`, `schedule`.`created`, `schedule`.`updated`, `schedule`.`name`, \
    `schedule`.`project_id`, `schedule`.`user_id`, `schedule`.`pipeline_id`, `schedule`.`orchestrator_id`, \
    `schedule`.`active`, `schedule`.`cron_expression`, `schedule`.`start_time`, `schedule`.`end_time`, \
    CAST(`schedule`.`interval_second` AS DOUBLE) AS `interval_second`, `schedule`.`catchup`, \
    `schedule`.`run_once_start_time`, `schedule`.`is_archived`";

/// The fields of `ScheduleFilter` (`interval_second` is not filterable here).
pub static SCHEDULE_LIST: ListSpec = ListSpec {
    from: "`schedule`",
    id: "`schedule`.`id`",
    select: SCHEDULE_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`schedule`.`id`"),
        Field::col("created", Kind::Datetime, "`schedule`.`created`"),
        Field::col("updated", Kind::Datetime, "`schedule`.`updated`"),
        Field::related("user", "`schedule`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::col("pipeline_id", Kind::Uuid, "`schedule`.`pipeline_id`"),
        Field::col("orchestrator_id", Kind::Uuid, "`schedule`.`orchestrator_id`"),
        Field::col("active", Kind::Bool, "`schedule`.`active`"),
        Field::col("cron_expression", Kind::Str, "`schedule`.`cron_expression`"),
        Field::col("start_time", Kind::Datetime, "`schedule`.`start_time`"),
        Field::col("end_time", Kind::Datetime, "`schedule`.`end_time`"),
        Field::col("catchup", Kind::Bool, "`schedule`.`catchup`"),
        Field::col("name", Kind::Str, "`schedule`.`name`"),
        Field::col("run_once_start_time", Kind::Datetime, "`schedule`.`run_once_start_time`"),
        Field::col("is_archived", Kind::Bool, "`schedule`.`is_archived`"),
    ],
};

/// A schedule with its owner.
#[derive(Debug, Clone)]
pub struct ScheduleView {
    pub row: ScheduleRow,
    pub user: Option<UserRow>,
}

/// A new schedule (`ScheduleRequest`).
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub project_id: Uuid,
    pub name: String,
    pub active: bool,
    pub cron_expression: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub interval_second: Option<f64>,
    pub catchup: bool,
    pub run_once_start_time: Option<NaiveDateTime>,
    pub orchestrator_id: Option<Uuid>,
    pub pipeline_id: Option<Uuid>,
}

/// `ScheduleUpdate`.
#[derive(Debug, Clone, Default)]
pub struct ScheduleUpdate {
    pub name: Option<String>,
    pub cron_expression: Option<String>,
    pub active: Option<bool>,
}

fn exists_message(op: &str, name: &str, project: &str) -> String {
    format!(
        "Unable to {op} the requested schedule with name '{name}': Found another existing schedule with the same \
         name in the '{project}' project."
    )
}

impl Store {
    /// A page of schedules of a project: count, page, owners.
    pub async fn list_schedules(&self, project_id: Uuid, params: &ListParams) -> Result<Page<ScheduleView>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`schedule`.`project_id` = ?", project_id));
        let page: Page<ScheduleRow> = list::list(&self.db, &SCHEDULE_LIST, params, &wh).await?;
        let users = self.users_by_id(&unique(page.items.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        Ok(page.map(|row| ScheduleView { user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()), row }))
    }

    /// Schedules by id (one query).
    pub async fn schedules_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, ScheduleRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(format!("SELECT {SCHEDULE_COLS} FROM `schedule` WHERE `schedule`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<ScheduleRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    /// A schedule by id (404 with the reference's message).
    pub async fn get_schedule(&self, id: Uuid) -> Result<ScheduleView, Error> {
        let row = self.schedules_by_ids(&[id]).await?.remove(&id).ok_or_else(|| not_found("schedule", id))?;
        let user = match parse_opt_id(&row.user_id) {
            Some(u) => self.users_by_id(&[u]).await?.remove(&u),
            None => None,
        };
        Ok(ScheduleView { row, user })
    }

    /// Create a schedule; 409 when the name is taken in the project.
    pub async fn create_schedule(&self, s: NewSchedule, user_id: Uuid) -> Result<Uuid, Error> {
        crate::components::check_name("Schedule", &s.name)?;
        self.require_project(s.project_id, "schedule").await?;
        if let Some(p) = s.pipeline_id
            && self.find_pipeline(p).await?.is_none()
        {
            return Err(missing_reference("pipeline", p, "schedule"));
        }
        if let Some(o) = s.orchestrator_id
            && self.find_component(o).await?.is_none()
        {
            return Err(missing_reference("stack component", o, "schedule"));
        }
        let project = self.find_project(&crate::NameOrId::Id(s.project_id)).await?.map(|p| p.name).unwrap_or_default();
        let conflict = exists_message("create", &s.name, &project);
        let taken = self
            .db
            .clone()
            .fetch_i64(q!(
                "SELECT count(*) FROM `schedule` WHERE `name` = ? AND `project_id` = ?",
                s.name.clone(),
                s.project_id
            ))
            .await
            .map_err(db_err)?;
        if taken > 0 {
            return Err(Error::exists(conflict));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        let mut query = q!(
            "INSERT INTO `schedule` (`id`, `created`, `updated`, `name`, `project_id`, `user_id`, `pipeline_id`, \
             `orchestrator_id`, `active`, `cron_expression`, `start_time`, `end_time`, `interval_second`, `catchup`, \
             `run_once_start_time`, `is_archived`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            id,
            now,
            now,
            s.name.clone(),
            s.project_id,
            user_id,
            s.pipeline_id,
            s.orchestrator_id,
            s.active,
            s.cron_expression,
            s.start_time,
            s.end_time
        );
        query.push_param(s.interval_second.map(crate::Value::Float).unwrap_or(crate::Value::Null));
        query.push_param(s.catchup);
        query.push_param(s.run_once_start_time);
        query.push_param(false);
        self.db.clone().execute(query).await.map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(id)
    }

    /// Update a schedule's name, cron expression or active flag.
    pub async fn update_schedule(&self, id: Uuid, u: ScheduleUpdate) -> Result<(), Error> {
        let cur = self.get_schedule(id).await?.row;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let project = self
            .find_project(&crate::NameOrId::Id(parse_id(&cur.project_id)))
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let conflict = exists_message("update", &name, &project);
        if name != cur.name {
            let taken = self
                .db
                .clone()
                .fetch_i64(q!(
                    "SELECT count(*) FROM `schedule` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                    name.clone(),
                    cur.project_id.clone(),
                    id
                ))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(Error::exists(conflict));
            }
        }
        self.db
            .clone()
            .execute(q!(
                "UPDATE `schedule` SET `updated` = ?, `name` = ?, `cron_expression` = ?, `active` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.cron_expression.filter(|c| !c.is_empty()).or(cur.cron_expression),
                u.active.unwrap_or(cur.active),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(())
    }

    /// Delete a schedule (snapshots and runs keep a null schedule); its metadata links go too.
    pub async fn delete_schedule(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let n = tx.execute(q!("DELETE FROM `schedule` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("schedule", id));
        }
        crate::pipelines::delete_links(&mut tx, "schedule", &[id]).await?;
        tx.commit().await
    }
}

/// An interval in seconds as pydantic writes a `timedelta` (ISO 8601: `PT1M`, `P1DT1H1M1S`,
/// `PT0.25S`).
pub fn iso_duration(seconds: f64) -> String {
    let neg = seconds < 0.0;
    let total_us = (seconds.abs() * 1e6).round() as i64;
    let days = total_us / 86_400_000_000;
    let mut rest = total_us % 86_400_000_000;
    let hours = rest / 3_600_000_000;
    rest %= 3_600_000_000;
    let minutes = rest / 60_000_000;
    rest %= 60_000_000;
    let secs = rest / 1_000_000;
    let micros = rest % 1_000_000;
    let mut out = String::from(if neg { "-P" } else { "P" });
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours > 0 || minutes > 0 || secs > 0 || micros > 0 || days == 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if secs > 0 || micros > 0 || (hours == 0 && minutes == 0) {
            if micros > 0 {
                let frac = format!("{micros:06}");
                out.push_str(&format!("{secs}.{}S", frac.trim_end_matches('0')));
            } else {
                out.push_str(&format!("{secs}S"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::iso_duration;

    #[test]
    fn durations_match_pydantic() {
        assert_eq!(iso_duration(60.0), "PT1M");
        assert_eq!(iso_duration(3600.5), "PT1H0.5S");
        assert_eq!(iso_duration(90061.0), "P1DT1H1M1S");
        assert_eq!(iso_duration(0.25), "PT0.25S");
        assert_eq!(iso_duration(259200.0), "P3D");
        assert_eq!(iso_duration(0.0), "PT0S");
    }
}
