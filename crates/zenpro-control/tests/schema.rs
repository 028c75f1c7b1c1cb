//! Schema migrations on the three backends: idempotent, safe when replicas start together,
//! refuse a newer schema.

mod common;

use common::{Backend, TestDb};
use zenpro_control::{Config, q};

async fn migrations(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let env = [("ZENPRO_DATA_DIR", db.dir.path().to_str().unwrap()), ("ZENPRO_CP_DATABASE_URL", db.url.as_str())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_map(&env).unwrap();
    // Two replicas on a fresh database at once.
    let (a, b) = tokio::join!(zenpro_control::migrate(&config), zenpro_control::migrate(&config));
    let (a, b) = (a.unwrap(), b.unwrap());
    // Again: nothing to do.
    let store = zenpro_control::migrate(&config).await.unwrap();
    let versions = store.int(q!("SELECT COUNT(*) FROM cp_schema_version")).await.unwrap();
    assert_eq!(versions, zenpro_control::schema::VERSION);
    // Every table of the data model is there.
    for t in [
        "users",
        "organizations",
        "workspaces",
        "teams",
        "team_members",
        "role_assignments",
        "api_keys",
        "devices",
        "shares",
        "usage_events",
        "login_failures",
    ] {
        assert_eq!(store.int(q!(format!("SELECT COUNT(*) FROM {t}"))).await.unwrap(), 0, "{t}");
    }
    // A database from a newer zenpro is refused.
    store.exec(q!("INSERT INTO cp_schema_version (version, applied) VALUES (99, 'x')"), "dup").await.unwrap();
    let Err(e) = zenpro_control::migrate(&config).await else { panic!("a newer schema must be refused") };
    assert!(e.to_string().contains("newer"), "{e}");
    for s in [a, b, store] {
        s.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_sqlite() {
    migrations(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_postgres() {
    migrations(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_mariadb() {
    migrations(Backend::MariaDb).await;
}
