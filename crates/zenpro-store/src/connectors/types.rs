//! Service connector type specifications, as data: `schema/connector_types.json` holds what
//! the reference server answers to `GET /service_connector_types` (regenerated and checked by
//! `scripts/connector_types.py`). The Python server gets them from its installed connector
//! implementations; zenpro knows exactly those types and uses their specifications the way the
//! reference does: to serve them, to embed them in connector responses, and to validate a
//! connector's configuration (`_validate_and_configure_resources`), which also decides which
//! configuration values are secrets (`format: password` in the auth method's schema).

use serde_json::{Map, Value as Json};
use zenpro_types::Error;
use zenpro_types::error::python_repr;

use crate::secrets::SecretValues;

const CONNECTOR_TYPES_JSON: &str = include_str!("../../schema/connector_types.json");

/// The connector type specifications the reference serves, in its order.
pub fn connector_types() -> Vec<Json> {
    let doc: Json = serde_json::from_str(CONNECTOR_TYPES_JSON).expect("schema/connector_types.json is valid JSON");
    match doc.get("connector_types") {
        Some(Json::Array(types)) => types.clone(),
        _ => panic!("schema/connector_types.json has a connector_types list"),
    }
}

/// `service_connector_registry.list_service_connector_types`: exact matches on the connector
/// type, a resource type it offers and an auth method it supports.
pub fn list_connector_types(
    connector_type: Option<&str>,
    resource_type: Option<&str>,
    auth_method: Option<&str>,
) -> Vec<Json> {
    connector_types()
        .into_iter()
        .filter(|t| connector_type.is_none_or(|c| type_name(t) == c))
        .filter(|t| resource_type.is_none_or(|r| resource_type_names(t).contains(&r)))
        .filter(|t| auth_method.is_none_or(|a| auth_method_names(t).contains(&a)))
        .collect()
}

/// A known connector type's specification, if the reference has it.
pub fn find_connector_type(connector_type: &str) -> Option<Json> {
    connector_types().into_iter().find(|t| type_name(t) == connector_type)
}

/// `get_service_connector_type`: 404 with the reference's message for unknown types.
pub fn get_connector_type(connector_type: &str) -> Result<Json, Error> {
    find_connector_type(connector_type).ok_or_else(|| {
        Error::not_found(format!(
            "Service connector type {connector_type} is not available. Please make sure the corresponding \
             packages and/or ZenML integration are installed and try again."
        ))
    })
}

fn str_of<'a>(v: &'a Json, key: &str) -> &'a str {
    v.get(key).and_then(Json::as_str).unwrap_or_default()
}

fn list_of<'a>(v: &'a Json, key: &str) -> &'a [Json] {
    v.get(key).and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn type_name(spec: &Json) -> &str {
    str_of(spec, "connector_type")
}

fn resource_type_names(spec: &Json) -> Vec<&str> {
    list_of(spec, "resource_types").iter().map(|r| str_of(r, "resource_type")).collect()
}

fn auth_method_names(spec: &Json) -> Vec<&str> {
    list_of(spec, "auth_methods").iter().map(|a| str_of(a, "auth_method")).collect()
}

/// Python's `repr` of a list of strings, for messages.
fn py_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| python_repr(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// `connector configuration is not valid: ...` (400 `ValueError`). `key_error` messages come
/// from a `KeyError`, which Python shows as the repr of its message.
fn invalid(msg: &str, key_error: bool) -> Error {
    let msg = if key_error { python_repr(msg) } else { msg.to_string() };
    Error::bad_request(format!("connector configuration is not valid: {msg}"))
}

/// A configuration split as the reference stores it: plain values go to the connector row,
/// secret values (schema `format: password`) to its internal secret. Both keep the order of
/// the auth method's schema.
#[derive(Debug, Clone, Default)]
pub struct SplitConfiguration {
    pub plain: Map<String, Json>,
    pub secrets: SecretValues,
}

impl SplitConfiguration {
    /// A configuration of a connector type zenpro does not know: as in the reference (which
    /// cannot tell secrets from other values without the type's schema), all values are plain.
    pub fn unvalidated(config: Map<String, Json>) -> Self {
        SplitConfiguration { plain: config, secrets: SecretValues::new() }
    }
}

/// What validating a connector against its type gives (`_validate_and_configure_resources`).
#[derive(Debug, Clone)]
pub struct Configured {
    /// The single resource type asked for, or every resource type of the connector type.
    pub resource_types: Vec<String>,
    pub supports_instances: bool,
    /// `None` when no configuration was given (updates that keep the configuration).
    pub configuration: Option<SplitConfiguration>,
}

/// Validate a connector's auth method, resource types and configuration against its type's
/// specification and split the configuration into plain and secret values, as the reference's
/// `_validate_and_configure_resources` does. Unknown configuration keys are dropped (the
/// reference logs a warning).
pub fn validate_and_configure(
    spec: &Json,
    auth_method: &str,
    resource_types: Option<&[String]>,
    configuration: Option<&Map<String, Json>>,
) -> Result<Configured, Error> {
    let resource_type = match resource_types {
        Some([one]) => Some(one.as_str()),
        _ => None,
    };
    let ct = type_name(spec);
    let methods = list_of(spec, "auth_methods");
    let auth_spec = methods.iter().find(|a| str_of(a, "auth_method") == auth_method).ok_or_else(|| {
        invalid(
            &format!(
                "connector type '{ct}' does not support the '{auth_method}' authentication method. Supported \
                 authentication methods are: {}.",
                py_list(&auth_method_names(spec))
            ),
            true,
        )
    })?;
    let resource_spec = match resource_type {
        None => None,
        Some(rt) => {
            let r =
                list_of(spec, "resource_types").iter().find(|r| str_of(r, "resource_type") == rt).ok_or_else(|| {
                    invalid(
                        &format!(
                            "connector type '{ct}' does not support resource type '{rt}'. Supported resource types \
                             are: {}.",
                            py_list(&resource_type_names(spec))
                        ),
                        true,
                    )
                })?;
            let allowed: Vec<&str> = list_of(r, "auth_methods").iter().filter_map(Json::as_str).collect();
            if !allowed.contains(&auth_method) {
                return Err(invalid(
                    &format!(
                        "the '{ct}' connector type does not support the '{auth_method}' authentication method for \
                         the '{rt}' resource type. Supported authentication methods are: {}.",
                        py_list(&allowed)
                    ),
                    true,
                ));
            }
            Some(r)
        }
    };
    let (resource_types, supports_instances) = match resource_spec {
        Some(r) => (
            vec![str_of(r, "resource_type").to_string()],
            r.get("supports_instances").and_then(Json::as_bool).unwrap_or(false),
        ),
        None => (resource_type_names(spec).into_iter().map(str::to_string).collect(), false),
    };
    let configuration = match configuration {
        None => None,
        Some(config) => Some(split_configuration(auth_spec, config)?),
    };
    Ok(Configured { resource_types, supports_instances, configuration })
}

/// Check a configuration against an auth method's schema: required attributes present,
/// secrets (`format: password`) are strings, array attributes given as text parsed.
fn split_configuration(auth_spec: &Json, config: &Map<String, Json>) -> Result<SplitConfiguration, Error> {
    let schema = auth_spec.get("config_schema").cloned().unwrap_or(Json::Null);
    let required: Vec<&str> = list_of(&schema, "required").iter().filter_map(Json::as_str).collect();
    let mut out = SplitConfiguration::default();
    let Some(props) = schema.get("properties").and_then(Json::as_object) else {
        return Ok(out);
    };
    for (name, attr) in props {
        let any_of = list_of(attr, "anyOf");
        let (secret, kind) = if any_of.is_empty() {
            (str_of(attr, "format") == "password", attr.get("type").and_then(Json::as_str).unwrap_or("string"))
        } else {
            let not_null: Vec<&Json> =
                any_of.iter().filter(|a| a.get("type").and_then(Json::as_str).unwrap_or("string") != "null").collect();
            let [only] = not_null.as_slice() else {
                return Err(Error::bad_request(format!(
                    "Service connector schema error: the '{name}' attribute accepts several types."
                )));
            };
            (str_of(only, "format") == "password", only.get("type").and_then(Json::as_str).unwrap_or("string"))
        };
        let value = config.get(name).filter(|v| !v.is_null());
        let Some(value) = value else {
            if required.contains(&name.as_str()) {
                return Err(invalid(&format!("missing required attribute '{name}'"), false));
            }
            continue;
        };
        if secret {
            let Some(s) = value.as_str() else {
                return Err(invalid(&format!("attribute '{name}' is a secret but is not a string"), false));
            };
            out.secrets.set(name.clone(), s);
            continue;
        }
        let value = match (kind, value) {
            ("array", Json::String(s)) => serde_json::from_str::<Json>(s)
                .unwrap_or_else(|_| Json::Array(s.split(',').map(|p| Json::String(p.to_string())).collect())),
            _ => value.clone(),
        };
        out.plain.insert(name.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Json) -> Map<String, Json> {
        v.as_object().expect("an object").clone()
    }

    #[test]
    fn the_reference_types_are_served_and_filtered() {
        let all = connector_types();
        assert_eq!(all.iter().map(|t| type_name(t).to_string()).collect::<Vec<_>>(), ["docker", "oauth2"]);
        assert_eq!(list_connector_types(None, Some("docker-registry"), None).len(), 1);
        assert_eq!(list_connector_types(None, None, Some("token")).len(), 1);
        assert_eq!(list_connector_types(Some("docker"), None, Some("token")).len(), 0);
        assert!(get_connector_type("kubernetes").is_err());
    }

    #[test]
    fn docker_configuration_is_split_into_plain_and_secret_values() {
        let spec = get_connector_type("docker").unwrap();
        let c = validate_and_configure(
            &spec,
            "password",
            Some(&["docker-registry".to_string()]),
            Some(&obj(json!({"password": "p", "username": "u", "registry": "r.io", "extra": 1}))),
        )
        .unwrap();
        assert_eq!(c.resource_types, ["docker-registry"]);
        let split = c.configuration.unwrap();
        assert_eq!(Json::Object(split.plain), json!({"registry": "r.io"}));
        // Schema order, not request order.
        assert_eq!(split.secrets.iter().collect::<Vec<_>>(), [("username", "u"), ("password", "p")]);
    }

    #[test]
    fn invalid_connectors_get_the_reference_messages() {
        let spec = get_connector_type("docker").unwrap();
        let e = validate_and_configure(&spec, "nope", None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "connector configuration is not valid: \"connector type 'docker' does not support the 'nope' \
             authentication method. Supported authentication methods are: ['password'].\""
        );
        let e = validate_and_configure(&spec, "password", Some(&["x".to_string()]), None).unwrap_err();
        assert!(
            e.to_string()
                .contains("does not support resource type 'x'. Supported resource types are: ['docker-registry'].")
        );
        let e = validate_and_configure(&spec, "password", None, Some(&obj(json!({"username": "u"})))).unwrap_err();
        assert_eq!(e.to_string(), "connector configuration is not valid: missing required attribute 'password'");
        let e = validate_and_configure(&spec, "password", None, Some(&obj(json!({"username": "u", "password": 5}))))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "connector configuration is not valid: attribute 'password' is a secret but is not a string"
        );
    }

    #[test]
    fn several_resource_types_make_a_multi_type_connector() {
        let spec = get_connector_type("oauth2").unwrap();
        let c = validate_and_configure(&spec, "token", Some(&["a".to_string(), "b".to_string()]), None).unwrap();
        assert_eq!(c.resource_types, ["oauth2-api"]);
        assert!(!c.supports_instances);
        assert!(c.configuration.is_none());
    }
}
