//! Pipelines (`pipeline`) and pipeline builds (`pipeline_build`), plus the helpers the run
//! modules share: `IN (...)` lists, project scopes, reference errors, tag filters.
//!
//! A pipeline is unique per (name, project) and counts its runs in `run_count`, from which a
//! new run takes its `index`. Deleting a pipeline deletes its snapshots and, through them, its
//! runs and step runs (database cascades), as the reference's ORM cascade does.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::Value as Json;
use uuid::Uuid;
use zenpro_types::filter::{Filter, Kind, Op};
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::stacks::{STACK_COLS, StackRow, python_json};
use crate::users::UserRow;
use crate::{Backend, NameOrId, Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

/// Append `(?, ?, ...)` with the ids as parameters. Callers never pass an empty list.
pub(crate) fn push_ids(q: &mut Query, ids: &[Uuid]) {
    q.push_sql("(");
    for (i, id) in ids.iter().enumerate() {
        q.push_sql(if i == 0 { "?" } else { ", ?" });
        q.push_param(*id);
    }
    q.push_sql(")");
}

/// Sorted, deduplicated ids.
pub(crate) fn unique(ids: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `Unable to get <kind> with ID '<id>': No <kind> with this ID found` (the reference's 404).
pub fn not_found(kind: &str, id: Uuid) -> Error {
    Error::not_found(format!("Unable to get {kind} with ID '{id}': No {kind} with this ID found"))
}

/// The reference's 404 for a missing entity referenced by a request.
pub fn missing_reference(reference: &str, id: Uuid, resource: &str) -> Error {
    Error::not_found(format!("The {reference} with ID {id} referenced by the {resource} being created was not found"))
}

/// The `tags` filter of the reference's `TaggableFilter`: the entity has a tag whose name
/// matches (`isnull`/`isnotnull`: has no tag / some tag).
pub(crate) fn tags_condition(backend: Backend, id_col: &str, f: &Filter) -> Query {
    match f.op {
        Op::IsNull => Query::new(format!("NOT EXISTS (SELECT 1 FROM `tag_resource` WHERE `resource_id` = {id_col})")),
        Op::IsNotNull => Query::new(format!("EXISTS (SELECT 1 FROM `tag_resource` WHERE `resource_id` = {id_col})")),
        _ => {
            let mut c = Query::new(format!(
                "EXISTS (SELECT 1 FROM `tag_resource` AS `tr` JOIN `tag` AS `t` ON `t`.`id` = `tr`.`tag_id` \
                 WHERE `tr`.`resource_id` = {id_col} AND "
            ));
            list::condition(&mut c, backend, "`t`.`name`", Kind::Str, f);
            c.push_sql(")");
            c
        }
    }
}

/// A name-or-id filter on a related table: `<col> IN (SELECT id FROM <table> WHERE id or name
/// matches)`, as the reference's `generate_name_or_id_query_conditions`.
pub(crate) fn name_or_id_condition(backend: Backend, col: &str, table: &str, f: &Filter) -> Query {
    let mut c = Query::new(format!("{col} IN (SELECT `id` FROM {table} WHERE ("));
    let id_filter = match &f.value {
        zenpro_types::filter::Value::Str(s) => match zenpro_types::filter::uuid_hex(s) {
            Some(h) => Filter { field: f.field.clone(), op: f.op, value: zenpro_types::filter::Value::Str(h) },
            None if matches!(f.op, Op::Equals) => {
                Filter { field: f.field.clone(), op: f.op, value: zenpro_types::filter::Value::Never }
            }
            None => f.clone(),
        },
        _ => f.clone(),
    };
    list::condition(&mut c, backend, "`id`", Kind::Uuid, &id_filter);
    c.push_sql(") OR (");
    list::condition(&mut c, backend, "`name`", Kind::Str, f);
    c.push_sql("))");
    c
}

/// Delete the tag and run-metadata links of deleted entities (polymorphic, no foreign keys).
pub(crate) async fn delete_links(tx: &mut Tx, resource_type: &str, ids: &[Uuid]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    for table in ["tag_resource", "run_metadata_resource"] {
        let mut query =
            q!(format!("DELETE FROM `{table}` WHERE `resource_type` = ? AND `resource_id` IN "), resource_type);
        push_ids(&mut query, ids);
        tx.execute(query).await.map_err(db_err)?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PipelineRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: Option<String>,
    pub run_count: i64,
}

impl PipelineRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const PIPELINE_COLS: &str = "`pipeline`.`id`, `pipeline`.`created`, `pipeline`.`updated`, `pipeline`.`name`, \
    `pipeline`.`description`, `pipeline`.`project_id`, `pipeline`.`user_id`, `pipeline`.`run_count`";

/// The fields of the reference's `PipelineFilter`; `tags`, `latest_run_status` and
/// `latest_run_user` are resolved here, `project` by the caller.
pub static PIPELINE_LIST: ListSpec = ListSpec {
    from: "`pipeline`",
    id: "`pipeline`.`id`",
    select: PIPELINE_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`pipeline`.`id`"),
        Field::col("created", Kind::Datetime, "`pipeline`.`created`"),
        Field::col("updated", Kind::Datetime, "`pipeline`.`updated`"),
        Field::col("name", Kind::Str, "`pipeline`.`name`"),
        Field::related("user", "`pipeline`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("tags", Kind::Str),
        Field::custom("latest_run_status", Kind::Str),
        Field::custom("latest_run_user", Kind::Str),
    ],
};

/// The latest run of a pipeline (or of a snapshot's derived snapshots).
#[derive(Debug, Clone)]
pub struct LatestRun {
    pub id: Uuid,
    pub status: String,
    pub user: Option<UserRow>,
}

/// A pipeline with its owner and latest run.
#[derive(Debug, Clone)]
pub struct PipelineView {
    pub row: PipelineRow,
    pub user: Option<UserRow>,
    pub latest_run: Option<LatestRun>,
}

/// A new pipeline (`PipelineRequest`).
#[derive(Debug, Clone)]
pub struct NewPipeline {
    pub project_id: Uuid,
    pub name: String,
    pub description: Option<String>,
}

/// `SELECT ... FROM pipeline_run WHERE <col> IN ids AND created = latest per <col>`: the latest
/// runs per key, in one query.
#[derive(sqlx::FromRow)]
struct LatestRunRow {
    key_id: String,
    id: String,
    status: String,
    user_id: Option<String>,
    created: NaiveDateTime,
}

impl Store {
    /// The project a project-scoped list or request runs in: the named one (404 when missing),
    /// else the default project.
    pub async fn project_scope(&self, project: Option<&str>, default_name: &str) -> Result<Uuid, Error> {
        let key = NameOrId::parse(project.filter(|p| !p.is_empty()).unwrap_or(default_name));
        match self.get_project(&key).await {
            Ok(p) => Ok(parse_id(&p.id)),
            Err(Error::NotFound(_)) if project.is_none() => {
                Err(Error::bad_request("Project scope missing from the filter"))
            }
            Err(e) => Err(e),
        }
    }

    /// Check that a project exists (404 as the reference's reference check).
    pub async fn require_project(&self, id: Uuid, resource: &str) -> Result<(), Error> {
        match self.find_project(&NameOrId::Id(id)).await? {
            Some(_) => Ok(()),
            None => Err(missing_reference("project", id, resource)),
        }
    }

    /// A page of pipelines of a project. Queries: count, page, owners, latest runs and their
    /// owners (one query each), whatever the page size.
    pub async fn list_pipelines(&self, project_id: Uuid, params: &ListParams) -> Result<Page<PipelineView>, Error> {
        let backend = self.backend();
        let mut params = params.clone();
        let mut wh = Where::new();
        wh.and(q!("`pipeline`.`project_id` = ?", project_id));
        for f in params.take("tags") {
            wh.and(tags_condition(backend, "`pipeline`.`id`", &f));
        }
        let latest = "(SELECT `r`.`{}` FROM `pipeline_run` AS `r` WHERE `r`.`pipeline_id` = `pipeline`.`id` \
                      ORDER BY `r`.`created` DESC LIMIT 1)";
        for f in params.take("latest_run_status") {
            let mut c = Query::default();
            list::condition(&mut c, backend, &latest.replace("{}", "status"), Kind::Str, &f);
            wh.and(c);
        }
        for f in params.take("latest_run_user") {
            wh.and(name_or_id_condition(backend, &latest.replace("{}", "user_id"), "`user`", &f));
        }
        let page: Page<PipelineRow> = list::list(&self.db, &PIPELINE_LIST, &params, &wh).await?;
        let views = self.pipeline_views(page.items.clone()).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners and latest runs of these pipelines (three queries).
    pub async fn pipeline_views(&self, rows: Vec<PipelineRow>) -> Result<Vec<PipelineView>, Error> {
        let ids: Vec<Uuid> = rows.iter().map(PipelineRow::uuid).collect();
        let latest = self.latest_runs_of_pipelines(&ids).await?;
        let user_ids = rows
            .iter()
            .filter_map(|p| parse_opt_id(&p.user_id))
            .chain(latest.values().filter_map(|l| parse_opt_id(&l.user_id)));
        let users = self.users_by_id(&unique(user_ids)).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let latest_run = latest.get(&row.uuid()).map(|l| LatestRun {
                    id: parse_id(&l.id),
                    status: l.status.clone(),
                    user: parse_opt_id(&l.user_id).and_then(|u| users.get(&u).cloned()),
                });
                PipelineView { user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()), latest_run, row }
            })
            .collect())
    }

    /// The latest run (by `created`) per key, for keys in `ids`, in one query. `from` selects
    /// from `pipeline_run` AS `r` (and joins) and names the key `key_id`; `from2`/`key2` are
    /// the same over aliases `r2`/`s2` for the correlated `MAX(created)`.
    async fn latest_runs(
        &self,
        from: &str,
        key: &str,
        from2: &str,
        key2: &str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, LatestRunRow>, Error> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(format!(
            "SELECT {key} AS `key_id`, `r`.`id`, `r`.`status`, `r`.`user_id`, `r`.`created` {from} WHERE {key} IN "
        ));
        push_ids(&mut query, ids);
        query.push_sql(&format!(" AND `r`.`created` = (SELECT MAX(`r2`.`created`) {from2} WHERE {key2} = {key})"));
        let rows: Vec<LatestRunRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, LatestRunRow> = HashMap::new();
        for r in rows {
            let key = parse_id(&r.key_id);
            // Ties on `created` (MySQL keeps whole seconds): keep the greatest id.
            let replace = out.get(&key).is_none_or(|cur| (r.created, &r.id) > (cur.created, &cur.id));
            if replace {
                out.insert(key, r);
            }
        }
        Ok(out)
    }

    /// The latest run of each pipeline.
    async fn latest_runs_of_pipelines(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, LatestRunRow>, Error> {
        self.latest_runs(
            "FROM `pipeline_run` AS `r`",
            "`r`.`pipeline_id`",
            "FROM `pipeline_run` AS `r2`",
            "`r2`.`pipeline_id`",
            ids,
        )
        .await
    }

    /// The latest run of the snapshots derived from these snapshots (`source_snapshot_id`),
    /// with its owner.
    pub async fn latest_runs_of_source_snapshots(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, LatestRun>, Error> {
        let rows = self
            .latest_runs(
                "FROM `pipeline_run` AS `r` JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `r`.`snapshot_id`",
                "`s`.`source_snapshot_id`",
                "FROM `pipeline_run` AS `r2` JOIN `pipeline_snapshot` AS `s2` ON `s2`.`id` = `r2`.`snapshot_id`",
                "`s2`.`source_snapshot_id`",
                ids,
            )
            .await?;
        let users = self.users_by_id(&unique(rows.values().filter_map(|l| parse_opt_id(&l.user_id)))).await?;
        Ok(rows
            .into_iter()
            .map(|(k, l)| {
                let user = parse_opt_id(&l.user_id).and_then(|u| users.get(&u).cloned());
                (k, LatestRun { id: parse_id(&l.id), status: l.status, user })
            })
            .collect())
    }

    /// Pipelines by id (one query).
    pub async fn pipelines_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, PipelineRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(format!("SELECT {PIPELINE_COLS} FROM `pipeline` WHERE `pipeline`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<PipelineRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    /// Stacks by id (one query).
    pub async fn stacks_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, StackRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(format!("SELECT {STACK_COLS} FROM `stack` WHERE `stack`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<StackRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    pub async fn find_pipeline(&self, id: Uuid) -> Result<Option<PipelineRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(format!("SELECT {PIPELINE_COLS} FROM `pipeline` WHERE `pipeline`.`id` = ?"), id))
            .await
            .map_err(db_err)
    }

    /// A pipeline by id (404 with the reference's message).
    pub async fn get_pipeline(&self, id: Uuid) -> Result<PipelineView, Error> {
        let row = self.find_pipeline(id).await?.ok_or_else(|| not_found("pipeline", id))?;
        Ok(self.pipeline_views(vec![row]).await?.pop().expect("one view per row"))
    }

    /// Create a pipeline; 409 with the reference's message when the name is taken in the
    /// project.
    pub async fn create_pipeline(&self, p: NewPipeline, user_id: Uuid) -> Result<Uuid, Error> {
        crate::components::check_name("Pipeline", &p.name)?;
        self.require_project(p.project_id, "pipeline").await?;
        let id = Uuid::new_v4();
        let now = utc_now();
        let conflict = format!(
            "Unable to create pipeline in project '{}': A pipeline with the name {} already exists.",
            p.project_id, p.name
        );
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `pipeline` (`id`, `created`, `updated`, `name`, `description`, `project_id`, `user_id`, \
                 `run_count`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                p.name.clone(),
                p.description.clone(),
                p.project_id,
                user_id,
                0i64
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(id)
    }

    /// `PipelineUpdate`: the description is always replaced (also by null), as in the
    /// reference.
    pub async fn update_pipeline(&self, id: Uuid, description: Option<String>) -> Result<(), Error> {
        let n = self
            .db
            .clone()
            .execute(q!(
                "UPDATE `pipeline` SET `description` = ?, `updated` = ? WHERE `id` = ?",
                description,
                utc_now(),
                id
            ))
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(not_found("pipeline", id));
        }
        Ok(())
    }

    /// Delete a pipeline with its snapshots, runs and step runs (database cascades) and the
    /// tag and metadata links of all of them.
    pub async fn delete_pipeline(&self, id: Uuid) -> Result<(), Error> {
        self.find_pipeline(id).await?.ok_or_else(|| not_found("pipeline", id))?;
        let mut tx = self.db.begin().await?;
        let snapshots = ids_where(&mut tx, "SELECT `id` FROM `pipeline_snapshot` WHERE `pipeline_id` = ?", id).await?;
        crate::snapshots::delete_snapshot_dependents(&mut tx, &snapshots).await?;
        delete_links(&mut tx, "pipeline", &[id]).await?;
        tx.execute(q!("DELETE FROM `pipeline` WHERE `id` = ?", id)).await.map_err(db_err)?;
        tx.commit().await
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub id: String,
}

/// The ids a one-parameter query returns.
pub(crate) async fn ids_where(tx: &mut Tx, sql: &str, param: Uuid) -> Result<Vec<Uuid>, Error> {
    let rows: Vec<IdRow> = tx.fetch_all(q!(sql, param)).await.map_err(db_err)?;
    Ok(rows.iter().map(|r| parse_id(&r.id)).collect())
}

// ------------------------------------------------------------------------------------------
// Pipeline builds
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BuildRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub user_id: Option<String>,
    pub project_id: String,
    pub stack_id: Option<String>,
    pub pipeline_id: Option<String>,
    pub images: String,
    pub is_local: bool,
    pub contains_code: bool,
    pub zenml_version: Option<String>,
    pub python_version: Option<String>,
    pub checksum: Option<String>,
    pub stack_checksum: Option<String>,
    pub duration: Option<i64>,
}

impl BuildRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    /// `images` (a JSON object).
    pub fn images_json(&self) -> Json {
        serde_json::from_str(&self.images).unwrap_or(Json::Object(Default::default()))
    }
    /// Whether a server could run a snapshot of this build (`is_runnable` of the reference).
    pub fn is_runnable(&self) -> bool {
        !self.is_local && self.stack_id.is_some()
    }
}

pub const BUILD_COLS: &str = "`pipeline_build`.`id`, `pipeline_build`.`created`, `pipeline_build`.`updated`, \
    `pipeline_build`.`user_id`, `pipeline_build`.`project_id`, `pipeline_build`.`stack_id`, \
    `pipeline_build`.`pipeline_id`, `pipeline_build`.`images`, `pipeline_build`.`is_local`, \
    `pipeline_build`.`contains_code`, `pipeline_build`.`zenml_version`, `pipeline_build`.`python_version`, \
    `pipeline_build`.`checksum`, `pipeline_build`.`stack_checksum`, `pipeline_build`.`duration`";

/// The fields of `PipelineBuildFilter` (`container_registry_id` is not supported).
pub static BUILD_LIST: ListSpec = ListSpec {
    from: "`pipeline_build`",
    id: "`pipeline_build`.`id`",
    select: BUILD_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`pipeline_build`.`id`"),
        Field::col("created", Kind::Datetime, "`pipeline_build`.`created`"),
        Field::col("updated", Kind::Datetime, "`pipeline_build`.`updated`"),
        Field::related("user", "`pipeline_build`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::col("pipeline_id", Kind::Uuid, "`pipeline_build`.`pipeline_id`"),
        Field::col("stack_id", Kind::Uuid, "`pipeline_build`.`stack_id`"),
        Field::col("is_local", Kind::Bool, "`pipeline_build`.`is_local`"),
        Field::col("contains_code", Kind::Bool, "`pipeline_build`.`contains_code`"),
        Field::col("zenml_version", Kind::Str, "`pipeline_build`.`zenml_version`"),
        Field::col("python_version", Kind::Str, "`pipeline_build`.`python_version`"),
        Field::col("checksum", Kind::Str, "`pipeline_build`.`checksum`"),
        Field::col("stack_checksum", Kind::Str, "`pipeline_build`.`stack_checksum`"),
        Field::col("duration", Kind::Int, "`pipeline_build`.`duration`"),
    ],
};

/// A build with its owner, pipeline and stack.
#[derive(Debug, Clone)]
pub struct BuildView {
    pub row: BuildRow,
    pub user: Option<UserRow>,
    pub pipeline: Option<PipelineRow>,
    pub stack: Option<StackRow>,
}

/// A new build (`PipelineBuildRequest`).
#[derive(Debug, Clone)]
pub struct NewBuild {
    pub project_id: Uuid,
    pub images: Json,
    pub is_local: bool,
    pub contains_code: bool,
    pub zenml_version: Option<String>,
    pub python_version: Option<String>,
    pub duration: Option<i64>,
    pub checksum: Option<String>,
    pub stack_checksum: Option<String>,
    pub stack_id: Option<Uuid>,
    pub pipeline_id: Option<Uuid>,
}

impl Store {
    /// A page of builds of a project: count, page, owners, pipelines, stacks.
    pub async fn list_builds(&self, project_id: Uuid, params: &ListParams) -> Result<Page<BuildView>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`pipeline_build`.`project_id` = ?", project_id));
        let page: Page<BuildRow> = list::list(&self.db, &BUILD_LIST, params, &wh).await?;
        let views = self.build_views(page.items.clone()).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners, pipelines and stacks of these builds (three queries).
    pub async fn build_views(&self, rows: Vec<BuildRow>) -> Result<Vec<BuildView>, Error> {
        let users = self.users_by_id(&unique(rows.iter().filter_map(|b| parse_opt_id(&b.user_id)))).await?;
        let pipelines = self
            .pipelines_by_ids(&rows.iter().filter_map(|b| parse_opt_id(&b.pipeline_id)).collect::<Vec<_>>())
            .await?;
        let stacks =
            self.stacks_by_ids(&rows.iter().filter_map(|b| parse_opt_id(&b.stack_id)).collect::<Vec<_>>()).await?;
        Ok(rows
            .into_iter()
            .map(|row| BuildView {
                user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                pipeline: parse_opt_id(&row.pipeline_id).and_then(|p| pipelines.get(&p).cloned()),
                stack: parse_opt_id(&row.stack_id).and_then(|s| stacks.get(&s).cloned()),
                row,
            })
            .collect())
    }

    /// Builds by id (one query).
    pub async fn builds_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, BuildRow>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query =
            Query::new(format!("SELECT {BUILD_COLS} FROM `pipeline_build` WHERE `pipeline_build`.`id` IN "));
        push_ids(&mut query, &ids);
        let rows: Vec<BuildRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.uuid(), r)).collect())
    }

    /// A build by id (404 with the reference's message).
    pub async fn get_build(&self, id: Uuid) -> Result<BuildView, Error> {
        let row = self.builds_by_ids(&[id]).await?.remove(&id).ok_or_else(|| not_found("pipeline build", id))?;
        Ok(self.build_views(vec![row]).await?.pop().expect("one view per row"))
    }

    /// Create a build; its stack and pipeline must exist (404 otherwise).
    pub async fn create_build(&self, b: NewBuild, user_id: Uuid) -> Result<Uuid, Error> {
        self.require_project(b.project_id, "pipeline build").await?;
        if let Some(s) = b.stack_id
            && self.find_stack(s).await?.is_none()
        {
            return Err(missing_reference("stack", s, "pipeline build"));
        }
        if let Some(p) = b.pipeline_id
            && self.find_pipeline(p).await?.is_none_or(|r| parse_id(&r.project_id) != b.project_id)
        {
            return Err(missing_reference("pipeline", p, "pipeline build"));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `pipeline_build` (`id`, `created`, `updated`, `user_id`, `project_id`, `stack_id`, \
                 `pipeline_id`, `images`, `is_local`, `contains_code`, `zenml_version`, `python_version`, `checksum`, \
                 `stack_checksum`, `duration`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                user_id,
                b.project_id,
                b.stack_id,
                b.pipeline_id,
                python_json(&b.images),
                b.is_local,
                b.contains_code,
                b.zenml_version,
                b.python_version,
                b.checksum,
                b.stack_checksum,
                b.duration
            ))
            .await
            .map_err(db_err)?;
        Ok(id)
    }

    /// Delete a build (snapshots and runs keep a null build).
    pub async fn delete_build(&self, id: Uuid) -> Result<(), Error> {
        let n = self.db.clone().execute(q!("DELETE FROM `pipeline_build` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("pipeline build", id));
        }
        Ok(())
    }
}
