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
///
/// Like the reference, other users' private fields (`email`, `password_changed_at`) are not
/// shown; [`user_private`] shows them to the user themself (`/current-user`).
pub fn user(u: &UserRow, hydrate: bool) -> Value {
    user_with(u, hydrate, false)
}

/// [`user`] with the private fields, for the caller's own account.
pub fn user_private(u: &UserRow, hydrate: bool) -> Value {
    user_with(u, hydrate, true)
}

fn user_with(u: &UserRow, hydrate: bool, private: bool) -> Value {
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
            "password_changed_at": if private { opt_dt(&u.password_changed_at) } else { Value::Null },
            "email": if private { json!(u.email) } else { Value::Null },
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

/// `OAuthDeviceResponse` (no `name`); `resources.user` is always filled, as ZenML does.
pub fn device(d: &zenpro_store::devices::DeviceRow, owner: Option<&UserRow>, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&d.created),
        "updated": dt(&d.updated),
        "user_id": opt_uuid(&d.user_id),
        "client_id": parse_id(&d.client_id).to_string(),
        "expires": opt_dt(&d.expires),
        "trusted_device": d.trusted_device,
        "status": d.status,
        "os": d.os,
        "ip_address": d.ip_address,
        "hostname": d.hostname,
    });
    let metadata = hydrate.then(|| {
        json!({
            "python_version": d.python_version,
            "zenml_version": d.zenml_version,
            "city": d.city,
            "region": d.region,
            "country": d.country,
            "failed_auth_attempts": d.failed_auth_attempts,
            "last_login": opt_dt(&d.last_login),
        })
    });
    let resources = json!({ "user": user_resource(owner) });
    envelope(&d.id, Name::Absent, body, metadata, Some(resources))
}

/// `FlavorResponse`. `resources` is `{user}` at top level and null when nested in a component.
pub fn flavor(f: &zenpro_store::flavors::FlavorRow, owner: Option<Option<&UserRow>>, hydrate: bool) -> Value {
    let body = json!({
        "created": dt(&f.created),
        "updated": dt(&f.updated),
        "user_id": opt_uuid(&f.user_id),
        "type": f.kind,
        "display_name": f.display_name(),
        "integration": f.integration,
        "source": f.source,
        "logo_url": f.logo_url,
        "is_custom": f.is_custom,
    });
    let metadata = hydrate.then(|| {
        json!({
            "config_schema": f.config_schema_json(),
            "connector_type": f.connector_type,
            "connector_resource_type": f.connector_resource_type,
            "connector_resource_id_attr": f.connector_resource_id_attr,
            "docs_url": f.docs_url,
            "sdk_docs_url": f.sdk_docs_url,
        })
    });
    let resources = owner.map(|u| json!({ "user": user_resource(u) }));
    envelope(&f.id, Name::Of(Some(&f.name)), body, metadata, resources)
}

/// The body of a `ComponentResponse`.
fn component_body(
    created: &chrono::NaiveDateTime,
    updated: &chrono::NaiveDateTime,
    user_id: &Option<String>,
    kind: &str,
    flavor: &str,
    integration: Option<&str>,
    logo_url: Option<&str>,
) -> Value {
    json!({
        "created": dt(created),
        "updated": dt(updated),
        "user_id": opt_uuid(user_id),
        "type": kind,
        "flavor_name": flavor,
        "integration": integration,
        "logo_url": logo_url,
    })
}

/// `ComponentResponse` with `resources {user, flavor}`. A component whose flavor row is
/// missing cannot be shown, as in the reference.
pub fn component(c: &zenpro_store::components::ComponentView, hydrate: bool) -> Result<Value, zenpro_types::Error> {
    let r = &c.row;
    let fl = c.flavor.as_ref();
    let body = component_body(
        &r.created,
        &r.updated,
        &r.user_id,
        &r.kind,
        &r.flavor,
        fl.and_then(|f| f.integration.as_deref()),
        fl.and_then(|f| f.logo_url.as_deref()),
    );
    let metadata = hydrate.then(|| {
        json!({
            "configuration": r.configuration_json(),
            "environment": r.environment_json(),
            "secrets": c.secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "labels": r.labels_json(),
            "connector_resource_id": r.connector_resource_id,
            "connector": c.connector.as_ref().map(connector_summary).unwrap_or(Value::Null),
        })
    });
    let flavor = fl.ok_or_else(|| {
        zenpro_types::Error::internal(format!("Missing flavor {} for component {}.", r.flavor, r.name))
    })?;
    let resources = json!({ "user": user_resource(c.user.as_ref()), "flavor": self::flavor(flavor, None, false) });
    Ok(envelope(&r.id, Name::Of(Some(&r.name)), body, metadata, Some(resources)))
}

/// `StackResponse`: `metadata.components` maps each type to its components (bodies only).
pub fn stack(s: &zenpro_store::stacks::StackView) -> Value {
    let r = &s.row;
    let body = json!({
        "created": dt(&r.created),
        "updated": dt(&r.updated),
        "user_id": opt_uuid(&r.user_id),
    });
    let metadata = s.components.as_ref().map(|members| {
        let mut components = Map::new();
        for m in members {
            let item = envelope(
                &m.id,
                Name::Of(Some(&m.name)),
                component_body(
                    &m.created,
                    &m.updated,
                    &m.user_id,
                    &m.kind,
                    &m.flavor,
                    m.integration.as_deref(),
                    m.logo_url.as_deref(),
                ),
                None,
                None,
            );
            match components.get_mut(&m.kind) {
                Some(Value::Array(list)) => list.push(item),
                _ => {
                    components.insert(m.kind.clone(), json!([item]));
                }
            }
        }
        json!({
            "components": components,
            "description": r.description,
            "stack_spec_path": r.stack_spec_path,
            "environment": r.environment_json(),
            "secrets": s.secrets.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            "labels": r.labels_json(),
        })
    });
    let resources = json!({ "user": user_resource(s.user.as_ref()) });
    envelope(&r.id, Name::Of(Some(&r.name)), body, metadata, Some(resources))
}

/// `SecretResponse`: `body.values` holds the values when given (single reads and writes) and
/// `{}` otherwise (lists); `metadata` is `{}` when hydrated.
pub fn secret(
    s: &zenpro_store::secrets::SecretRow,
    values: Option<&zenpro_store::secrets::SecretValues>,
    owner: Option<&UserRow>,
    hydrate: bool,
) -> Value {
    let body = json!({
        "created": dt(&s.created),
        "updated": dt(&s.updated),
        "user_id": parse_id(&s.user_id).to_string(),
        "private": s.private,
        "values": values.map(|v| v.to_json()).unwrap_or_else(|| json!({})),
    });
    let metadata = hydrate.then(|| json!({}));
    let resources = json!({ "user": user_resource(owner) });
    envelope(&s.id, Name::Of(Some(&s.name)), body, metadata, Some(resources))
}

/// The body of a `ServiceConnectorResponse`; `connector_type` is the type's specification when
/// the server knows the type, its name otherwise.
fn connector_body(r: &zenpro_store::connectors::ConnectorRow, connector_type: Value) -> Value {
    json!({
        "created": dt(&r.created),
        "updated": dt(&r.updated),
        "user_id": opt_uuid(&r.user_id),
        "description": r.description,
        "connector_type": connector_type,
        "auth_method": r.auth_method(),
        "resource_types": r.resource_types_list(),
        "resource_id": r.resource_id,
        "supports_instances": r.supports_instances,
        "expires_at": opt_dt(&r.expires_at),
        "expires_skew_tolerance": r.expires_skew_tolerance,
    })
}

/// A connector as a component's metadata shows it: body only, type by name.
pub fn connector_summary(r: &zenpro_store::connectors::ConnectorRow) -> Value {
    let body = connector_body(r, json!(r.connector_type()));
    envelope(&r.id, Name::Of(Some(&r.name)), body, None, None)
}

/// `ServiceConnectorResponse` with `resources {user}`. `metadata.configuration` holds the plain
/// values followed by the secret values when they were loaded; metadata is shown when hydrated
/// or when secret values were loaded (the reference hydrates to add them).
pub fn service_connector(v: &zenpro_store::connectors::ConnectorView, spec: Option<Value>, hydrate: bool) -> Value {
    let r = &v.row;
    let body = connector_body(r, spec.unwrap_or_else(|| json!(r.connector_type())));
    let metadata = (hydrate || v.secrets.is_some()).then(|| {
        let mut configuration = r.configuration_map();
        if let Some(secrets) = &v.secrets {
            for (k, val) in secrets.iter() {
                configuration.insert(k.to_string(), json!(val));
            }
        }
        json!({
            "configuration": configuration,
            "expiration_seconds": r.expiration_seconds,
            "labels": r.labels_map(),
        })
    });
    let resources = json!({ "user": user_resource(v.user.as_ref()) });
    envelope(&r.id, Name::Of(Some(&r.name)), body, metadata, Some(resources))
}
