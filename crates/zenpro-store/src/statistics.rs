//! Counts behind `GET /statistics` and `GET /projects/{p}/statistics` (the reference's
//! `ServerStatistics` and `ProjectStatistics`). One `count(*)` per figure, on indexed columns.

use uuid::Uuid;
use zenpro_types::Error;

use crate::{Store, db_err, q};

/// Stacks, stack components and projects of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerStatistics {
    pub stacks: i64,
    pub components: i64,
    pub projects: i64,
}

/// Pipelines and pipeline runs of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectStatistics {
    pub pipelines: i64,
    pub runs: i64,
}

impl Store {
    pub async fn server_statistics(&self) -> Result<ServerStatistics, Error> {
        let mut db = self.db.clone();
        let stacks = db.fetch_i64(q!("SELECT count(*) FROM `stack`")).await.map_err(db_err)?;
        let components = db.fetch_i64(q!("SELECT count(*) FROM `stack_component`")).await.map_err(db_err)?;
        let projects = db.fetch_i64(q!("SELECT count(*) FROM `project`")).await.map_err(db_err)?;
        Ok(ServerStatistics { stacks, components, projects })
    }

    pub async fn project_statistics(&self, project_id: Uuid) -> Result<ProjectStatistics, Error> {
        let mut db = self.db.clone();
        let pipelines = db
            .fetch_i64(q!("SELECT count(*) FROM `pipeline` WHERE `project_id` = ?", project_id))
            .await
            .map_err(db_err)?;
        let runs = db
            .fetch_i64(q!("SELECT count(*) FROM `pipeline_run` WHERE `project_id` = ?", project_id))
            .await
            .map_err(db_err)?;
        Ok(ProjectStatistics { pipelines, runs })
    }
}
