//! The OAuth2 device flow end to end, as `zenml login <url>` and the dashboard drive it
//! (trace flow a): authorize → poll (pending) → verify → token → use → list, lock, delete.

mod common;

use common::{TestApp, jwt_claims, mysql_url, run_then_close};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const USER_AGENT: &str = "Host/vm ZenML/0.98.0 Python/3.11.7 OS/Linux";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn authorize(app: &TestApp, client_id: Uuid) -> Value {
    let (status, _, body) = app
        .post_form_headers(
            "/api/v1/device_authorization",
            &[("client_id", &client_id.to_string())],
            &[("user-agent", USER_AGENT), ("x-forwarded-for", "127.0.0.1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn poll(app: &TestApp, client_id: Uuid, device_code: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .post_form_headers(
            "/api/v1/login",
            &[("grant_type", DEVICE_GRANT), ("client_id", &client_id.to_string()), ("device_code", device_code)],
            &[],
        )
        .await;
    (status, body)
}

fn device_id_of(auth: &Value) -> String {
    let complete = auth["verification_uri_complete"].as_str().unwrap();
    let query = complete.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == "device_id").unwrap().1
}

async fn verify(app: &TestApp, token: &str, device_id: &str, user_code: &str) -> (StatusCode, Value) {
    app.call(
        Method::PUT,
        &format!("/api/v1/devices/{device_id}/verify"),
        Some(token),
        json!({"user_code": user_code, "trusted_device": false}),
    )
    .await
}

async fn device_flow(app: &TestApp) {
    let admin = app.admin_token().await;
    let (_, me) = app.get_as("/api/v1/current-user", &admin).await;
    let admin_id = me["id"].as_str().unwrap().to_string();
    let client_id = Uuid::new_v4();

    // 1. The client asks for codes.
    let auth = authorize(app, client_id).await;
    let keys: Vec<&str> = auth.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"]
    );
    let device_code = auth["device_code"].as_str().unwrap().to_string();
    let user_code = auth["user_code"].as_str().unwrap().to_string();
    assert_eq!(device_code.len(), 64);
    assert_eq!(user_code.len(), 32);
    assert_eq!(auth["verification_uri"], "/devices/verify");
    assert_eq!(auth["expires_in"], 300);
    assert_eq!(auth["interval"], 5);
    let device_id = device_id_of(&auth);
    assert_eq!(
        auth["verification_uri_complete"],
        format!("/devices/verify?device_id={device_id}&user_code={user_code}").as_str()
    );
    let row = app.state.store().find_device_by_id(Uuid::parse_str(&device_id).unwrap()).await.unwrap().unwrap();
    assert_eq!(row.status, "pending");
    assert_eq!(row.hostname.as_deref(), Some("vm"));
    assert_eq!(row.os.as_deref(), Some("Linux"));
    assert_eq!(row.python_version.as_deref(), Some("3.11.7"));
    assert_eq!(row.zenml_version.as_deref(), Some("0.98.0"));
    assert_eq!(row.ip_address.as_deref(), Some("127.0.0.1"));
    assert!(row.user_id.is_none());
    // Both codes are stored bcrypt-hashed.
    assert!(bcrypt::verify(&user_code, &row.user_code).unwrap());
    assert!(bcrypt::verify(&device_code, &row.device_code).unwrap());
    let ttl = row.expires.unwrap() - row.created;
    assert_eq!(ttl.num_seconds(), 300);

    // 2. Polling before the user confirmed: authorization_pending.
    let (status, body) = poll(app, client_id, &device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "authorization_pending", "error_description": format!("Authentication error: device with client ID {client_id} is pending."), "error_uri": null})
    );

    // An unverified device is only visible with its user code.
    let (status, _) = app.get_as(&format!("/api/v1/devices/{device_id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.get_as(&format!("/api/v1/devices/{device_id}?user_code={user_code}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["body"]["user_id"], Value::Null);
    assert_eq!(body["resources"], json!({"user": null}));

    // 3. The dashboard verifies: a wrong code is counted, the right one binds the device.
    let (status, body) = verify(app, &admin, &device_id, "0000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": ["ValueError", "Invalid request: invalid user code."]}));
    let (status, dev) = verify(app, &admin, &device_id, &user_code).await;
    assert_eq!(status, StatusCode::OK, "{dev}");
    let keys: Vec<&str> = dev.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["body", "metadata", "resources", "id", "permission_denied"]);
    assert_eq!(dev["id"], device_id.as_str());
    assert_eq!(dev["body"]["status"], "verified");
    assert_eq!(dev["body"]["user_id"], admin_id.as_str());
    assert_eq!(dev["body"]["client_id"], client_id.to_string().as_str());
    assert_eq!(dev["body"]["hostname"], "vm");
    assert_eq!(dev["body"]["os"], "Linux");
    assert_eq!(dev["body"]["trusted_device"], false);
    assert_ne!(dev["body"]["expires"], Value::Null);
    assert_eq!(
        dev["metadata"],
        json!({"python_version": "3.11.7", "zenml_version": "0.98.0", "city": "", "region": "", "country": "", "failed_auth_attempts": 0, "last_login": null})
    );
    assert_eq!(dev["resources"]["user"]["name"], "default");
    assert_eq!(dev["resources"]["user"]["metadata"], Value::Null);
    let (status, body) = verify(app, &admin, &device_id, &user_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"][1], "Invalid request: device not pending verification.");

    // 4. The next poll gets a token bound to the device, without expiry by default.
    let (status, token) = poll(app, client_id, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        token.as_object().unwrap().keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "csrf_token",
            "scope",
            "device_id",
            "device_metadata"
        ]
    );
    assert_eq!(token["expires_in"], Value::Null);
    assert_eq!(token["device_id"], Value::Null);
    let access = token["access_token"].as_str().unwrap().to_string();
    let claims = jwt_claims(&access);
    assert_eq!(claims["device_id"], device_id.as_str());
    assert_eq!(claims["sub"], admin_id.as_str());
    assert!(claims.get("exp").is_none());
    // The code is spent.
    let (status, body) = poll(app, client_id, &device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "expired_token");

    // 5. The token works and the device shows up in the user's list.
    let (status, me) = app.get_as("/api/v1/current-user", &access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "default");
    let (status, page) = app
        .get_as("/api/v1/devices?hydrate=False&sort_by=desc%3Acreated&logical_operator=and&page=1&size=20", &access)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    let item = &page["items"][0];
    assert_eq!(item["id"], device_id.as_str());
    assert_eq!(item["body"]["status"], "active");
    assert_eq!(item["body"]["expires"], Value::Null);
    assert_eq!(item["metadata"], Value::Null);
    assert_eq!(item["resources"]["user"]["id"], admin_id.as_str());
    let (_, page) = app.get_as(&format!("/api/v1/devices?client_id={client_id}&status=active"), &admin).await;
    assert_eq!(page["total"], 1);
    let (_, page) = app.get_as("/api/v1/devices?status=locked", &admin).await;
    assert_eq!(page["total"], 0);
    let (_, dev) = app.get_as(&format!("/api/v1/devices/{device_id}"), &access).await;
    assert_ne!(dev["metadata"]["last_login"], Value::Null, "using the token records a login: {dev}");

    // Nobody else sees it.
    let (status, _) =
        app.call(Method::POST, "/api/v1/users", Some(&admin), json!({"name": "other", "password": "other-pw"})).await;
    assert_eq!(status, StatusCode::OK);
    let other = app.login_password_grant("other", "other-pw").await;
    let (_, page) = app.get_as("/api/v1/devices", &other).await;
    assert_eq!(page["total"], 0);
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = app.call(method, &format!("/api/v1/devices/{device_id}"), Some(&other), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    // 6. Locking the device revokes its token; unlocking restores it; deleting ends it.
    let (status, dev) =
        app.call(Method::PUT, &format!("/api/v1/devices/{device_id}"), Some(&admin), json!({"locked": true})).await;
    assert_eq!(status, StatusCode::OK, "{dev}");
    assert_eq!(dev["body"]["status"], "locked");
    let (status, body) = app.get_as("/api/v1/current-user", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"][1], format!("Authentication error: device {device_id} is not active").as_str());
    let (status, _) =
        app.call(Method::PUT, &format!("/api/v1/devices/{device_id}"), Some(&admin), json!({"locked": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get_as("/api/v1/current-user", &access).await.0, StatusCode::OK);
    let (status, _) =
        app.call(Method::DELETE, &format!("/api/v1/devices/{device_id}"), Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get_as("/api/v1/current-user", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"][1], format!("Authentication error: error retrieving token device {device_id}").as_str());
}

#[tokio::test]
async fn device_flow_end_to_end() {
    let app = TestApp::sqlite(&[]).await;
    device_flow(&app).await;
    app.close().await;
}

#[tokio::test]
async fn device_flow_on_mysql() {
    let Some(url) = mysql_url() else {
        eprintln!("ZENPRO_TEST_MYSQL_URL is not set: skipping the MySQL variant");
        return;
    };
    let app = TestApp::mysql_at(&url, &[]).await;
    run_then_close(app, |app| async move { device_flow(&app).await }).await;
}

#[tokio::test]
async fn wrong_device_codes_lock_the_device() {
    let app = TestApp::sqlite(&[]).await;
    let admin = app.admin_token().await;
    let client_id = Uuid::new_v4();
    let auth = authorize(&app, client_id).await;
    let device_id = device_id_of(&auth);
    let (status, _) = verify(&app, &admin, &device_id, auth["user_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    for attempt in 1..=3 {
        let (status, body) = poll(&app, client_id, "not-the-code").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "access_denied");
        let why = if attempt < 3 {
            "has an invalid device code."
        } else {
            "has been locked due to too many failed authentication attempts."
        };
        assert_eq!(
            body["error_description"],
            format!("Authentication error: device for client ID {client_id} {why}").as_str()
        );
    }
    let row = app.state.store().find_device_by_id(Uuid::parse_str(&device_id).unwrap()).await.unwrap().unwrap();
    assert_eq!(row.status, "locked");
    assert_eq!(row.failed_auth_attempts, 3);
    // Even the right code is refused now.
    let (status, body) = poll(&app, client_id, auth["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "access_denied");
    assert_eq!(
        body["error_description"],
        format!("Authentication error: device with client ID {client_id} is locked.").as_str()
    );

    // Wrong user codes lock a pending device too.
    let client2 = Uuid::new_v4();
    let auth2 = authorize(&app, client2).await;
    let device2 = device_id_of(&auth2);
    for _ in 0..2 {
        assert_eq!(verify(&app, &admin, &device2, "bad").await.1["detail"][1], "Invalid request: invalid user code.");
    }
    let (_, body) = verify(&app, &admin, &device2, "bad").await;
    assert_eq!(body["detail"][1], "Invalid request: device locked due to too many failed authentication attempts.");
    let (status, body) = poll(&app, client2, auth2["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("access_denied")));

    // Asking again for the same client starts over with new codes on the same device.
    let again = authorize(&app, client2).await;
    assert_eq!(device_id_of(&again), device2);
    assert_ne!(again["user_code"], auth2["user_code"]);
    let (status, body) = verify(&app, &admin, &device2, auth2["user_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "old codes stop working: {body}");
    let (status, body) = verify(&app, &admin, &device2, again["user_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Bad requests.
    let (status, _, body) =
        app.post_form_headers("/api/v1/login", &[("grant_type", DEVICE_GRANT), ("client_id", "x")], &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"][1], "Invalid request: device code and client ID are required.");
    let (status, _) = poll(&app, Uuid::new_v4(), "code").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) =
        app.post_form_headers("/api/v1/device_authorization", &[("client_id", "not-a-uuid")], &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.close().await;
}

#[tokio::test]
async fn device_tokens_expire_with_the_device_when_tokens_expire() {
    let app = TestApp::sqlite(&[
        ("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES", "60"),
        ("ZENML_SERVER_DEVICE_EXPIRATION_MINUTES", "5"),
        ("ZENML_SERVER_DEVICE_AUTH_TIMEOUT", "120"),
        ("ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL", "2"),
    ])
    .await;
    let admin = app.admin_token().await;
    let client_id = Uuid::new_v4();
    let auth = authorize(&app, client_id).await;
    assert_eq!((auth["expires_in"].as_i64(), auth["interval"].as_i64()), (Some(120), Some(2)));
    let device_id = device_id_of(&auth);
    assert_eq!(verify(&app, &admin, &device_id, auth["user_code"].as_str().unwrap()).await.0, StatusCode::OK);
    let (status, token) = poll(&app, client_id, auth["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let expires_in = token["expires_in"].as_i64().unwrap();
    assert!((295..=300).contains(&expires_in), "{expires_in}");
    let claims = jwt_claims(token["access_token"].as_str().unwrap());
    let exp = claims["exp"].as_i64().unwrap();
    assert!((exp - chrono::Utc::now().timestamp() - 300).abs() <= 5, "{claims}");
    let row = app.state.store().find_device_by_id(Uuid::parse_str(&device_id).unwrap()).await.unwrap().unwrap();
    assert_eq!(row.status, "active");
    assert_eq!(row.expires.unwrap().and_utc().timestamp(), exp);
    app.close().await;
}
