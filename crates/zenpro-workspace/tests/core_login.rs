//! `POST /login` (password grant) and access-token checks.
//!
//! Reference (Python 0.98.0 server) answers, checked once with `ref-server.sh`:
//! * good password: 200, `set-cookie: zenml-server-<id>=<jwt>; HttpOnly; Path=/; SameSite=lax`.
//! * wrong password or unknown user: 401 `{"detail":["CredentialsNotValid","Authentication
//!   error: invalid username or password"]}`; the reference sends no `WWW-Authenticate` on
//!   this one, zenpro sends `Bearer` on every 401 (harmless: the client keys on `detail[0]`).
//! * no token, or `Authorization: Basic ...`: 401 `{"detail":"Not authenticated"}` +
//!   `www-authenticate: Bearer`.
//! * garbage token: 401 `CredentialsNotValid` "... Invalid JWT token: Not enough segments."
//! * missing username: 400 `{"detail":"Invalid request: username is required."}`.
//! * unknown grant type: 400 `{"detail":"Unsupported grant type: weird"}`.

mod common;

use common::{ADMIN, ADMIN_PW, JWT_KEY, TestApp};
use http::{Method, StatusCode, header};
use serde_json::json;
use zenpro_workspace::auth::jwt::{self, Claims};

fn assert_credentials_not_valid(resp: &common::Resp) {
    assert_eq!(resp.0, StatusCode::UNAUTHORIZED, "{}", resp.2);
    assert_eq!(resp.1[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(resp.2["detail"][0], "CredentialsNotValid", "{}", resp.2);
}

/// A token for `sub` with the app's issuer/audience, changed by `f`, signed with `key`.
fn token(app: &TestApp, sub: &str, key: &[u8], f: impl FnOnce(&mut Claims)) -> String {
    let mut c = Claims::new(sub);
    c.iss = Some(app.state.issuer());
    c.aud = Some(app.state.audience());
    c.iat = Some(chrono::Utc::now().timestamp_micros() as f64 / 1e6);
    f(&mut c);
    jwt::encode(&c, key)
}

async fn admin_id(app: &TestApp, tok: &str) -> String {
    app.get("/api/v1/current-user", Some(tok)).await.2["id"].as_str().unwrap().to_string()
}

backend_tests!(password_grant_gives_a_token_and_cookie, |app: TestApp| async move {
    let resp = app
        .post_form("/api/v1/login", None, &[("grant_type", "password"), ("username", ADMIN), ("password", ADMIN_PW)])
        .await;
    assert_status!(resp, StatusCode::OK);
    let (_, headers, body) = resp;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], json!(null), "tokens do not expire by default");
    for k in ["refresh_token", "csrf_token", "scope", "device_id", "device_metadata"] {
        assert_eq!(body[k], json!(null), "{k}");
    }
    let tok = body["access_token"].as_str().unwrap();
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert_eq!(cookie, format!("zenml-server-{}={tok}; HttpOnly; Path=/; SameSite=lax", app.state.server_id()));

    // The claims are those of a password login: sub, iss = aud = server id, float iat.
    let claims = jwt::decode(
        tok,
        JWT_KEY.as_bytes(),
        &app.state.server_id().to_string(),
        &app.state.server_id().to_string(),
        0,
        0.0,
    )
    .unwrap();
    assert!(claims.exp.is_none() && claims.iat.is_some() && claims.api_key_id.is_none());

    let (status, _, me) = app.get("/api/v1/current-user", Some(tok)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], ADMIN);
    assert_eq!(me["id"], json!(claims.sub));

    // The dashboard sends no grant_type, and may authenticate with the cookie.
    let resp = app.post_form("/api/v1/login", None, &[("username", ADMIN), ("password", ADMIN_PW)]).await;
    assert_status!(resp, StatusCode::OK);
    let req = http::Request::builder()
        .uri("/api/v1/current-user")
        .header(header::COOKIE, format!("other=1; zenml-server-{}={tok}", app.state.server_id()))
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, me) = app.request(req).await;
    assert_eq!((status, me["name"].as_str()), (StatusCode::OK, Some(ADMIN)));
});

backend_tests!(wrong_password_and_unknown_user_are_401, |app: TestApp| async move {
    let resp = app.post_form("/api/v1/login", None, &[("username", ADMIN), ("password", "wrong")]).await;
    assert_credentials_not_valid(&resp);
    assert_eq!(resp.2["detail"][1], "Authentication error: invalid username or password");
    let resp = app.post_form("/api/v1/login", None, &[("username", "nobody"), ("password", "x")]).await;
    assert_credentials_not_valid(&resp);
    assert_eq!(resp.2["detail"][1], "Authentication error: invalid username or password");
    assert!(resp.1.get(header::SET_COOKIE).is_none());
});

backend_tests!(malformed_login_requests_are_400, |app: TestApp| async move {
    let (status, _, body) =
        app.post_form("/api/v1/login", None, &[("grant_type", "password"), ("password", "x")]).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"detail": "Invalid request: username is required."})));
    let (status, _, body) = app.post_form("/api/v1/login", None, &[("grant_type", "weird"), ("username", ADMIN)]).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"detail": "Unsupported grant type: weird"})));
    // Without grant_type, a lone password is an API key (the reference's detection order).
    let resp = app.post_form("/api/v1/login", None, &[("password", "not-a-key")]).await;
    assert_credentials_not_valid(&resp);
    assert!(resp.2["detail"][1].as_str().unwrap().contains("API key"), "{}", resp.2);
});

backend_tests!(missing_or_non_bearer_credentials_are_not_authenticated, |app: TestApp| async move {
    for auth in [None, Some("Basic YWRtaW46cHc="), Some("Bearer "), Some("Bearer")] {
        let mut req = http::Request::builder().uri("/api/v1/current-user");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let (status, headers, body) = app.request(req.body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(body, json!({"detail": "Not authenticated"}), "{auth:?}");
    }
    // G1: the unauthenticated probe of every client process.
    let (status, _, body) = app.get("/api/v1/projects/default?hydrate=True", None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Not authenticated"})));
    // Discovery stays open.
    let (status, _, info) = app.get("/api/v1/info", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["id"], json!(app.state.server_id().to_string()));
    assert_eq!(info["database_type"], if app.backend() == zenpro_store::Backend::Sqlite { "sqlite" } else { "mysql" });
    assert_eq!(info["active"], true);
});

backend_tests!(bad_tokens_are_rejected, |app: TestApp| async move {
    let good = app.admin().await;
    let id = admin_id(&app, &good).await;
    let mut cases: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("three garbage segments", "a.b.c".into()),
        ("another key", token(&app, &id, b"another-key", |_| {})),
        ("wrong audience", token(&app, &id, JWT_KEY.as_bytes(), |c| c.aud = Some("someone-else".into()))),
        ("wrong issuer", token(&app, &id, JWT_KEY.as_bytes(), |c| c.iss = Some("someone-else".into()))),
        ("expired", token(&app, &id, JWT_KEY.as_bytes(), |c| c.exp = Some(chrono::Utc::now().timestamp() - 3600))),
        ("unknown subject", token(&app, &uuid::Uuid::new_v4().to_string(), JWT_KEY.as_bytes(), |_| {})),
        ("subject not a uuid", token(&app, "admin", JWT_KEY.as_bytes(), |_| {})),
    ];
    // The signature covers the payload: swapping in another payload breaks it.
    let other = token(&app, &uuid::Uuid::new_v4().to_string(), JWT_KEY.as_bytes(), |_| {});
    let g: Vec<&str> = good.split('.').collect();
    let o: Vec<&str> = other.split('.').collect();
    cases.push(("tampered payload", format!("{}.{}.{}", g[0], o[1], g[2])));
    for (what, tok) in &cases {
        let resp = app.get("/api/v1/current-user", Some(tok)).await;
        assert_eq!(resp.0, StatusCode::UNAUTHORIZED, "{what}: {}", resp.2);
        assert_credentials_not_valid(&resp);
    }
    // Within the 10 s leeway a just-expired token still works; the same claims, signed
    // correctly and not expired, work.
    let fresh = token(&app, &id, JWT_KEY.as_bytes(), |c| c.exp = Some(chrono::Utc::now().timestamp() - 2));
    assert_status!(app.get("/api/v1/current-user", Some(&fresh)).await, StatusCode::OK);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_expiry_is_reported_and_enforced() {
    let app = TestApp::with_env(zenpro_store::Backend::Sqlite, &[("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES", "1")])
        .await
        .unwrap();
    let (status, _, body) = app.post_form("/api/v1/login", None, &[("username", ADMIN), ("password", ADMIN_PW)]).await;
    assert_eq!(status, StatusCode::OK);
    let expires_in = body["expires_in"].as_i64().expect("expires_in is set");
    assert!((59..=60).contains(&expires_in), "{expires_in}");
    let tok = body["access_token"].as_str().unwrap();
    let claims = jwt::decode(tok, JWT_KEY.as_bytes(), &app.state.issuer(), &app.state.audience(), 0, 0.0).unwrap();
    let exp = claims.exp.expect("an exp claim");
    assert!((exp - chrono::Utc::now().timestamp() - 60).abs() <= 2);
    assert_status!(app.get("/api/v1/current-user", Some(tok)).await, StatusCode::OK);
}

backend_tests!(password_change_revokes_older_tokens, |app: TestApp| async move {
    let old = app.admin().await;
    // Without the current password, or with a wrong one: 403, as the reference.
    let (status, _, body) = app.put_json("/api/v1/current-user", Some(&old), &json!({"password": "new-pw-1"})).await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{body}");
    let (status, _, body) = app
        .put_json("/api/v1/current-user", Some(&old), &json!({"password": "new-pw-1", "old_password": "wrong"}))
        .await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{body}");
    assert_status!(app.get("/api/v1/current-user", Some(&old)).await, StatusCode::OK);

    // MariaDB keeps `password_changed_at` to the second (as for the Python server), so a token
    // issued earlier in the same second as the change would still pass: wait for the next one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, body) = app
        .put_json("/api/v1/current-user", Some(&old), &json!({"password": "new-pw-1", "old_password": ADMIN_PW}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resp = app.get("/api/v1/current-user", Some(&old)).await;
    assert_credentials_not_valid(&resp);

    let resp = app.post_form("/api/v1/login", None, &[("username", ADMIN), ("password", ADMIN_PW)]).await;
    assert_credentials_not_valid(&resp);
    let new = app.login(ADMIN, "new-pw-1").await;
    let (status, _, me) = app.get("/api/v1/current-user", Some(&new)).await;
    assert_eq!((status, me["name"].as_str()), (StatusCode::OK, Some(ADMIN)));
    let (status, _, me) = app.get("/api/v1/current-user?hydrate=True", Some(&new)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(me["metadata"]["password_changed_at"].is_string(), "{me}");
});

backend_tests!(deactivated_or_deleted_users_lose_access, |app: TestApp| async move {
    let admin = app.admin().await;
    let bob = app.create_user(&admin, json!({"name": "bob", "password": "bob-pw-1", "is_admin": false})).await;
    let bob_tok = app.login("bob", "bob-pw-1").await;
    assert_status!(app.get("/api/v1/current-user", Some(&bob_tok)).await, StatusCode::OK);

    let path = format!("/api/v1/users/{}", bob["id"].as_str().unwrap());
    let (status, _, body) = app.put_json(&path, Some(&admin), &json!({"active": false})).await;
    assert_eq!((status, &body["body"]["active"]), (StatusCode::OK, &json!(false)), "{body}");
    assert_credentials_not_valid(&app.get("/api/v1/current-user", Some(&bob_tok)).await);
    assert_credentials_not_valid(
        &app.post_form("/api/v1/login", None, &[("username", "bob"), ("password", "bob-pw-1")]).await,
    );

    assert_status!(app.put_json(&path, Some(&admin), &json!({"active": true})).await, StatusCode::OK);
    assert_status!(app.get("/api/v1/current-user", Some(&bob_tok)).await, StatusCode::OK);
    assert_status!(app.delete(&path, Some(&admin)).await, StatusCode::OK);
    assert_credentials_not_valid(&app.get("/api/v1/current-user", Some(&bob_tok)).await);
});

backend_tests!(logout_clears_the_cookie, |app: TestApp| async move {
    let (status, headers, body) = app.send_raw(Method::POST, "/api/v1/logout", None, "text/plain", "").await;
    assert_eq!((status, body), (StatusCode::OK, json!(null)));
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("zenml-server-{}=", app.state.server_id())) && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
});
