//! Text output: tables of list answers, and what a workspace server needs to enroll (Helm
//! values for the official zenml chart and the equivalent `ZENML_SERVER_*` environment, per
//! the Pro protocol §3–§4, rendered by `zenpro_control::dashboard::enroll`, the same text the
//! dashboard's create-workspace page shows).

use serde_json::{Value, json};

/// Everything a workspace server needs to enroll with the control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    pub organization_id: String,
    pub organization_name: String,
    pub workspace_id: String,
    pub workspace_name: String,
    pub enrollment_key: String,
    /// `<cp url>/api/v1` (ZENML_SERVER_PRO_API_URL and the OAuth2 audience).
    pub api_url: String,
    /// The control plane's dashboard base URL (ZENML_SERVER_PRO_DASHBOARD_URL).
    pub dashboard_url: String,
    /// The workspace server's own URL (ZENML_SERVER_SERVER_URL).
    pub workspace_url: String,
}

impl Enrollment {
    pub fn to_json(&self) -> Value {
        json!({
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "enrollment_key": self.enrollment_key,
            "api_url": self.api_url,
            "dashboard_url": self.dashboard_url,
            "workspace_url": self.workspace_url,
        })
    }

    /// The control plane's rendering of the same values (one text for the dashboard and the CLI).
    fn rendered(&self) -> zenpro_control::dashboard::enroll::Enrollment<'_> {
        zenpro_control::dashboard::enroll::Enrollment {
            organization_id: self.organization_id.clone(),
            organization_name: &self.organization_name,
            workspace_id: self.workspace_id.clone(),
            workspace_name: &self.workspace_name,
            enrollment_key: &self.enrollment_key,
            api_url: self.api_url.clone(),
            dashboard_url: self.dashboard_url.clone(),
            workspace_url: &self.workspace_url,
        }
    }

    /// `server:` values of the zenml Helm chart (`server.pro.*`, `server.serverURL`).
    pub fn helm_values(&self) -> String {
        self.rendered().helm_values()
    }

    /// The same as `KEY=value` lines, as the chart renders them (plus the OAuth2 audience the
    /// zenml server requires).
    pub fn env_vars(&self) -> String {
        self.rendered().env_vars()
    }

    /// The text of `workspace create`: a header, the Helm values, the environment.
    pub fn created_text(&self) -> String {
        format!(
            "# Workspace {name} (id {wid}) created in organization {org} (id {oid}).\n\
             # The enrollment key below is shown only this once; \
             `zenpro admin workspace rotate-key {name}` issues a new one.\n\
             #\n\
             # Helm values for the official zenml chart (zenml-io/zenml):\n\
             {helm}\n\
             # Or the equivalent environment of the workspace server:\n\
             {env}",
            name = self.workspace_name,
            wid = self.workspace_id,
            org = self.organization_name,
            oid = self.organization_id,
            helm = self.helm_values(),
            env = self.env_vars(),
        )
    }

    /// The text of `workspace rotate-key`: the lines of both blocks that carry the key.
    pub fn rotated_text(&self) -> String {
        format!(
            "# New enrollment key of workspace {name} (id {wid}); the old key no longer works.\n\
             # It is shown only this once. Update the workspace server and restart it.\n\
             #\n\
             # Helm values:\n\
             server:\n  pro:\n    enrollmentKey: {key}\n\
             \n\
             # Or the environment of the workspace server:\n\
             ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET={env_key}\n",
            name = self.workspace_name,
            wid = self.workspace_id,
            key = yaml_scalar(&self.enrollment_key),
            env_key = shell_value(&self.enrollment_key),
        )
    }
}

pub use zenpro_control::dashboard::enroll::{shell_value, yaml_scalar};

/// A field of a JSON object by a dotted path, as display text: strings as they are, objects
/// by their name (or username, or id), null and missing as "".
pub fn field(value: &Value, path: &str) -> String {
    let mut current = value;
    for part in path.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    display(current)
}

/// The first of `paths` that is present and non-empty.
pub fn first_field(value: &Value, paths: &[&str]) -> String {
    paths.iter().map(|p| field(value, p)).find(|s| !s.is_empty()).unwrap_or_default()
}

fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map) => ["name", "username", "id"]
            .iter()
            .find_map(|k| map.get(*k).filter(|v| !v.is_null()).map(display))
            .unwrap_or_else(|| value.to_string()),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The items of a list answer: a bare array, or a page `{"items": [...]}`.
pub fn items(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![value.clone()],
        },
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// A column: its header and the fields that fill it (the first non-empty one wins).
pub type Column<'a> = (&'a str, &'a [&'a str]);

/// An aligned table with a header row; "(none)" when there are no rows.
pub fn table(rows: &[Value], columns: &[Column<'_>]) -> String {
    if rows.is_empty() {
        return "(none)\n".to_string();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|(_, paths)| first_field(row, paths).replace(['\n', '\t'], " ")).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (header, _))| cells.iter().map(|r| r[i].chars().count()).chain([header.len()]).max().unwrap_or(0))
        .collect();
    let line = |values: Vec<&str>| {
        let mut out = String::new();
        for (i, value) in values.iter().enumerate() {
            if i + 1 == values.len() {
                out.push_str(value);
            } else {
                out.push_str(value);
                out.push_str(&" ".repeat(widths[i] - value.chars().count() + 2));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(columns.iter().map(|(h, _)| *h).collect());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrollment() -> Enrollment {
        Enrollment {
            organization_id: "0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60".into(),
            organization_name: "acme".into(),
            workspace_id: "7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b".into(),
            workspace_name: "ws1".into(),
            enrollment_key: "Ab3dEf6hIj9kLm2oPq5sTu8wXy1zAb4dEf7hIj0kLm3oPq6sTu9wXy2zAb5dEf8h".into(),
            api_url: "http://cp.example:8080/api/v1".into(),
            dashboard_url: "http://cp.example:8080".into(),
            workspace_url: "http://ws1.example:8237".into(),
        }
    }

    #[test]
    fn helm_values_use_the_server_key_of_the_zenml_chart() {
        assert_eq!(
            enrollment().helm_values(),
            "server:
  serverURL: http://ws1.example:8237
  pro:
    enabled: true
    apiURL: http://cp.example:8080/api/v1
    dashboardURL: http://cp.example:8080
    organizationID: 0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60
    organizationName: acme
    workspaceID: 7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b
    workspaceName: ws1
    enrollmentKey: Ab3dEf6hIj9kLm2oPq5sTu8wXy1zAb4dEf7hIj0kLm3oPq6sTu9wXy2zAb5dEf8h
"
        );
    }

    #[test]
    fn env_vars_match_what_the_chart_renders() {
        assert_eq!(
            enrollment().env_vars(),
            "ZENML_SERVER_DEPLOYMENT_TYPE=cloud
ZENML_SERVER_PRO_API_URL=http://cp.example:8080/api/v1
ZENML_SERVER_PRO_DASHBOARD_URL=http://cp.example:8080
ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=Ab3dEf6hIj9kLm2oPq5sTu8wXy1zAb4dEf7hIj0kLm3oPq6sTu9wXy2zAb5dEf8h
ZENML_SERVER_PRO_OAUTH2_AUDIENCE=http://cp.example:8080/api/v1
ZENML_SERVER_PRO_ORGANIZATION_ID=0b5c8e3e-1c1b-4b8e-9f3e-1d2c3b4a5f60
ZENML_SERVER_PRO_ORGANIZATION_NAME=acme
ZENML_SERVER_PRO_WORKSPACE_ID=7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b
ZENML_SERVER_PRO_WORKSPACE_NAME=ws1
ZENML_SERVER_SERVER_URL=http://ws1.example:8237
"
        );
    }

    #[test]
    fn created_text_holds_both_blocks_and_the_json_every_field() {
        let e = enrollment();
        let text = e.created_text();
        assert!(text.contains(&e.helm_values()) && text.contains(&e.env_vars()), "{text}");
        assert!(text.lines().take_while(|l| *l != "server:").all(|l| l.starts_with('#')), "{text}");
        let json = e.to_json();
        for key in [
            "organization_id",
            "organization_name",
            "workspace_id",
            "workspace_name",
            "enrollment_key",
            "api_url",
            "dashboard_url",
            "workspace_url",
        ] {
            assert!(json[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
        }
    }

    #[test]
    fn rotated_text_carries_only_the_key_lines() {
        let text = enrollment().rotated_text();
        assert!(text.contains("server:\n  pro:\n    enrollmentKey: Ab3dEf6h"), "{text}");
        assert!(text.contains("\nZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=Ab3dEf6h"), "{text}");
        assert!(!text.contains("apiURL"), "{text}");
    }

    #[test]
    fn odd_values_are_quoted() {
        assert_eq!(yaml_scalar("acme"), "acme");
        assert_eq!(yaml_scalar("http://x:1/api/v1"), "http://x:1/api/v1");
        assert_eq!(yaml_scalar("my org"), r#""my org""#);
        assert_eq!(yaml_scalar("yes"), r#""yes""#);
        assert_eq!(yaml_scalar("1234"), r#""1234""#);
        assert_eq!(yaml_scalar("1e10"), r#""1e10""#);
        assert_eq!(yaml_scalar(""), r#""""#);
        assert_eq!(yaml_scalar("-x"), r#""-x""#);
        assert_eq!(yaml_scalar("a\"b"), r#""a\"b""#);
        assert_eq!(shell_value("acme"), "acme");
        assert_eq!(shell_value("my org"), "'my org'");
        assert_eq!(shell_value("it's"), r"'it'\''s'");
        assert_eq!(shell_value(""), "''");
    }

    #[test]
    fn tables_align_and_pick_fields() {
        let rows = vec![
            json!({"id": "1", "name": "acme", "organization": {"id": "o", "name": "org-a"}, "status": "available"}),
            json!({"id": "22", "name": "b", "organization": {"id": "o2"}, "status": null}),
        ];
        let columns: &[Column] =
            &[("ID", &["id"]), ("NAME", &["name"]), ("ORG", &["organization"]), ("STATUS", &["status"])];
        assert_eq!(table(&rows, columns), "ID  NAME  ORG    STATUS\n1   acme  org-a  available\n22  b     o2\n");
        assert_eq!(table(&[], columns), "(none)\n");
        assert_eq!(first_field(&rows[0], &["missing", "organization.name"]), "org-a");
        assert_eq!(field(&json!({"a": true, "b": 3}), "a"), "true");
    }

    #[test]
    fn list_answers_may_be_arrays_or_pages() {
        assert_eq!(items(&json!([1, 2])).len(), 2);
        assert_eq!(items(&json!({"items": [1], "total": 1})).len(), 1);
        assert!(items(&Value::Null).is_empty());
    }
}
