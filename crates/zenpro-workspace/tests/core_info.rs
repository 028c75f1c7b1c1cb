//! Discovery, health and server settings.
//!
//! Reference (Python 0.98.0) answers, checked once with `ref-server.sh`:
//! * `GET /api/v1/info` (no token): the flat object below, keys in this order.
//! * `GET /health`, `GET /ready`: `200 text/plain "ok"` (its `skip_health_middleware`).
//! * `GET /api/v1/settings`: `{"body": {...}, "metadata": {}, "resources": {}}` (hydrated by
//!   default; `hydrate=False` gives `metadata: null`); no `id`, no `permission_denied`.
//! * `PUT /api/v1/settings {"bogus": 1}` or `{"onboarding_state": [..]}`: 200, ignored;
//!   `{"logo_url": null}` clears the logo. Non-admins: 403 "Only admins can update server
//!   settings." unless nothing is changed.
//! * `GET /api/v1/onboarding_state`: `["project_created"]` on a fresh server.

mod common;

use common::TestApp;
use http::{StatusCode, header};
use serde_json::json;

backend_tests!(info_health_version, |app: TestApp| async move {
    let (status, headers, info) = app.get("/api/v1/info", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["server"], app.state.server_id().to_string().as_str());
    let keys: Vec<&str> = info.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "version",
            "active",
            "debug",
            "deployment_type",
            "database_type",
            "secrets_store_type",
            "auth_scheme",
            "server_url",
            "dashboard_url",
            "analytics_enabled",
            "metadata",
            "last_user_activity",
            "pro_dashboard_url",
            "pro_api_url",
            "pro_organization_id",
            "pro_organization_name",
            "pro_workspace_id",
            "pro_workspace_name",
        ]
    );
    assert_eq!(info["version"], "0.98.0");
    assert_eq!(info["name"], "default");
    assert_eq!((info["active"].as_bool(), info["debug"].as_bool()), (Some(true), Some(false)));
    assert_eq!(info["deployment_type"], "other");
    assert_eq!(info["auth_scheme"], "OAUTH2_PASSWORD_BEARER");
    assert_eq!(info["secrets_store_type"], "sql");
    assert_eq!(info["analytics_enabled"], false);
    assert_eq!(info["metadata"], json!({}));

    let (status, _, v) = app.get("/api/v1/version", None).await;
    assert_eq!((status, v), (StatusCode::OK, json!("0.98.0")));
    for path in ["/health", "/ready"] {
        let (status, headers, body) = app.get(path, None).await;
        assert_eq!((status, body), (StatusCode::OK, json!("ok")), "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8", "{path}");
    }
});

backend_tests!(settings_read_and_update, |app: TestApp| async move {
    let admin = app.admin().await;
    let (status, _, s) = app.get("/api/v1/settings", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["body", "metadata", "resources"]);
    assert_eq!((&s["metadata"], &s["resources"]), (&json!({}), &json!({})));
    assert_eq!(s["body"]["server_id"], json!(app.state.server_id().to_string()));
    assert_eq!(s["body"]["server_name"], "default");
    assert_eq!(s["body"]["active"], true);
    assert_eq!(s["body"]["logo_url"], json!(null));
    let (_, _, s) = app.get("/api/v1/settings?hydrate=False", Some(&admin)).await;
    assert_eq!(s["metadata"], json!(null));
    assert!(app.get("/api/v1/settings", None).await.0 == StatusCode::UNAUTHORIZED);

    let (status, _, s) = app
        .put_json(
            "/api/v1/settings",
            Some(&admin),
            &json!({"server_name": "srv", "logo_url": "https://x/logo.png", "display_updates": false, "bogus": 1, "onboarding_state": ["x"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!((&s["body"]["server_name"], &s["body"]["display_updates"]), (&json!("srv"), &json!(false)));
    assert_eq!(s["body"]["logo_url"], "https://x/logo.png");
    assert_eq!(s["metadata"], json!({}));
    assert_eq!(app.get("/api/v1/info", None).await.2["name"], "srv");
    let (_, _, steps) = app.get("/api/v1/onboarding_state", Some(&admin)).await;
    assert_eq!(steps, json!(["project_created"]), "onboarding_state is no settings field");

    // An explicit null clears the logo; an absent key keeps it.
    let (_, _, s) = app.put_json("/api/v1/settings", Some(&admin), &json!({"server_name": "srv2"})).await;
    assert_eq!(s["body"]["logo_url"], "https://x/logo.png");
    let (_, _, s) = app.put_json("/api/v1/settings", Some(&admin), &json!({"logo_url": null})).await;
    assert_eq!(s["body"]["logo_url"], json!(null));

    app.create_user(&admin, json!({"name": "bob", "password": "bob-pw", "is_admin": false})).await;
    let bob = app.login("bob", "bob-pw").await;
    let (status, _, body) = app.put_json("/api/v1/settings", Some(&bob), &json!({"display_updates": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body, json!({"detail": ["IllegalOperationError", "Only admins can update server settings."]}));
    let (status, _, body) = app.put_json("/api/v1/settings", Some(&bob), &json!({})).await;
    assert_eq!((status, &body["body"]["display_updates"]), (StatusCode::OK, &json!(false)), "{body}");
    assert_eq!(app.get("/api/v1/settings", Some(&bob)).await.0, StatusCode::OK);
});
