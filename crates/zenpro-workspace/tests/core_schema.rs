//! Start-up on a database: what a fresh database contains, that a restart adds nothing, which
//! existing databases are refused, and that the created schema is the DDL of ZenML 0.98.0.

mod common;

use common::{ADMIN, TestDb};
use zenpro_store::{Backend, Db, Query, q};

const SQLITE_DDL: &str = include_str!("../../zenpro-store/schema/sqlite.sql");
const MYSQL_DDL: &str = include_str!("../../zenpro-store/schema/mysql.sql");

async fn count(db: &Db, sql: &str) -> i64 {
    db.clone().fetch_i64(Query::new(sql)).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn table_count(db: &Db) -> i64 {
    match db.backend() {
        Backend::Sqlite => count(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").await,
        Backend::MySql => {
            count(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()").await
        }
    }
}

#[derive(sqlx::FromRow, Debug)]
struct Text {
    v: Option<String>,
}

async fn texts(db: &Db, query: Query) -> Vec<Option<String>> {
    db.clone().fetch_all::<Text>(query).await.expect("query runs").into_iter().map(|t| t.v).collect()
}

async fn alembic(db: &Db) -> Vec<Option<String>> {
    texts(db, q!("SELECT version_num AS v FROM alembic_version")).await
}

#[derive(sqlx::FromRow, Debug)]
struct AdminRow {
    name: String,
    is_admin: bool,
    active: bool,
    is_service_account: bool,
    password: Option<String>,
    password_changed_at: Option<chrono::NaiveDateTime>,
    oidc_claims: Option<String>,
}

#[derive(sqlx::FromRow, Debug)]
struct SettingsRow {
    active: bool,
    enable_analytics: bool,
    display_announcements: Option<bool>,
    display_updates: Option<bool>,
    onboarding_state: Option<String>,
    server_name: String,
}

#[derive(sqlx::FromRow, Debug)]
struct ProjectRow {
    name: String,
    display_name: String,
    description: String,
    project_metadata: Option<String>,
}

#[derive(sqlx::FromRow, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ComponentRow {
    kind: String,
    name: String,
    flavor: String,
    configuration: Vec<u8>,
    user_id: Option<String>,
}

/// Every first-start row of §3 of the schema notes, as a user inspecting the database sees it.
async fn assert_first_start_rows(db: &Db) {
    assert_eq!(table_count(db).await, 53, "52 ZenML tables + alembic_version");
    assert_eq!(alembic(db).await, vec![Some("0.98.0".to_string())]);
    assert_eq!(count(db, "SELECT count(*) FROM flavor").await, 82);
    assert_eq!(count(db, "SELECT count(*) FROM flavor WHERE is_custom = 1 OR user_id IS NOT NULL").await, 0);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM flavor WHERE name = 'local' AND type = 'orchestrator' AND integration = 'built-in'"
        )
        .await,
        1
    );

    let settings: Vec<SettingsRow> = db
        .clone()
        .fetch_all(q!(
            "SELECT active, enable_analytics, display_announcements, display_updates, onboarding_state, server_name \
             FROM server_settings"
        ))
        .await
        .unwrap();
    assert_eq!(settings.len(), 1, "{settings:?}");
    let s = &settings[0];
    assert!(s.active, "auto-activated");
    assert!(!s.enable_analytics, "ZENML_ANALYTICS_OPT_IN=false");
    assert_eq!((s.display_announcements, s.display_updates), (Some(true), Some(true)));
    assert_eq!(s.onboarding_state.as_deref(), Some(r#"["project_created"]"#));
    assert_eq!(s.server_name, "default");

    let projects: Vec<ProjectRow> = db
        .clone()
        .fetch_all(q!("SELECT name, display_name, description, project_metadata FROM project"))
        .await
        .unwrap();
    assert_eq!(projects.len(), 1);
    let p = &projects[0];
    assert_eq!((p.name.as_str(), p.display_name.as_str(), p.description.as_str()), ("default", "default", ""));
    assert_eq!(p.project_metadata.as_deref(), Some("{}"));

    assert_eq!(count(db, "SELECT count(*) FROM stack WHERE name = 'default' AND user_id IS NULL").await, 1);
    let mut comps: Vec<ComponentRow> = db
        .clone()
        .fetch_all(q!("SELECT `type` AS kind, name, flavor, configuration, user_id FROM stack_component"))
        .await
        .unwrap();
    comps.sort();
    let kinds: Vec<&str> = comps.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["artifact_store", "deployer", "orchestrator"]);
    for c in &comps {
        assert_eq!((c.name.as_str(), c.flavor.as_str(), c.user_id.as_deref()), ("default", "local", None));
        assert_eq!(c.configuration, b"e30=", "base64 of {{}}");
    }
    // Each component is in the default stack as the default of its type.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM stack_composition sc JOIN stack s ON s.id = sc.stack_id \
             JOIN stack_component c ON c.id = sc.component_id \
             WHERE s.name = 'default' AND sc.default_for_type = c.`type`"
        )
        .await,
        3
    );

    let users: Vec<AdminRow> = db
        .clone()
        .fetch_all(q!("SELECT name, is_admin, active, is_service_account, password, password_changed_at, \
             CAST(oidc_claims AS CHAR) AS oidc_claims FROM `user`"))
        .await
        .unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    let u = &users[0];
    assert_eq!(u.name, ADMIN);
    assert!(u.is_admin && u.active && !u.is_service_account);
    let hash = u.password.as_deref().unwrap_or_default();
    assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "bcrypt as passlib writes it: {hash}");
    assert!(bcrypt::verify(common::ADMIN_PW, hash).unwrap());
    assert!(u.password_changed_at.is_some(), "a non-empty default password counts as set");
    assert_eq!(u.oidc_claims.as_deref(), Some("null"), "users get the JSON text null");
}

backend_tests!(@db fresh_database_has_the_first_start_rows, |tdb: TestDb| async move {
    let state = tdb.build(&[]).await.expect("builds on an empty database");
    assert_first_start_rows(&state.store().db).await;
});

backend_tests!(@db second_start_adds_nothing, |tdb: TestDb| async move {
    let first = tdb.build(&[]).await.expect("first start");
    let server_id = first.server_id();
    first.store().db.close().await;
    // A different default password on the second start must not touch the existing admin.
    let second = tdb.build(&[("ZENML_DEFAULT_USER_PASSWORD", "other")]).await.expect("second start");
    assert_eq!(second.server_id(), server_id, "the server id is kept");
    assert_first_start_rows(&second.store().db).await;
    assert_eq!(count(&second.store().db, "SELECT count(*) FROM stack").await, 1);
    assert_eq!(count(&second.store().db, "SELECT count(*) FROM stack_composition").await, 3);
});

backend_tests!(@db deleted_default_project_is_recreated_on_start, |tdb: TestDb| async move {
    let first = tdb.build(&[]).await.unwrap();
    first.store().db.clone().execute(q!("DELETE FROM project")).await.unwrap();
    first.store().db.close().await;
    let second = tdb.build(&[]).await.unwrap();
    assert_eq!(count(&second.store().db, "SELECT count(*) FROM project WHERE name = 'default'").await, 1);
});

backend_tests!(@db other_revision_is_refused, |tdb: TestDb| async move {
    let first = tdb.build(&[]).await.unwrap();
    first.store().db.clone().execute(q!("UPDATE alembic_version SET version_num = '0.97.0'")).await.unwrap();
    first.store().db.close().await;
    let err = tdb.build(&[]).await.err().expect("a 0.97.0 database is refused");
    let msg = err.to_string();
    assert!(msg.contains("'0.97.0'") && msg.contains("'0.98.0'"), "{msg}");
    // Nothing was changed: still stamped 0.97.0.
    assert_eq!(alembic(&tdb.raw().await).await, vec![Some("0.97.0".to_string())]);
});

backend_tests!(@db tables_without_alembic_version_are_refused, |tdb: TestDb| async move {
    let first = tdb.build(&[]).await.unwrap();
    first.store().db.clone().execute(q!("DROP TABLE alembic_version")).await.unwrap();
    first.store().db.close().await;
    let msg = tdb.build(&[]).await.err().expect("refused").to_string();
    assert!(msg.contains("no alembic revision") && msg.contains("'0.98.0'"), "{msg}");
    // An alembic_version table without a row is just as unversioned.
    let raw = tdb.raw().await;
    raw.clone()
        .execute(q!("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        .await
        .unwrap();
    raw.close().await;
    assert!(tdb.build(&[]).await.is_err(), "an empty alembic_version is refused");
});

backend_tests!(@db two_revisions_are_refused, |tdb: TestDb| async move {
    let first = tdb.build(&[]).await.unwrap();
    first.store().db.clone().execute(q!("INSERT INTO alembic_version (version_num) VALUES ('c7d4e8a2b5f1')")).await.unwrap();
    first.store().db.close().await;
    assert!(tdb.build(&[]).await.is_err(), "a database with two heads is not a 0.98.0 database");
});

// A database holding only tables of something else: like the Python server (no `stack`
// table means "empty"), the ZenML schema is created next to them and they are left alone.
backend_tests!(@db unrelated_tables_are_left_alone, |tdb: TestDb| async move {
    let raw = tdb.raw().await;
    raw.clone().execute(q!("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))")).await.unwrap();
    raw.clone().execute(q!("INSERT INTO notes (id, body) VALUES (1, 'keep me')")).await.unwrap();
    raw.close().await;
    let state = tdb.build(&[]).await.expect("builds next to unrelated tables");
    let db = &state.store().db;
    assert_eq!(texts(db, q!("SELECT body AS v FROM notes")).await, vec![Some("keep me".to_string())]);
    assert_eq!(table_count(db).await, 54);
    assert_eq!(alembic(db).await, vec![Some("0.98.0".to_string())]);
    assert_eq!(count(db, "SELECT count(*) FROM flavor").await, 82);
});

/// Collapse whitespace runs, so `CREATE TABLE x (\n\tid ...` compares equal however it was
/// re-spaced.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The statements of a DDL file, without comments, normalised. (`sqlite3 .schema` prints
/// `CREATE TABLE IF NOT EXISTS "trigger"` for a quoted name; `sqlite_master` holds the
/// statement without `IF NOT EXISTS`.)
fn statements(ddl: &str) -> Vec<String> {
    ddl.split(";\n")
        .map(|s| s.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n"))
        .map(|s| norm(s.trim().trim_end_matches(';')).replacen("CREATE TABLE IF NOT EXISTS ", "CREATE TABLE ", 1))
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_schema_is_the_ddl_file() {
    let tdb = TestDb::new(Backend::Sqlite).await.unwrap();
    let state = tdb.build(&[]).await.unwrap();
    let mut actual = texts(
        &state.store().db,
        q!("SELECT sql AS v FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"),
    )
    .await
    .into_iter()
    .map(|s| norm(&s.unwrap()))
    .collect::<Vec<_>>();
    let mut expected = statements(SQLITE_DDL);
    assert_eq!(expected.iter().filter(|s| s.starts_with("CREATE TABLE")).count(), 53);
    actual.sort();
    expected.sort();
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e);
    }
    assert_eq!(actual.len(), expected.len());
}

#[derive(sqlx::FromRow)]
struct ShowCreate {
    #[sqlx(rename = "Create Table")]
    create: String,
}

/// On MariaDB, `SHOW CREATE TABLE` of every table is what `mysql.sql` says (it is a
/// `mariadb-dump` of a fresh Python-made database), columns, keys and options alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_schema_is_the_ddl_file() {
    let Some(tdb) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let state = tdb.build(&[]).await.unwrap();
    let db = &state.store().db;
    let expected = statements(MYSQL_DDL);
    assert_eq!(expected.len(), 53);
    for stmt in &expected {
        let table = stmt.split('`').nth(1).expect("CREATE TABLE `name`");
        let rows: Vec<ShowCreate> =
            db.clone().fetch_all(Query::new(format!("SHOW CREATE TABLE `{table}`"))).await.unwrap();
        assert_eq!(&norm(&rows[0].create), stmt, "table {table}");
    }
    // Key columns, spelled out, so a failure above on a server version that prints options
    // differently still leaves the important part checked here.
    let rows: Vec<ShowCreate> = db.clone().fetch_all(q!("SHOW CREATE TABLE `user`")).await.unwrap();
    let ddl = &rows[0].create;
    for col in [
        "`id` char(32) NOT NULL",
        "`created` datetime NOT NULL",
        "`is_service_account` tinyint(1) NOT NULL",
        "`oidc_claims` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`oidc_claims`))",
    ] {
        assert!(ddl.contains(col), "{col} missing in {ddl}");
    }
}
