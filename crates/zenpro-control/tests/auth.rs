//! `POST /auth/login` (password, API key, client credentials), the bearer check, rate limiting.

mod common;

use common::{ADMIN, ADMIN_PW, TestApp};
use http::{Method, StatusCode};
use serde_json::json;
use zenpro_control::auth::{TokenKind, decode_token, issue_token};

backend_tests!(password_grant_with_and_without_grant_type, |app: TestApp| async move {
    for pairs in [
        vec![("grant_type", "password"), ("username", ADMIN), ("password", ADMIN_PW)],
        vec![("username", ADMIN), ("password", ADMIN_PW)],
    ] {
        let r = app.form_login(&pairs, None).await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.2);
        assert_eq!(r.2["token_type"], "bearer");
        assert_eq!(r.2["expires_in"], 86400);
        for k in ["refresh_token", "scope", "device_id", "device_metadata"] {
            assert!(r.2[k].is_null(), "{k}");
        }
        let claims = decode_token(&app.state.token_key, r.2["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(claims.iss, "zenpro-control-plane");
        assert_eq!(claims.kind, TokenKind::User);
        assert_eq!(claims.exp - claims.iat, 86400);
        let me =
            app.as_user(r.2["access_token"].as_str().unwrap(), Method::GET, "/users/me", None, StatusCode::OK).await;
        assert_eq!(me["username"], ADMIN);
        assert_eq!(me["is_superuser"], true);
        assert!(me.get("password_hash").is_none());
    }
});

backend_tests!(wrong_credentials_are_401, |app: TestApp| async move {
    let r = app.form_login(&[("username", ADMIN), ("password", "nope")], None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(r.1["www-authenticate"], "Bearer");
    assert_eq!(r.2["detail"][0], "CredentialsNotValid");
    let r = app.form_login(&[("username", "ghost"), ("password", "x")], None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    // Missing fields, unknown grant: OAuth errors.
    let r = app.form_login(&[("username", ADMIN)], None).await;
    assert_eq!((r.0, r.2["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let r = app.form_login(&[("grant_type", "implicit")], None).await;
    assert_eq!((r.0, r.2["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    // An inactive user cannot log in, and its tokens stop working.
    let (id, token) = app.user("dora").await;
    app.admin(Method::PATCH, &format!("/users/{id}"), Some(json!({"active": false})), StatusCode::OK).await;
    let r = app.form_login(&[("username", "dora"), ("password", "dora-password")], None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    let r = app.call(Method::GET, "/users/me", Some(&token), None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(bearer_checks, |app: TestApp| async move {
    let r = app.call(Method::GET, "/users/me", None, None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(r.1["www-authenticate"], "Bearer");
    let r = app.call(Method::GET, "/users/me", Some("garbage"), None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    // Expired token of an existing user.
    let me = app.admin(Method::GET, "/users/me", None, StatusCode::OK).await;
    let id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    let expired = issue_token(&app.state.token_key, TokenKind::User, id, -5).unwrap();
    let r = app.call(Method::GET, "/users/me", Some(&expired), None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(r.1["www-authenticate"], "Bearer");
    // Signed with another key.
    let forged = issue_token(b"another key", TokenKind::User, id, 60).unwrap();
    assert_eq!(app.call(Method::GET, "/users/me", Some(&forged), None).await.0, StatusCode::UNAUTHORIZED);
    // A token of a principal that does not exist.
    let ghost = issue_token(&app.state.token_key, TokenKind::User, uuid::Uuid::new_v4(), 60).unwrap();
    assert_eq!(app.call(Method::GET, "/users/me", Some(&ghost), None).await.0, StatusCode::UNAUTHORIZED);
    // A bad ZENPROKEY_ bearer.
    let r = app.call(Method::GET, "/users/me", Some("ZENPROKEY_00000000000000000000000000000000_x"), None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(
    failed_logins_are_rate_limited,
    [("ZENPRO_CP_LOGIN_MAX_FAILURES", "3"), ("ZENPRO_CP_LOGIN_WINDOW", "60")],
    |app: TestApp| async move {
        for _ in 0..3 {
            let r = app.form_login(&[("username", ADMIN), ("password", "wrong")], None).await;
            assert_eq!(r.0, StatusCode::UNAUTHORIZED);
        }
        // Over the limit: even the right password is refused, with Retry-After.
        let r = app.form_login(&[("username", ADMIN), ("password", ADMIN_PW)], None).await;
        assert_eq!(r.0, StatusCode::TOO_MANY_REQUESTS, "{}", r.2);
        let retry: i64 = r.1["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(r.2["detail"][0], "IllegalOperationError");
        // Another username is not affected.
        app.user("erin").await;
        // The state is in the database (shared by replicas).
        let count: i64 = app.state.store.int(zenpro_control::q!("SELECT COUNT(*) FROM login_failures")).await.unwrap();
        assert_eq!(count, 3);
    }
);

backend_tests!(successful_login_clears_failures, [("ZENPRO_CP_LOGIN_MAX_FAILURES", "2")], |app: TestApp| async move {
    let r = app.form_login(&[("username", ADMIN), ("password", "wrong")], None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    app.login(ADMIN, ADMIN_PW).await;
    let r = app.form_login(&[("username", ADMIN), ("password", "wrong")], None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    // One failure since the success: still allowed.
    app.login(ADMIN, ADMIN_PW).await;
});

backend_tests!(api_key_exchange, |app: TestApp| async move {
    let org = app.org("acme").await;
    let sa = app
        .admin(Method::POST, "/service_accounts", Some(json!({"name": "ci-bot", "organization": org})), StatusCode::OK)
        .await;
    let key = sa["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ZENPROKEY_"), "{key}");
    // As the client does it: the key as bearer and as password, no grant_type.
    let r = app.form_login(&[("password", &key)], Some(&key)).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert_eq!(r.2["expires_in"], 3600);
    let token = r.2["access_token"].as_str().unwrap().to_string();
    let me = app.as_user(&token, Method::GET, "/users/me", None, StatusCode::OK).await;
    assert_eq!((me["username"].as_str(), me["is_service_account"].as_bool()), (Some("ci-bot"), Some(true)));
    // Only the bearer.
    assert_eq!(app.form_login(&[], Some(&key)).await.0, StatusCode::OK);
    // The raw key works as a bearer everywhere.
    app.as_user(&key, Method::GET, "/users/me", None, StatusCode::OK).await;
    // A tampered secret does not.
    let bad = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(app.form_login(&[("password", &bad)], None).await.0, StatusCode::UNAUTHORIZED);
    // Revoked: the key and tokens are refused.
    let sa_id = sa["id"].as_str().unwrap();
    let key_id = sa["api_key_id"].as_str().unwrap();
    app.admin(Method::DELETE, &format!("/service_accounts/{sa_id}/api_keys/{key_id}"), None, StatusCode::NO_CONTENT)
        .await;
    assert_eq!(app.form_login(&[("password", &key)], None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::GET, "/users/me", Some(&key), None).await.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(client_credentials_grant, |app: TestApp| async move {
    let org = app.org("acme").await;
    let ws = app
        .admin(Method::POST, "/workspaces", Some(json!({"name": "prod", "organization": org})), StatusCode::OK)
        .await;
    let id = ws["id"].as_str().unwrap().to_string();
    let key = ws["enrollment_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 64);
    let form = |secret: &str| {
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), id.clone()),
            ("client_secret".to_string(), secret.to_string()),
            ("audience".to_string(), "http://127.0.0.1:8080/api/v1".to_string()),
        ]
    };
    let pairs = form(&key);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let r = app.form_login(&refs, None).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert!(r.2["expires_in"].as_i64().unwrap() > 300);
    let claims = decode_token(&app.state.token_key, r.2["access_token"].as_str().unwrap()).unwrap();
    assert_eq!((claims.kind, claims.sub.as_str()), (TokenKind::Workspace, id.as_str()));
    // A workspace token is not a user: the admin API refuses it.
    let wt = r.2["access_token"].as_str().unwrap();
    assert_eq!(app.call(Method::GET, "/users/me", Some(wt), None).await.0, StatusCode::FORBIDDEN);
    // Wrong secret, unknown workspace, missing fields.
    let pairs = form("x".repeat(64).as_str());
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(app.form_login(&refs, None).await.0, StatusCode::UNAUTHORIZED);
    let r = app
        .form_login(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &uuid::Uuid::new_v4().to_string()),
                ("client_secret", &key),
            ],
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.form_login(&[("grant_type", "client_credentials")], None).await.0, StatusCode::UNAUTHORIZED);
    // Rotation: the old key stops working at once, the new one works; old tokens live on.
    let rotated = app.admin(Method::POST, "/workspaces/prod/enrollment_key", None, StatusCode::OK).await;
    let new_key = rotated["enrollment_key"].as_str().unwrap();
    assert_ne!(new_key, key);
    let pairs = form(&key);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(app.form_login(&refs, None).await.0, StatusCode::UNAUTHORIZED);
    let pairs = form(new_key);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(app.form_login(&refs, None).await.0, StatusCode::OK);
    // Deleting the workspace invalidates its tokens.
    app.admin(Method::DELETE, "/workspaces/prod", None, StatusCode::NO_CONTENT).await;
    assert_eq!(app.call(Method::GET, "/users/me", Some(wt), None).await.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(malformed_login_bodies, |app: TestApp| async move {
    let r = app.call_raw(Method::POST, "/auth/login", None, "%%%=&&=%zz", "application/x-www-form-urlencoded").await;
    assert!(r.0 == StatusCode::UNPROCESSABLE_ENTITY || r.0 == StatusCode::BAD_REQUEST, "{:?} {}", r.0, r.2);
});

#[tokio::test]
async fn bootstrap_admin_only_on_first_start() {
    let db = common::TestDb::new(common::Backend::Sqlite).await.unwrap();
    let url = db.url.clone();
    let dir = db.dir.path().to_path_buf();
    let app = TestApp::start(db, &[]).await;
    // Second start with another password: the first admin stays, no second user.
    let env: std::collections::HashMap<String, String> = [
        ("ZENPRO_DATA_DIR", dir.to_str().unwrap()),
        ("ZENPRO_CP_DATABASE_URL", url.as_str()),
        ("ZENPRO_CP_ADMIN_PASSWORD", "other-password"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let state = zenpro_control::build(zenpro_control::Config::from_map(&env).unwrap()).await.unwrap();
    assert_eq!(state.store.user_count().await.unwrap(), 1);
    // Without a configured secret the key is generated once into the data dir and reused.
    let key1 = state.token_key.clone();
    let state2 = zenpro_control::build(zenpro_control::Config::from_map(&env).unwrap()).await.unwrap();
    assert_eq!(key1, state2.token_key);
    assert!(dir.join("control-plane/token_secret").exists());
    app.login(ADMIN, ADMIN_PW).await;
}

backend_tests!(password_change_invalidates_older_tokens, |app: TestApp| async move {
    let (_, old) = app.user("fay").await;
    // Tokens carry whole seconds: change the password in a later second than the login.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.as_user(&old, Method::PATCH, "/users/fay", Some(json!({"password": "fay-new"})), StatusCode::OK).await;
    let r = app.call(Method::GET, "/users/me", Some(&old), None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(r.1["www-authenticate"], "Bearer");
    let new = app.login("fay", "fay-new").await;
    app.as_user(&new, Method::GET, "/users/me", None, StatusCode::OK).await;
    // Other users' tokens are unaffected.
    app.admin(Method::GET, "/users/me", None, StatusCode::OK).await;
});
