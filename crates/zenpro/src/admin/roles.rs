//! `zenpro admin role ...`: grants (role assignments), their listing and revocation, and the
//! role catalogue.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::client::Api;
use super::commands::{body, list_output, pretty, str_field, team_id};
use super::render::{items, table};
use super::{Failure, GrantArgs, Output, RoleCommand};

/// Names of the ids a grant refers to, for the text table; whatever the caller may not list
/// stays an id.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    async fn fetch(api: &Api) -> Names {
        let mut names = Names::default();
        names.add(api.get(&["organizations"], &[]).await, &["name"]);
        names.add(api.get(&["workspaces"], &[("member_only", "False"), ("limit", "1000")]).await, &["name"]);
        names.add(api.get(&["users"], &[]).await, &["username", "name"]);
        names.add(api.get(&["teams"], &[]).await, &["name"]);
        names
    }

    fn add(&mut self, answer: Result<Value, Failure>, name_fields: &[&str]) {
        for item in answer.map(|a| items(&a)).unwrap_or_default() {
            let (id, name) = (str_field(&item, &["id"]), str_field(&item, name_fields));
            if !id.is_empty() && !name.is_empty() {
                self.0.insert(id, name);
            }
        }
    }

    /// Adds `<x>_name` next to each `<x>_id` it knows.
    fn annotate(&self, rows: &mut [Value]) {
        for row in rows {
            for kind in ["user", "team", "organization", "workspace"] {
                let id = str_field(row, &[&format!("{kind}_id")]);
                if let (Some(name), Some(map)) = (self.0.get(&id), row.as_object_mut()) {
                    map.entry(format!("{kind}_name")).or_insert_with(|| Value::String(name.clone()));
                }
            }
        }
    }
}

/// The JSON body of `POST /role_assignments` for a grant.
fn grant_body(args: &GrantArgs) -> Value {
    let (workspace, project) = match (&args.project, &args.workspace) {
        (Some(p), _) => (Some(p.workspace.clone()), Some(p.project.clone())),
        (None, w) => (w.clone(), None),
    };
    body(&[
        ("role", Some(json!(args.role))),
        ("user", args.user.clone().map(Value::from)),
        ("team", args.team.clone().map(Value::from)),
        ("organization", args.org.clone().map(Value::from)),
        ("workspace", workspace.map(Value::from)),
        ("project", project.map(Value::from)),
    ])
}

fn grant_text(args: &GrantArgs, id: &str) -> String {
    let principal = match (&args.user, &args.team) {
        (Some(u), _) => format!("user {u}"),
        (None, Some(t)) => format!("team {t}"),
        (None, None) => String::new(),
    };
    let scope = match (&args.org, &args.workspace, &args.project) {
        (Some(o), _, _) => format!("organization {o}"),
        (_, Some(w), _) => format!("workspace {w}"),
        (_, _, Some(p)) => format!("project {} of workspace {}", p.project, p.workspace),
        _ => String::new(),
    };
    format!("Granted {} to {principal} on {scope} (assignment id {id}).\n", args.role)
}

pub async fn run(api: &Api, command: RoleCommand, output: Output) -> Result<String, Failure> {
    match command {
        RoleCommand::Grant(mut args) => {
            let shown = args.team.clone();
            if let Some(team) = &args.team {
                args.team = Some(team_id(api, team, args.org.as_deref()).await?);
            }
            let answer = api.post_json(&["role_assignments"], &grant_body(&args)).await?;
            args.team = shown;
            Ok(match output {
                Output::Json => pretty(&answer),
                Output::Text => grant_text(&args, &str_field(&answer, &["id"])),
            })
        }
        RoleCommand::List(filter) => {
            let team = match &filter.team {
                Some(team) => Some(team_id(api, team, filter.org.as_deref()).await?),
                None => None,
            };
            let query: Vec<(&str, &str)> = [
                ("user", filter.user.as_deref()),
                ("team", team.as_deref()),
                ("organization", filter.org.as_deref()),
                ("workspace", filter.workspace.as_deref()),
                ("role", filter.role.as_deref()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let answer = api.get(&["role_assignments"], &query).await?;
            if output == Output::Json {
                return Ok(list_output(&answer, output, &[]));
            }
            let mut rows = items(&answer);
            Names::fetch(api).await.annotate(&mut rows);
            Ok(table(
                &rows,
                &[
                    ("ID", &["id"]),
                    ("ROLE", &["role"]),
                    ("USER", &["user_name", "user_id"]),
                    ("TEAM", &["team_name", "team_id"]),
                    ("SCOPE", &["scope"]),
                    ("ORGANIZATION", &["organization_name", "organization_id"]),
                    ("WORKSPACE", &["workspace_name", "workspace_id"]),
                    ("PROJECT", &["project_id"]),
                ],
            ))
        }
        RoleCommand::Revoke { id } => {
            let answer = api.delete(&["role_assignments", &id]).await?;
            Ok(match output {
                Output::Json => pretty(&if answer.is_null() { json!({"id": id, "revoked": true}) } else { answer }),
                Output::Text => format!("Revoked role assignment {id}.\n"),
            })
        }
        RoleCommand::Roles => {
            let answer = api.get(&["roles"], &[]).await?;
            Ok(list_output(
                &answer,
                output,
                &[("NAME", &["name"]), ("SCOPE", &["scope"]), ("DESCRIPTION", &["description"])],
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ProjectRef;
    use super::*;

    fn grant(
        user: Option<&str>,
        team: Option<&str>,
        org: Option<&str>,
        ws: Option<&str>,
        project: Option<(&str, &str)>,
    ) -> GrantArgs {
        GrantArgs {
            user: user.map(str::to_string),
            team: team.map(str::to_string),
            org: org.map(str::to_string),
            workspace: ws.map(str::to_string),
            project: project.map(|(w, p)| ProjectRef { workspace: w.to_string(), project: p.to_string() }),
            role: "Viewer".to_string(),
        }
    }

    #[test]
    fn grant_bodies_name_one_principal_and_one_scope() {
        assert_eq!(
            grant_body(&grant(Some("alice"), None, Some("acme"), None, None)),
            json!({"role": "Viewer", "user": "alice", "organization": "acme"})
        );
        assert_eq!(
            grant_body(&grant(None, Some("ml"), None, Some("ws1"), None)),
            json!({"role": "Viewer", "team": "ml", "workspace": "ws1"})
        );
        assert_eq!(
            grant_body(&grant(Some("bob"), None, None, None, Some(("ws1", "0b5c")))),
            json!({"role": "Viewer", "user": "bob", "workspace": "ws1", "project": "0b5c"})
        );
        assert_eq!(
            grant_text(&grant(None, Some("ml"), None, None, Some(("ws1", "0b5c"))), "id-1"),
            "Granted Viewer to team ml on project 0b5c of workspace ws1 (assignment id id-1).\n"
        );
    }

    #[test]
    fn grant_rows_get_names_where_known() {
        let names =
            Names(HashMap::from([("u1".to_string(), "alice".to_string()), ("o1".to_string(), "acme".to_string())]));
        let mut rows = vec![json!({"id": "g", "user_id": "u1", "organization_id": "o1", "workspace_id": "w9"})];
        names.annotate(&mut rows);
        assert_eq!(rows[0]["user_name"], "alice");
        assert_eq!(rows[0]["organization_name"], "acme");
        assert!(rows[0].get("workspace_name").is_none());
        let text =
            table(&rows, &[("USER", &["user_name", "user_id"]), ("WORKSPACE", &["workspace_name", "workspace_id"])]);
        assert_eq!(text, "USER   WORKSPACE\nalice  w9\n");
    }
}
