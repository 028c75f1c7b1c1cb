//! The one zenpro binary. It parses the command line and calls into the library crates.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod up;

#[derive(Parser)]
#[command(name = "zenpro", version, about = "Self-hosted ZenML Pro: workspace server and control plane")]
struct Cli {
    /// Log as JSON lines (also: ZENPRO_LOG_FORMAT=json).
    #[arg(long, global = true, env = "ZENPRO_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Administer a control plane through its admin API (organizations, workspaces, users, teams,
    /// roles, service accounts).
    Admin(Box<admin::AdminArgs>),
    /// The control plane and one enrolled workspace server in one process, on SQLite files in a
    /// data folder (first start: an admin with a generated password, an organization and a
    /// workspace); prints the dashboard URL and the `zenml login` command.
    Up(up::UpArgs),
    /// The workspace server (the ZenML REST API).
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    /// The control plane (login, organizations, workspaces, roles; configured by ZENPRO_CP_*).
    ControlPlane {
        #[command(subcommand)]
        command: ControlPlaneCommand,
    },
}

#[derive(Subcommand)]
enum ControlPlaneCommand {
    /// Serve the control-plane API and pages.
    Serve {
        #[arg(long, default_value = "127.0.0.1", env = "ZENPRO_HOST")]
        host: String,
        #[arg(long, default_value_t = 8080, env = "ZENPRO_PORT")]
        port: u16,
    },
    /// Create or upgrade the control-plane schema and exit.
    Migrate,
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Serve the ZenML API (configured by ZENML_* environment variables).
    Serve {
        #[arg(long, default_value = "127.0.0.1", env = "ZENPRO_HOST")]
        host: String,
        #[arg(long, default_value_t = 8237, env = "ZENPRO_PORT")]
        port: u16,
    },
    /// Create the ZenML 0.98.0 schema on an empty database (or check an existing one) and exit.
    Migrate,
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ZENPRO_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = json || std::env::var("ZENPRO_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Admin(_) => unreachable!("zenpro admin is dispatched in main, without the server runtime"),
        Command::Up(args) => up::run(args, shutdown_signal()).await,
        Command::ControlPlane { command } => control_plane(command).await,
        Command::Workspace { command } => {
            let config = zenpro_workspace::Config::from_env().map_err(|e| format!("configuration error: {e}"))?;
            match command {
                WorkspaceCommand::Migrate => {
                    let (_, outcome) = zenpro_workspace::migrate(&config).await.map_err(|e| e.to_string())?;
                    tracing::info!(?outcome, "database ready for ZenML 0.98.0");
                    Ok(())
                }
                WorkspaceCommand::Serve { host, port } => {
                    let started = std::time::Instant::now();
                    let state = zenpro_workspace::build(config).await.map_err(|e| e.to_string())?;
                    let addr: SocketAddr =
                        format!("{host}:{port}").parse().map_err(|e| format!("invalid --host/--port: {e}"))?;
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                    tracing::info!(%addr, elapsed_ms = started.elapsed().as_millis() as u64, "workspace server ready");
                    axum::serve(
                        listener,
                        zenpro_workspace::router(state).into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(shutdown_signal())
                    .await
                    .map_err(|e| e.to_string())
                }
            }
        }
    }
}

async fn control_plane(command: ControlPlaneCommand) -> Result<(), String> {
    let mut config = zenpro_control::Config::from_env().map_err(|e| format!("configuration error: {e}"))?;
    match command {
        ControlPlaneCommand::Migrate => zenpro_control::migrate(&config).await.map(|_| ()).map_err(|e| e.to_string()),
        ControlPlaneCommand::Serve { host, port } => {
            config.port = port;
            let state = zenpro_control::build(config).await.map_err(|e| e.to_string())?;
            let addr: SocketAddr =
                format!("{host}:{port}").parse().map_err(|e| format!("invalid --host/--port: {e}"))?;
            let listener =
                tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            tracing::info!(%addr, url = %state.config.url(), "control plane ready");
            axum::serve(listener, zenpro_control::router(state).into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Admin(args) = cli.command {
        return admin::main(*args);
    }
    init_logging(cli.log_json);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("zenpro: {e}");
            ExitCode::FAILURE
        }
    }
}
