//! `zenpro up`: the control plane and one workspace server, enrolled with each other, in one
//! process on SQLite files under one data folder: the quickest way to a working ZenML Pro.
//!
//! Layout of the data folder (created owner-only):
//!
//! ```text
//! up.lock                      held by the running `zenpro up` (one per folder)
//! admin-password               the generated password of `admin` (0600; printed on first start only)
//! control-plane/cp.db          the control plane's database
//! control-plane/token_secret   its token key (generated once)
//! workspace/zenml.db           the workspace's ZenML 0.98.0 database
//! workspace/jwt_secret_key     its JWT key (generated once)
//! ```
//!
//! Both configurations are built as values (no process environment is set). The organization and
//! workspace are found by name, else created, through the control plane's store in-process; the
//! workspace gets a fresh enrollment key at every start (only its hash is stored, so no key is
//! kept on disk), then the control plane starts listening and the workspace server enrolls with
//! it over HTTP on 127.0.0.1, exactly as a separately deployed one would.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use zenpro_control::store::workspaces::WorkspaceUpdate;

/// Organization and workspace names `zenpro up` creates (and finds again on restart).
pub const ORGANIZATION: &str = "default";
pub const WORKSPACE: &str = "default";
/// The project created in a fresh workspace.
pub const PROJECT: &str = "default";
const ADMIN: &str = "admin";
const PASSWORD_FILE: &str = "admin-password";

/// `zenpro up` arguments.
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Data folder (created if missing). Default: `$XDG_DATA_HOME/zenpro/up`, else
    /// `~/.local/share/zenpro/up`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address both servers listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port of the control plane (API, login and device pages, dashboard).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Port of the workspace server (the ZenML API the client and pipelines talk to).
    #[arg(long, default_value_t = 8237)]
    pub workspace_port: u16,
}

/// The default data folder: `$XDG_DATA_HOME/zenpro/up`, else `~/.local/share/zenpro/up`.
fn default_data_dir() -> PathBuf {
    let env: HashMap<String, String> =
        ["XDG_DATA_HOME", "HOME"].iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
    zenpro_control::config::default_data_dir(&env).join("up")
}

fn map(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Create `dir` (and parents); on Unix a folder created here is owner-only.
fn create_private_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| format!("cannot create the data folder {}: {e}", dir.display()))
}

/// Write `content` to a new owner-only file (replacing a stale one).
fn write_private(path: &Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(content.as_bytes()).map_err(err)?;
    f.write_all(b"\n").map_err(err)?;
    f.sync_all().map_err(err)
}

/// An exclusive lock on `<data>/up.lock`, held while the returned file is open (released by the
/// OS when the process ends, also after a crash).
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, String> {
    let path = data_dir.join("up.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(format!("another `zenpro up` is running on the data folder {}", data_dir.display()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// What the admin password situation is after start-up.
enum AdminPassword {
    /// Generated now (fresh control-plane database): print it once.
    New(String),
    /// Stored earlier in this file.
    Stored(PathBuf),
    /// The database exists but the password file is gone.
    Missing(PathBuf),
}

/// The public URL of a server listening on `host:port` (an unspecified address is reached on
/// 127.0.0.1).
fn url_of(host: IpAddr, port: u16) -> String {
    let host = if host.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { host };
    match host {
        IpAddr::V4(a) => format!("http://{a}:{port}"),
        IpAddr::V6(a) => format!("http://[{a}]:{port}"),
    }
}

async fn bind(host: IpAddr, port: u16, what: &str, flag: &str) -> Result<tokio::net::TcpListener, String> {
    let addr = SocketAddr::new(host, port);
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the {what}: {e} (choose another port with {flag})"))
}

/// Run `zenpro up` until `shutdown` completes (Ctrl-C / SIGTERM), then stop both servers.
pub async fn run(args: UpArgs, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let started = Instant::now();
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    create_private_dir(&data_dir)?;
    let data_dir = data_dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", data_dir.display()))?;
    let data = data_dir.display().to_string();
    // One `zenpro up` per data folder: a second one would rotate the enrollment key under the first.
    let _lock = lock_data_dir(&data_dir)?;
    let cp_url = url_of(args.host, args.port);
    let ws_url = url_of(args.host, args.workspace_port);

    // Both listeners first: a busy port fails before anything is written.
    let cp_listener = bind(args.host, args.port, "control plane", "--port").await?;
    let ws_listener = bind(args.host, args.workspace_port, "workspace server", "--workspace-port").await?;

    // The control plane, with a generated admin on a fresh database.
    let cp_db = data_dir.join("control-plane").join("cp.db");
    let pw_path = data_dir.join(PASSWORD_FILE);
    let mut cp_env = vec![
        ("ZENPRO_DATA_DIR", data.clone()),
        ("ZENPRO_CP_DATABASE_URL", format!("sqlite://{}", cp_db.display())),
        ("ZENPRO_CP_URL", cp_url.clone()),
        ("ZENPRO_CP_ADMIN_USERNAME", ADMIN.to_string()),
    ];
    let admin_password = if !cp_db.exists() {
        let pw = zenpro_auth::secret::random_alnum(24).map_err(|e| e.to_string())?;
        write_private(&pw_path, &pw)?;
        cp_env.push(("ZENPRO_CP_ADMIN_PASSWORD", pw.clone()));
        AdminPassword::New(pw)
    } else if pw_path.exists() {
        AdminPassword::Stored(pw_path.clone())
    } else {
        AdminPassword::Missing(pw_path.clone())
    };
    let mut cp_config =
        zenpro_control::Config::from_map(&map(&cp_env)).map_err(|e| format!("control-plane configuration: {e}"))?;
    cp_config.port = args.port;
    let cp_state = zenpro_control::build(cp_config).await.map_err(|e| format!("control plane: {e}"))?;
    let api_url = cp_state.config.api_url();
    let dashboard_url = cp_state.config.dashboard_url();

    // The organization and the workspace, with a fresh enrollment key.
    let store = &cp_state.store;
    let org = match store.get_organization_by_id_or_name(ORGANIZATION).await.map_err(|e| e.to_string())? {
        Some(o) => o,
        None => store
            .create_organization(ORGANIZATION, Some("Created by zenpro up".into()))
            .await
            .map_err(|e| e.to_string())?,
    };
    let (enrollment_key, key_hash) = zenpro_control::auth::new_enrollment_key().map_err(|e| e.to_string())?;
    let workspace = match store.get_workspace_by_id_or_name(WORKSPACE).await.map_err(|e| e.to_string())? {
        Some(w) => {
            store.set_enrollment_key_hash(w.id, &key_hash).await.map_err(|e| e.to_string())?;
            if w.url.as_deref() != Some(ws_url.as_str()) {
                let update = WorkspaceUpdate { url: Some(Some(ws_url.clone())), ..Default::default() };
                store.update_workspace(w.id, update).await.map_err(|e| e.to_string())?;
            }
            w
        }
        None => store
            .create_workspace(org.id, WORKSPACE, Some("Created by zenpro up".into()), Some(ws_url.clone()), &key_hash)
            .await
            .map_err(|e| e.to_string())?,
    };

    // The control plane listens before the workspace enrolls with it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let cp_app = zenpro_control::router(cp_state).into_make_service_with_connect_info::<SocketAddr>();
    let cp_serve = axum::serve(cp_listener, cp_app).with_graceful_shutdown(stopped(stop_rx.clone()));
    let mut cp_task = tokio::spawn(async move { cp_serve.await });

    let mut ws_env = vec![
        ("ZENPRO_DATA_DIR", data.clone()),
        ("ZENML_SERVER_SERVER_URL", ws_url.clone()),
        ("ZENML_ANALYTICS_OPT_IN", "false".into()),
        ("ZENML_SERVER_DEPLOYMENT_TYPE", "cloud".into()),
        ("ZENML_SERVER_PRO_API_URL", api_url.clone()),
        ("ZENML_SERVER_PRO_DASHBOARD_URL", dashboard_url.clone()),
        ("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", enrollment_key),
        ("ZENML_SERVER_PRO_OAUTH2_AUDIENCE", api_url.clone()),
        ("ZENML_SERVER_PRO_ORGANIZATION_ID", org.id.to_string()),
        ("ZENML_SERVER_PRO_ORGANIZATION_NAME", org.name.clone()),
        ("ZENML_SERVER_PRO_WORKSPACE_ID", workspace.id.to_string()),
        ("ZENML_SERVER_PRO_WORKSPACE_NAME", workspace.name.clone()),
    ];
    let ws_db = data_dir.join("workspace").join("zenml.db");
    let ws_fresh = !ws_db.exists();
    ws_env.push(("ZENML_STORE_URL", format!("sqlite:///{}", ws_db.display())));
    let ws_state = match zenpro_workspace::Config::from_map(&map(&ws_env)) {
        Ok(config) => zenpro_workspace::build(config).await.map_err(|e| format!("workspace server: {e}")),
        Err(e) => Err(format!("workspace configuration: {e}")),
    };
    // A Pro workspace starts without projects; a fresh `zenpro up` workspace gets `default`, so a
    // pipeline runs right after login (a project deleted later is not recreated).
    let ws_state = match ws_state {
        Ok(s) if ws_fresh => match s.store().ensure_defaults(Some(PROJECT), None).await {
            Ok(()) => Ok(s),
            Err(e) => Err(format!("workspace server: cannot create the default project: {e}")),
        },
        other => other,
    };
    let ws_state = match ws_state {
        Ok(s) => s,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = cp_task.await;
            return Err(e);
        }
    };
    let ws_app = zenpro_workspace::router(ws_state).into_make_service_with_connect_info::<SocketAddr>();
    let ws_serve = axum::serve(ws_listener, ws_app).with_graceful_shutdown(stopped(stop_rx));
    let mut ws_task = tokio::spawn(async move { ws_serve.await });

    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(control_plane = %cp_url, workspace = %ws_url, elapsed_ms, "zenpro up: ready");
    println!(
        "{}",
        banner(&Banner {
            data: &data,
            dashboard_url: &dashboard_url,
            api_url: &api_url,
            ws_url: &ws_url,
            admin: &admin_password,
            elapsed_ms,
        })
    );

    let result = tokio::select! {
        _ = shutdown => Ok(()),
        r = &mut cp_task => Err(format!("the control plane stopped: {}", describe(r))),
        r = &mut ws_task => Err(format!("the workspace server stopped: {}", describe(r))),
    };
    let stopping = Instant::now();
    let _ = stop_tx.send(true);
    for task in [ws_task, cp_task] {
        if !task.is_finished() {
            let _ = task.await;
        }
    }
    tracing::info!(elapsed_ms = stopping.elapsed().as_millis() as u64, "zenpro up: both servers stopped");
    result
}

fn describe(r: Result<std::io::Result<()>, tokio::task::JoinError>) -> String {
    match r {
        Ok(Ok(())) => "no error".into(),
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    }
}

struct Banner<'a> {
    data: &'a str,
    dashboard_url: &'a str,
    api_url: &'a str,
    ws_url: &'a str,
    admin: &'a AdminPassword,
    elapsed_ms: u64,
}

/// What `zenpro up` prints on stdout once both servers answer.
fn banner(b: &Banner<'_>) -> String {
    let password = match b.admin {
        AdminPassword::New(pw) => format!(
            "Admin password:   {pw}\n                  (shown only this once; also stored in {}/{PASSWORD_FILE}, mode 0600)",
            b.data
        ),
        AdminPassword::Stored(p) => format!("Admin password:   stored in {} (not shown again)", p.display()),
        AdminPassword::Missing(p) => format!(
            "Admin password:   {} is missing and cannot be shown again (a fresh data folder makes a new admin)",
            p.display()
        ),
    };
    format!(
        "zenpro is up (ready in {ms} ms); data folder: {data}\n\
         Dashboard:        {dash}\n\
         Control plane:    {api}\n\
         Workspace:        {WORKSPACE} (organization {ORGANIZATION}) at {ws}\n\
         Admin user:       {ADMIN}\n\
         {password}\n\
         \n\
         Log in with the zenml 0.98.0 client (device flow: approve in the browser as {ADMIN}):\n\
         \n    zenml login --pro-api-url {api} {WORKSPACE}\n\n\
         Press Ctrl-C to stop.",
        ms = b.elapsed_ms,
        data = b.data,
        dash = b.dashboard_url,
        api = b.api_url,
        ws = b.ws_url,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_listen_addresses() {
        assert_eq!(url_of("127.0.0.1".parse().unwrap(), 8080), "http://127.0.0.1:8080");
        assert_eq!(url_of("0.0.0.0".parse().unwrap(), 1), "http://127.0.0.1:1");
        assert_eq!(url_of("::1".parse().unwrap(), 2), "http://[::1]:2");
    }

    #[test]
    fn banner_shows_the_password_once_and_the_login_command() {
        let new = AdminPassword::New("Secr3tPw".into());
        let mut b = Banner {
            data: "/d",
            dashboard_url: "http://127.0.0.1:8080",
            api_url: "http://127.0.0.1:8080/api/v1",
            ws_url: "http://127.0.0.1:8237",
            admin: &new,
            elapsed_ms: 5,
        };
        let text = banner(&b);
        assert!(text.contains("Admin password:   Secr3tPw"), "{text}");
        assert!(text.contains("    zenml login --pro-api-url http://127.0.0.1:8080/api/v1 default\n"), "{text}");
        let stored = AdminPassword::Stored(PathBuf::from("/d/admin-password"));
        b.admin = &stored;
        let text = banner(&b);
        assert!(!text.contains("Secr3tPw") && text.contains("stored in /d/admin-password"), "{text}");
    }

    #[test]
    fn one_process_per_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_data_dir(dir.path()).unwrap();
        let err = lock_data_dir(dir.path()).unwrap_err();
        assert!(err.contains("another `zenpro up`"), "{err}");
        drop(held);
        lock_data_dir(dir.path()).unwrap();
    }

    #[test]
    fn password_file_is_owner_only_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        write_private(&p, "one").unwrap();
        write_private(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
