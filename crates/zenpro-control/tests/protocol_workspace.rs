//! Workspace → control plane (pro-protocol §2): enrollment token, `PATCH /workspace_status`,
//! `GET /users/authorize_server`, entitlements and usage events, including bad input.

mod common;
mod protocol_support;

use http::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;
use zenpro_control::auth::{TokenKind, issue_token};

use common::TestApp;
use protocol_support::*;

backend_tests!(protocol_enrollment_and_status, |app: TestApp| async move {
    let org = org(&app, "acme").await;
    let ws = new_workspace(&app, org, "ws1").await;
    // Wrong enrollment key, wrong client id: 401.
    for (id, secret) in [(ws.id.to_string(), "x".repeat(64)), (Uuid::new_v4().to_string(), ws.key.clone())] {
        let r = app
            .form_login(&[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret)], None)
            .await;
        assert_eq!(r.0, StatusCode::UNAUTHORIZED, "{}", r.2);
    }
    // Before the first report the workspace is not initialised.
    let (admin_id, admin) = user(&app, "root", true).await;
    let _ = admin_id;
    let w = app.as_user(&admin, Method::GET, &format!("/workspaces/{}", ws.id), None, StatusCode::OK).await;
    assert_eq!(w["status"], "not_initialized");
    assert_eq!(w["zenml_service"]["configuration"], json!(null));

    // A mismatching zenml-server-id header is refused.
    let other = Ws { id: Uuid::new_v4(), ..ws.clone() };
    let r = ws_call_as(&app, &other, &ws.token, Method::PATCH, "/workspace_status", None).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.2);
    // A user token is not a workspace token.
    let r = ws_call_as(&app, &ws, &admin, Method::PATCH, "/workspace_status", None).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.2);
    // No token / garbage token.
    let r = app.call(Method::PATCH, "/workspace_status", None, None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    let r = ws_call_as(&app, &ws, "not-a-token", Method::PATCH, "/workspace_status", None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);

    let r = ws_call(&app, &ws, Method::PATCH, "/workspace_status", None).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    let w = app.as_user(&admin, Method::GET, &format!("/workspaces/{}", ws.id), None, StatusCode::OK).await;
    assert_eq!(w["status"], "available");
    assert_eq!(w["zenml_service"]["status"]["server_url"], ws.url.as_str());
    assert_eq!(w["zenml_service"]["status"]["version"], "0.98.0");
    assert_eq!(w["zenml_service"]["configuration"]["version"], "0.98.0");
    assert_eq!(w["organization"]["id"], org.to_string());
    let row = app.state.store.get_workspace(ws.id).await.unwrap().unwrap();
    assert!(row.last_seen.is_some());
});

async fn authorize(app: &TestApp, ws: &Ws, bearer: &str, server_id: &str) -> common::Resp {
    ws_call_as(app, ws, bearer, Method::GET, &format!("/users/authorize_server?server_id={server_id}"), None).await
}

backend_tests!(protocol_authorize_server, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let org_b = org(&app, "other").await;
    let ws = workspace(&app, org_a, "ws1").await;
    let ws_b = workspace(&app, org_b, "ws2").await;
    let sid = ws.id.to_string();

    // Members: workspace role, project role, team, organization Viewer; a share.
    let (dev, dev_t) = user(&app, "dev", false).await;
    grant_ws(&app, &ws, "Developer", dev).await;
    let r = authorize(&app, &ws, &dev_t, &sid).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert_eq!(
        r.2,
        json!({"id": dev.to_string(), "username": "dev", "email": "dev@example.test", "name": "dev full",
               "is_superuser": false, "is_service_account": false, "avatar_url": null})
    );
    let (p, p_t) = user(&app, "projectuser", false).await;
    grant_project(&app, &ws, Uuid::new_v4(), "Viewer", p).await;
    assert_eq!(authorize(&app, &ws, &p_t, &sid).await.0, StatusCode::OK);
    let (t, t_t) = user(&app, "teamuser", false).await;
    let team_id = team(&app, org_a, "team", &[t]).await;
    grant(&app, "Contributor", org_a, Some(ws.id), None, None, Some(team_id)).await;
    assert_eq!(authorize(&app, &ws, &t_t, &sid).await.0, StatusCode::OK);
    let (ov, ov_t) = user(&app, "orgviewer", false).await;
    grant_org(&app, org_a, "Viewer", ov).await;
    assert_eq!(authorize(&app, &ws, &ov_t, &sid).await.0, StatusCode::OK);
    // ... but not in another organization's workspace.
    assert_eq!(authorize(&app, &ws_b, &ov_t, &ws_b.id.to_string()).await.0, StatusCode::FORBIDDEN);

    // Organization Admins, workspace Admins and super-users are is_superuser.
    let (oa, oa_t) = user(&app, "orgadmin", false).await;
    grant_org(&app, org_a, "Admin", oa).await;
    assert_eq!(authorize(&app, &ws, &oa_t, &sid).await.2["is_superuser"], true);
    let (wa, wa_t) = user(&app, "wsadmin", false).await;
    grant_ws(&app, &ws, "Admin", wa).await;
    assert_eq!(authorize(&app, &ws, &wa_t, &sid).await.2["is_superuser"], true);
    let (_, su_t) = user(&app, "super", true).await;
    assert_eq!(authorize(&app, &ws, &su_t, &sid).await.2["is_superuser"], true);

    // Non-members: organization Member only, nobody at all → 403.
    let (m, m_t) = user(&app, "member", false).await;
    grant_org(&app, org_a, "Member", m).await;
    assert_eq!(authorize(&app, &ws, &m_t, &sid).await.0, StatusCode::FORBIDDEN);
    let (_, n_t) = user(&app, "nobody", false).await;
    let r = authorize(&app, &ws, &n_t, &sid).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    assert!(r.2.get("username").is_none(), "no identity leaks: {}", r.2);
    // A share makes a member (implicit membership).
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(json!({"user_id": m.to_string(), "team_id": null, "sharing_user_id": dev.to_string(),
                    "resource": format!("secret/{}", Uuid::new_v4()), "actions": ["read"]})),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert_eq!(authorize(&app, &ws, &m_t, &sid).await.0, StatusCode::OK);

    // A service account's ZENPROKEY_ key is accepted as the bearer.
    let (sa, key) = service_account(&app, org_a, "robot").await;
    grant_ws(&app, &ws, "Viewer", sa).await;
    let r = authorize(&app, &ws, &key, &sid).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert_eq!(r.2["is_service_account"], true);
    assert_eq!(r.2["id"], sa.to_string());

    // 401: no bearer, garbage, an expired token, a wrong key, a workspace token.
    let r = app.call(Method::GET, &format!("/users/authorize_server?server_id={sid}"), None, None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    let expired = issue_token(&app.state.token_key, TokenKind::User, dev, -10).unwrap();
    let forged = issue_token(b"another key", TokenKind::User, dev, 3600).unwrap();
    let wrong_key = format!("{}x", &key[..key.len() - 1]);
    for bad in ["garbage", expired.as_str(), forged.as_str(), wrong_key.as_str(), ws.token.as_str()] {
        let r = authorize(&app, &ws, bad, &sid).await;
        assert_eq!(r.0, StatusCode::UNAUTHORIZED, "{bad}: {}", r.2);
    }
    // 404: unknown server, malformed id, header mismatch, a workspace that never reported.
    assert_eq!(authorize(&app, &ws, &dev_t, &Uuid::new_v4().to_string()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(authorize(&app, &ws, &dev_t, "not-a-uuid").await.0, StatusCode::NOT_FOUND);
    assert_eq!(authorize(&app, &ws, &dev_t, &ws_b.id.to_string()).await.0, StatusCode::NOT_FOUND);
    let fresh = new_workspace(&app, org_a, "fresh").await;
    grant_ws(&app, &fresh, "Admin", dev).await;
    assert_eq!(authorize(&app, &fresh, &dev_t, &fresh.id.to_string()).await.0, StatusCode::NOT_FOUND);
    // 403: a deactivated workspace admits nobody.
    app.state
        .store
        .update_workspace(
            ws.id,
            zenpro_control::store::workspaces::WorkspaceUpdate {
                desired_state: Some("deactivated".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(authorize(&app, &ws, &dev_t, &sid).await.0, StatusCode::FORBIDDEN);
    // An inactive user's token stops working.
    app.state
        .store
        .update_user(dev, zenpro_control::store::users::UserUpdate { active: Some(false), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(authorize(&app, &ws_b, &dev_t, &ws_b.id.to_string()).await.0, StatusCode::UNAUTHORIZED);
});

backend_tests!(protocol_entitlement_and_usage, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let org_b = org(&app, "other").await;
    let ws = workspace(&app, org_a, "ws1").await;
    let r = ws_call(&app, &ws, Method::GET, &format!("/organizations/{org_a}/entitlement/pipeline_run"), None).await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(r.2, json!({"feature": "pipeline_run", "entitled": true}));
    for other in [org_b.to_string(), "unknown".to_string()] {
        let r = ws_call(&app, &ws, Method::GET, &format!("/organizations/{other}/entitlement/model"), None).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.2);
        assert!(r.2["detail"].is_array(), "403 bodies are JSON: {}", r.2);
    }
    let (_, user_t) = user(&app, "u", false).await;
    let r =
        ws_call_as(&app, &ws, &user_t, Method::GET, &format!("/organizations/{org_a}/entitlement/model"), None).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);

    // The same pipeline run reported twice is recorded once; another feature or run is new.
    let run = Uuid::new_v4().to_string();
    let event = |feature: &str, rid: &str| {
        json!({"organization_id": org_a.to_string(), "feature": feature, "total": 1,
               "metadata": {"workspace_id": ws.id.to_string(), "resource_id": rid}})
    };
    for (feature, rid, recorded) in
        [("pipeline_run", run.as_str(), true), ("pipeline_run", run.as_str(), false), ("pipeline", run.as_str(), true)]
    {
        let r = ws_call(&app, &ws, Method::POST, "/usage-event", Some(event(feature, rid))).await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.2);
        assert_eq!(r.2["recorded"], recorded);
    }
    let rows = app.state.store.usage_events(ws.id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().filter(|e| e.feature == "pipeline_run" && e.resource_id == run).count(), 1);
    // Another organization or workspace: 403; malformed bodies: 422.
    let mut bad = event("model", &run);
    bad["organization_id"] = json!(org_b.to_string());
    assert_eq!(ws_call(&app, &ws, Method::POST, "/usage-event", Some(bad)).await.0, StatusCode::FORBIDDEN);
    let mut bad = event("model", &run);
    bad["metadata"]["workspace_id"] = json!(Uuid::new_v4().to_string());
    assert_eq!(ws_call(&app, &ws, Method::POST, "/usage-event", Some(bad)).await.0, StatusCode::FORBIDDEN);
    let r = ws_call(&app, &ws, Method::POST, "/usage-event", Some(json!({"feature": "x"}))).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.state.store.usage_events(ws.id).await.unwrap().len(), 2);
});
