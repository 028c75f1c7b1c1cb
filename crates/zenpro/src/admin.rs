//! `zenpro admin`: a scriptable command line for the control plane's admin API
//! (`docs/control-plane.md`, "Admin API").
//!
//! The command line is parsed here; `client` speaks HTTP to `<url>/api/v1`, `store` keeps the
//! login token per control-plane URL, `commands` (and `roles` for grants) turn each subcommand
//! into API calls and `render` turns answers into text (tables, Helm values, environment
//! variables) or JSON.
//! Results go to stdout, errors to stderr; exit code 2 for usage errors, 1 for server or
//! network errors.

mod client;
mod commands;
mod render;
mod roles;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

/// `zenpro admin` arguments.
#[derive(Args, Debug)]
pub struct AdminArgs {
    /// Control plane base URL (the API is <url>/api/v1; a URL ending in /api/v1 is accepted too).
    #[arg(long, env = "ZENPRO_ADMIN_URL", value_name = "URL")]
    url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: AdminCommand,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Log in with a username and password; the token is stored for this control-plane URL
    /// (ZENPRO_ADMIN_TOKEN, a token or a ZENPROKEY_ key, overrides it).
    Login(LoginArgs),
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Workspaces: create (prints Helm values and environment to enroll the server), list,
    /// rotate the enrollment key.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Control-plane users.
    #[command(subcommand)]
    User(UserCommand),
    /// Teams of an organization.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Role assignments (grants) and the role catalogue.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Service accounts of an organization (with ZENPROKEY_ API keys).
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCommand),
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("secret").required(true).args(["password", "password_stdin"])))]
struct LoginArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    password: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Create an organization (super-user).
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List the organizations visible to the caller.
    List,
}

#[derive(Subcommand, Debug)]
enum WorkspaceCommand {
    /// Create a workspace and print what its server needs to enroll (the key is shown once).
    Create {
        name: String,
        /// Organization (name or id).
        #[arg(long)]
        org: String,
        /// URL the workspace server will be reachable at (its ZENML_SERVER_SERVER_URL).
        #[arg(long, value_name = "WORKSPACE_URL")]
        url: String,
        #[arg(long)]
        description: Option<String>,
        /// The control plane's dashboard base URL for the printed settings, when it is not the
        /// control plane's URL (ZENPRO_CP_DASHBOARD_URL set) and the server does not say it.
        #[arg(long, value_name = "URL")]
        dashboard_url: Option<String>,
    },
    /// List workspaces.
    List {
        /// Only workspaces of this organization (name or id).
        #[arg(long)]
        org: Option<String>,
    },
    /// Issue a new enrollment key; the old one stops working at once.
    RotateKey {
        /// Workspace (name or id).
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user.
    #[command(group(ArgGroup::new("secret").required(true).args(["password", "password_stdin"])))]
    Create {
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        superuser: bool,
    },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
enum TeamCommand {
    /// Create a team in an organization.
    Create {
        name: String,
        /// Organization (name or id).
        #[arg(long)]
        org: String,
    },
    /// Add a user to a team.
    AddMember {
        /// Team (name or id).
        team: String,
        /// User (name or id).
        #[arg(long)]
        user: String,
        /// The team's organization (name or id), when teams of several organizations share its name.
        #[arg(long)]
        org: Option<String>,
    },
    /// List teams.
    List {
        /// Only teams of this organization (name or id).
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum RoleCommand {
    /// Grant a role to a user or team on an organization, a workspace or a project.
    Grant(GrantArgs),
    /// List role assignments (their ids are what `role revoke` takes).
    List(RoleListArgs),
    /// Revoke a role assignment by id.
    Revoke { id: String },
    /// List the roles and their permissions.
    Roles,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("principal").required(true).args(["user", "team"])))]
#[command(group(ArgGroup::new("scope").required(true).args(["org", "workspace", "project"])))]
struct GrantArgs {
    /// User (name or id).
    #[arg(long)]
    user: Option<String>,
    /// Team (name or id).
    #[arg(long)]
    team: Option<String>,
    /// Organization (name or id).
    #[arg(long)]
    org: Option<String>,
    /// Workspace (name or id).
    #[arg(long)]
    workspace: Option<String>,
    /// A project of a workspace: WORKSPACE/PROJECT_UUID.
    #[arg(long, value_name = "WORKSPACE/PROJECT_UUID", value_parser = parse_project)]
    project: Option<ProjectRef>,
    /// Role name, e.g. Admin, Manager, Developer, Contributor, Viewer, Member.
    #[arg(long)]
    role: String,
}

/// Filters of `role list`.
#[derive(Args, Debug)]
struct RoleListArgs {
    /// Only assignments of this user (name or id).
    #[arg(long)]
    user: Option<String>,
    /// Only assignments of this team (name or id).
    #[arg(long)]
    team: Option<String>,
    /// Only assignments in this organization (name or id).
    #[arg(long)]
    org: Option<String>,
    /// Only assignments on this workspace (name or id).
    #[arg(long)]
    workspace: Option<String>,
    /// Only assignments of this role.
    #[arg(long)]
    role: Option<String>,
}

/// `--project WORKSPACE/PROJECT_UUID`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ProjectRef {
    workspace: String,
    project: String,
}

fn parse_project(value: &str) -> Result<ProjectRef, String> {
    match value.rsplit_once('/') {
        Some((workspace, project)) if !workspace.is_empty() && !project.is_empty() => {
            Ok(ProjectRef { workspace: workspace.to_string(), project: project.to_string() })
        }
        _ => Err("expected WORKSPACE/PROJECT_UUID".to_string()),
    }
}

#[derive(Subcommand, Debug)]
enum ServiceAccountCommand {
    /// Create a service account; its ZENPROKEY_ API key is printed once.
    Create {
        name: String,
        /// Organization (name or id).
        #[arg(long)]
        org: String,
    },
    /// List service accounts.
    List {
        /// Only service accounts of this organization (name or id).
        #[arg(long)]
        org: Option<String>,
    },
}

/// Why a command failed, and so its exit code.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The command line or local input is wrong (exit 2).
    Usage(String),
    /// The server refused, or could not be reached (exit 1).
    Failed(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Failed(m) => m,
        }
    }
}

/// What a command reads from the environment, gathered once so tests can supply their own.
struct Context {
    /// `ZENPRO_ADMIN_TOKEN`: overrides the stored token.
    token_env: Option<String>,
    /// Where login tokens are kept (`None` when no config directory can be determined).
    store_path: Option<PathBuf>,
}

impl Context {
    fn from_env() -> Self {
        let token_env = std::env::var("ZENPRO_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty());
        let store_path = store::default_path(
            std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        );
        Context { token_env, store_path }
    }
}

/// Runs `zenpro admin` to completion: prints the result or the error and returns the exit code.
pub fn main(args: AdminArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zenpro admin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let context = Context::from_env();
    match rt.block_on(commands::run(args, &context)) {
        Ok(out) => {
            print!("{out}");
            if !out.is_empty() && !out.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("zenpro admin: {}", failure.message());
            ExitCode::from(failure.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Top {
        #[command(subcommand)]
        command: TopCommand,
    }

    #[derive(Subcommand, Debug)]
    enum TopCommand {
        Admin(AdminArgs),
    }

    fn parse(args: &[&str]) -> Result<AdminArgs, clap::Error> {
        let argv = std::iter::once("zenpro").chain(std::iter::once("admin")).chain(args.iter().copied());
        Top::try_parse_from(argv).map(|top| match top.command {
            TopCommand::Admin(a) => a,
        })
    }

    #[test]
    fn the_cp_url_comes_before_the_subcommand_and_workspace_create_has_its_own_url() {
        let args =
            parse(&["--url", "http://cp:8080", "workspace", "create", "ws1", "--org", "acme", "--url", "http://ws1"])
                .expect("valid command line");
        assert_eq!(args.url.as_deref(), Some("http://cp:8080"));
        assert_eq!(args.output, Output::Text);
        match args.command {
            AdminCommand::Workspace(WorkspaceCommand::Create { name, org, url, description, dashboard_url }) => {
                assert_eq!((name.as_str(), org.as_str(), url.as_str()), ("ws1", "acme", "http://ws1"));
                assert_eq!((description, dashboard_url), (None, None));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn output_json_is_accepted_after_any_subcommand() {
        let args = parse(&["--url", "http://cp", "org", "list", "--output", "json"]).expect("valid");
        assert_eq!(args.output, Output::Json);
        let args = parse(&["--output", "json", "--url", "http://cp", "user", "list"]).expect("valid");
        assert_eq!(args.output, Output::Json);
        let err = parse(&["--url", "http://cp", "org", "list", "--output", "yaml"]).expect_err("yaml is not an output");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn login_needs_exactly_one_password_source() {
        let args = parse(&["--url", "http://cp", "login", "--username", "admin", "--password-stdin"]).expect("valid");
        match args.command {
            AdminCommand::Login(l) => assert!(l.password_stdin && l.password.is_none()),
            other => panic!("parsed as {other:?}"),
        }
        let err = parse(&["--url", "http://cp", "login", "--username", "admin"]).expect_err("no password");
        assert_eq!(err.exit_code(), 2);
        let err = parse(&["--url", "http://cp", "login", "--username", "a", "--password", "p", "--password-stdin"])
            .expect_err("two passwords");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn role_grant_needs_one_principal_and_one_scope() {
        let args = parse(&[
            "role",
            "grant",
            "--team",
            "ml",
            "--project",
            "ws1/0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60",
            "--role",
            "Viewer",
        ])
        .expect("valid");
        match args.command {
            AdminCommand::Role(RoleCommand::Grant(g)) => {
                assert_eq!(g.team.as_deref(), Some("ml"));
                assert_eq!(
                    g.project,
                    Some(ProjectRef {
                        workspace: "ws1".to_string(),
                        project: "0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60".to_string()
                    })
                );
            }
            other => panic!("parsed as {other:?}"),
        }
        for bad in [
            &["role", "grant", "--user", "u", "--team", "t", "--org", "o", "--role", "Admin"][..],
            &["role", "grant", "--user", "u", "--role", "Admin"][..],
            &["role", "grant", "--user", "u", "--org", "o", "--workspace", "w", "--role", "Admin"][..],
            &["role", "grant", "--org", "o", "--role", "Admin"][..],
            &["role", "grant", "--user", "u", "--project", "no-slash", "--role", "Admin"][..],
            &["role", "grant", "--user", "u", "--project", "ws/", "--role", "Admin"][..],
        ] {
            let err = parse(bad).expect_err("invalid grant");
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn subcommand_names_are_kebab_case() {
        assert!(parse(&["service-account", "create", "ci", "--org", "acme"]).is_ok());
        assert!(parse(&["workspace", "rotate-key", "ws1"]).is_ok());
        assert!(parse(&["team", "add-member", "ml", "--user", "alice"]).is_ok());
        assert!(parse(&["role", "revoke", "5f0c"]).is_ok());
        assert!(parse(&["role", "list"]).is_ok());
        assert!(parse(&["role", "list", "--team", "ml", "--org", "acme", "--role", "Viewer"]).is_ok());
        assert!(parse(&["team", "add-member", "ml", "--user", "alice", "--org", "acme"]).is_ok());
        assert!(parse(&["user", "create", "alice", "--password", "pw", "--email", "a@x", "--superuser"]).is_ok());
        assert!(parse(&["workspace", "list", "--org", "acme"]).is_ok());
    }

    #[test]
    fn failures_map_to_exit_codes() {
        assert_eq!(Failure::Usage("x".into()).code(), 2);
        assert_eq!(Failure::Failed("x".into()).code(), 1);
    }
}
