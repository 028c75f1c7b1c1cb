//! The RBAC endpoints a workspace calls (pro-protocol §2.4): `check_permissions`,
//! `allowed_resource_ids`, `resource_members`, `DELETE /rbac/resources`, with the role table
//! of docs/control-plane.md, teams, shares, and bad input.

mod common;
mod protocol_support;

use http::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use common::TestApp;
use protocol_support::*;

backend_tests!(protocol_check_permissions_roles, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let ws = workspace(&app, org_a, "ws1").await;
    let ws2 = workspace(&app, org_a, "ws2").await;
    let (p1, p2, x) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());

    // Every key is answered, in the spelling it was sent.
    let (viewer, _) = user(&app, "viewer", false).await;
    grant_ws(&app, &ws, "Viewer", viewer).await;
    let keys = vec![
        "project".to_string(),
        format!("project/{p1}"),
        format!("{p1}:pipeline"),
        format!("{p1}:pipeline_run/{x}"),
        format!("secret/{}", x.simple()),
        format!("{}:model", p2.to_string().to_uppercase()),
    ];
    let read = check(&app, &ws, viewer, "read", &keys).await;
    assert_eq!(read.as_object().unwrap().len(), keys.len());
    for k in &keys {
        assert_eq!(read[k.as_str()], true, "{k}");
    }
    let create = check(&app, &ws, viewer, "create", &keys).await;
    assert!(create.as_object().unwrap().values().all(|v| v == false), "{create}");
    // Not in another workspace of the organization.
    assert!(!can(&app, &ws2, viewer, "read", "project").await);

    // Developer: everything but backup_restore; project/service_account read-only.
    let (dev, _) = user(&app, "dev", false).await;
    grant_ws(&app, &ws, "Developer", dev).await;
    assert!(can(&app, &ws, dev, "create", &format!("{p1}:pipeline_run")).await);
    assert!(can(&app, &ws, dev, "read_secret_value", &format!("secret/{x}")).await);
    assert!(!can(&app, &ws, dev, "backup_restore", "secret").await);
    assert!(!can(&app, &ws, dev, "create", "project").await);

    // Stack Admin and Contributor.
    let (sa, _) = user(&app, "stackadmin", false).await;
    grant_ws(&app, &ws, "Stack Admin", sa).await;
    assert!(can(&app, &ws, sa, "delete", &format!("stack/{x}")).await);
    assert!(!can(&app, &ws, sa, "create", &format!("{p1}:pipeline")).await);
    let (c, _) = user(&app, "contrib", false).await;
    grant_ws(&app, &ws, "Contributor", c).await;
    assert!(can(&app, &ws, c, "share", &format!("{p1}:model/{x}")).await);
    assert!(!can(&app, &ws, c, "delete", &format!("{p1}:model/{x}")).await);

    // Project roles are bound to their project (the workspace-local UUID).
    let (pd, _) = user(&app, "projdev", false).await;
    grant_project(&app, &ws, p1, "Developer", pd).await;
    assert!(can(&app, &ws, pd, "create", &format!("{p1}:pipeline")).await);
    assert!(!can(&app, &ws, pd, "create", &format!("{p2}:pipeline")).await);
    assert!(can(&app, &ws, pd, "read", &format!("project/{p1}")).await);
    assert!(!can(&app, &ws, pd, "read", &format!("project/{p2}")).await);
    assert!(can(&app, &ws, pd, "read", "stack").await);
    assert!(!can(&app, &ws, pd, "prune", &format!("{p1}:artifact_version")).await);

    // Organization roles act in every workspace of the organization; Member does not.
    let (om, _) = user(&app, "orgmanager", false).await;
    grant_org(&app, org_a, "Manager", om).await;
    assert!(can(&app, &ws2, om, "create", &format!("{p1}:pipeline")).await);
    assert!(!can(&app, &ws2, om, "backup_restore", "secret").await);
    let (mem, _) = user(&app, "member", false).await;
    grant_org(&app, org_a, "Member", mem).await;
    assert!(!can(&app, &ws, mem, "read", "project").await);

    // Teams pass their grants to their members.
    let (t, _) = user(&app, "teamuser", false).await;
    let team_id = team(&app, org_a, "builders", &[t]).await;
    grant(&app, "Admin", org_a, Some(ws.id), None, None, Some(team_id)).await;
    assert!(can(&app, &ws, t, "backup_restore", "secret").await);

    // Super-users pass everything; unknown users nothing.
    let (su, _) = user(&app, "root", true).await;
    assert!(can(&app, &ws2, su, "backup_restore", "secret").await);
    let unknown = check(&app, &ws, Uuid::new_v4(), "read", &keys).await;
    assert!(unknown.as_object().unwrap().values().all(|v| v == false), "{unknown}");
    assert_eq!(unknown.as_object().unwrap().len(), keys.len());
});

backend_tests!(protocol_rbac_bad_input, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let ws = workspace(&app, org_a, "ws1").await;
    let (u, u_token) = user(&app, "u", false).await;
    let x = Uuid::new_v4();
    let path = |action: &str| format!("/rbac/check_permissions?user_id={u}&action={action}");
    // Malformed resource strings → 422 (not 500), whatever their position.
    for bad in [
        "unknown_type".to_string(),
        "pipeline".to_string(),
        format!("{x}:project"),
        "project/not-a-uuid".to_string(),
        format!("project/{x}/{x}"),
        format!("nope:pipeline/{x}"),
        String::new(),
    ] {
        let r = ws_call(&app, &ws, Method::POST, &path("read"), Some(json!(["project", bad]))).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {}", r.2);
    }
    // Not an array of strings, unknown action, missing or malformed user_id → 422.
    for body in [json!({"a": 1}), json!([1, 2]), json!("project")] {
        let r = ws_call(&app, &ws, Method::POST, &path("read"), Some(body.clone())).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.2);
    }
    let r = ws_call(&app, &ws, Method::POST, &path("fly"), Some(json!(["project"]))).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ws_call(&app, &ws, Method::POST, "/rbac/check_permissions?action=read", Some(json!(["project"]))).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ws_call(&app, &ws, Method::POST, "/rbac/check_permissions?user_id=x&action=read", Some(json!(["project"])))
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    // An empty list is answered with an empty map.
    let r = ws_call(&app, &ws, Method::POST, &path("read"), Some(json!([]))).await;
    assert_eq!((r.0, r.2), (StatusCode::OK, json!({})));
    // A user token is not a workspace token; no token → 401.
    let r = ws_call_as(&app, &ws, &u_token, Method::POST, &path("read"), Some(json!(["project"]))).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let r = app.call(Method::POST, &path("read"), None, Some(json!(["project"]))).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);

    // allowed_resource_ids: an id in the resource, bad strings, bad action → 422.
    for q in [
        format!("user_id={u}&resource=secret/{x}&action=read"),
        format!("user_id={u}&resource=pipeline&action=read"),
        format!("user_id={u}&resource=secret&action=nope"),
        "resource=secret&action=read".to_string(),
    ] {
        let r = ws_call(&app, &ws, Method::GET, &format!("/rbac/allowed_resource_ids?{q}"), None).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.2);
    }
    // resource_members: no member, both members, unknown user/team, bad action/resource.
    let base = json!({"user_id": u.to_string(), "team_id": null, "sharing_user_id": u.to_string(),
                      "resource": format!("secret/{x}"), "actions": ["read"]});
    let variants = [
        (json!({"user_id": null}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"team_id": Uuid::new_v4().to_string()}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"user_id": Uuid::new_v4().to_string()}), StatusCode::NOT_FOUND),
        (json!({"user_id": null, "team_id": Uuid::new_v4().to_string()}), StatusCode::NOT_FOUND),
        (json!({"actions": ["fly"]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"resource": "secret"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"resource": "bogus/1"}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (patch, status) in variants {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = ws_call(&app, &ws, Method::POST, "/rbac/resource_members", Some(body.clone())).await;
        assert_eq!(r.0, status, "{body}: {}", r.2);
    }
    // DELETE /rbac/resources with a malformed string → 422.
    let r = ws_call(&app, &ws, Method::DELETE, "/rbac/resources?resources=bogus", None).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
});

backend_tests!(protocol_shares_and_allowed_ids, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let org_b = org(&app, "other").await;
    let ws = workspace(&app, org_a, "ws1").await;
    let ws2 = workspace(&app, org_a, "ws2").await;
    let (p1, p2) = (Uuid::new_v4(), Uuid::new_v4());
    let (pipe, secret) = (Uuid::new_v4(), Uuid::new_v4());
    let (owner, _) = user(&app, "owner", false).await;
    let (guest, _) = user(&app, "guest", false).await;
    let pipe_res = format!("{p1}:pipeline/{pipe}");

    // Role-based lists: full access; project roles only in their project; project ids listed.
    let (pv, _) = user(&app, "projviewer", false).await;
    grant_project(&app, &ws, p1, "Viewer", pv).await;
    assert_eq!(allowed(&app, &ws, pv, "read", &format!("{p1}:pipeline")).await["full_access"], true);
    assert_eq!(
        allowed(&app, &ws, pv, "read", &format!("{p2}:pipeline")).await,
        json!({"full_access": false, "ids": []})
    );
    assert_eq!(allowed(&app, &ws, pv, "read", "project").await, json!({"full_access": false, "ids": [p1.to_string()]}));
    assert_eq!(allowed(&app, &ws, pv, "read", "stack").await["full_access"], true);

    // Share a pipeline with the guest: read+update on that one pipeline only.
    let share = |user: Option<Uuid>, team: Option<Uuid>, resource: String, actions: serde_json::Value| {
        json!({"user_id": user.map(|u| u.to_string()), "team_id": team.map(|t| t.to_string()),
               "sharing_user_id": owner.to_string(), "resource": resource, "actions": actions})
    };
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(Some(guest), None, pipe_res.clone(), json!(["read", "update"]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert!(can(&app, &ws, guest, "read", &pipe_res).await);
    assert!(can(&app, &ws, guest, "update", &pipe_res).await);
    assert!(!can(&app, &ws, guest, "delete", &pipe_res).await);
    assert!(!can(&app, &ws, guest, "read", &format!("{p1}:pipeline/{}", Uuid::new_v4())).await);
    assert!(!can(&app, &ws2, guest, "read", &pipe_res).await, "shares are per workspace");
    assert_eq!(
        allowed(&app, &ws, guest, "read", &format!("{p1}:pipeline")).await,
        json!({"full_access": false, "ids": [pipe.to_string()]})
    );
    assert_eq!(allowed(&app, &ws, guest, "delete", &format!("{p1}:pipeline")).await["ids"], json!([]));
    assert_eq!(allowed(&app, &ws, guest, "read", &format!("{p2}:pipeline")).await["ids"], json!([]));

    // Replace-all: the new action list replaces the old; an empty list unshares.
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(Some(guest), None, pipe_res.clone(), json!(["delete"]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(!can(&app, &ws, guest, "read", &pipe_res).await);
    assert!(can(&app, &ws, guest, "delete", &pipe_res).await);
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(Some(guest), None, pipe_res.clone(), json!([]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(!can(&app, &ws, guest, "delete", &pipe_res).await);
    assert!(
        app.state
            .store
            .shares_on(ws.id, &zenpro_control::rbac::Resource::parse(&pipe_res).unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Team shares reach the team's members; a team of another organization is refused.
    let (member, _) = user(&app, "teammember", false).await;
    let team_id = team(&app, org_a, "readers", &[member]).await;
    let other_team = team(&app, org_b, "outsiders", &[]).await;
    let secret_res = format!("secret/{secret}");
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(None, Some(team_id), secret_res.clone(), json!(["read", "read_secret_value"]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert!(can(&app, &ws, member, "read_secret_value", &secret_res).await);
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(None, Some(other_team), secret_res.clone(), json!(["read"]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);

    // Deleting the resources forgets their shares (repeated query parameter).
    let r = ws_call(
        &app,
        &ws,
        Method::POST,
        "/rbac/resource_members",
        Some(share(Some(guest), None, pipe_res.clone(), json!(["read"]))),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK);
    let q =
        serde_urlencoded::to_string([("resources", pipe_res.as_str()), ("resources", secret_res.as_str())]).unwrap();
    let r = ws_call(&app, &ws, Method::DELETE, &format!("/rbac/resources?{q}"), None).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    assert_eq!(r.2["deleted_shares"], 2);
    assert!(!can(&app, &ws, guest, "read", &pipe_res).await);
    assert!(!can(&app, &ws, member, "read", &secret_res).await);
});
