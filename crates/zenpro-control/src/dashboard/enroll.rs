//! What a workspace server needs to enroll: the `pro:` block of the official zenml Helm chart and
//! the equivalent `ZENML_SERVER_*` environment (Pro protocol §3–§4). The one rendering of it: the
//! create-workspace page shows it, and `zenpro admin workspace create` prints it
//! (`crates/zenpro/src/admin/render.rs` calls [`Enrollment::helm_values`] and
//! [`Enrollment::env_vars`]); the unit test below and render.rs's tests pin the text.

use serde_json::Value;

/// The values of one enrollment.
pub struct Enrollment<'a> {
    pub organization_id: String,
    pub organization_name: &'a str,
    pub workspace_id: String,
    pub workspace_name: &'a str,
    pub enrollment_key: &'a str,
    /// `<cp url>/api/v1`.
    pub api_url: String,
    /// The dashboard base (`ZENML_SERVER_PRO_DASHBOARD_URL`).
    pub dashboard_url: String,
    /// The workspace server's own URL, empty when not configured.
    pub workspace_url: &'a str,
}

impl Enrollment<'_> {
    /// `server:` values of the zenml chart (`server.pro.*`, `server.serverURL`).
    pub fn helm_values(&self) -> String {
        let mut out = String::from("server:\n");
        if !self.workspace_url.is_empty() {
            out.push_str(&format!("  serverURL: {}\n", yaml_scalar(self.workspace_url)));
        }
        out.push_str("  pro:\n    enabled: true\n");
        for (key, value) in [
            ("apiURL", self.api_url.as_str()),
            ("dashboardURL", self.dashboard_url.as_str()),
            ("organizationID", self.organization_id.as_str()),
            ("organizationName", self.organization_name),
            ("workspaceID", self.workspace_id.as_str()),
            ("workspaceName", self.workspace_name),
            ("enrollmentKey", self.enrollment_key),
        ] {
            out.push_str(&format!("    {key}: {}\n", yaml_scalar(value)));
        }
        out
    }

    /// The same as `KEY=value` lines, as the chart renders them (plus the OAuth2 audience the
    /// zenml server requires).
    pub fn env_vars(&self) -> String {
        let mut vars = vec![
            ("ZENML_SERVER_DEPLOYMENT_TYPE", "cloud"),
            ("ZENML_SERVER_PRO_API_URL", self.api_url.as_str()),
            ("ZENML_SERVER_PRO_DASHBOARD_URL", self.dashboard_url.as_str()),
            ("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", self.enrollment_key),
            ("ZENML_SERVER_PRO_OAUTH2_AUDIENCE", self.api_url.as_str()),
            ("ZENML_SERVER_PRO_ORGANIZATION_ID", self.organization_id.as_str()),
            ("ZENML_SERVER_PRO_ORGANIZATION_NAME", self.organization_name),
            ("ZENML_SERVER_PRO_WORKSPACE_ID", self.workspace_id.as_str()),
            ("ZENML_SERVER_PRO_WORKSPACE_NAME", self.workspace_name),
        ];
        if !self.workspace_url.is_empty() {
            vars.push(("ZENML_SERVER_SERVER_URL", self.workspace_url));
        }
        vars.iter().map(|(k, v)| format!("{k}={}\n", shell_value(v))).collect()
    }
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted (a JSON
/// string is a valid YAML double-quoted scalar).
pub fn yaml_scalar(value: &str) -> String {
    let safe_chars = value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c));
    let starts_safe = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_');
    let lower = value.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~")
        || value.parse::<f64>().is_ok()
        || value.starts_with("0x")
        || value.starts_with("0o")
        || value.contains(": ");
    if safe_chars && starts_safe && !special { value.to_string() } else { Value::String(value.to_string()).to_string() }
}

/// A value for a `KEY=value` line that a POSIX shell, `docker --env-file` and dotenv all read
/// back unchanged when it is plain; anything else is single-quoted for the shell.
pub fn shell_value(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+,=%".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_environment() {
        let e = Enrollment {
            organization_id: "o-1".into(),
            organization_name: "acme corp",
            workspace_id: "w-1".into(),
            workspace_name: "ws",
            enrollment_key: "Ab3dEf6h",
            api_url: "http://cp:8080/api/v1".into(),
            dashboard_url: "http://cp:8080".into(),
            workspace_url: "http://ws:8080",
        };
        let helm = e.helm_values();
        assert!(helm.starts_with("server:\n  serverURL: http://ws:8080\n  pro:\n    enabled: true\n"), "{helm}");
        assert!(helm.contains("    organizationName: \"acme corp\"\n"), "{helm}");
        assert!(helm.contains("    enrollmentKey: Ab3dEf6h\n"), "{helm}");
        let env = e.env_vars();
        assert!(env.contains("ZENML_SERVER_PRO_ORGANIZATION_NAME='acme corp'\n"), "{env}");
        assert!(env.contains("ZENML_SERVER_PRO_OAUTH2_AUDIENCE=http://cp:8080/api/v1\n"), "{env}");
        assert!(env.ends_with("ZENML_SERVER_SERVER_URL=http://ws:8080\n"), "{env}");
        assert_eq!(yaml_scalar("true"), "\"true\"");
    }
}
