//! Each `zenpro admin` subcommand as calls to the admin API, and its output.

use serde_json::{Map, Value, json};

use super::client::{Api, normalize_base};
use super::render::{Column, Enrollment, first_field, items, table};
use super::{
    AdminArgs, AdminCommand, Context, Failure, LoginArgs, OrgCommand, Output, ServiceAccountCommand, TeamCommand,
    UserCommand, WorkspaceCommand, store,
};

/// Runs one command; the text to print on success.
pub async fn run(args: AdminArgs, context: &Context) -> Result<String, Failure> {
    let raw_url = args.url.as_deref().map(str::trim).filter(|u| !u.is_empty()).ok_or_else(|| {
        Failure::Usage("no control plane URL: give `zenpro admin --url URL ...` or set ZENPRO_ADMIN_URL".to_string())
    })?;
    let base = normalize_base(raw_url)?;
    let output = args.output;
    let command = match args.command {
        AdminCommand::Login(login_args) => return login(base, login_args, context, output).await,
        other => other,
    };
    let token = match (&context.token_env, &context.store_path) {
        (Some(token), _) => Some(token.trim().to_string()),
        (None, Some(path)) => store::token_for(path, &base)?,
        (None, None) => None,
    };
    let api = Api::new(base, token)?;
    match command {
        AdminCommand::Login(_) => unreachable!("login is handled above"),
        AdminCommand::Org(c) => org(&api, c, output).await,
        AdminCommand::Workspace(c) => workspace(&api, c, output).await,
        AdminCommand::User(c) => user(&api, c, output).await,
        AdminCommand::Team(c) => team(&api, c, output).await,
        AdminCommand::Role(c) => super::roles::run(&api, c, output).await,
        AdminCommand::ServiceAccount(c) => service_account(&api, c, output).await,
    }
}

pub(super) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    text.push('\n');
    text
}

/// A list answer: JSON as the items array, text as a table.
pub(super) fn list_output(answer: &Value, output: Output, columns: &[Column<'_>]) -> String {
    let rows = items(answer);
    match output {
        Output::Json => pretty(&Value::Array(rows)),
        Output::Text => table(&rows, columns),
    }
}

pub(super) fn str_field(value: &Value, paths: &[&str]) -> String {
    first_field(value, paths)
}

/// `{"k": v}` without the keys whose value is `None`.
pub(super) fn body(pairs: &[(&str, Option<Value>)]) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs {
        if let Some(value) = value {
            map.insert((*key).to_string(), value.clone());
        }
    }
    Value::Object(map)
}

fn read_password_stdin() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Failure::Usage("--password-stdin: stdin holds no password".to_string()));
    }
    Ok(password)
}

fn password_of(password: Option<String>, from_stdin: bool) -> Result<String, Failure> {
    match password {
        Some(p) if !from_stdin => Ok(p),
        None if from_stdin => read_password_stdin(),
        _ => Err(Failure::Usage("give exactly one of --password and --password-stdin".to_string())),
    }
}

async fn login(base: String, args: LoginArgs, context: &Context, output: Output) -> Result<String, Failure> {
    let password = password_of(args.password, args.password_stdin)?;
    let path = context.store_path.clone().ok_or_else(|| {
        Failure::Failed("no configuration directory to keep the token in: set XDG_CONFIG_HOME or HOME".to_string())
    })?;
    let api = Api::new(base, None)?;
    let answer = api
        .post_form(
            &["auth", "login"],
            &[("grant_type", "password"), ("username", &args.username), ("password", &password)],
        )
        .await?;
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Failed("the control plane's login answer has no access_token".to_string()))?;
    let expires_in = answer.get("expires_in").and_then(Value::as_u64);
    store::save(&path, api.base(), token, &args.username, expires_in)?;
    Ok(match output {
        Output::Json => pretty(&json!({
            "url": api.base(),
            "username": args.username,
            "token_file": path.display().to_string(),
            "expires_in": expires_in,
        })),
        Output::Text => {
            format!("Logged in to {} as {}; the token is kept in {}.\n", api.base(), args.username, path.display())
        }
    })
}

async fn org(api: &Api, command: OrgCommand, output: Output) -> Result<String, Failure> {
    match command {
        OrgCommand::Create { name, description } => {
            let answer = api
                .post_json(
                    &["organizations"],
                    &body(&[("name", Some(json!(name))), ("description", description.map(Value::from))]),
                )
                .await?;
            Ok(match output {
                Output::Json => pretty(&answer),
                Output::Text => format!("Created organization {} (id {}).\n", name, str_field(&answer, &["id"])),
            })
        }
        OrgCommand::List => {
            let answer = get_paged(api, &["organizations"], &[]).await?;
            Ok(list_output(&answer, output, &[("ID", &["id"]), ("NAME", &["name"]), ("DESCRIPTION", &["description"])]))
        }
    }
}

/// A list of the Pro client endpoints (`/workspaces`, `/organizations`), which page with
/// `offset`/`limit`: every page, as one array.
async fn get_paged(api: &Api, segments: &[&str], query: &[(&str, &str)]) -> Result<Value, Failure> {
    const LIMIT: usize = 100;
    let mut all: Vec<Value> = Vec::new();
    for page in 0..1000 {
        let offset = (page * LIMIT).to_string();
        let limit = LIMIT.to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("offset", &offset));
        q.push(("limit", &limit));
        let rows = items(&api.get(segments, &q).await?);
        let count = rows.len();
        // A server that ignores offset would repeat its first page: stop there.
        if page > 0 && rows.first().is_some_and(|r| all.first() == Some(r)) {
            break;
        }
        all.extend(rows);
        if count < LIMIT {
            break;
        }
    }
    Ok(Value::Array(all))
}

/// The dashboard base URL from a workspace answer, if the control plane sends one; a
/// per-workspace dashboard link (`<DASH>/workspaces/<name>`) is cut back to its base.
fn dashboard_of(answer: &Value, workspace_name: &str) -> Option<String> {
    let url = first_field(answer, &["pro_dashboard_url", "dashboard_base_url", "dashboard_url"]);
    if url.is_empty() {
        return None;
    }
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix(&format!("/workspaces/{workspace_name}")).unwrap_or(url);
    Some(url.to_string())
}

fn enrollment_of(api: &Api, answer: &Value, key: String, workspace_url: &str) -> Enrollment {
    let workspace_name = str_field(answer, &["name", "workspace_name"]);
    Enrollment {
        organization_id: str_field(answer, &["organization.id", "organization_id"]),
        organization_name: str_field(answer, &["organization.name", "organization_name"]),
        workspace_id: str_field(answer, &["id", "workspace_id"]),
        dashboard_url: dashboard_of(answer, &workspace_name).unwrap_or_else(|| api.base().to_string()),
        workspace_name,
        enrollment_key: key,
        api_url: api.api_url(),
        workspace_url: if workspace_url.is_empty() {
            str_field(answer, &["url", "zenml_service.status.server_url"])
        } else {
            workspace_url.to_string()
        },
    }
}

fn key_of(answer: &Value) -> Result<String, Failure> {
    answer
        .get("enrollment_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Failure::Failed("the control plane's answer has no enrollment_key".to_string()))
}

async fn workspace(api: &Api, command: WorkspaceCommand, output: Output) -> Result<String, Failure> {
    match command {
        WorkspaceCommand::Create { name, org, url, description, dashboard_url } => {
            let answer = api
                .post_json(
                    &["workspaces"],
                    &body(&[
                        ("name", Some(json!(name))),
                        ("organization", Some(json!(org))),
                        ("url", Some(json!(url))),
                        ("description", description.map(Value::from)),
                    ]),
                )
                .await?;
            let mut enrollment = enrollment_of(api, &answer, key_of(&answer)?, &url);
            if let Some(dashboard) = dashboard_url {
                enrollment.dashboard_url = dashboard.trim().trim_end_matches('/').to_string();
            }
            Ok(match output {
                Output::Json => pretty(&enrollment.to_json()),
                Output::Text => enrollment.created_text(),
            })
        }
        WorkspaceCommand::List { org } => {
            let org_id = match org {
                Some(org) => Some(str_field(&api.get(&["organizations", &org], &[]).await?, &["id"])),
                None => None,
            };
            let mut query = vec![("member_only", "False")];
            if let Some(id) = org_id.as_deref() {
                query.push(("organization_id", id));
            }
            let answer = get_paged(api, &["workspaces"], &query).await?;
            Ok(list_output(
                &answer,
                output,
                &[
                    ("ID", &["id"]),
                    ("NAME", &["name"]),
                    ("ORGANIZATION", &["organization.name", "organization"]),
                    ("STATUS", &["status"]),
                    ("URL", &["zenml_service.status.server_url", "url"]),
                ],
            ))
        }
        WorkspaceCommand::RotateKey { name } => {
            let mut answer = api.post_empty(&["workspaces", &name, "enrollment_key"]).await?;
            let key = key_of(&answer)?;
            if str_field(&answer, &["organization.id", "organization_id"]).is_empty() {
                answer = api.get(&["workspaces", &name], &[]).await?;
            }
            let enrollment = enrollment_of(api, &answer, key, "");
            Ok(match output {
                Output::Json => pretty(&enrollment.to_json()),
                Output::Text => enrollment.rotated_text(),
            })
        }
    }
}

async fn user(api: &Api, command: UserCommand, output: Output) -> Result<String, Failure> {
    match command {
        UserCommand::Create { name, password, password_stdin, email, superuser } => {
            let password = password_of(password, password_stdin)?;
            let answer = api
                .post_json(
                    &["users"],
                    &body(&[
                        ("username", Some(json!(name))),
                        ("password", Some(json!(password))),
                        ("email", email.map(Value::from)),
                        ("is_superuser", Some(json!(superuser))),
                    ]),
                )
                .await?;
            Ok(match output {
                Output::Json => pretty(&answer),
                Output::Text => format!(
                    "Created {}user {} (id {}).\n",
                    if superuser { "super-" } else { "" },
                    name,
                    str_field(&answer, &["id"])
                ),
            })
        }
        UserCommand::List => {
            let answer = api.get(&["users"], &[]).await?;
            Ok(list_output(
                &answer,
                output,
                &[
                    ("ID", &["id"]),
                    ("USERNAME", &["username", "name"]),
                    ("EMAIL", &["email"]),
                    ("SUPERUSER", &["is_superuser"]),
                    ("SERVICE_ACCOUNT", &["is_service_account"]),
                    ("ACTIVE", &["active", "is_active"]),
                ],
            ))
        }
    }
}

async fn team(api: &Api, command: TeamCommand, output: Output) -> Result<String, Failure> {
    match command {
        TeamCommand::Create { name, org } => {
            let answer = api.post_json(&["teams"], &json!({"name": name, "organization": org})).await?;
            Ok(match output {
                Output::Json => pretty(&answer),
                Output::Text => {
                    format!("Created team {} (id {}) in organization {}.\n", name, str_field(&answer, &["id"]), org)
                }
            })
        }
        TeamCommand::AddMember { team, user, org } => {
            let team_id = team_id(api, &team, org.as_deref()).await?;
            let answer = api.post_json(&["teams", &team_id, "members"], &json!({"user": user})).await?;
            Ok(match output {
                Output::Json => pretty(&if answer.is_null() { json!({"team": team, "user": user}) } else { answer }),
                Output::Text => format!("Added {user} to team {team}.\n"),
            })
        }
        TeamCommand::List { org } => {
            let query: Vec<(&str, &str)> = org.as_deref().map(|o| ("organization", o)).into_iter().collect();
            let answer = api.get(&["teams"], &query).await?;
            Ok(list_output(
                &answer,
                output,
                &[
                    ("ID", &["id"]),
                    ("NAME", &["name"]),
                    ("ORGANIZATION", &["organization.name", "organization", "organization_id"]),
                    ("DESCRIPTION", &["description"]),
                ],
            ))
        }
    }
}

/// Whether `s` is a UUID (hyphenated or 32 hex digits).
fn is_uuid(s: &str) -> bool {
    let hex = |part: &str| part.chars().all(|c| c.is_ascii_hexdigit());
    match s.len() {
        32 => hex(s),
        36 => {
            let parts: Vec<&str> = s.split('-').collect();
            parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
        }
        _ => false,
    }
}

/// A team's id: the control plane addresses teams by id only (their names are unique only
/// within an organization), so a name is looked up among the teams the caller may see.
pub(super) async fn team_id(api: &Api, team: &str, org: Option<&str>) -> Result<String, Failure> {
    if is_uuid(team) {
        return Ok(team.to_string());
    }
    let query: Vec<(&str, &str)> = org.map(|o| ("organization", o)).into_iter().collect();
    let teams = items(&api.get(&["teams"], &query).await?);
    let found: Vec<&Value> = teams.iter().filter(|t| t["name"].as_str() == Some(team)).collect();
    match found.as_slice() {
        [one] => Ok(str_field(one, &["id"])),
        [] => Err(Failure::Failed(match org {
            Some(org) => format!("No team '{team}' in organization '{org}'."),
            None => format!("No team '{team}'."),
        })),
        several => {
            let orgs: Vec<String> =
                several.iter().map(|t| str_field(t, &["organization_id", "organization"])).collect();
            Err(Failure::Failed(format!(
                "{} teams are named '{team}' (in organizations {}): give --org or the team's id",
                several.len(),
                orgs.join(", ")
            )))
        }
    }
}

async fn service_account(api: &Api, command: ServiceAccountCommand, output: Output) -> Result<String, Failure> {
    match command {
        ServiceAccountCommand::Create { name, org } => {
            let answer = api.post_json(&["service_accounts"], &json!({"name": name, "organization": org})).await?;
            let key = first_field(&answer, &["api_key", "api_key.key", "key"]);
            if !key.starts_with("ZENPROKEY_") {
                return Err(Failure::Failed(
                    "the control plane created the service account but its answer has no ZENPROKEY_ api_key"
                        .to_string(),
                ));
            }
            Ok(match output {
                Output::Json => pretty(&answer),
                Output::Text => format!(
                    "# Created service account {name} (id {id}) in organization {org}.\n\
                     # Its API key, shown only this once (use it as ZENML_PRO_API_KEY or a bearer token):\n\
                     {key}\n",
                    id = str_field(&answer, &["id"]),
                ),
            })
        }
        ServiceAccountCommand::List { org } => {
            let query: Vec<(&str, &str)> = org.as_deref().map(|o| ("organization", o)).into_iter().collect();
            let answer = api.get(&["service_accounts"], &query).await?;
            Ok(list_output(
                &answer,
                output,
                &[
                    ("ID", &["id"]),
                    ("NAME", &["name", "username"]),
                    ("ORGANIZATION", &["organization.name", "organization", "organization_id"]),
                    ("ACTIVE", &["active", "is_active"]),
                ],
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_told_from_names() {
        assert!(is_uuid("0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60"));
        assert!(is_uuid("0b5c8e3e1c1b4b8e9f3e1d2c3b4a5f60"));
        assert!(!is_uuid("ml"));
        assert!(!is_uuid("0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f6g"));
        assert!(!is_uuid("0b5c8e3e1-c1b-4b8e-9f3e-1d2c3b4a5f60"));
    }

    #[test]
    fn bodies_leave_out_absent_options() {
        assert_eq!(body(&[("name", Some(json!("a"))), ("description", None)]), json!({"name": "a"}));
    }

    #[test]
    fn the_dashboard_base_comes_from_the_answer_when_there_is_one() {
        assert_eq!(dashboard_of(&json!({"name": "ws"}), "ws"), None);
        assert_eq!(
            dashboard_of(&json!({"dashboard_url": "http://dash.example/"}), "ws").as_deref(),
            Some("http://dash.example")
        );
        assert_eq!(
            dashboard_of(&json!({"dashboard_url": "http://dash.example/workspaces/ws"}), "ws").as_deref(),
            Some("http://dash.example")
        );
    }

    #[test]
    fn a_workspace_answer_becomes_an_enrollment() {
        let api = Api::new("http://cp:8080".to_string(), None).expect("client");
        let answer = json!({
            "id": "w-id", "name": "ws1", "url": "http://ws1/",
            "organization": {"id": "o-id", "name": "acme"},
            "enrollment_key": "k".repeat(64),
        });
        let e = enrollment_of(&api, &answer, key_of(&answer).expect("key"), "http://ws1");
        assert_eq!(
            e,
            Enrollment {
                organization_id: "o-id".into(),
                organization_name: "acme".into(),
                workspace_id: "w-id".into(),
                workspace_name: "ws1".into(),
                enrollment_key: "k".repeat(64),
                api_url: "http://cp:8080/api/v1".into(),
                dashboard_url: "http://cp:8080".into(),
                workspace_url: "http://ws1".into(),
            }
        );
        assert!(matches!(key_of(&json!({"id": "x"})), Err(Failure::Failed(_))));
    }

    #[tokio::test]
    async fn a_missing_url_is_a_usage_error() {
        use clap::Parser;
        #[derive(Parser)]
        struct Top {
            #[command(flatten)]
            admin: AdminArgs,
        }
        let top = Top::try_parse_from(["admin", "org", "list"]).expect("parses without --url");
        let context = Context { token_env: None, store_path: None };
        // ZENPRO_ADMIN_URL may be set in the environment running the tests.
        if top.admin.url.is_none() {
            let Err(failure) = run(top.admin, &context).await else { panic!("must fail") };
            assert_eq!(failure.code(), 2, "{failure:?}");
        }
    }
}
