//! Service accounts and their API keys, end to end through the router: what `zenml
//! service-account ...` and `zenml login --api-key` do (trace flow h).

mod common;

use base64::Engine;
use common::{TestApp, jwt_claims, mysql_url, run_then_close};
use http::{Method, StatusCode};
use serde_json::{Value, json};

async fn create_sa(app: &TestApp, token: &str, name: &str) -> Value {
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/service_accounts",
            Some(token),
            json!({"name": name, "full_name": "", "description": "", "active": true, "avatar_url": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn create_key(app: &TestApp, token: &str, sa_id: &str, name: &str) -> Value {
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/service_accounts/{sa_id}/api_keys"),
            Some(token),
            json!({"name": name, "description": "Default API key."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn key_of(body: &Value) -> String {
    body["body"]["key"].as_str().expect("the key is shown on creation and rotation").to_string()
}

#[tokio::test]
async fn service_accounts_create_list_get_update_and_conflict() {
    let app = TestApp::sqlite(&[]).await;
    let admin = app.admin_token().await;

    let sa = create_sa(&app, &admin, "sa1").await;
    assert_eq!(sa["name"], "sa1");
    assert_eq!(sa["body"]["active"], true);
    assert_eq!(sa["body"]["full_name"], "");
    assert_eq!(sa["body"]["avatar_url"], Value::Null);
    assert_eq!(sa["metadata"], json!({"description": "", "external_user_id": null}));
    assert_eq!(sa["resources"], Value::Null);
    assert_eq!(sa["permission_denied"], false);
    let keys: Vec<&str> = sa.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["body", "metadata", "resources", "id", "permission_denied", "name"]);
    let sa_id = sa["id"].as_str().unwrap().to_string();

    // Same name again: 409 EntityExistsError.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/service_accounts",
            Some(&admin),
            json!({"name": "sa1", "full_name": "", "description": "", "active": true, "avatar_url": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"][0], "EntityExistsError");

    // A user may have the same name as a service account.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            json!({"name": "sa1", "password": "user-pw", "active": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // What the CLI sends to find an account by name.
    let (status, page) = app
        .get_as(
            "/api/v1/service_accounts?hydrate=True&sort_by=created&logical_operator=and&page=1&size=20&name=equals%3Asa1",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], sa_id.as_str());
    assert_eq!(page["items"][0]["metadata"]["description"], "");

    create_sa(&app, &admin, "sa2").await;
    let (_, page) = app.get_as("/api/v1/service_accounts?sort_by=desc%3Acreated", &admin).await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["name"], "sa2");
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    // Users are not listed as service accounts, and the reverse.
    let (_, users) = app.get_as("/api/v1/users?is_service_account=true", &admin).await;
    assert!(users["items"].as_array().unwrap().iter().all(|u| u["body"]["is_service_account"] == false));

    let (status, by_name) = app.get_as("/api/v1/service_accounts/sa1", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_name["id"], sa_id.as_str());
    let (status, by_id) = app.get_as(&format!("/api/v1/service_accounts/{sa_id}?hydrate=false"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["metadata"], Value::Null);
    let (status, missing) = app.get_as("/api/v1/service_accounts/nope", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["detail"][0], "KeyError");

    let (status, updated) = app
        .call(
            Method::PUT,
            &format!("/api/v1/service_accounts/{sa_id}"),
            Some(&admin),
            json!({"description": "CI runner", "full_name": "Service One"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["metadata"]["description"], "CI runner");
    assert_eq!(updated["body"]["full_name"], "Service One");
    assert_eq!(updated["name"], "sa1");
    let (status, body) =
        app.call(Method::PUT, &format!("/api/v1/service_accounts/{sa_id}"), Some(&admin), json!({"name": "sa2"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Writes are for admins only; reading is for everyone signed in.
    let user = app.login_password_grant("sa1", "user-pw").await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/service_accounts",
            Some(&user),
            json!({"name": "sa3", "full_name": "", "description": "", "active": true}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"][0], "IllegalOperationError");
    let (status, _) = app.get_as("/api/v1/service_accounts", &user).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        app.call(Method::DELETE, &format!("/api/v1/service_accounts/{sa_id}"), Some(&user), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Without credentials: 401.
    let (status, body) = app.call(Method::GET, "/api/v1/service_accounts", None, Value::Null).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"detail": "Not authenticated"}));
    app.close().await;
}

#[tokio::test]
async fn deleting_a_service_account_deletes_its_keys() {
    let app = TestApp::sqlite(&[]).await;
    let admin = app.admin_token().await;
    let sa = create_sa(&app, &admin, "gone").await;
    let sa_id = sa["id"].as_str().unwrap();
    let created = create_key(&app, &admin, sa_id, "default").await;
    let key = key_of(&created);
    let key_id = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(app.login_api_key(&key).await.0, StatusCode::OK);

    let (status, body) =
        app.call(Method::DELETE, &format!("/api/v1/service_accounts/{sa_id}"), Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(app.state.store().find_api_key_by_id(key_id).await.unwrap().is_none());
    let (status, headers, _) = app.login_api_key(&key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (status, _) = app.get_as(&format!("/api/v1/service_accounts/{sa_id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.close().await;
}

/// Create → log in with the key → use the token → rotate with a retention period → the old
/// key and its tokens keep working → deactivate → everything fails with 401.
async fn api_key_lifecycle(app: &TestApp) {
    let admin = app.admin_token().await;
    let sa = create_sa(app, &admin, "trace-sa").await;
    let sa_id = sa["id"].as_str().unwrap().to_string();
    let keys_url = format!("/api/v1/service_accounts/{sa_id}/api_keys");

    let created = create_key(app, &admin, &sa_id, "default").await;
    let key1 = key_of(&created);
    let key_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["name"], "default");
    assert_eq!(created["body"]["active"], true);
    assert_eq!(created["body"]["service_account"]["id"], sa_id.as_str());
    assert_eq!(created["body"]["service_account"]["metadata"], Value::Null);
    assert_eq!(
        created["metadata"],
        json!({"description": "Default API key.", "retain_period_minutes": 0, "last_login": null, "last_rotated": null})
    );
    // ZENKEY_ + base64 of compact JSON {"id", "key"}; only the 64-hex secret is hashed.
    let raw = base64::engine::general_purpose::STANDARD.decode(key1.strip_prefix("ZENKEY_").unwrap()).unwrap();
    assert!(String::from_utf8(raw.clone()).unwrap().starts_with(&format!(r#"{{"id":"{key_id}","key":""#)));
    let decoded: Value = serde_json::from_slice(&raw).unwrap();
    let secret = decoded["key"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
    let row = app.state.store().find_api_key_by_id(uuid::Uuid::parse_str(&key_id).unwrap()).await.unwrap().unwrap();
    assert!(row.key.starts_with("$2b$12$"));
    assert!(bcrypt::verify(secret, &row.key).unwrap());
    assert!(!bcrypt::verify(&key1, &row.key).unwrap());

    // Same name on the same account: 409.
    let (status, body) = app.call(Method::POST, &keys_url, Some(&admin), json!({"name": "default"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["detail"][0], "EntityExistsError");

    // Log in with the key; the token carries the key id and generation.
    let (status, _, login) = app.login_api_key(&key1).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["token_type"], "bearer");
    assert_eq!(login["expires_in"], Value::Null);
    let token1 = login["access_token"].as_str().unwrap().to_string();
    let claims = jwt_claims(&token1);
    assert_eq!(claims["sub"], sa_id.as_str());
    assert_eq!(claims["api_key_id"], key_id.as_str());
    assert_eq!(claims["key_gen"], 1);
    assert!(claims.get("exp").is_none());
    let (status, me) = app.get_as("/api/v1/current-user", &token1).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "trace-sa");
    assert_eq!(me["body"]["is_service_account"], true);
    // The key itself works as a bearer token too.
    let (status, me) = app.get_as("/api/v1/current-user", &key1).await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // The key is never shown again.
    let (status, page) = app.get_as(&format!("{keys_url}?hydrate=False&sort_by=desc%3Acreated"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["body"]["key"], Value::Null);
    assert_eq!(page["items"][0]["metadata"], Value::Null);
    let (status, got) = app.get_as(&format!("{keys_url}/default"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["id"], key_id.as_str());
    assert_eq!(got["body"]["key"], Value::Null);
    assert_ne!(got["metadata"]["last_login"], Value::Null);

    // Rotate, keeping the old key for 10 minutes.
    let (status, rotated) = app
        .call(Method::PUT, &format!("{keys_url}/{key_id}/rotate"), Some(&admin), json!({"retain_period_minutes": 10}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["metadata"], Value::Null);
    let key2 = key_of(&rotated);
    assert_ne!(key1, key2);
    let (status, _, login2) = app.login_api_key(&key2).await;
    assert_eq!(status, StatusCode::OK, "{login2}");
    let token2 = login2["access_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_claims(&token2)["key_gen"], 2);
    let (status, _, old_login) = app.login_api_key(&key1).await;
    assert_eq!(status, StatusCode::OK, "old key within its retention period: {old_login}");
    assert_eq!(app.get_as("/api/v1/current-user", &token1).await.0, StatusCode::OK);

    // Deactivate: the old key, the new key and their tokens all stop working.
    let (status, updated) = app
        .call(
            Method::PUT,
            &format!("{keys_url}/{key_id}"),
            Some(&admin),
            json!({"name": null, "description": null, "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["body"]["active"], false);
    assert_eq!(updated["metadata"]["retain_period_minutes"], 10);
    assert_ne!(updated["metadata"]["last_rotated"], Value::Null);
    let (status, headers, body) = app.login_api_key(&key1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(
        body,
        json!({"detail": ["CredentialsNotValid", "Authentication error: API key default associated with service account trace-sa is not active"]})
    );
    assert_eq!(app.login_api_key(&key2).await.0, StatusCode::UNAUTHORIZED);
    for token in [&token1, &token2] {
        let (status, body) = app.get_as("/api/v1/current-user", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["detail"][0], "CredentialsNotValid");
    }

    // Without a retention period the old key and its tokens stop at once.
    let created = create_key(app, &admin, &sa_id, "second-key").await;
    let old = key_of(&created);
    let second_id = created["id"].as_str().unwrap();
    let (_, _, login) = app.login_api_key(&old).await;
    let old_token = login["access_token"].as_str().unwrap().to_string();
    let (status, rotated) = app
        .call(Method::PUT, &format!("{keys_url}/second-key/rotate"), Some(&admin), json!({"retain_period_minutes": 0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, _, body) = app.login_api_key(&old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"][1], "Authentication error: could not verify key value for API key second-key");
    assert_eq!(app.get_as("/api/v1/current-user", &old_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_api_key(&key_of(&rotated)).await.0, StatusCode::OK);

    // Rename conflict, delete, 404 afterwards.
    let (status, _) =
        app.call(Method::PUT, &format!("{keys_url}/{second_id}"), Some(&admin), json!({"name": "default"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app.call(Method::DELETE, &format!("{keys_url}/{second_id}"), Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get_as(&format!("{keys_url}/{second_id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(app.login_api_key(&key_of(&rotated)).await.0, StatusCode::UNAUTHORIZED);

    // A key path needs the account's id.
    let (status, _) = app.get_as("/api/v1/service_accounts/trace-sa/api_keys", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Garbage keys: 401.
    let (status, _, body) = app.login_api_key("ZENKEY_bm9wZQ==").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"][1], "Authentication error: error decoding API key");
}

#[tokio::test]
async fn api_key_lifecycle_on_sqlite() {
    let app = TestApp::sqlite(&[]).await;
    api_key_lifecycle(&app).await;
    app.close().await;
}

/// The same on MariaDB/MySQL when `ZENPRO_TEST_MYSQL_URL` is set.
#[tokio::test]
async fn api_key_lifecycle_on_mysql() {
    let Some(url) = mysql_url() else {
        eprintln!("ZENPRO_TEST_MYSQL_URL is not set: skipping the MySQL variant");
        return;
    };
    let app = TestApp::mysql_at(&url, &[]).await;
    run_then_close(app, |app| async move { api_key_lifecycle(&app).await }).await;
}
