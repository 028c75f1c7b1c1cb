//! Store rows → ZenML response JSON. Every entity has the envelope
//! `{body, metadata, resources, id, permission_denied[, name]}` in that key order; `metadata`
//! is filled only when hydrated.

use serde_json::{Map, Value, json};
use zenpro_store::api_keys::ApiKeyRow;
use zenpro_store::projects::ProjectRow;
use zenpro_store::users::UserRow;
use zenpro_store::{parse_id, parse_opt_id};
use zenpro_types::time::api_format;

/// The `name` key of an envelope.
pub enum Name<'a> {
    /// The model has no `name` field.
    Absent,
    /// The model's name (possibly null).
    Of(Option<&'a str>),
}

/// Build the response envelope.
pub fn envelope(id: &str, name: Name<'_>, body: Value, metadata: Option<Value>, resources: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("body".into(), body);
    m.insert("metadata".into(), metadata.unwrap_or(Value::Null));
    m.insert("resources".into(), resources.unwrap_or(Value::Null));
    m.insert("id".into(), json!(parse_id(id).to_string()));
    m.insert("permission_denied".into(), json!(false));
    if let Name::Of(n) = name {
        m.insert("name".into(), json!(n));
    }
    Value::Object(m)
}

/// A datetime in API form.
pub fn dt(t: &chrono::NaiveDateTime) -> Value {
    json!(api_format(t))
}

pub fn opt_dt(t: &Option<chrono::NaiveDateTime>) -> Value {
    t.as_ref().map(dt).unwrap_or(Value::Null)
}

/// A stored UUID (hex) in API form (dashed), or null.
pub fn opt_uuid(s: &Option<String>) -> Value {
    parse_opt_id(s).map(|u| json!(u.to_string())).unwrap_or(Value::Null)
}

/// Parse a JSON text column, `default` when NULL or unreadable.
pub fn json_text(s: &Option<String>, default: Value) -> Value {
    s.as_deref().and_then(|t| serde_json::from_str(t).ok()).filter(|v: &Value| !v.is_null()).unwrap_or(default)
}

/// `UserResponse` (also used for service accounts nested as `user` resources).
pub fn user(u: &UserRow, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&u.created),
        "updated": dt(&u.updated),
        "active": u.active,
        "activation_token": Value::Null,
        "full_name": u.full_name,
        "email_opted_in": u.email_opted_in,
        "is_service_account": u.is_service_account,
        "is_admin": u.is_admin,
        "default_project_id": opt_uuid(&u.default_project_id),
        "avatar_url": u.avatar_url,
    });
    let metadata = hydrate.then(|| {
        json!({
            "password_changed_at": opt_dt(&u.password_changed_at),
            "email": u.email,
            "external_user_id": opt_uuid(&u.external_user_id),
            "user_metadata": json_text(&u.user_metadata, json!({})),
            "oidc_claims": json_text(&u.oidc_claims, json!({})),
        })
    });
    envelope(&u.id, Name::Of(Some(&u.name)), body, metadata, None)
}

/// A user as nested in another entity's `resources.user` (never hydrated), or null.
pub fn user_resource(u: Option<&UserRow>) -> Value {
    u.map(|u| user(u, false)).unwrap_or(Value::Null)
}

/// `ServiceAccountResponse`.
pub fn service_account(u: &UserRow, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&u.created),
        "updated": dt(&u.updated),
        "full_name": u.full_name,
        "active": u.active,
        "avatar_url": u.avatar_url,
    });
    let metadata = hydrate.then(|| {
        json!({
            "description": u.description.clone().unwrap_or_default(),
            "external_user_id": opt_uuid(&u.external_user_id),
        })
    });
    envelope(&u.id, Name::Of(Some(&u.name)), body, metadata, None)
}

/// `APIKeyResponse`; `key` is the clear key, only on creation and rotation.
pub fn api_key(k: &ApiKeyRow, account: &UserRow, key: Option<&str>, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&k.created),
        "updated": dt(&k.updated),
        "key": key,
        "active": k.active,
        "service_account": service_account(account, false),
    });
    let metadata = hydrate.then(|| {
        json!({
            "description": k.description.clone().unwrap_or_default(),
            "retain_period_minutes": k.retain_period,
            "last_login": opt_dt(&k.last_login),
            "last_rotated": opt_dt(&k.last_rotated),
        })
    });
    envelope(&k.id, Name::Of(Some(&k.name)), body, metadata, None)
}

/// `ProjectResponse`.
pub fn project(p: &ProjectRow, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&p.created),
        "updated": dt(&p.updated),
        "display_name": p.display_name,
    });
    let metadata = hydrate.then(|| {
        json!({
            "description": p.description,
            "project_metadata": json_text(&p.project_metadata, json!({})),
        })
    });
    envelope(&p.id, Name::Of(Some(&p.name)), body, metadata, None)
}

/// Id of a row as a UUID.
pub fn id_of(s: &str) -> uuid::Uuid {
    parse_id(s)
}
