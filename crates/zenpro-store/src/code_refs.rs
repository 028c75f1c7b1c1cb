//! Code repositories (`code_repository`, unique per (name, project)) and the code references
//! of snapshots (`code_reference`: a commit and subdirectory of a repository, reused when the
//! same triple appears again in the project).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::Value as Json;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::pipelines::{not_found, push_ids, unique};
use crate::stacks::python_json;
use crate::users::UserRow;
use crate::{Query, Store, Tx, db_err, parse_id, parse_opt_id, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRepositoryRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub config: String,
    pub source: String,
    pub logo_url: Option<String>,
    pub description: Option<String>,
}

impl CodeRepositoryRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
    pub fn config_json(&self) -> Json {
        serde_json::from_str(&self.config).unwrap_or(Json::Object(Default::default()))
    }
    pub fn source_json(&self) -> Json {
        serde_json::from_str(&self.source).unwrap_or(Json::Null)
    }
}

pub const CODE_REPOSITORY_COLS: &str = "`code_repository`.`id`, `code_repository`.`created`, \
    `code_repository`.`updated`, `code_repository`.`name`, `code_repository`.`project_id`, \
    `code_repository`.`user_id`, `code_repository`.`config`, `code_repository`.`source`, \
    `code_repository`.`logo_url`, `code_repository`.`description`";

/// The fields of `CodeRepositoryFilter` (`project` is resolved by the caller).
pub static CODE_REPOSITORY_LIST: ListSpec = ListSpec {
    from: "`code_repository`",
    id: "`code_repository`.`id`",
    select: CODE_REPOSITORY_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`code_repository`.`id`"),
        Field::col("created", Kind::Datetime, "`code_repository`.`created`"),
        Field::col("updated", Kind::Datetime, "`code_repository`.`updated`"),
        Field::col("name", Kind::Str, "`code_repository`.`name`"),
        Field::related("user", "`code_repository`.`user_id`", "`user`", &["id", "name", "full_name"]),
    ],
};

/// A code repository with its owner.
#[derive(Debug, Clone)]
pub struct CodeRepositoryView {
    pub row: CodeRepositoryRow,
    pub user: Option<UserRow>,
}

/// A new code repository (`CodeRepositoryRequest`).
#[derive(Debug, Clone)]
pub struct NewCodeRepository {
    pub project_id: Uuid,
    pub name: String,
    pub config: Json,
    pub source: Json,
    pub logo_url: Option<String>,
    pub description: Option<String>,
}

/// `CodeRepositoryUpdate`: empty values keep the stored ones, as in the reference.
#[derive(Debug, Clone, Default)]
pub struct CodeRepositoryUpdate {
    pub name: Option<String>,
    pub config: Option<Json>,
    pub logo_url: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeReferenceRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub project_id: String,
    pub code_repository_id: String,
    pub commit: String,
    pub subdirectory: String,
}

/// A code reference with its repository.
#[derive(Debug, Clone)]
pub struct CodeReferenceView {
    pub row: CodeReferenceRow,
    pub repository: CodeRepositoryRow,
}

fn exists_message(op: &str, name: &str, project: &str) -> String {
    format!(
        "Unable to {op} the requested code repository with name '{name}': Found another existing code repository \
         with the same name in the '{project}' project."
    )
}

impl Store {
    /// A page of code repositories of a project: count, page, owners.
    pub async fn list_code_repositories(
        &self,
        project_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<CodeRepositoryView>, Error> {
        let mut wh = Where::new();
        wh.and(q!("`code_repository`.`project_id` = ?", project_id));
        let page: Page<CodeRepositoryRow> = list::list(&self.db, &CODE_REPOSITORY_LIST, params, &wh).await?;
        let users = self.users_by_id(&unique(page.items.iter().filter_map(|r| parse_opt_id(&r.user_id)))).await?;
        Ok(page.map(|row| CodeRepositoryView {
            user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
            row,
        }))
    }

    async fn find_code_repository(&self, id: Uuid) -> Result<Option<CodeRepositoryRow>, Error> {
        self.db
            .clone()
            .fetch_optional(q!(
                format!("SELECT {CODE_REPOSITORY_COLS} FROM `code_repository` WHERE `code_repository`.`id` = ?"),
                id
            ))
            .await
            .map_err(db_err)
    }

    /// A code repository by id (404 with the reference's message).
    pub async fn get_code_repository(&self, id: Uuid) -> Result<CodeRepositoryView, Error> {
        let row = self.find_code_repository(id).await?.ok_or_else(|| not_found("code repository", id))?;
        let user = match parse_opt_id(&row.user_id) {
            Some(u) => self.users_by_id(&[u]).await?.remove(&u),
            None => None,
        };
        Ok(CodeRepositoryView { row, user })
    }

    async fn code_repository_project(&self, id: Uuid) -> Result<String, Error> {
        Ok(self.find_project(&crate::NameOrId::Id(id)).await?.map(|p| p.name).unwrap_or_else(|| id.to_string()))
    }

    /// Create a code repository; 409 when the name is taken in the project.
    pub async fn create_code_repository(&self, r: NewCodeRepository, user_id: Uuid) -> Result<Uuid, Error> {
        self.require_project(r.project_id, "code repository").await?;
        let conflict = exists_message("create", &r.name, &self.code_repository_project(r.project_id).await?);
        let taken = self
            .db
            .clone()
            .fetch_i64(q!(
                "SELECT count(*) FROM `code_repository` WHERE `name` = ? AND `project_id` = ?",
                r.name.clone(),
                r.project_id
            ))
            .await
            .map_err(db_err)?;
        if taken > 0 {
            return Err(Error::exists(conflict));
        }
        let id = Uuid::new_v4();
        let now = utc_now();
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `code_repository` (`id`, `created`, `updated`, `name`, `project_id`, `user_id`, `config`, \
                 `source`, `logo_url`, `description`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                r.name.clone(),
                r.project_id,
                user_id,
                python_json(&r.config),
                serde_json::to_string(&r.source).unwrap_or_default(),
                r.logo_url,
                r.description
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(id)
    }

    /// Update a code repository (empty values keep the stored ones).
    pub async fn update_code_repository(&self, id: Uuid, u: CodeRepositoryUpdate) -> Result<(), Error> {
        let cur = self.find_code_repository(id).await?.ok_or_else(|| not_found("code repository", id))?;
        let name = u.name.filter(|n| !n.is_empty()).unwrap_or_else(|| cur.name.clone());
        let project = parse_id(&cur.project_id);
        let conflict = exists_message("update", &name, &self.code_repository_project(project).await?);
        if name != cur.name {
            let taken = self
                .db
                .clone()
                .fetch_i64(q!(
                    "SELECT count(*) FROM `code_repository` WHERE `name` = ? AND `project_id` = ? AND `id` != ?",
                    name.clone(),
                    project,
                    id
                ))
                .await
                .map_err(db_err)?;
            if taken > 0 {
                return Err(Error::exists(conflict));
            }
        }
        let config = u.config.filter(|c| c.as_object().is_some_and(|m| !m.is_empty())).map(|c| python_json(&c));
        self.db
            .clone()
            .execute(q!(
                "UPDATE `code_repository` SET `updated` = ?, `name` = ?, `config` = ?, `logo_url` = ?, `description` = ? \
                 WHERE `id` = ?",
                utc_now(),
                name,
                config.unwrap_or(cur.config),
                u.logo_url.filter(|s| !s.is_empty()).or(cur.logo_url),
                u.description.filter(|s| !s.is_empty()).or(cur.description),
                id
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        Ok(())
    }

    /// Delete a code repository (its code references go with it).
    pub async fn delete_code_repository(&self, id: Uuid) -> Result<(), Error> {
        let n =
            self.db.clone().execute(q!("DELETE FROM `code_repository` WHERE `id` = ?", id)).await.map_err(db_err)?;
        if n == 0 {
            return Err(not_found("code repository", id));
        }
        Ok(())
    }

    /// Code references with their repositories, by id (two queries).
    pub async fn code_references_by_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, CodeReferenceView>, Error> {
        let ids = unique(ids.iter().copied());
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = Query::new(
            "SELECT `id`, `created`, `updated`, `project_id`, `code_repository_id`, `commit`, `subdirectory` \
             FROM `code_reference` WHERE `id` IN ",
        );
        push_ids(&mut query, &ids);
        let refs: Vec<CodeReferenceRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let repo_ids = unique(refs.iter().map(|r| parse_id(&r.code_repository_id)));
        let mut repos: HashMap<Uuid, CodeRepositoryRow> = HashMap::new();
        if !repo_ids.is_empty() {
            let mut query = Query::new(format!(
                "SELECT {CODE_REPOSITORY_COLS} FROM `code_repository` WHERE `code_repository`.`id` IN "
            ));
            push_ids(&mut query, &repo_ids);
            let rows: Vec<CodeRepositoryRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            repos = rows.into_iter().map(|r| (r.uuid(), r)).collect();
        }
        Ok(refs
            .into_iter()
            .filter_map(|row| {
                let repository = repos.get(&parse_id(&row.code_repository_id))?.clone();
                Some((parse_id(&row.id), CodeReferenceView { row, repository }))
            })
            .collect())
    }

    /// Check that a code repository exists (404 otherwise).
    pub async fn require_code_repository(&self, id: Uuid, resource: &str) -> Result<(), Error> {
        match self.find_code_repository(id).await? {
            Some(_) => Ok(()),
            None => Err(crate::pipelines::missing_reference("code repository", id, resource)),
        }
    }
}

/// The id of the code reference (project, repository, commit, subdirectory), created when
/// missing.
pub(crate) async fn create_or_reuse_code_reference(
    tx: &mut Tx,
    project_id: Uuid,
    repository_id: Uuid,
    commit: &str,
    subdirectory: &str,
) -> Result<Uuid, Error> {
    let existing: Option<crate::pipelines::IdRow> = tx
        .fetch_optional(q!(
            "SELECT `id` FROM `code_reference` WHERE `project_id` = ? AND `code_repository_id` = ? AND `commit` = ? \
             AND `subdirectory` = ?",
            project_id,
            repository_id,
            commit,
            subdirectory
        ))
        .await
        .map_err(db_err)?;
    if let Some(r) = existing {
        return Ok(parse_id(&r.id));
    }
    let id = Uuid::new_v4();
    let now = utc_now();
    tx.execute(q!(
        "INSERT INTO `code_reference` (`id`, `created`, `updated`, `project_id`, `code_repository_id`, `commit`, \
         `subdirectory`) VALUES (?, ?, ?, ?, ?, ?, ?)",
        id,
        now,
        now,
        project_id,
        repository_id,
        commit,
        subdirectory
    ))
    .await
    .map_err(db_err)?;
    Ok(id)
}
