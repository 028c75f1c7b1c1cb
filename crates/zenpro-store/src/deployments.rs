//! Pipeline deployments (`deployment`, unique per (name, project)): what `zenml pipeline deploy`
//! records for a snapshot served by a deployer component; the deployer reports status, URL and
//! metadata through updates.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::components::ComponentView;
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::pipelines::{BuildRow, PipelineRow, missing_reference, not_found, unique};
use crate::snapshots::SnapshotRow;
use crate::stacks::StackRow;
use crate::users::UserRow;
use crate::{Store, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeploymentRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub status: String,
    pub url: Option<String>,
    pub auth_key: Option<String>,
    pub deployment_metadata: String,
    pub snapshot_id: Option<String>,
    pub deployer_id: Option<String>,
}

impl DeploymentRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

const COLS: &str = "`deployment`.`id`, `deployment`.`created`, `deployment`.`updated`, `deployment`.`name`, \
    `deployment`.`project_id`, `deployment`.`user_id`, `deployment`.`status`, `deployment`.`url`, \
    `deployment`.`auth_key`, `deployment`.`deployment_metadata`, `deployment`.`snapshot_id`, \
    `deployment`.`deployer_id`";

/// The fields of `DeploymentFilter` (`pipeline` is the snapshot's pipeline).
pub static DEPLOYMENT_LIST: ListSpec = ListSpec {
    from: "`deployment`",
    id: "`deployment`.`id`",
    select: COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`deployment`.`id`"),
        Field::col("created", Kind::Datetime, "`deployment`.`created`"),
        Field::col("updated", Kind::Datetime, "`deployment`.`updated`"),
        Field::related("user", "`deployment`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::col("name", Kind::Str, "`deployment`.`name`"),
        Field::col("url", Kind::Str, "`deployment`.`url`"),
        Field::col("status", Kind::Str, "`deployment`.`status`"),
        Field::col("snapshot_id", Kind::Uuid, "`deployment`.`snapshot_id`"),
        Field::col("deployer_id", Kind::Uuid, "`deployment`.`deployer_id`"),
        Field::col(
            "pipeline",
            Kind::Uuid,
            "(SELECT `pipeline_snapshot`.`pipeline_id` FROM `pipeline_snapshot` \
             WHERE `pipeline_snapshot`.`id` = `deployment`.`snapshot_id`)",
        ),
    ],
};

/// A deployment with what its response nests.
#[derive(Debug, Clone)]
pub struct DeploymentView {
    pub row: DeploymentRow,
    pub user: Option<UserRow>,
    pub snapshot: Option<SnapshotRow>,
    /// `(runnable, deployable)` of the snapshot.
    pub snapshot_flags: (bool, bool),
    pub deployer: Option<ComponentView>,
    pub pipeline: Option<PipelineRow>,
    pub stack: Option<StackRow>,
}

/// `DeploymentRequest`.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub project_id: Uuid,
    pub name: String,
    pub snapshot_id: Uuid,
    pub deployer_id: Uuid,
    pub auth_key: Option<String>,
}

/// `DeploymentUpdate` (tags are handled by the caller).
#[derive(Debug, Clone, Default)]
pub struct DeploymentUpdate {
    pub name: Option<String>,
    pub snapshot_id: Option<Uuid>,
    pub url: Option<String>,
    pub status: Option<String>,
    pub deployment_metadata: Option<String>,
    pub auth_key: Option<String>,
}

fn exists_message(op: &str, name: &str, project: &str) -> String {
    format!(
        "Unable to {op} the requested deployment with name '{name}': Found another existing deployment with the \
         same name in the '{project}' project."
    )
}

impl Store {
    async fn deployment_name_taken(&self, name: &str, project_id: &str, except: Option<Uuid>) -> Result<bool, Error> {
        let n = self
            .db
            .clone()
            .fetch_i64(q!(
                "SELECT count(*) FROM `deployment` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                name.to_string(),
                project_id.to_string(),
                except.map(|u| u.simple().to_string()).unwrap_or_default()
            ))
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn deployment_project_name(&self, id: Uuid) -> Result<String, Error> {
        Ok(self.find_project(&crate::NameOrId::Id(id)).await?.map(|p| p.name).unwrap_or_default())
    }

    /// Create a deployment (status `unknown`, metadata `{}`); 409 when the name is taken in the
    /// project, 404 for a missing snapshot or deployer.
    pub async fn create_deployment(&self, d: NewDeployment, user_id: Uuid) -> Result<Uuid, Error> {
        crate::components::check_name("Deployment", &d.name)?;
        self.require_project(d.project_id, "deployment").await?;
        let project = self.deployment_project_name(d.project_id).await?;
        let conflict = exists_message("create", &d.name, &project);
        if self.deployment_name_taken(&d.name, &d.project_id.simple().to_string(), None).await? {
            return Err(Error::exists(conflict));
        }
        if self.snapshots_by_ids(&[d.snapshot_id], false).await?.is_empty() {
            return Err(missing_reference("pipeline snapshot", d.snapshot_id, "deployment"));
        }
        if self.find_component(d.deployer_id).await?.is_none() {
            return Err(missing_reference("deployer", d.deployer_id, "deployment"));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `deployment` (`id`, `created`, `updated`, `name`, `project_id`, `user_id`, `status`, \
                 `url`, `auth_key`, `deployment_metadata`, `snapshot_id`, `deployer_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, 'unknown', NULL, ?, '{}', ?, ?)",
                id,
                now,
                now,
                d.name.clone(),
                d.project_id,
                user_id,
                d.auth_key,
                d.snapshot_id,
                d.deployer_id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(id)
    }

    /// Apply the set fields of an update.
    pub async fn update_deployment(&self, id: Uuid, u: DeploymentUpdate) -> Result<(), Error> {
        let cur = self.find_deployment(id).await?.ok_or_else(|| not_found("deployment", id))?;
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let project = self.deployment_project_name(parse_id(&cur.project_id)).await?;
        let conflict = exists_message("update", &name, &project);
        if name != cur.name && self.deployment_name_taken(&name, &cur.project_id, Some(id)).await? {
            return Err(Error::exists(conflict));
        }
        if let Some(s) = u.snapshot_id
            && self.snapshots_by_ids(&[s], false).await?.is_empty()
        {
            return Err(missing_reference("pipeline snapshot", s, "deployment"));
        }
        self.db
            .clone()
            .execute(q!(
                "UPDATE `deployment` SET `updated` = ?, `name` = ?, `snapshot_id` = ?, `url` = ?, `status` = ?, \
                 `deployment_metadata` = ?, `auth_key` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.snapshot_id.map(|s| s.simple().to_string()).or(cur.snapshot_id),
                u.url.or(cur.url),
                u.status.unwrap_or(cur.status),
                u.deployment_metadata.unwrap_or(cur.deployment_metadata),
                u.auth_key.or(cur.auth_key),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(())
    }

    /// Delete a deployment and its tag links.
    pub async fn delete_deployment(&self, id: Uuid) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let n = tx.execute(q!("DELETE FROM `deployment` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("deployment", id));
        }
        tx.execute(q!("DELETE FROM `tag_resource` WHERE `resource_type` = 'deployment' AND `resource_id` = ?", id))
            .await
            .map_err(db_err)?;
        tx.commit().await
    }

    async fn find_deployment(&self, id: Uuid) -> Result<Option<DeploymentRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {COLS} FROM `deployment` WHERE `deployment`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A deployment by id or by name in a project.
    pub async fn get_deployment(&self, id: Uuid) -> Result<DeploymentView, Error> {
        let row = self.find_deployment(id).await?.ok_or_else(|| not_found("deployment", id))?;
        Ok(self.deployment_views(vec![row]).await?.remove(0))
    }

    /// A page of deployments of a project; the nested resources of the whole page cost a fixed
    /// number of queries.
    pub async fn list_deployments(&self, project_id: Uuid, params: &ListParams) -> Result<Page<DeploymentView>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`deployment`.`project_id` = ?", project_id));
        let Page { index, max_size, total_pages, total, items } =
            list::list::<DeploymentRow>(&self.db, &DEPLOYMENT_LIST, params, &wh).await?;
        let items = self.deployment_views(items).await?;
        Ok(Page { index, max_size, total_pages, total, items })
    }

    async fn deployment_views(&self, rows: Vec<DeploymentRow>) -> Result<Vec<DeploymentView>, Error> {
        let users = self.users_by_id(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        let snapshots = self
            .snapshots_by_ids(&rows.iter().filter_map(|r| parse_opt_id(&r.snapshot_id)).collect::<Vec<_>>(), false)
            .await?;
        let builds: HashMap<Uuid, BuildRow> = self
            .builds_by_ids(&snapshots.values().filter_map(|s| parse_opt_id(&s.build_id)).collect::<Vec<_>>())
            .await?;
        let stack_ids: Vec<Uuid> = snapshots.values().filter_map(|s| parse_opt_id(&s.stack_id)).collect();
        let stacks = self.stacks_by_ids(&stack_ids).await?;
        let deployers_of_stacks = self.stacks_with_deployer(&stack_ids).await?;
        let pipelines =
            self.pipelines_by_ids(&snapshots.values().map(|s| parse_id(&s.pipeline_id)).collect::<Vec<_>>()).await?;
        let deployer_rows =
            self.components_by_ids(&unique(rows.iter().filter_map(|r| parse_opt_id(&r.deployer_id)))).await?;
        let deployers: HashMap<Uuid, ComponentView> =
            self.component_views(deployer_rows, false).await?.into_iter().map(|c| (c.row.uuid(), c)).collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let snapshot = parse_opt_id(&row.snapshot_id).and_then(|s| snapshots.get(&s).cloned());
                let flags = snapshot.as_ref().map_or((false, false), |s| {
                    let build = parse_opt_id(&s.build_id).and_then(|b| builds.get(&b));
                    let stack = parse_opt_id(&s.stack_id);
                    (
                        build.is_some_and(BuildRow::is_runnable),
                        build.is_some() && stack.is_some_and(|st| deployers_of_stacks.contains(&st)),
                    )
                });
                DeploymentView {
                    user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                    pipeline: snapshot.as_ref().and_then(|s| pipelines.get(&parse_id(&s.pipeline_id)).cloned()),
                    stack: snapshot
                        .as_ref()
                        .and_then(|s| parse_opt_id(&s.stack_id))
                        .and_then(|s| stacks.get(&s).cloned()),
                    deployer: parse_opt_id(&row.deployer_id).and_then(|d| deployers.get(&d).cloned()),
                    snapshot_flags: flags,
                    snapshot,
                    row,
                }
            })
            .collect())
    }
}
