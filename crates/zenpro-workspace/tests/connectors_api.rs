//! Service connectors through the HTTP API, on SQLite and MariaDB: CRUD, the internal secret
//! holding the connector's secret values (encrypted when a key is configured, never in lists),
//! filters, component links, the connector type specifications and the 501 answers.
//!
//! Reference (Python 0.98.0) answers, checked with `ref-server.sh` (with
//! `ZT_ENCRYPTION_KEY`):
//! * `POST /service_connectors` docker/password `{"username","password","registry","extra"}`:
//!   200; row `configuration` = b64 `{"registry": "r.io"}`, `labels` NULL when `{}`, secret
//!   `connector-<name>-<4 letters>` (`internal=1`, `private=0`) holding
//!   `{"username": .., "password": ..}`; response configuration `registry, username, password`,
//!   `body.connector_type` the type's specification; `extra` dropped.
//! * a `kubernetes` connector (type not installed on the reference): all values plain, no
//!   secret, `connector_type` a string.
//! * duplicate name 409 "Unable to create the requested service connector with name 'k8s':
//!   Found another existing service connector with the same name."; bad auth method 400
//!   `connector configuration is not valid: "connector type 'docker' does not support the
//!   'nope' authentication method. Supported authentication methods are: ['password']."`.
//! * a connector used by a component: DELETE 403 "Service connector with ID .. cannot be
//!   deleted as it is still referenced by 1 stack components. ..."; PUT changing resource id,
//!   auth method or type 403; the component's `metadata.connector` is the connector's body
//!   only (`connector_type` a string).
//! * `GET /service_connector_types`: 2 types (docker, oauth2); unknown type 404 "Service
//!   connector type nope is not available. ...".

mod common;

use base64::Engine;
use common::{TestApp, names};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use zenpro_store::Backend;
use zenpro_store::secrets::{SecretsCodec, aes_gcm_decrypt, derive_key};

const ENCRYPTED: &[(&str, &str)] = &[("ZENML_SECRETS_STORE_TYPE", "sql"), ("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "ck")];

/// Run a test on both backends with extra environment.
macro_rules! env_tests {
    ($name:ident, $env:expr, $f:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::with_env(Backend::Sqlite, $env).await {
                    ($f)(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                if let Some(app) = TestApp::with_env(Backend::MySql, $env).await {
                    ($f)(app).await;
                }
            }
        }
    };
}

fn docker(name: &str) -> Value {
    json!({
        "name": name,
        "connector_type": "docker",
        "auth_method": "password",
        "resource_types": ["docker-registry"],
        "configuration": {"password": "s3cr3t", "username": "alice", "registry": "r.io", "extra": "x"},
        "labels": {"env": "prod"},
    })
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.encode(s).into_bytes()
}

#[derive(sqlx::FromRow)]
struct Stored {
    configuration: Option<Vec<u8>>,
    resource_types: Vec<u8>,
    labels: Option<Vec<u8>>,
    secret_id: Option<String>,
    supports_instances: bool,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    name: String,
    private: bool,
    internal: bool,
    values: Option<Vec<u8>>,
}

async fn stored(app: &TestApp, name: &str) -> Stored {
    app.pool()
        .fetch_optional(zenpro_store::q!(
            "SELECT `configuration`, `resource_types`, `labels`, `secret_id`, `supports_instances` \
             FROM `service_connector` WHERE `name` = ?",
            name
        ))
        .await
        .expect("query")
        .expect("the connector row")
}

async fn secret_row(app: &TestApp, id: &str) -> Option<SecretRow> {
    app.pool()
        .fetch_optional(zenpro_store::q!(
            "SELECT `name`, `private`, `internal`, `values` FROM `secret` WHERE `id` = ?",
            id
        ))
        .await
        .expect("query")
}

fn plain_of(stored: &[u8]) -> String {
    String::from_utf8(aes_gcm_decrypt(&derive_key("ck"), stored).expect("decrypts with the configured key"))
        .expect("utf-8")
}

env_tests!(crud_with_encrypted_secret_values, ENCRYPTED, |app: TestApp| async move {
    let tok = app.admin().await;
    let (status, _, c) = app.post_json("/api/v1/service_connectors", Some(&tok), &docker("dock 1")).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    let body_keys: Vec<&str> = c["body"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        body_keys,
        [
            "created",
            "updated",
            "user_id",
            "description",
            "connector_type",
            "auth_method",
            "resource_types",
            "resource_id",
            "supports_instances",
            "expires_at",
            "expires_skew_tolerance"
        ]
    );
    assert_eq!(c["body"]["connector_type"]["connector_type"], "docker", "the type's specification");
    assert_eq!(c["body"]["connector_type"]["auth_methods"][0]["auth_method"], "password");
    assert_eq!(c["body"]["resource_types"], json!(["docker-registry"]));
    assert_eq!(
        c["metadata"],
        json!({
            "configuration": {"registry": "r.io", "username": "alice", "password": "s3cr3t"},
            "expiration_seconds": null,
            "labels": {"env": "prod"},
        })
    );
    let conf_keys: Vec<&str> = c["metadata"]["configuration"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(conf_keys, ["registry", "username", "password"], "plain values first, then the secret ones");
    assert_eq!(c["resources"]["user"]["name"], "default");
    let id = c["id"].as_str().unwrap().to_string();

    // At rest: the plain part in the row, the secret part encrypted in an internal secret.
    let row = stored(&app, "dock 1").await;
    assert_eq!(row.configuration, Some(b64(r#"{"registry": "r.io"}"#)));
    assert_eq!(row.resource_types, b64(r#"["docker-registry"]"#));
    assert_eq!(row.labels, Some(b64(r#"{"env": "prod"}"#)));
    assert!(!row.supports_instances);
    let secret_id = row.secret_id.expect("a secret");
    let s = secret_row(&app, &secret_id).await.expect("the secret row");
    assert!(s.internal && !s.private);
    assert!(s.name.starts_with("connector-dock-1-") && s.name.len() == "connector-dock-1-".len() + 4, "{}", s.name);
    let raw = s.values.expect("values");
    assert!(!String::from_utf8_lossy(&raw).contains("s3cr3t"));
    assert_eq!(plain_of(&raw), r#"{"username": "alice", "password": "s3cr3t"}"#);
    // Internal secrets are nobody's to list.
    let (_, _, secrets) = app.get("/api/v1/secrets", Some(&tok)).await;
    assert_eq!(secrets["total"], 0, "{secrets}");

    // 409 on the name.
    let dup = app.post_json("/api/v1/service_connectors", Some(&tok), &docker("dock 1")).await;
    assert_eq!(dup.0, StatusCode::CONFLICT);
    assert_eq!(
        dup.2,
        json!({"detail": ["EntityExistsError", "Unable to create the requested service connector with name 'dock 1': Found another existing service connector with the same name."]})
    );

    // A type zenpro does not know: stored as sent, no secret.
    let k8s = json!({"name": "k8s", "connector_type": "kubernetes", "auth_method": "password",
        "resource_types": ["kubernetes-cluster"], "resource_id": "c1",
        "configuration": {"username": "u", "password": "p", "server": "https://x"}});
    let (status, _, k) = app.post_json("/api/v1/service_connectors", Some(&tok), &k8s).await;
    assert_eq!(status, StatusCode::OK, "{k}");
    assert_eq!(k["body"]["connector_type"], "kubernetes");
    assert_eq!(k["metadata"]["configuration"], json!({"username": "u", "password": "p", "server": "https://x"}));
    let krow = stored(&app, "k8s").await;
    assert_eq!(krow.secret_id, None);
    assert_eq!(krow.labels, None, "empty labels are NULL");

    // Lists: no secret values, metadata only when hydrated.
    let (status, _, page) = app.get("/api/v1/service_connectors?sort_by=name", Some(&tok)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(names(&page), ["dock 1", "k8s"]);
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    assert_eq!(page["items"][0]["body"]["connector_type"]["connector_type"], "docker");
    let (_, _, page) = app.get("/api/v1/service_connectors?hydrate=true&sort_by=name", Some(&tok)).await;
    assert_eq!(page["items"][0]["metadata"]["configuration"], json!({"registry": "r.io"}));
    assert!(!page.to_string().contains("s3cr3t"));
    // ... unless asked for explicitly, as the client does to find one connector by name.
    let (_, _, page) =
        app.get("/api/v1/service_connectors?name=equals%3Adock%201&hydrate=True&expand_secrets=True", Some(&tok)).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["metadata"]["configuration"]["password"], "s3cr3t");

    // A single GET carries them by default, not with expand_secrets=false.
    let (status, _, got) = app.get(&format!("/api/v1/service_connectors/{id}"), Some(&tok)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["metadata"]["configuration"]["username"], "alice");
    let (_, _, got) = app.get(&format!("/api/v1/service_connectors/{id}?expand_secrets=false"), Some(&tok)).await;
    assert_eq!(got["metadata"]["configuration"], json!({"registry": "r.io"}));
    let (_, _, got) =
        app.get(&format!("/api/v1/service_connectors/{id}?expand_secrets=false&hydrate=false"), Some(&tok)).await;
    assert_eq!(got["metadata"], Value::Null);

    // Update without a configuration keeps configuration and secret.
    let (status, _, u) =
        app.put_json(&format!("/api/v1/service_connectors/{id}"), Some(&tok), &json!({"description": "hello"})).await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(u["body"]["description"], "hello");
    assert_eq!(u["metadata"]["configuration"], json!({"registry": "r.io", "username": "alice", "password": "s3cr3t"}));
    assert_eq!(stored(&app, "dock 1").await.secret_id.as_deref(), Some(secret_id.as_str()));

    // A configuration replaces everything; the same secret gets the new values.
    let (status, _, u) = app
        .put_json(
            &format!("/api/v1/service_connectors/{id}"),
            Some(&tok),
            &json!({"configuration": {"username": "bob", "password": "n3w"}, "labels": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(
        u["metadata"],
        json!({"configuration": {"username": "bob", "password": "n3w"}, "expiration_seconds": null, "labels": {}})
    );
    let row = stored(&app, "dock 1").await;
    assert_eq!((row.configuration, row.labels), (None, None));
    assert_eq!(row.secret_id.as_deref(), Some(secret_id.as_str()));
    let s = secret_row(&app, &secret_id).await.unwrap();
    assert_eq!(plain_of(&s.values.unwrap()), r#"{"username": "bob", "password": "n3w"}"#);

    // Renames are checked; invalid configurations refused.
    let r = app.put_json(&format!("/api/v1/service_connectors/{id}"), Some(&tok), &json!({"name": "k8s"})).await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.2);
    assert_eq!(
        r.2["detail"][1],
        "Unable to update the requested service connector with name 'k8s': Found another existing service connector with the same name."
    );
    let r = app.put_json(&format!("/api/v1/service_connectors/{id}"), Some(&tok), &json!({"configuration": {}})).await;
    assert_eq!(
        r.2,
        json!({"detail": ["ValueError", "connector configuration is not valid: missing required attribute 'username'"]})
    );
    let (status, _, u) =
        app.put_json(&format!("/api/v1/service_connectors/{id}"), Some(&tok), &json!({"name": "dock-2"})).await;
    assert_eq!((status, u["name"].as_str()), (StatusCode::OK, Some("dock-2")));

    // Delete removes the secret too.
    let (status, _, _) = app.delete(&format!("/api/v1/service_connectors/{id}"), Some(&tok)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(secret_row(&app, &secret_id).await.is_none());
    let (status, _, gone) = app.get(&format!("/api/v1/service_connectors/{id}"), Some(&tok)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone,
        json!({"detail": ["KeyError", format!("\"Unable to get service connector with ID '{id}': No service connector with this ID found\"")]})
    );
});

backend_tests!(unencrypted_values_and_filters, |app: TestApp| async move {
    let tok = app.admin().await;
    for (i, name) in ["d-a", "d-b", "d-c"].iter().enumerate() {
        let mut body = docker(name);
        body["labels"] = json!({"env": if i == 1 { "dev" } else { "prod" }, "team": "ml"});
        let (status, _, c) = app.post_json("/api/v1/service_connectors", Some(&tok), &body).await;
        assert_eq!(status, StatusCode::OK, "{c}");
    }
    let oauth = json!({"name": "o-1", "connector_type": "oauth2", "auth_method": "token",
        "configuration": {"api_url": "https://api", "access_token": "t0k"}});
    let (status, _, o) = app.post_json("/api/v1/service_connectors", Some(&tok), &oauth).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    // No resource type asked: every resource type of the connector type.
    assert_eq!(o["body"]["resource_types"], json!(["oauth2-api"]));

    // Without a key, values are base64(json) bytes, readable by the SQL secrets store codec.
    let row = stored(&app, "o-1").await;
    let s = secret_row(&app, &row.secret_id.unwrap()).await.unwrap();
    assert_eq!(s.values.as_deref(), Some(b64(r#"{"access_token": "t0k"}"#).as_slice()));
    let values = SecretsCodec::new(None).decode(&b64(r#"{"access_token": "t0k"}"#)).unwrap();
    assert_eq!(values.get("access_token"), Some("t0k"));

    let list = |q: &'static str| {
        let app = &app;
        let tok = tok.clone();
        async move {
            let (status, _, page) = app.get(&format!("/api/v1/service_connectors?{q}"), Some(&tok)).await;
            assert_eq!(status, StatusCode::OK, "{q}: {page}");
            page
        }
    };
    assert_eq!(names(&list("connector_type=oauth2").await), ["o-1"]);
    assert_eq!(names(&list("resource_type=docker-registry&sort_by=name").await), ["d-a", "d-b", "d-c"]);
    assert_eq!(names(&list("resource_type=kubernetes-cluster").await), Vec::<String>::new());
    assert_eq!(names(&list("labels_str=env%3Dprod&sort_by=name").await), ["d-a", "d-c"]);
    assert_eq!(names(&list("labels_str=%7B%22env%22%3A%20%22dev%22%7D").await), ["d-b"]);
    assert_eq!(names(&list("labels_str=team&sort_by=name").await), ["d-a", "d-b", "d-c"]);
    assert_eq!(names(&list("name=contains%3Ad-&sort_by=desc%3Aname").await), ["d-c", "d-b", "d-a"]);
    assert_eq!(names(&list("auth_method=token").await), ["o-1"]);
    assert_eq!(names(&list("user=default&connector_type=docker&size=2&sort_by=name").await), ["d-a", "d-b"]);
    // Decoded-column filters page like the others.
    let page = list("resource_type=docker-registry&size=2&page=2&sort_by=desc%3Aname").await;
    assert_eq!(
        (names(&page), page["total"].clone(), page["total_pages"].clone()),
        (vec!["d-a".to_string()], json!(3), json!(2))
    );
    let (status, _, bad) =
        app.get("/api/v1/service_connectors?resource_type=docker-registry&size=2&page=3", Some(&tok)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(!list("hydrate=true").await.to_string().contains("t0k"));
});

backend_tests!(invalid_requests, |app: TestApp| async move {
    let tok = app.admin().await;
    let post = |body: Value| {
        let app = &app;
        let tok = tok.clone();
        async move { app.post_json("/api/v1/service_connectors", Some(&tok), &body).await }
    };
    let r = post(json!({"name": "x", "connector_type": "docker", "auth_method": "nope"})).await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.2["detail"][1],
        "connector configuration is not valid: \"connector type 'docker' does not support the 'nope' authentication method. Supported authentication methods are: ['password'].\""
    );
    let r = post(json!({"name": "x", "connector_type": "docker", "auth_method": "password", "resource_types": ["x"],
        "configuration": {"username": "u", "password": "p"}}))
    .await;
    assert_eq!(
        r.2["detail"][1],
        "connector configuration is not valid: \"connector type 'docker' does not support resource type 'x'. Supported resource types are: ['docker-registry'].\""
    );
    let r = post(json!({"name": "x", "connector_type": "docker", "auth_method": "password"})).await;
    assert_eq!(
        r.2,
        json!({"detail": ["ValueError", "connector configuration is not valid: missing required attribute 'username'"]})
    );
    let r = post(json!({"name": "x", "connector_type": "docker", "auth_method": "password",
        "configuration": {"username": "u", "password": 5}}))
    .await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST, "{}", r.2);
    let r = post(json!({"name": "x".repeat(256), "connector_type": "k", "auth_method": "a"})).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.2);
    let r = post(json!({"name": "x", "connector_type": "k", "auth_method": "a", "labels": {"a": 1}})).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.2);
    let r = post(json!({"name": "x", "auth_method": "a"})).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.2);
    assert_eq!(app.count("SELECT count(*) FROM service_connector").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM secret").await, 0);
});

backend_tests!(components_link_connectors, |app: TestApp| async move {
    let tok = app.admin().await;
    let (_, _, c) = app.post_json("/api/v1/service_connectors", Some(&tok), &docker("dock")).await;
    let cid = c["id"].as_str().unwrap().to_string();
    let missing = "00000000-0000-0000-0000-000000000001";
    let not_found = json!({"detail": ["KeyError", format!("\"Unable to get service connector with ID '{missing}': No service connector with this ID found\"")]});

    let comp = |name: &str, connector: &str| {
        json!({"name": name, "type": "container_registry", "flavor": "default", "configuration": {"uri": "r.io"},
            "connector": connector, "connector_resource_id": "r.io"})
    };
    let r = app.post_json("/api/v1/components", Some(&tok), &comp("cr0", missing)).await;
    assert_eq!((r.0, &r.2), (StatusCode::NOT_FOUND, &not_found));
    let (status, _, cr) = app.post_json("/api/v1/components", Some(&tok), &comp("cr1", &cid)).await;
    assert_eq!(status, StatusCode::OK, "{cr}");
    let link = &cr["metadata"]["connector"];
    assert_eq!(link["id"], cid.as_str());
    assert_eq!(link["name"], "dock");
    assert_eq!(link["body"]["connector_type"], "docker", "by name inside a component");
    assert_eq!((link["metadata"].clone(), link["resources"].clone()), (Value::Null, Value::Null));
    assert_eq!(cr["metadata"]["connector_resource_id"], "r.io");
    let comp_id = cr["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM stack_component WHERE connector_id = '{}' AND connector_resource_id = 'r.io'",
            cid.replace('-', "")
        ))
        .await,
        1
    );
    let (_, _, page) = app.get(&format!("/api/v1/components?connector_id={cid}&hydrate=true"), Some(&tok)).await;
    assert_eq!(names(&page), ["cr1"]);
    assert_eq!(page["items"][0]["metadata"]["connector"]["id"], cid.as_str());
    let (_, _, page) = app.get("/api/v1/components?hydrate=true&type=orchestrator", Some(&tok)).await;
    assert_eq!(page["items"][0]["metadata"]["connector"], Value::Null);

    // A connector in use can be neither deleted nor re-targeted.
    let r = app.delete(&format!("/api/v1/service_connectors/{cid}"), Some(&tok)).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    assert_eq!(
        r.2["detail"],
        json!([
            "IllegalOperationError",
            format!(
                "Service connector with ID {cid} cannot be deleted as it is still referenced by 1 stack components. Before deleting this service connector, make sure to remove it from all stack components."
            )
        ])
    );
    for (body, what) in [
        (json!({"resource_id": "other"}), "resource ID"),
        (json!({"auth_method": "x"}), "authentication method"),
        (json!({"connector_type": "kubernetes"}), "service type"),
    ] {
        let r = app.put_json(&format!("/api/v1/service_connectors/{cid}"), Some(&tok), &body).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{body}: {}", r.2);
        assert_eq!(
            r.2["detail"][1],
            format!(
                "The {what} of a service connector that is already actively used in one or more stack components cannot be changed."
            )
        );
    }
    let r = app.put_json(&format!("/api/v1/service_connectors/{cid}"), Some(&tok), &json!({"description": "ok"})).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);

    // Component updates: a missing connector is a 404; no connector unlinks.
    let r = app.put_json(&format!("/api/v1/components/{comp_id}"), Some(&tok), &json!({"connector": missing})).await;
    assert_eq!((r.0, &r.2), (StatusCode::NOT_FOUND, &not_found));
    let (status, _, upd) = app
        .put_json(
            &format!("/api/v1/components/{comp_id}"),
            Some(&tok),
            &json!({"connector": cid, "connector_resource_id": "r2"}),
        )
        .await;
    assert_eq!((status, upd["metadata"]["connector_resource_id"].as_str()), (StatusCode::OK, Some("r2")), "{upd}");
    let (status, _, upd) =
        app.put_json(&format!("/api/v1/components/{comp_id}"), Some(&tok), &json!({"name": "cr1b"})).await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(
        (upd["metadata"]["connector"].clone(), upd["metadata"]["connector_resource_id"].clone()),
        (Value::Null, Value::Null)
    );
    let (status, _, _) = app.delete(&format!("/api/v1/service_connectors/{cid}"), Some(&tok)).await;
    assert_eq!(status, StatusCode::OK);
});

backend_tests!(connector_types_and_not_implemented, |app: TestApp| async move {
    let tok = app.admin().await;
    let (status, _, types) = app.get("/api/v1/service_connector_types", Some(&tok)).await;
    assert_eq!(status, StatusCode::OK, "{types}");
    let listed: Vec<&str> = types.as_array().unwrap().iter().map(|t| t["connector_type"].as_str().unwrap()).collect();
    // What the reference (plain zenml[server]==0.98.0) lists.
    assert_eq!(listed, ["docker", "oauth2"]);
    let keys: Vec<&str> = types[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "name",
            "connector_type",
            "description",
            "resource_types",
            "auth_methods",
            "supports_auto_configuration",
            "logo_url",
            "emoji",
            "docs_url",
            "sdk_docs_url",
            "local",
            "remote"
        ]
    );
    for (q, n) in [
        ("resource_type=oauth2-api", 1),
        ("auth_method=password", 1),
        ("connector_type=docker&auth_method=token", 0),
        ("connector_type=aws", 0),
    ] {
        let (_, _, t) = app.get(&format!("/api/v1/service_connector_types?{q}"), Some(&tok)).await;
        assert_eq!(t.as_array().map(Vec::len), Some(n), "{q}: {t}");
    }
    let (status, _, t) = app.get("/api/v1/service_connector_types/oauth2", Some(&tok)).await;
    assert_eq!((status, t["name"].as_str()), (StatusCode::OK, Some("OAuth2 Service Connector")));
    let r = app.get("/api/v1/service_connector_types/nope", Some(&tok)).await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
    assert_eq!(
        r.2["detail"][1],
        "'Service connector type nope is not available. Please make sure the corresponding packages and/or ZenML integration are installed and try again.'"
    );
    assert_eq!(app.get("/api/v1/service_connector_types", None).await.0, StatusCode::UNAUTHORIZED);

    // What needs a connector implementation: 501 NotImplementedError naming what is missing.
    let (_, _, c) = app.post_json("/api/v1/service_connectors", Some(&tok), &docker("dock")).await;
    let cid = c["id"].as_str().unwrap();
    let missing = "00000000-0000-0000-0000-000000000001";
    for (method, path, body) in [
        (Method::PUT, format!("/api/v1/service_connectors/{cid}/verify"), None),
        (Method::GET, format!("/api/v1/service_connectors/{cid}/client?resource_type=docker-registry"), None),
        (Method::POST, "/api/v1/service_connectors/verify".to_string(), Some(docker("new"))),
        (Method::GET, "/api/v1/service_connectors/resources".to_string(), None),
        (Method::POST, "/api/v1/service_connectors/full_stack_resources".to_string(), Some(json!({}))),
    ] {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, _, r) = app.send_raw(method, &path, Some(&tok), "application/json", body).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{path}: {r}");
        assert_eq!(r["detail"][0], "NotImplementedError");
        let msg = r["detail"][1].as_str().unwrap();
        assert!(msg.contains("service connector") && msg.contains("zenpro"), "{msg}");
        if path.contains(cid) || path.ends_with("/verify") {
            assert!(msg.contains("'docker' service connector implementation"), "{msg}");
        }
    }
    let (status, _, _) = app
        .send_raw(
            Method::PUT,
            &format!("/api/v1/service_connectors/{missing}/verify"),
            Some(&tok),
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
