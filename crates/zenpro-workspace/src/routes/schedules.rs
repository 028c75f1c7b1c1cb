//! Schedules: `/schedules` and `/schedules/{id}`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zenpro_store::schedules::{NewSchedule, SCHEDULE_LIST, ScheduleUpdate, ScheduleView};
use zenpro_types::Error;

use crate::auth::Auth;
use crate::extract::{JsonBody, QueryPairs, path_uuid};
use crate::models::{Name, envelope, opt_uuid, user_resource};
use crate::routes::components::check_len;
use crate::routes::pipelines::{datetime, project_of, schedule_body};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list).post(create))
        .route("/schedules/{schedule_id}", get(get_one).put(update).delete(delete))
}

/// `ScheduleResponse`.
pub fn schedule_json(v: &ScheduleView, run_metadata: Value, hydrate: bool) -> Value {
    let r = &v.row;
    let metadata = hydrate.then(|| {
        json!({
            "orchestrator_id": opt_uuid(&r.orchestrator_id),
            "pipeline_id": opt_uuid(&r.pipeline_id),
            "run_metadata": run_metadata,
        })
    });
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&r.id, Name::Of(Some(&r.name)), schedule_body(r), metadata, Some(resources))
}

async fn schedule_response(state: &AppState, id: Uuid, hydrate: bool) -> Result<Value, Error> {
    let v = state.store().get_schedule(id).await?;
    let mut md = if hydrate { state.store().run_metadata_of("schedule", &[id]).await? } else { Default::default() };
    Ok(schedule_json(&v, Value::Object(md.remove(&id).unwrap_or_default()), hydrate))
}

async fn list(State(state): State<AppState>, _auth: Auth, q: QueryPairs) -> Result<Json<Value>, Error> {
    let params = q.list(&SCHEDULE_LIST)?;
    let project = project_of(&state, &q).await?;
    let page = state.store().list_schedules(project, &params).await?;
    let mut md = if params.hydrate {
        let ids: Vec<Uuid> = page.items.iter().map(|s| s.row.uuid()).collect();
        state.store().run_metadata_of("schedule", &ids).await?
    } else {
        Default::default()
    };
    let page = page.map(|s| {
        let m = md.remove(&s.row.uuid()).unwrap_or_default();
        schedule_json(&s, Value::Object(m), params.hydrate)
    });
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

async fn get_one(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(schedule_response(&state, path_uuid(&id)?, q.hydrate()?).await?))
}

/// A `timedelta` of a request: seconds, or an ISO 8601 duration (`PT1M`, `P1DT2H`).
fn interval_seconds(v: &Value) -> Result<f64, Error> {
    if let Some(f) = v.as_f64() {
        return Ok(f);
    }
    let bad = || Error::validation("interval_second: Input should be a valid timedelta");
    let s = v.as_str().ok_or_else(bad)?;
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0.0;
    let mut parse = |part: &str, units: &[(char, f64)]| -> Result<(), Error> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
            } else {
                let (_, mult) = units.iter().find(|(u, _)| *u == c).ok_or_else(bad)?;
                total += num.parse::<f64>().map_err(|_| bad())? * mult;
                num.clear();
            }
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    parse(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    parse(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    Ok(total)
}

/// `ScheduleRequest`.
#[derive(Deserialize)]
struct ScheduleBody {
    project: Uuid,
    name: String,
    active: bool,
    #[serde(default)]
    cron_expression: Option<String>,
    #[serde(default, deserialize_with = "datetime::option")]
    start_time: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "datetime::option")]
    end_time: Option<NaiveDateTime>,
    #[serde(default)]
    interval_second: Option<Value>,
    #[serde(default)]
    catchup: bool,
    #[serde(default, deserialize_with = "datetime::option")]
    run_once_start_time: Option<NaiveDateTime>,
    #[serde(default)]
    orchestrator_id: Option<Uuid>,
    #[serde(default)]
    pipeline_id: Option<Uuid>,
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(b): JsonBody<ScheduleBody>,
) -> Result<Json<Value>, Error> {
    check_len("name", &b.name)?;
    let interval = b.interval_second.as_ref().filter(|v| !v.is_null()).map(interval_seconds).transpose()?;
    let periodic = b.start_time.is_some() && interval.is_some();
    if b.cron_expression.is_some() && periodic {
        return Err(Error::validation(format!(
            "Value error, Schedule '{}' has both a cron expression and a start time with an interval. Only one of \
             them can be set.",
            b.name
        )));
    }
    let id = state
        .store()
        .create_schedule(
            NewSchedule {
                project_id: b.project,
                name: b.name,
                active: b.active,
                cron_expression: b.cron_expression,
                start_time: b.start_time,
                end_time: b.end_time,
                interval_second: interval,
                catchup: b.catchup,
                run_once_start_time: b.run_once_start_time,
                orchestrator_id: b.orchestrator_id,
                pipeline_id: b.pipeline_id,
            },
            auth.user_id(),
        )
        .await?;
    Ok(Json(schedule_response(&state, id, true).await?))
}

/// `ScheduleUpdate`.
#[derive(Deserialize)]
struct ScheduleUpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    cron_expression: Option<String>,
    #[serde(default)]
    active: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    _auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ScheduleUpdateBody>,
) -> Result<Json<Value>, Error> {
    let id = path_uuid(&id)?;
    if let Some(n) = &b.name {
        check_len("name", n)?;
    }
    state
        .store()
        .update_schedule(id, ScheduleUpdate { name: b.name, cron_expression: b.cron_expression, active: b.active })
        .await?;
    Ok(Json(schedule_response(&state, id, true).await?))
}

async fn delete(State(state): State<AppState>, _auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, Error> {
    state.store().delete_schedule(path_uuid(&id)?).await?;
    Ok(Json(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::interval_seconds;
    use serde_json::json;

    #[test]
    fn intervals_parse_as_pydantic_timedeltas() {
        assert_eq!(interval_seconds(&json!(61.5)).unwrap(), 61.5);
        assert_eq!(interval_seconds(&json!("PT1M")).unwrap(), 60.0);
        assert_eq!(interval_seconds(&json!("P1DT1H1M1.5S")).unwrap(), 90061.5);
        assert!(interval_seconds(&json!("1 minute")).is_err());
    }
}
