//! Run metadata (`run_metadata`, one row per key and value, `value` as Python's `json.dumps`)
//! and its links to runs, steps, artifact versions, model versions, schedules and wait
//! conditions (`run_metadata_resource`).

use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::pipelines::{missing_reference, push_ids, unique};
use crate::stacks::python_json;
use crate::{Store, Tx, db_err, parse_id, q};

/// `MetadataResourceTypes` values and the table each refers to.
pub const RESOURCE_TABLES: [(&str, &str, &str); 6] = [
    ("pipeline_run", "pipeline_run", "pipeline run"),
    ("step_run", "step_run", "step run"),
    ("artifact_version", "artifact_version", "artifact version"),
    ("model_version", "model_version", "model version"),
    ("schedule", "schedule", "schedule"),
    ("wait_condition", "run_wait_condition", "run wait condition"),
];

/// A new batch of metadata (`RunMetadataRequest`).
#[derive(Debug, Clone)]
pub struct NewRunMetadata {
    pub project_id: Uuid,
    /// (resource id, resource type)
    pub resources: Vec<(Uuid, String)>,
    pub stack_component_id: Option<Uuid>,
    /// key → (value, `MetadataTypeEnum` value), in request order.
    pub values: Vec<(String, Json, String)>,
    pub publisher_step_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct MetadataLink {
    resource_id: String,
    key: String,
    value: String,
}

impl Store {
    /// Store metadata for resources: every referenced entity must exist (404 otherwise), as
    /// must the stack component.
    pub async fn create_run_metadata(&self, m: NewRunMetadata, user_id: Uuid) -> Result<(), Error> {
        if let Some(c) = m.stack_component_id
            && self.find_component(c).await?.is_none()
        {
            return Err(missing_reference("stack component", c, "run metadata"));
        }
        for (id, kind) in &m.resources {
            let (_, table, label) = RESOURCE_TABLES
                .iter()
                .find(|(k, _, _)| k == kind)
                .ok_or_else(|| Error::validation(format!("Unknown resource type: {kind}")))?;
            let n = self
                .db
                .clone()
                .fetch_i64(q!(format!("SELECT count(*) FROM `{table}` WHERE `id` = ?"), *id))
                .await
                .map_err(db_err)?;
            if n == 0 {
                return Err(missing_reference(label, *id, "run metadata"));
            }
        }
        if m.resources.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (key, value, kind) in &m.values {
            let id = Uuid::new_v4();
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `run_metadata` (`id`, `created`, `updated`, `stack_component_id`, `user_id`, `project_id`, \
                 `key`, `value`, `type`, `publisher_step_id`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                m.stack_component_id,
                user_id,
                m.project_id,
                key.clone(),
                python_json(value),
                kind.clone(),
                m.publisher_step_id
            ))
            .await
            .map_err(db_err)?;
            for (resource_id, resource_type) in &m.resources {
                tx.execute(q!(
                    "INSERT INTO `run_metadata_resource` (`id`, `resource_id`, `resource_type`, `run_metadata_id`) \
                     VALUES (?, ?, ?, ?)",
                    Uuid::new_v4(),
                    *resource_id,
                    resource_type.clone(),
                    id
                ))
                .await
                .map_err(db_err)?;
            }
        }
        tx.commit().await
    }

    /// The metadata of these resources, resolved as the reference does: per key the latest
    /// value, or the merge of all values when every value is a dict. One query.
    pub async fn run_metadata_of(
        &self,
        resource_type: &str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Map<String, Json>>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = q!(
            "SELECT `l`.`resource_id`, `m`.`key`, `m`.`value` FROM `run_metadata_resource` AS `l` \
             JOIN `run_metadata` AS `m` ON `m`.`id` = `l`.`run_metadata_id` WHERE `l`.`resource_type` = ? \
             AND `l`.`resource_id` IN ",
            resource_type
        );
        push_ids(&mut query, &ids);
        query.push_sql(" ORDER BY `m`.`created`, `m`.`id`");
        let rows: Vec<MetadataLink> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut collected: HashMap<Uuid, Vec<(String, Vec<Json>)>> = HashMap::new();
        for r in rows {
            let value: Json = serde_json::from_str(&r.value).unwrap_or(Json::Null);
            let entries = collected.entry(parse_id(&r.resource_id)).or_default();
            match entries.iter_mut().find(|(k, _)| *k == r.key) {
                Some((_, values)) => values.push(value),
                None => entries.push((r.key, vec![value])),
            }
        }
        Ok(collected
            .into_iter()
            .map(|(id, entries)| {
                let mut out = Map::new();
                for (key, values) in entries {
                    let resolved = if values.iter().all(Json::is_object) {
                        let mut merged = Map::new();
                        for v in values {
                            if let Json::Object(m) = v {
                                merged.extend(m);
                            }
                        }
                        Json::Object(merged)
                    } else {
                        values.into_iter().last().unwrap_or(Json::Null)
                    };
                    out.insert(key, resolved);
                }
                (id, out)
            })
            .collect())
    }
}

/// Link the metadata a step published to another step run (cached copies of a step).
pub(crate) async fn copy_step_metadata_links(tx: &mut Tx, from_step: Uuid, to_step: Uuid) -> Result<(), Error> {
    #[derive(sqlx::FromRow)]
    struct Link {
        run_metadata_id: String,
        resource_type: String,
    }
    let links: Vec<Link> = tx
        .fetch_all(q!(
            "SELECT `l`.`run_metadata_id`, `l`.`resource_type` FROM `run_metadata_resource` AS `l` \
             JOIN `run_metadata` AS `m` ON `m`.`id` = `l`.`run_metadata_id` WHERE `l`.`resource_id` = ? \
             AND `l`.`resource_type` = ? AND `m`.`publisher_step_id` = ?",
            from_step,
            "step_run",
            from_step
        ))
        .await
        .map_err(db_err)?;
    for l in links {
        tx.execute(q!(
            "INSERT INTO `run_metadata_resource` (`id`, `resource_id`, `resource_type`, `run_metadata_id`) \
             VALUES (?, ?, ?, ?)",
            Uuid::new_v4(),
            to_step,
            l.resource_type,
            l.run_metadata_id
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}
