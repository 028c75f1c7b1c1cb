//! The control plane's own schema: numbered migrations of DDL text that SQLite, MySQL/MariaDB and
//! PostgreSQL all accept (ids `VARCHAR(36)`, times `VARCHAR(32)` ISO-8601 text, booleans and
//! counters `BIGINT`). `cp_schema_version` records the migrations applied.

use crate::db::{Db, map_err};
use crate::q;
use zenpro_types::Error;

/// Migration 1: every table of `docs/control-plane.md`.
const V1: &[&str] = &[
    "CREATE TABLE users (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        username VARCHAR(255) NOT NULL UNIQUE,
        email VARCHAR(255) NULL,
        full_name VARCHAR(255) NULL,
        password_hash VARCHAR(255) NULL,
        is_superuser BIGINT NOT NULL DEFAULT 0,
        is_service_account BIGINT NOT NULL DEFAULT 0,
        organization_id VARCHAR(36) NULL,
        active BIGINT NOT NULL DEFAULT 1,
        password_changed VARCHAR(32) NULL,
        created VARCHAR(32) NOT NULL,
        updated VARCHAR(32) NOT NULL
    )",
    "CREATE TABLE organizations (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL UNIQUE,
        description TEXT NULL,
        created VARCHAR(32) NOT NULL,
        updated VARCHAR(32) NOT NULL
    )",
    "CREATE TABLE workspaces (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        organization_id VARCHAR(36) NOT NULL,
        name VARCHAR(255) NOT NULL UNIQUE,
        description TEXT NULL,
        url VARCHAR(1024) NULL,
        server_url VARCHAR(1024) NULL,
        version VARCHAR(64) NULL,
        status VARCHAR(32) NOT NULL,
        desired_state VARCHAR(32) NOT NULL,
        state_reason TEXT NULL,
        enrollment_key_hash VARCHAR(64) NULL,
        last_seen VARCHAR(32) NULL,
        created VARCHAR(32) NOT NULL,
        updated VARCHAR(32) NOT NULL,
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE
    )",
    "CREATE TABLE teams (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        organization_id VARCHAR(36) NOT NULL,
        name VARCHAR(255) NOT NULL,
        description TEXT NULL,
        created VARCHAR(32) NOT NULL,
        updated VARCHAR(32) NOT NULL,
        UNIQUE (organization_id, name),
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE
    )",
    "CREATE TABLE team_members (
        team_id VARCHAR(36) NOT NULL,
        user_id VARCHAR(36) NOT NULL,
        created VARCHAR(32) NOT NULL,
        PRIMARY KEY (team_id, user_id),
        FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    )",
    "CREATE TABLE role_assignments (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        role VARCHAR(64) NOT NULL,
        scope VARCHAR(16) NOT NULL,
        organization_id VARCHAR(36) NOT NULL,
        workspace_id VARCHAR(36) NULL,
        project_id VARCHAR(36) NULL,
        user_id VARCHAR(36) NULL,
        team_id VARCHAR(36) NULL,
        grant_key VARCHAR(255) NOT NULL UNIQUE,
        created VARCHAR(32) NOT NULL,
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
        FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE
    )",
    "CREATE TABLE api_keys (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        user_id VARCHAR(36) NOT NULL,
        secret_hash VARCHAR(64) NOT NULL,
        active BIGINT NOT NULL DEFAULT 1,
        last_used VARCHAR(32) NULL,
        created VARCHAR(32) NOT NULL,
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    )",
    "CREATE TABLE devices (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        client_id VARCHAR(255) NOT NULL,
        device_code_hash VARCHAR(64) NOT NULL UNIQUE,
        user_code VARCHAR(64) NOT NULL UNIQUE,
        status VARCHAR(16) NOT NULL,
        user_id VARCHAR(36) NULL,
        workspace_id VARCHAR(36) NULL,
        device_id VARCHAR(255) NULL,
        user_agent VARCHAR(1024) NULL,
        ip_address VARCHAR(64) NULL,
        hostname VARCHAR(255) NULL,
        os VARCHAR(255) NULL,
        python_version VARCHAR(64) NULL,
        zenml_version VARCHAR(64) NULL,
        failed_attempts BIGINT NOT NULL DEFAULT 0,
        created VARCHAR(32) NOT NULL,
        expires VARCHAR(32) NOT NULL,
        last_poll VARCHAR(32) NULL,
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
    )",
    "CREATE TABLE shares (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        workspace_id VARCHAR(36) NOT NULL,
        resource_type VARCHAR(64) NOT NULL,
        resource_id VARCHAR(36) NULL,
        project_id VARCHAR(36) NULL,
        user_id VARCHAR(36) NULL,
        team_id VARCHAR(36) NULL,
        actions VARCHAR(255) NOT NULL,
        sharing_user_id VARCHAR(36) NULL,
        created VARCHAR(32) NOT NULL,
        FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE
    )",
    "CREATE TABLE usage_events (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        organization_id VARCHAR(36) NOT NULL,
        workspace_id VARCHAR(36) NOT NULL,
        feature VARCHAR(255) NOT NULL,
        resource_id VARCHAR(255) NOT NULL,
        total BIGINT NULL,
        metadata TEXT NULL,
        created VARCHAR(32) NOT NULL,
        UNIQUE (organization_id, workspace_id, feature, resource_id)
    )",
    "CREATE TABLE login_failures (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        username VARCHAR(255) NOT NULL,
        address VARCHAR(64) NOT NULL,
        created VARCHAR(32) NOT NULL
    )",
    "CREATE INDEX ix_login_failures_key ON login_failures (username, address, created)",
    "CREATE INDEX ix_role_assignments_user ON role_assignments (user_id)",
    "CREATE INDEX ix_role_assignments_team ON role_assignments (team_id)",
    "CREATE INDEX ix_shares_workspace ON shares (workspace_id, resource_type)",
    "CREATE INDEX ix_team_members_user ON team_members (user_id)",
];

/// All migrations, in order; the position + 1 is the version.
const MIGRATIONS: &[&[&str]] = &[V1];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the database to [`VERSION`]. Refuses a database from a newer zenpro. When several
/// replicas start on a fresh database at once, the losers' DDL fails; they then wait (up to a
/// minute) for the winner to stamp the version instead of failing start-up.
pub async fn migrate(db: &Db) -> Result<i64, Error> {
    match migrate_once(db).await {
        Ok(v) => Ok(v),
        Err((e, false)) => Err(e),
        Err((e, true)) => {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let v = db.clone().fetch_i64(q!("SELECT COALESCE(MAX(version), 0) FROM cp_schema_version")).await;
                if matches!(v, Ok(v) if v == VERSION) {
                    tracing::info!("another process migrated the control-plane schema");
                    return Ok(VERSION);
                }
            }
            Err(e)
        }
    }
}

/// `Err((e, true))`: a statement failed, possibly because another process is migrating.
async fn migrate_once(db: &Db) -> Result<i64, (Error, bool)> {
    let err = |e| (map_err(e, "schema version conflict"), true);
    let mut db = db.clone();
    db.execute(q!("CREATE TABLE IF NOT EXISTS cp_schema_version (
            version BIGINT NOT NULL PRIMARY KEY,
            applied VARCHAR(32) NOT NULL
        )"))
        .await
        .map_err(err)?;
    let current = db.fetch_i64(q!("SELECT COALESCE(MAX(version), 0) FROM cp_schema_version")).await.map_err(err)?;
    if current > VERSION {
        return Err((
            Error::internal(format!(
                "the control-plane database has schema version {current}, newer than this zenpro ({VERSION})"
            )),
            false,
        ));
    }
    for (i, statements) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        for s in *statements {
            db.execute(q!(*s))
                .await
                .map_err(|e| (Error::internal(format!("migration {version} failed: {e}")), true))?;
        }
        db.execute(q!("INSERT INTO cp_schema_version (version, applied) VALUES (?, ?)", version, crate::now_text()))
            .await
            .map_err(err)?;
        tracing::info!(version, "control-plane schema migrated");
    }
    Ok(VERSION)
}
