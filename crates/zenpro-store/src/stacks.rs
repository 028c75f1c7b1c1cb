//! Stacks, stack components and their composition (`stack`, `stack_component`,
//! `stack_composition`). Labels, environment and configuration are stored as
//! base64(json.dumps(...)) BLOBs.

use base64::Engine;
use uuid::Uuid;
use zenpro_types::{Error, time::utc_now};

use crate::{Store, db_err, q};

/// `base64(json)` as ZenML writes its LargeBinary JSON columns.
pub fn encode_b64_json(v: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.encode(python_json(v)).into_bytes()
}

/// Decode a base64 JSON column; `None`/empty/invalid become JSON null.
pub fn decode_b64_json(raw: Option<&[u8]>) -> serde_json::Value {
    let Some(raw) = raw else { return serde_json::Value::Null };
    let trimmed: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&trimmed)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// JSON text the way Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII
/// escaped), so stored bytes match what the Python server writes.
pub fn python_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_py(v, &mut out);
    out
}

fn write_py(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as V;
    match v {
        V::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str(k, out);
                out.push_str(": ");
                write_py(val, out);
            }
            out.push('}');
        }
        V::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(val, out);
            }
            out.push(']');
        }
        V::String(s) => write_py_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_py_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Types of the default stack's components, in the order the Python server creates them.
pub const DEFAULT_COMPONENT_TYPES: [&str; 3] = ["orchestrator", "deployer", "artifact_store"];

impl Store {
    /// Get-or-create the stack named `default` with local components (all owned by nobody).
    pub async fn ensure_default_stack(&self) -> Result<(), Error> {
        let n = self
            .db
            .clone()
            .fetch_i64(q!("SELECT count(*) FROM `stack` WHERE `name` = ?", "default"))
            .await
            .map_err(db_err)?;
        if n > 0 {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let empty = encode_b64_json(&serde_json::json!({}));
        let null = encode_b64_json(&serde_json::Value::Null);
        let stack_id = Uuid::new_v4();
        let mut components = Vec::new();
        for kind in DEFAULT_COMPONENT_TYPES {
            let id = Uuid::new_v4();
            let now = utc_now();
            tx.execute(q!(
                "INSERT INTO `stack_component` (`id`, `created`, `updated`, `name`, `type`, `flavor`, `configuration`, \
                 `labels`, `environment`, `user_id`, `connector_id`, `connector_resource_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                id,
                now,
                now,
                "default",
                kind,
                "local",
                empty.clone(),
                null.clone(),
                null.clone()
            ))
            .await
            .map_err(db_err)?;
            components.push((id, kind));
        }
        let now = utc_now();
        tx.execute(q!(
            "INSERT INTO `stack` (`id`, `created`, `updated`, `name`, `description`, `stack_spec_path`, `labels`, \
             `environment`, `user_id`) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
            stack_id,
            now,
            now,
            "default",
            "",
            empty,
            null
        ))
        .await
        .map_err(db_err)?;
        for (id, kind) in components {
            tx.execute(q!(
                "INSERT INTO `stack_composition` (`stack_id`, `component_id`, `default_for_type`) VALUES (?, ?, ?)",
                stack_id,
                id,
                kind
            ))
            .await
            .map_err(db_err)?;
        }
        match tx.commit().await {
            Ok(()) | Err(Error::EntityExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_json_matches_python() {
        assert_eq!(encode_b64_json(&serde_json::json!({})), b"e30=");
        assert_eq!(encode_b64_json(&serde_json::Value::Null), b"bnVsbA==");
        assert_eq!(decode_b64_json(Some(b"e30=")), serde_json::json!({}));
        assert_eq!(
            python_json(&serde_json::json!({"a": [1, "é"], "b": null})),
            r#"{"a": [1, "\u00e9"], "b": null}"#
        );
    }
}
