//! `zenpro admin` end to end: the real control plane in-process on a temporary SQLite file,
//! bound to 127.0.0.1:0, driven by the built binary as a script would.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

const ADMIN_PASSWORD: &str = "bootstrap-Secret-1";

/// A control plane serving on 127.0.0.1, and a config folder for the CLI.
struct ControlPlane {
    url: String,
    home: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start() -> ControlPlane {
    let home = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let db = home.path().join("cp.db");
    let env: HashMap<String, String> = [
        ("ZENPRO_DATA_DIR", home.path().join("data").display().to_string()),
        // `sqlite:////abs/path` (SQLAlchemy style): an absolute path however `sqlite:` is parsed.
        ("ZENPRO_CP_DATABASE_URL", format!("sqlite:///{}", db.display())),
        ("ZENPRO_CP_URL", url.clone()),
        ("ZENPRO_CP_ADMIN_USERNAME", "admin".to_string()),
        ("ZENPRO_CP_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        ("ZENPRO_CP_TOKEN_SECRET", "test-token-secret-0123456789abcdef".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = zenpro_control::Config::from_map(&env).expect("config");
    let state = zenpro_control::build(config).await.expect("control plane");
    let app = zenpro_control::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    ControlPlane { url, home, server }
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }
}

impl ControlPlane {
    fn config_home(&self) -> PathBuf {
        self.home.path().join("config")
    }

    /// `zenpro admin --url <cp> ARGS` with this test's config folder and no inherited admin env.
    async fn admin(&self, args: &[&str]) -> Run {
        self.admin_with(Some(&self.url), args, None, &[]).await
    }

    async fn admin_with(&self, url: Option<&str>, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_zenpro"));
        command.arg("admin");
        if let Some(url) = url {
            command.args(["--url", url]);
        }
        command
            .args(args)
            .env_remove("ZENPRO_ADMIN_URL")
            .env_remove("ZENPRO_ADMIN_TOKEN")
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("HOME", self.home.path())
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run zenpro");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let out = child.wait_with_output().await.expect("wait");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The workspace's client-credentials login (what a workspace server does at start-up).
    async fn workspace_login(&self, workspace_id: &str, key: &str) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", workspace_id),
                ("client_secret", key),
                ("audience", &format!("{}/api/v1", self.url)),
            ])
            .send()
            .await
            .expect("login request")
            .status()
    }

    /// A GET on the API with the token the CLI stored (to check what a command did).
    async fn get_json(&self, path: &str) -> Value {
        let stored: Value = serde_json::from_str(
            &std::fs::read_to_string(self.config_home().join("zenpro").join("admin.json")).expect("token file"),
        )
        .expect("token file JSON");
        let token = stored["servers"][&self.url]["token"].as_str().expect("stored token");
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    async fn api_key_login(&self, key: &str) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.url))
            .form(&[("password", key)])
            .send()
            .await
            .expect("login request")
            .status()
    }
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("token file").permissions().mode() & 0o777
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("a JSON array").iter().map(|item| item["id"].as_str().expect("id").to_string()).collect()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array().expect("a JSON array").iter().filter_map(|item| item[key].as_str().map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_an_organization_by_script() {
    let cp = start().await;

    // Log in; the token is stored privately, keyed by URL, without the password.
    let run = cp
        .admin_with(
            Some(&cp.url),
            &["login", "--username", "admin", "--password-stdin"],
            Some(&format!("{ADMIN_PASSWORD}\n")),
            &[],
        )
        .await;
    assert!(run.ok().contains("Logged in"), "{}", run.stdout);
    let token_file = cp.config_home().join("zenpro").join("admin.json");
    assert_eq!(mode_of(&token_file), 0o600);
    let stored = std::fs::read_to_string(&token_file).expect("token file");
    assert!(stored.contains(&cp.url) && !stored.contains(ADMIN_PASSWORD), "{stored}");

    // A URL ending in /api/v1 reaches the same control plane with the same stored login.
    let orgs =
        cp.admin_with(Some(&format!("{}/api/v1/", cp.url)), &["org", "list", "--output", "json"], None, &[]).await;
    assert!(orgs.json().is_array());

    // Organization.
    let org = cp.admin(&["org", "create", "acme", "--description", "Acme ML", "--output", "json"]).await.json();
    let org_id = org["id"].as_str().expect("org id").to_string();
    assert_eq!(org["name"], "acme");
    assert!(cp.admin(&["org", "list"]).await.ok().contains("acme"));

    // Workspace, as JSON: every field, and the key works for the workspace's own login.
    let ws = cp
        .admin(&["workspace", "create", "ws1", "--org", "acme", "--url", "http://ws1.example:8237", "--output", "json"])
        .await
        .json();
    let ws_id = ws["workspace_id"].as_str().expect("workspace_id").to_string();
    let key = ws["enrollment_key"].as_str().expect("enrollment_key").to_string();
    assert_eq!(ws["organization_id"], org_id.as_str());
    assert_eq!(ws["organization_name"], "acme");
    assert_eq!(ws["workspace_name"], "ws1");
    assert_eq!(ws_id.len(), 36, "{ws_id}");
    assert!(key.len() == 64 && key.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    assert_eq!(ws["api_url"], format!("{}/api/v1", cp.url).as_str());
    // The workspace answer carries no dashboard URL, so it is the control plane's URL (which is
    // also the dashboard's when ZENPRO_CP_DASHBOARD_URL is unset).
    assert_eq!(ws["dashboard_url"], cp.url.as_str());
    assert_eq!(ws["workspace_url"], "http://ws1.example:8237");
    assert_eq!(cp.workspace_login(&ws_id, &key).await, reqwest::StatusCode::OK);

    // Text: the Helm values block and the environment, by organization id this time, with a
    // dashboard elsewhere than the control plane.
    let text = cp
        .admin(&[
            "workspace",
            "create",
            "ws2",
            "--org",
            &org_id,
            "--url",
            "http://ws2.example",
            "--dashboard-url",
            "http://dash.example/",
        ])
        .await;
    let text = text.ok();
    assert!(text.contains("server:\n  serverURL: http://ws2.example\n  pro:\n    enabled: true\n"), "{text}");
    assert!(
        text.contains(&format!("    apiURL: {}/api/v1\n    dashboardURL: http://dash.example\n", cp.url)),
        "{text}"
    );
    assert!(text.contains(&format!("    organizationID: {org_id}\n    organizationName: acme\n")), "{text}");
    assert!(text.contains("    workspaceName: ws2\n    enrollmentKey: "), "{text}");
    for line in [
        "ZENML_SERVER_DEPLOYMENT_TYPE=cloud".to_string(),
        format!("ZENML_SERVER_PRO_API_URL={}/api/v1", cp.url),
        "ZENML_SERVER_PRO_DASHBOARD_URL=http://dash.example".to_string(),
        format!("ZENML_SERVER_PRO_OAUTH2_AUDIENCE={}/api/v1", cp.url),
        format!("ZENML_SERVER_PRO_ORGANIZATION_ID={org_id}"),
        "ZENML_SERVER_PRO_ORGANIZATION_NAME=acme".to_string(),
        "ZENML_SERVER_PRO_WORKSPACE_NAME=ws2".to_string(),
        "ZENML_SERVER_SERVER_URL=http://ws2.example".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    let helm_key = text.lines().find_map(|l| l.strip_prefix("    enrollmentKey: ")).expect("helm key");
    let env_key = text.lines().find_map(|l| l.strip_prefix("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=")).expect("env key");
    let ws2_id = text.lines().find_map(|l| l.strip_prefix("ZENML_SERVER_PRO_WORKSPACE_ID=")).expect("ws2 id");
    assert_eq!(helm_key, env_key);
    assert_eq!(cp.workspace_login(ws2_id, env_key).await, reqwest::StatusCode::OK);

    let all = cp.admin(&["workspace", "list", "--output", "json"]).await.json();
    let listed = names(&all, "name");
    assert!(listed.contains(&"ws1".to_string()) && listed.contains(&"ws2".to_string()), "{all}");
    let of_acme = cp.admin(&["workspace", "list", "--org", "acme"]).await;
    assert!(of_acme.ok().contains("ws1") && of_acme.stdout.contains("ws2"), "{}", of_acme.stdout);

    // Users, teams, grants.
    let alice = cp
        .admin(&[
            "user",
            "create",
            "alice",
            "--password",
            "alice-Secret-1",
            "--email",
            "alice@example.com",
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(alice["username"], "alice");
    assert!(!alice.to_string().contains("alice-Secret-1"));
    let users = cp.admin(&["user", "list", "--output", "json"]).await.json();
    assert!(names(&users, "username").contains(&"alice".to_string()), "{users}");
    assert!(cp.admin(&["user", "list"]).await.ok().contains("alice"));

    let team = cp.admin(&["team", "create", "ml", "--org", "acme", "--output", "json"]).await.json();
    let team_id = team["id"].as_str().expect("team id").to_string();
    // Teams by name: the CLI looks the id up (the control plane addresses teams by id).
    assert!(cp.admin(&["team", "add-member", "ml", "--user", "alice"]).await.ok().contains("alice"));
    let members = cp.get_json(&format!("teams/{team_id}")).await;
    assert_eq!(names(&members["members"], "username"), ["alice"]);
    // The same team name in another organization makes the name ambiguous without --org.
    cp.admin(&["org", "create", "other"]).await.ok();
    cp.admin(&["team", "create", "ml", "--org", "other"]).await.ok();
    let ambiguous = cp.admin(&["team", "add-member", "ml", "--user", "alice"]).await;
    assert_eq!(ambiguous.code, 1);
    assert!(ambiguous.stderr.contains("2 teams are named 'ml'"), "{}", ambiguous.stderr);
    // With --org the name resolves to acme's team, where alice already is.
    let again = cp.admin(&["team", "add-member", "ml", "--org", "acme", "--user", "alice"]).await;
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already a member") && again.stderr.contains("HTTP 409"), "{}", again.stderr);
    let listed = cp.admin(&["team", "list", "--org", "acme", "--output", "json"]).await.json();
    assert_eq!(ids(&listed), [team_id.as_str()]);

    let grant = cp
        .admin(&["role", "grant", "--user", "alice", "--workspace", "ws1", "--role", "Developer", "--output", "json"])
        .await
        .json();
    let grant_id = grant["id"].as_str().expect("grant id").to_string();
    let team_grant = cp
        .admin(&["role", "grant", "--team", "ml", "--org", "acme", "--role", "Viewer", "--output", "json"])
        .await
        .json();
    let team_grant_id = team_grant["id"].as_str().expect("grant id").to_string();
    assert_eq!(team_grant["team_id"], team_id.as_str());
    let project = "0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60";
    let project_grant = cp
        .admin(&[
            "role",
            "grant",
            "--user",
            "alice",
            "--project",
            &format!("ws2/{project}"),
            "--role",
            "Viewer",
            "--output",
            "json",
        ])
        .await
        .json();
    assert!(project_grant["id"].is_string(), "{project_grant}");
    let grants = ids(&cp.admin(&["role", "list", "--output", "json"]).await.json());
    assert!(grants.contains(&grant_id) && grants.contains(&team_grant_id), "{grants:?}");
    // The text table names the user and workspace of each grant.
    let table = cp.admin(&["role", "list", "--user", "alice"]).await;
    let row = table.ok().lines().find(|l| l.starts_with(&grant_id)).expect("the grant's row").to_string();
    assert!(row.contains(" Developer ") && row.contains(" alice ") && row.contains(" ws1"), "{row}");
    let of_team = cp.admin(&["role", "list", "--team", "ml", "--org", "acme", "--output", "json"]).await.json();
    assert_eq!(ids(&of_team), [team_grant_id.as_str()]);
    assert!(cp.admin(&["role", "revoke", &grant_id]).await.ok().contains(&grant_id));
    let grants = ids(&cp.admin(&["role", "list", "--output", "json"]).await.json());
    assert!(!grants.contains(&grant_id) && grants.contains(&team_grant_id), "{grants:?}");
    let roles = cp.admin(&["role", "roles", "--output", "json"]).await.json();
    assert!(names(&roles, "name").contains(&"Developer".to_string()), "{roles}");

    // A service account: the key is printed once and logs in.
    let sa = cp.admin(&["service-account", "create", "ci", "--org", "acme", "--output", "json"]).await.json();
    let sa_key = sa["api_key"].as_str().expect("api_key").to_string();
    assert!(sa_key.starts_with("ZENPROKEY_"), "{sa}");
    assert_eq!(cp.api_key_login(&sa_key).await, reqwest::StatusCode::OK);
    let sa_text = cp.admin(&["service-account", "create", "ci2", "--org", "acme"]).await;
    let text_key = sa_text.ok().lines().last().expect("key line").to_string();
    assert!(text_key.starts_with("ZENPROKEY_"), "{}", sa_text.stdout);
    assert_eq!(cp.api_key_login(&text_key).await, reqwest::StatusCode::OK);
    // ZENPRO_ADMIN_TOKEN (here a service-account key) overrides the stored login: the account
    // sees the organization once it holds a role there.
    let sa_id = sa["id"].as_str().expect("service account id");
    cp.admin(&["role", "grant", "--user", sa_id, "--org", "acme", "--role", "Viewer"]).await.ok();
    let as_sa = cp
        .admin_with(Some(&cp.url), &["org", "list", "--output", "json"], None, &[("ZENPRO_ADMIN_TOKEN", &sa_key)])
        .await;
    assert_eq!(names(&as_sa.json(), "name"), ["acme"]);

    // Rotation: the new key works, the old one no longer does.
    let rotated = cp.admin(&["workspace", "rotate-key", "ws1", "--output", "json"]).await.json();
    let new_key = rotated["enrollment_key"].as_str().expect("new key").to_string();
    assert_ne!(new_key, key);
    assert_eq!(rotated["workspace_id"], ws_id.as_str());
    assert!(cp.workspace_login(&ws_id, &key).await.is_client_error());
    assert_eq!(cp.workspace_login(&ws_id, &new_key).await, reqwest::StatusCode::OK);
    let rotated_text = cp.admin(&["workspace", "rotate-key", "ws1"]).await;
    let newest = rotated_text
        .ok()
        .lines()
        .find_map(|l| l.strip_prefix("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET="))
        .expect("env line")
        .to_string();
    assert!(rotated_text.stdout.contains(&format!("    enrollmentKey: {newest}\n")), "{}", rotated_text.stdout);
    assert!(cp.workspace_login(&ws_id, &new_key).await.is_client_error());
    assert_eq!(cp.workspace_login(&ws_id, &newest).await, reqwest::StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_with_the_servers_message_and_the_right_exit_code() {
    let cp = start().await;

    // No URL at all: a usage error.
    let run = cp.admin_with(None, &["org", "list"], None, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("ZENPRO_ADMIN_URL"), "{}", run.stderr);
    // A wrong command line: a usage error too.
    assert_eq!(cp.admin(&["role", "grant", "--user", "u", "--role", "Admin"]).await.code, 2);

    // Not logged in: said so, exit 1.
    let run = cp.admin(&["org", "list"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);

    // A wrong password: the server's refusal.
    let run = cp.admin_with(Some(&cp.url), &["login", "--username", "admin", "--password", "wrong"], None, &[]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("HTTP 401"), "{}", run.stderr);

    let run =
        cp.admin_with(Some(&cp.url), &["login", "--username", "admin", "--password", ADMIN_PASSWORD], None, &[]).await;
    run.ok();

    // An unknown organization: exit 1 with the server's message.
    let run = cp.admin(&["workspace", "create", "ws9", "--org", "no-such-org", "--url", "http://ws9"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("no-such-org") || run.stderr.to_lowercase().contains("not found"), "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 404"), "{}", run.stderr);

    // A bad token in ZENPRO_ADMIN_TOKEN: refused, exit 1.
    let run = cp.admin_with(Some(&cp.url), &["org", "list"], None, &[("ZENPRO_ADMIN_TOKEN", "not-a-token")]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("HTTP 401"), "{}", run.stderr);

    // Nothing listening: a network error, exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let run = cp
        .admin_with(Some(&format!("http://127.0.0.1:{port}")), &["org", "list"], None, &[("ZENPRO_ADMIN_TOKEN", "t")])
        .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cannot reach the control plane"), "{}", run.stderr);
}
