//! Projects (`project` table).

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::Kind;
use zenpro_types::{Error, Page, time::utc_now};

use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::{NameOrId, Store, db_err, q};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub project_metadata: Option<String>,
}

const COLS: &str = "`id`, `created`, `updated`, `name`, `display_name`, `description`, `project_metadata`";

pub static PROJECT_LIST: ListSpec = ListSpec {
    from: "`project`",
    id: "`id`",
    select: COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`id`"),
        Field::col("created", Kind::Datetime, "`created`"),
        Field::col("updated", Kind::Datetime, "`updated`"),
        Field::col("name", Kind::Str, "`name`"),
        Field::col("display_name", Kind::Str, "`display_name`"),
    ],
};

/// A new project.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub metadata_json: String,
}

/// Changes to a project; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub metadata_json: Option<String>,
}

impl Store {
    pub async fn list_projects(&self, params: &ListParams) -> Result<Page<ProjectRow>, Error> {
        list::list(&self.db, &PROJECT_LIST, params, &Where::new()).await
    }

    pub async fn find_project(&self, key: &NameOrId) -> Result<Option<ProjectRow>, Error> {
        let query = match key {
            NameOrId::Id(id) => q!(format!("SELECT {COLS} FROM `project` WHERE `id` = ?"), *id),
            NameOrId::Name(n) => q!(format!("SELECT {COLS} FROM `project` WHERE `name` = ?"), n),
        };
        self.db.clone().fetch_optional(query).await.map_err(db_err)
    }

    pub async fn get_project(&self, key: &NameOrId) -> Result<ProjectRow, Error> {
        self.find_project(key).await?.ok_or_else(|| match key {
            NameOrId::Id(id) => {
                Error::not_found(format!("Unable to get project with name or ID '{id}': No project with this ID found."))
            }
            NameOrId::Name(n) => Error::not_found(format!(
                "Unable to get project with name or ID '{n}': '{n}' is not a valid  UUID and no project with this name exists."
            )),
        })
    }

    pub async fn create_project(&self, p: NewProject) -> Result<ProjectRow, Error> {
        let id = Uuid::new_v4();
        let now = utc_now();
        let conflict = format!(
            "Unable to create the requested project with name '{}': Found another existing project with the same name.",
            p.name
        );
        self.db
            .clone()
            .execute(q!(
                "INSERT INTO `project` (`id`, `created`, `updated`, `name`, `display_name`, `description`, `project_metadata`) VALUES (?, ?, ?, ?, ?, ?, ?)",
                id, now, now, p.name, p.display_name, p.description, p.metadata_json
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.get_project(&NameOrId::Id(id)).await
    }

    pub async fn update_project(&self, key: &NameOrId, u: ProjectUpdate) -> Result<ProjectRow, Error> {
        let cur = self.get_project(key).await?;
        let name = u.name.unwrap_or(cur.name);
        let conflict = format!(
            "Unable to update the requested project with name '{name}': Found another existing project with the same name."
        );
        self.db
            .clone()
            .execute(q!(
                "UPDATE `project` SET `updated` = ?, `name` = ?, `display_name` = ?, `description` = ?, `project_metadata` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.display_name.unwrap_or(cur.display_name),
                u.description.unwrap_or(cur.description),
                u.metadata_json.or(cur.project_metadata),
                cur.id.clone()
            ))
            .await
            .map_err(|e| crate::db::map_err(e, &conflict))?;
        self.get_project(&NameOrId::Id(crate::parse_id(&cur.id))).await
    }

    /// Delete a project; its project-scoped rows go with it (FK `ON DELETE CASCADE`).
    pub async fn delete_project(&self, key: &NameOrId) -> Result<(), Error> {
        let cur = self.get_project(key).await?;
        self.db.clone().execute(q!("DELETE FROM `project` WHERE `id` = ?", cur.id)).await.map_err(db_err)?;
        Ok(())
    }
}
