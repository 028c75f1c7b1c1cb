//! `dehydrate_response_model`: nested models of a response the caller may not read are
//! replaced by their permission-denied form (`get_permission_denied_model`: `body`, `metadata`
//! and `resources` null, `permission_denied` true; `id` and `name` kept). The nested models
//! are found in the JSON (objects with `id` and `permission_denied` below the top level or below
//! a page's items), typed by the field they sit in; versions are read-checked on their artifact
//! / model; owned (or server-owned) models are never checked. One `check_permissions` call per
//! response at most (cached decisions first).

use std::collections::HashMap;

use http::Method;
use serde_json::Value;
use uuid::Uuid;
use zenpro_types::Error;

use super::{forget, key, resource};
use crate::pro::Pro;

/// The resource type of a nested model, from the field (or, for dicts and lists, the
/// nearest enclosing field) it sits in. `None`: no RBAC type (users, code references...).
fn type_of_field(field: &str) -> Option<&'static str> {
    Some(match field {
        "pipeline" => "pipeline",
        "stack" => "stack",
        "snapshot" | "source_snapshot" => "pipeline_deployment",
        "build" => "pipeline_build",
        "schedule" => "schedule",
        "model" => "model",
        "model_version" => "model_version",
        "artifact" => "artifact",
        "artifact_version" | "inputs" | "outputs" | "artifact_versions" => "artifact_version",
        "original_run" | "parent_run" | "pipeline_run" | "run" => "pipeline_run",
        "tags" => "tag",
        "components" => "stack_component",
        "connector" | "service_connector" => "service_connector",
        "flavor" => "flavor",
        "code_repository" => "code_repository",
        "deployment" => "deployment",
        "template" | "run_template" => "run_template",
        "secrets" | "secret" => "secret",
        _ => return None,
    })
}

fn is_project_scoped(rt: &str) -> bool {
    !matches!(rt, "flavor" | "secret" | "service_connector" | "stack" | "stack_component" | "tag" | "project")
}

fn uuid_at(v: &Value, path: &[&str]) -> Option<Uuid> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// The resource to read-check for a nested model, `None` when nothing is checked.
fn resource_of(rt: &str, model: &Value, me: Uuid) -> Option<String> {
    let body = model.get("body").filter(|b| b.is_object())?;
    // Owned or server-owned (no owner): no check. Projects have no owner field and are checked.
    if rt != "project" {
        match body.get("user_id") {
            Some(Value::String(u)) if Uuid::parse_str(u).ok() == Some(me) => return None,
            Some(Value::Null) | None => return None,
            _ => {}
        }
    }
    // Versions are read on their parent (surrogate model).
    let (rt, id, project) = match rt {
        "artifact_version" => ("artifact", uuid_at(body, &["artifact", "id"])?, uuid_at(body, &["project_id"])),
        "model_version" => ("model", uuid_at(body, &["model", "id"])?, uuid_at(body, &["project_id"])),
        _ => (rt, uuid_at(model, &["id"])?, uuid_at(body, &["project_id"])),
    };
    let project = if is_project_scoped(rt) { Some(project?) } else { None };
    Some(resource(rt, project, Some(id)))
}

/// Walk the nested models (`field`: the nearest enclosing field's type), calling `f` on each
/// with its type; `f` returns whether to descend into it.
fn walk(v: &mut Value, ty: Option<&'static str>, f: &mut dyn FnMut(&mut Value, &'static str) -> bool) {
    match v {
        Value::Object(map) => {
            let model = map.contains_key("id") && map.contains_key("permission_denied");
            if model
                && let Some(rt) = ty
                && !f(v, rt)
            {
                return;
            }
            let Value::Object(map) = v else { return };
            for (k, child) in map.iter_mut() {
                let t = type_of_field(k).or(if matches!(k.as_str(), "body" | "metadata" | "resources") {
                    None
                } else {
                    ty
                });
                walk(child, t, f);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, ty, f);
            }
        }
        _ => {}
    }
}

/// The top-level models of a response: a page's items, a list, or the model itself; their
/// own fields are walked, they are not checked themselves.
fn tops(v: &mut Value) -> Vec<&mut Value> {
    if v.get("items").is_some_and(Value::is_array) && v.get("total").is_some() {
        return v.get_mut("items").and_then(Value::as_array_mut).map(|a| a.iter_mut().collect()).unwrap_or_default();
    }
    match v {
        Value::Array(a) => a.iter_mut().collect(),
        other => vec![other],
    }
}

fn walk_fields(top: &mut Value, f: &mut dyn FnMut(&mut Value, &'static str) -> bool) {
    if let Value::Object(map) = top {
        for (k, child) in map.iter_mut() {
            walk(child, type_of_field(k), f);
        }
    }
}

/// Decide `action` on these resources: cached answers first, one call for the rest.
pub(super) async fn decide(
    pro: &Pro,
    cp_user: Uuid,
    action: &str,
    resources: &[String],
) -> Result<HashMap<String, bool>, Error> {
    let user = cp_user.to_string();
    let mut out = HashMap::new();
    let mut unknown = Vec::new();
    for r in resources {
        match pro.rbac.decisions.get(&key(&[&user, action, r])) {
            Some(b) => {
                out.insert(r.clone(), b);
            }
            None => unknown.push(r.clone()),
        }
    }
    if unknown.is_empty() {
        return Ok(out);
    }
    let q = [("user_id", user.clone()), ("action", action.to_string())];
    let answer = forget(
        pro,
        pro.client.call(Method::POST, "/rbac/check_permissions", &q, Some(&serde_json::json!(unknown))).await,
    )?;
    for r in unknown {
        let allowed = answer.get(&r).and_then(Value::as_bool).unwrap_or(false);
        pro.rbac.decisions.insert(key(&[&user, action, &r]), allowed);
        out.insert(r, allowed);
    }
    Ok(out)
}

/// Dehydrate a response body in place; `Ok(false)` when nothing was nested.
pub async fn dehydrate(pro: &Pro, cp_user: Uuid, me: Uuid, v: &mut Value) -> Result<bool, Error> {
    let mut resources = Vec::new();
    for top in tops(v) {
        walk_fields(top, &mut |m, rt| {
            resources.extend(resource_of(rt, m, me));
            true
        });
    }
    resources.sort();
    resources.dedup();
    if resources.is_empty() {
        return Ok(false);
    }
    let allowed = decide(pro, cp_user, "read", &resources).await?;
    for top in tops(v) {
        walk_fields(top, &mut |m, rt| match resource_of(rt, m, me) {
            Some(r) if !allowed.get(&r).copied().unwrap_or(false) => {
                if let Value::Object(map) = m {
                    for k in ["body", "metadata", "resources"] {
                        map.insert(k.into(), Value::Null);
                    }
                    map.insert("permission_denied".into(), Value::Bool(true));
                }
                false
            }
            _ => true,
        });
    }
    Ok(true)
}

/// Dehydrate a successful JSON response (other responses pass unchanged).
pub async fn response(
    pro: &Pro,
    cp_user: Uuid,
    me: Uuid,
    resp: axum::response::Response,
) -> Result<axum::response::Response, Error> {
    let json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !resp.status().is_success() || !json {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| Error::internal(format!("reading a response body: {e}")))?;
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(axum::response::Response::from_parts(parts, axum::body::Body::from(bytes)));
    };
    if !dehydrate(pro, cp_user, me, &mut v).await? {
        return Ok(axum::response::Response::from_parts(parts, axum::body::Body::from(bytes)));
    }
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(axum::response::Response::from_parts(parts, axum::body::Body::from(v.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_models_are_found_and_typed() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4().to_string();
        let p = Uuid::new_v4().to_string();
        let pl = Uuid::new_v4().to_string();
        let st = Uuid::new_v4().to_string();
        let mut run = json!({"id": Uuid::new_v4().to_string(), "permission_denied": false, "body": {"user_id": other},
        "resources": {
            "pipeline": {"id": pl, "permission_denied": false, "body": {"user_id": other, "project_id": p}},
            "stack": {"id": st, "permission_denied": false, "body": {"user_id": null}},
            "user": {"id": other, "permission_denied": false, "body": {}},
        }});
        let mut found = Vec::new();
        for top in tops(&mut run) {
            walk_fields(top, &mut |m, rt| {
                found.extend(resource_of(rt, m, me));
                true
            });
        }
        assert_eq!(found, [format!("{p}:pipeline/{pl}")], "server-owned stack and users are not checked");
    }
}
