//! Secrets end to end through the router: what `zenml secret ...` and `Client().create_secret`
//! send (trace flow e), the private/public scoping rules and the values at rest.

mod common;

use std::sync::Arc;
use zenpro_types::error::python_repr;

use base64::Engine;
use common::{TestApp, mysql_url, run_then_close};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use zenpro_store::secrets::{SecretsCodec, aes_gcm_decrypt, derive_key};

const ENCRYPTED: &[(&str, &str)] =
    &[("ZENML_SECRETS_STORE_TYPE", "sql"), ("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "test-key")];

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().expect("an object").keys().map(String::as_str).collect()
}

fn id_of(v: &Value) -> uuid::Uuid {
    uuid::Uuid::parse_str(v["id"].as_str().expect("id")).expect("a UUID id")
}

async fn create(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/api/v1/secrets", Some(token), body).await
}

/// How many secret rows hold their values in this SQLite storage class.
async fn count_storage_class(app: &TestApp, class: &str) -> i64 {
    app.state
        .store()
        .db
        .clone()
        .fetch_i64(zenpro_store::q!("SELECT count(*) FROM `secret` WHERE typeof(`values`) = ?", class))
        .await
        .expect("count")
}

/// The CLI's create / duplicate / list / get / update / delete sequence, checking shapes.
async fn crud_scenario(app: Arc<TestApp>) {
    let token = app.admin_token().await;

    // zenml secret create s1 --username=alice --password=s3cr3t
    let (status, s1) = create(
        &app,
        &token,
        json!({"name": "s1", "private": false, "values": {"username": "alice", "password": "s3cr3t"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s1}");
    assert_eq!(keys(&s1), ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    assert_eq!(keys(&s1["body"]), ["created", "updated", "user_id", "private", "values"]);
    assert_eq!(s1["name"], "s1");
    assert_eq!(s1["metadata"], json!({}));
    assert_eq!(s1["body"]["private"], false);
    assert_eq!(s1["body"]["values"], json!({"username": "alice", "password": "s3cr3t"}));
    assert_eq!(s1["resources"]["user"]["name"], "default");
    assert_eq!(s1["body"]["user_id"], s1["resources"]["user"]["id"]);
    let id = id_of(&s1);

    // The duplicate is refused with the reference's message.
    let (status, dup) =
        create(&app, &token, json!({"name": "s1", "private": false, "values": {"username": "bob"}})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        dup,
        json!({"detail": ["EntityExistsError", "Found an existing public secret with the same 's1' name"]})
    );

    // zenml secret list: no values, no metadata unless hydrated.
    let (status, page) = app
        .get_as("/api/v1/secrets?hydrate=False&sort_by=desc%3Acreated&logical_operator=and&page=1&size=20", &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["body"]["values"], json!({}));
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    assert_eq!(page["items"][0]["resources"]["user"]["name"], "default");

    // zenml secret get s1: the client's search, then the GET by id.
    let search = "/api/v1/secrets?hydrate=True&sort_by=created&logical_operator=or&page=1&size=20\
                  &id=startswith%3As1&name=contains%3As1";
    let (status, page) = app.get_as(search, &token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["metadata"], json!({}));
    assert_eq!(page["items"][0]["body"]["values"], json!({}));
    let (status, got) = app.get_as(&format!("/api/v1/secrets/{id}?hydrate=True"), &token).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["body"]["values"], json!({"username": "alice", "password": "s3cr3t"}));
    let (_, page) = app.get_as(&search.replace("s1", "missing"), &token).await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["items"], json!([]));

    // zenml secret update s1 --password=n3w: a patch merges.
    let (status, upd) = app
        .call(
            Method::PUT,
            &format!("/api/v1/secrets/{id}?patch_values=True"),
            Some(&token),
            json!({"name": "s1", "values": {"password": "n3w", "extra": "1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["body"]["values"], json!({"username": "alice", "password": "n3w", "extra": "1"}));
    // A null value removes its key.
    let (_, upd) = app
        .call(
            Method::PUT,
            &format!("/api/v1/secrets/{id}?patch_values=true"),
            Some(&token),
            json!({"values": {"extra": null}}),
        )
        .await;
    assert_eq!(upd["body"]["values"], json!({"username": "alice", "password": "n3w"}));
    // Without patch_values the values are replaced.
    let (status, upd) =
        app.call(Method::PUT, &format!("/api/v1/secrets/{id}"), Some(&token), json!({"values": {"token": "t"}})).await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["body"]["values"], json!({"token": "t"}));
    let (_, got) = app.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
    assert_eq!(got["body"]["values"], json!({"token": "t"}));
    // Renaming to a free name works; no values in the body keeps them.
    let (status, upd) =
        app.call(Method::PUT, &format!("/api/v1/secrets/{id}"), Some(&token), json!({"name": "s1-renamed"})).await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["name"], "s1-renamed");
    assert_eq!(upd["body"]["values"], json!({"token": "t"}));
    // Renaming onto another public secret's name is a conflict.
    let (_, other) = create(&app, &token, json!({"name": "other", "values": {}})).await;
    let (status, body) = app
        .call(Method::PUT, &format!("/api/v1/secrets/{}", id_of(&other)), Some(&token), json!({"name": "s1-renamed"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // zenml secret delete s1 -y
    let (status, body) = app.call(Method::DELETE, &format!("/api/v1/secrets/{id}"), Some(&token), Value::Null).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    let (status, body) = app.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"detail": ["KeyError", python_repr(&format!("Unable to get secret with name or ID '{id}': No secret with this ID found."))]})
    );
    let (status, _) = app.call(Method::DELETE, &format!("/api/v1/secrets/{id}"), Some(&token), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn secrets_crud_sqlite() {
    let app = TestApp::sqlite(&[]).await;
    run_then_close(app, |app| async move {
        crud_scenario(app.clone()).await;
        // Unencrypted values are base64(json.dumps) stored as bytes: a SQLite BLOB.
        let token = app.admin_token().await;
        let (_, s) = create(&app, &token, json!({"name": "plain", "values": {"a": "é"}})).await;
        let raw = app.state.store().secret_values_raw(id_of(&s)).await.unwrap().expect("values stored");
        let plain = base64::engine::general_purpose::STANDARD.decode(&raw).unwrap();
        assert_eq!(plain, br#"{"a": "\u00e9"}"#);
        assert_eq!(count_storage_class(&app, "blob").await, 2);
        assert_eq!(count_storage_class(&app, "text").await, 0);
    })
    .await;
}

#[tokio::test]
async fn secrets_crud_mysql() {
    let Some(url) = mysql_url() else {
        eprintln!("ZENPRO_TEST_MYSQL_URL is not set: skipping the MySQL/MariaDB variant");
        return;
    };
    let app = TestApp::mysql_at(&url, ENCRYPTED).await;
    run_then_close(app, |app| async move {
        crud_scenario(app.clone()).await;
        let token = app.admin_token().await;
        let (_, s) = create(&app, &token, json!({"name": "enc", "values": {"a": "b"}})).await;
        let raw = app.state.store().secret_values_raw(id_of(&s)).await.unwrap().expect("values stored");
        assert_eq!(aes_gcm_decrypt(&derive_key("test-key"), &raw).unwrap(), br#"{"a": "b"}"#);
    })
    .await;
}

#[tokio::test]
async fn secrets_private_are_invisible_to_other_users() {
    let app = TestApp::sqlite(&[]).await;
    run_then_close(app, |app| async move {
        let admin = app.admin_token().await;
        let bob = app.new_user(&admin, "bob", "bobpw").await;

        let (status, p1) = create(&app, &admin, json!({"name": "p1", "private": true, "values": {"a": "b"}})).await;
        assert_eq!(status, StatusCode::OK, "{p1}");
        assert_eq!(p1["body"]["private"], true);
        let id = id_of(&p1);
        let (_, public) = create(&app, &admin, json!({"name": "pub", "values": {"x": "y"}})).await;

        // The owner sees it; bob sees only the public one.
        let (_, page) = app.get_as("/api/v1/secrets", &admin).await;
        assert_eq!(page["total"], 2);
        let (_, page) = app.get_as("/api/v1/secrets", &bob).await;
        assert_eq!(page["total"], 1, "{page}");
        assert_eq!(page["items"][0]["name"], "pub");
        let (_, page) = app.get_as("/api/v1/secrets?private=true", &admin).await;
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["name"], "p1");
        let (_, page) = app.get_as("/api/v1/secrets?user=bob", &admin).await;
        assert_eq!(page["total"], 0);
        let (_, page) = app.get_as("/api/v1/secrets?user=default", &bob).await;
        assert_eq!(page["total"], 1);

        let not_visible = json!({"detail": ["KeyError", python_repr(&format!(
            "Secret with name or ID {id} not found or is private and not owned by the current user."
        ))]});
        let (status, body) = app.get_as(&format!("/api/v1/secrets/{id}"), &bob).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_visible));
        let (status, body) =
            app.call(Method::PUT, &format!("/api/v1/secrets/{id}"), Some(&bob), json!({"values": {"a": "x"}})).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_visible));
        let (status, _) = app.call(Method::DELETE, &format!("/api/v1/secrets/{id}"), Some(&bob), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, got) = app.get_as(&format!("/api/v1/secrets/{id}"), &admin).await;
        assert_eq!(got["body"]["values"], json!({"a": "b"}));

        // Private names are per user; public names are global.
        let (status, body) = create(&app, &bob, json!({"name": "p1", "private": true, "values": {}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = create(&app, &admin, json!({"name": "p1", "private": true, "values": {}})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body["detail"][1],
            "Found an existing private secret with the same 'p1' name for the same 'default' user"
        );
        let (status, _) = create(&app, &bob, json!({"name": "pub", "values": {}})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _) = create(&app, &bob, json!({"name": "p1", "private": false, "values": {}})).await;
        assert_eq!(status, StatusCode::OK);

        // Another user may edit a public secret's values, not its private status.
        let pid = id_of(&public);
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/secrets/{pid}?patch_values=True"),
                Some(&bob),
                json!({"private": true}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/secrets/{pid}?patch_values=True"),
                Some(&bob),
                json!({"values": {"z": "1"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["body"]["values"], json!({"x": "y", "z": "1"}));
        assert_eq!(body["resources"]["user"]["name"], "default");
    })
    .await;
}

#[tokio::test]
async fn secrets_encrypted_at_rest() {
    let app = TestApp::sqlite(ENCRYPTED).await;
    run_then_close(app, |app| async move {
        let token = app.admin_token().await;
        let (status, s) =
            create(&app, &token, json!({"name": "enc", "values": {"username": "alice", "password": "s3cr3t"}})).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        let id = id_of(&s);

        // The row holds AesGcmEngine text, not the plaintext, and decrypts with SHA-256(key).
        let raw = app.state.store().secret_values_raw(id).await.unwrap().expect("values stored");
        let text = String::from_utf8(raw.clone()).expect("ASCII base64");
        assert!(!text.contains("alice") && !text.contains("s3cr3t"));
        let plain_b64 =
            base64::engine::general_purpose::STANDARD.encode(br#"{"username": "alice", "password": "s3cr3t"}"#);
        assert_ne!(text, plain_b64);
        assert_eq!(
            aes_gcm_decrypt(&derive_key("test-key"), &raw).unwrap(),
            br#"{"username": "alice", "password": "s3cr3t"}"#
        );
        assert_eq!(count_storage_class(&app, "text").await, 1);
        let (_, got) = app.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
        assert_eq!(got["body"]["values"], json!({"username": "alice", "password": "s3cr3t"}));

        // A value written by Python's AesGcmEngine (key "test-key", plaintext {"a": "b"}).
        app.state
            .store()
            .db
            .clone()
            .execute(zenpro_store::q!(
                "UPDATE `secret` SET `values` = ? WHERE `id` = ?",
                "o88dHZUG4pc7/GlN8CT6fEF+eKqx+z8zZLqAhPGB+lBebELWc8o=",
                id
            ))
            .await
            .unwrap();
        let (status, got) = app.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["body"]["values"], json!({"a": "b"}));

        // The same database served with another key, or without one: 404 as the reference.
        let undecodable = json!({"detail": ["KeyError", python_repr(&format!(
            "Secret values for secret {id} could not be decoded. This can happen if encryption has been \
             enabled/disabled or if the encryption key has been reconfigured without proper secrets migration."
        ))]});
        for extra in [
            &[("ZENML_SECRETS_STORE_TYPE", "sql"), ("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "wrong")][..],
            &[][..],
            // The key is ignored unless the store type is set explicitly.
            &[("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "test-key")][..],
        ] {
            let other = app.on_same_db(extra).await;
            let token = other.admin_token().await;
            let (status, body) = other.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
            assert_eq!((status, &body), (StatusCode::NOT_FOUND, &undecodable), "{extra:?}");
            // A patch of unreadable values starts over, as the reference does.
            let (status, body) = other
                .call(
                    Method::PUT,
                    &format!("/api/v1/secrets/{id}?patch_values=True"),
                    Some(&token),
                    json!({"values": {}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["body"]["values"], json!({}));
            // Put the encrypted value back for the next round.
            let codec = SecretsCodec::new(Some("test-key"));
            let values: zenpro_store::secrets::SecretValues =
                [("a".to_string(), "b".to_string())].into_iter().collect();
            let stored = codec.encode(&values).unwrap();
            other
                .state
                .store()
                .db
                .clone()
                .execute(zenpro_store::q!("UPDATE `secret` SET `values` = ? WHERE `id` = ?", stored, id))
                .await
                .unwrap();
            other.state.store().db.close().await;
        }
        let (_, got) = app.get_as(&format!("/api/v1/secrets/{id}"), &token).await;
        assert_eq!(got["body"]["values"], json!({"a": "b"}));
    })
    .await;
}

#[tokio::test]
async fn secrets_input_checks_and_hidden_rows() {
    let app = TestApp::sqlite(&[]).await;
    run_then_close(app, |app| async move {
        let token = app.admin_token().await;
        // 64 KiB of UTF-8 across keys and values.
        let big = "é".repeat(32 * 1024);
        let (status, body) = create(&app, &token, json!({"name": "big", "values": {"k": big}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["detail"][0], "ValueError");
        assert!(
            body["detail"][1]
                .as_str()
                .unwrap()
                .starts_with("Secret key and value strings exceed the maximum total size (64 KiB")
        );
        let (_, page) = app.get_as("/api/v1/secrets", &token).await;
        assert_eq!(page["total"], 0, "nothing is stored when the values are too large");
        let (_, s) = create(&app, &token, json!({"name": "small", "values": {"k": "v"}})).await;
        let (status, _) = app
            .call(
                Method::PUT,
                &format!("/api/v1/secrets/{}?patch_values=True", id_of(&s)),
                Some(&token),
                json!({"values": {"k2": "x".repeat(64 * 1024)}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Values must be strings (or null); ids in paths must be UUIDs; names ≤ 255 chars.
        let (status, _) = create(&app, &token, json!({"name": "n", "values": {"k": 1}})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = create(&app, &token, json!({"name": "x".repeat(256), "values": {}})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = app.get_as("/api/v1/secrets/small", &token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Null values are dropped on create.
        let (_, s) = create(&app, &token, json!({"name": "nulls", "values": {"a": null, "b": "c"}})).await;
        assert_eq!(s["body"]["values"], json!({"b": "c"}));
        // The request's `user` is ignored: the caller owns the secret.
        let (_, s) = create(&app, &token, json!({"name": "owned", "user": uuid::Uuid::new_v4(), "values": {}})).await;
        assert_eq!(s["resources"]["user"]["name"], "default");
        // No token, no secrets.
        let (status, _) = app.call(Method::GET, "/api/v1/secrets", None, Value::Null).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Internal secrets (service-connector credentials) are hidden from lists and GETs.
        let internal = uuid::Uuid::new_v4();
        let owner =
            app.state.store().get_account(&zenpro_store::NameOrId::Name("default".into()), false).await.unwrap();
        app.state
            .store()
            .db
            .clone()
            .execute(zenpro_store::q!(
                "INSERT INTO `secret` (`id`, `created`, `updated`, `name`, `private`, `internal`, `values`, `user_id`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                internal,
                zenpro_types::time::utc_now(),
                zenpro_types::time::utc_now(),
                "connector-x-abcd",
                false,
                true,
                "e30=",
                owner.id.clone()
            ))
            .await
            .unwrap();
        let (_, page) = app.get_as("/api/v1/secrets?name=contains%3Aconnector", &token).await;
        assert_eq!(page["total"], 0);
        let (status, _) = app.get_as(&format!("/api/v1/secrets/{internal}"), &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn secrets_other_store_types_answer_not_implemented() {
    // (hashicorp is supported: tests/secrets_vault.rs.)
    let app = TestApp::sqlite(&[("ZENML_SECRETS_STORE_TYPE", "aws")]).await;
    run_then_close(app, |app| async move {
        let token = app.admin_token().await;
        let (status, body) = create(&app, &token, json!({"name": "s", "values": {}})).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
        assert_eq!(body["detail"][0], "NotImplementedError");
        assert!(body["detail"][1].as_str().unwrap().contains("'aws'"), "{body}");
        let (status, _) = app.get_as("/api/v1/secrets", &token).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    })
    .await;
}
