//! The admin API: users, organizations, workspaces, teams, roles, role assignments, service
//! accounts — permissions, bad input, conflicts.

mod common;

use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{Value, json};

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array().expect("a list").iter().map(|x| x[key].as_str().unwrap_or_default().to_string()).collect()
}

backend_tests!(users_crud_and_permissions, |app: TestApp| async move {
    let u = app
        .admin(
            Method::POST,
            "/users",
            Some(json!({"username": "alice", "password": "pw-alice", "email": "a@x.io", "full_name": "Alice"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!((u["username"].as_str(), u["email"].as_str()), (Some("alice"), Some("a@x.io")));
    assert_eq!((u["is_superuser"].as_bool(), u["active"].as_bool()), (Some(false), Some(true)));
    assert!(u.get("password_hash").is_none() && u.get("password").is_none());
    // Duplicate name → 409.
    let r = app
        .call(Method::POST, "/users", Some(&app.admin_token), Some(json!({"username": "alice", "password": "x"})))
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT);
    assert_eq!(r.2["detail"][0], "EntityExistsError");
    // Bad input → 422.
    let r = app.call_raw(Method::POST, "/users", Some(&app.admin_token), "{not json", "application/json").await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.2["detail"][0], "ValueError");
    let r = app.call(Method::POST, "/users", Some(&app.admin_token), Some(json!({"username": "bob"}))).await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(Method::POST, "/users", Some(&app.admin_token), Some(json!({"username": " x", "password": "p"})))
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
    // Get by id and by name; list.
    let id = u["id"].as_str().unwrap();
    assert_eq!(app.admin(Method::GET, &format!("/users/{id}"), None, StatusCode::OK).await["username"], "alice");
    assert_eq!(app.admin(Method::GET, "/users/alice", None, StatusCode::OK).await["id"], id);
    app.admin(Method::GET, "/users/nobody", None, StatusCode::NOT_FOUND).await;
    let all = app.admin(Method::GET, "/users", None, StatusCode::OK).await;
    assert_eq!(names(&all, "username"), ["admin", "alice"]);
    // A plain user: reads and patches itself, nobody else; cannot create or list users.
    let alice = app.login("alice", "pw-alice").await;
    app.as_user(&alice, Method::GET, "/users/alice", None, StatusCode::OK).await;
    app.as_user(&alice, Method::GET, "/users/admin", None, StatusCode::FORBIDDEN).await;
    app.as_user(&alice, Method::GET, "/users", None, StatusCode::FORBIDDEN).await;
    let r = app.call(Method::POST, "/users", Some(&alice), Some(json!({"username": "mallory", "password": "p"}))).await;
    assert_eq!((r.0, r.2["detail"][0].as_str()), (StatusCode::FORBIDDEN, Some("IllegalOperationError")));
    app.as_user(&alice, Method::PATCH, "/users/admin", Some(json!({"full_name": "x"})), StatusCode::FORBIDDEN).await;
    app.as_user(&alice, Method::PATCH, "/users/alice", Some(json!({"is_superuser": true})), StatusCode::FORBIDDEN)
        .await;
    let p = app
        .as_user(
            &alice,
            Method::PATCH,
            "/users/alice",
            Some(json!({"password": "new-pw", "email": null, "full_name": "Alice A"})),
            StatusCode::OK,
        )
        .await;
    assert!(p["email"].is_null());
    assert_eq!(p["full_name"], "Alice A");
    app.login("alice", "new-pw").await;
    assert_eq!(
        app.form_login(&[("username", "alice"), ("password", "pw-alice")], None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The super-user can make alice a super-user.
    let p = app.admin(Method::PATCH, "/users/alice", Some(json!({"is_superuser": true})), StatusCode::OK).await;
    assert_eq!(p["is_superuser"], true);
    app.admin(Method::PATCH, "/users/alice", Some(json!({"unknown_field": 1})), StatusCode::UNPROCESSABLE_ENTITY).await;
});

backend_tests!(org_managers_create_users_but_not_superusers, |app: TestApp| async move {
    let org = app.org("acme").await;
    let (mid, mgr) = app.user("mgr").await;
    app.grant_org(&mid, &org, "Manager").await;
    app.as_user(&mgr, Method::POST, "/users", Some(json!({"username": "new1", "password": "p"})), StatusCode::OK).await;
    app.as_user(
        &mgr,
        Method::POST,
        "/users",
        Some(json!({"username": "new2", "password": "p", "is_superuser": true})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let all = app.as_user(&mgr, Method::GET, "/users", None, StatusCode::OK).await;
    assert_eq!(names(&all, "username"), ["admin", "mgr", "new1"]);
    // A Viewer of the organization cannot.
    let (vid, viewer) = app.user("viewer").await;
    app.grant_org(&vid, &org, "Viewer").await;
    app.as_user(
        &viewer,
        Method::POST,
        "/users",
        Some(json!({"username": "n3", "password": "p"})),
        StatusCode::FORBIDDEN,
    )
    .await;
});

backend_tests!(organizations_crud, |app: TestApp| async move {
    let o = app
        .admin(Method::POST, "/organizations", Some(json!({"name": "acme", "description": "ACME"})), StatusCode::OK)
        .await;
    for k in ["id", "name", "description", "created", "updated"] {
        assert!(o.get(k).is_some(), "{k} in {o}");
    }
    let id = o["id"].as_str().unwrap().to_string();
    app.admin(Method::POST, "/organizations", Some(json!({"name": "acme"})), StatusCode::CONFLICT).await;
    app.admin(Method::POST, "/organizations", Some(json!({"nom": "x"})), StatusCode::UNPROCESSABLE_ENTITY).await;
    // Only super-users create and delete; org Admins patch.
    let (aid, admin_tok) = app.user("orgadmin").await;
    app.grant_org(&aid, &id, "Admin").await;
    let (mid, mgr) = app.user("orgmgr").await;
    app.grant_org(&mid, &id, "Manager").await;
    app.as_user(&admin_tok, Method::POST, "/organizations", Some(json!({"name": "x"})), StatusCode::FORBIDDEN).await;
    let p = app
        .as_user(
            &admin_tok,
            Method::PATCH,
            &format!("/organizations/{id}"),
            Some(json!({"description": "new"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!((p["name"].as_str(), p["description"].as_str()), (Some("acme"), Some("new")));
    app.as_user(&mgr, Method::PATCH, "/organizations/acme", Some(json!({"description": "m"})), StatusCode::FORBIDDEN)
        .await;
    app.as_user(&admin_tok, Method::DELETE, "/organizations/acme", None, StatusCode::FORBIDDEN).await;
    app.admin(Method::POST, "/organizations", Some(json!({"name": "other"})), StatusCode::OK).await;
    app.admin(Method::PATCH, "/organizations/acme", Some(json!({"name": "other"})), StatusCode::CONFLICT).await;
    app.admin(Method::PATCH, "/organizations/nope", Some(json!({"name": "x"})), StatusCode::NOT_FOUND).await;
    // Deleting cascades: workspaces, teams, grants, service accounts.
    app.admin(Method::POST, "/workspaces", Some(json!({"name": "w1", "organization": "acme"})), StatusCode::OK).await;
    app.admin(Method::POST, "/teams", Some(json!({"name": "t1", "organization": "acme"})), StatusCode::OK).await;
    app.admin(Method::POST, "/service_accounts", Some(json!({"name": "sa1", "organization": "acme"})), StatusCode::OK)
        .await;
    app.admin(Method::DELETE, &format!("/organizations/{id}"), None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, &format!("/organizations/{id}"), None, StatusCode::NOT_FOUND).await;
    assert!(app.state.store.get_workspace_by_id_or_name("w1").await.unwrap().is_none());
    assert!(app.state.store.get_user_by_id_or_name("sa1").await.unwrap().is_none());
    assert!(app.state.store.grants_for_principal(aid.parse().unwrap()).await.unwrap().is_empty());
    assert!(app.state.store.list_teams(None).await.unwrap().is_empty());
});

backend_tests!(workspaces_crud, |app: TestApp| async move {
    let org = app.org("acme").await;
    let w = app
        .admin(
            Method::POST,
            "/workspaces",
            Some(
                json!({"name": "prod", "organization": "acme", "url": "https://prod.example.com/", "description": "P"}),
            ),
            StatusCode::OK,
        )
        .await;
    // WorkspaceRead + enrollment_key.
    assert_eq!(w["organization"]["id"], org.as_str());
    assert_eq!(w["organization"]["name"], "acme");
    assert_eq!((w["status"].as_str(), w["desired_state"].as_str()), (Some("not_initialized"), Some("available")));
    assert_eq!(w["state_reason"], "");
    assert_eq!(w["url"], "https://prod.example.com");
    assert_eq!(w["zenml_service"]["status"]["server_url"], "https://prod.example.com");
    assert!(w["zenml_service"]["configuration"].is_null());
    let key = w["enrollment_key"].as_str().unwrap();
    assert!(key.len() == 64 && key.chars().all(|c| c.is_ascii_alphanumeric()));
    // The key is never stored in clear.
    let row = app.state.store.get_workspace_by_id_or_name("prod").await.unwrap().unwrap();
    assert_ne!(row.enrollment_key_hash.as_deref(), Some(key));
    // Conflicts and bad input.
    app.admin(Method::POST, "/workspaces", Some(json!({"name": "prod", "organization": org})), StatusCode::CONFLICT)
        .await;
    app.admin(Method::POST, "/workspaces", Some(json!({"name": "x", "organization": "nope"})), StatusCode::NOT_FOUND)
        .await;
    app.admin(
        Method::POST,
        "/workspaces",
        Some(json!({"name": "x", "organization": "acme", "url": "ftp://x"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.admin(Method::POST, "/workspaces", Some(json!({"organization": "acme"})), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    // Patch: deactivate and back.
    let p = app
        .admin(Method::PATCH, "/workspaces/prod", Some(json!({"desired_state": "deactivated"})), StatusCode::OK)
        .await;
    assert_eq!((p["status"].as_str(), p["desired_state"].as_str()), (Some("deactivated"), Some("deactivated")));
    let p = app
        .admin(
            Method::PATCH,
            &format!("/workspaces/{}", w["id"].as_str().unwrap()),
            Some(json!({"desired_state": "available", "description": "D2"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!((p["status"].as_str(), p["description"].as_str()), (Some("not_initialized"), Some("D2")));
    app.admin(
        Method::PATCH,
        "/workspaces/prod",
        Some(json!({"desired_state": "gone"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.admin(Method::PATCH, "/workspaces/nope", Some(json!({})), StatusCode::NOT_FOUND).await;
    // After a status report the workspace is available with the reported URL and version.
    let id = row.id;
    app.state.store.report_workspace_status(id, Some("https://reported".into()), Some("0.98.0".into())).await.unwrap();
    let p = app.admin(Method::PATCH, "/workspaces/prod", Some(json!({})), StatusCode::OK).await;
    assert_eq!(p["status"], "available");
    assert_eq!(p["zenml_service"]["status"], json!({"server_url": "https://reported", "version": "0.98.0"}));
    assert_eq!(p["zenml_service"]["configuration"], json!({"version": "0.98.0"}));
    // Permissions: Manager creates/patches/rotates, only Admin deletes; Viewer nothing.
    let (mid, mgr) = app.user("mgr").await;
    app.grant_org(&mid, &org, "Manager").await;
    let (vid, viewer) = app.user("viewer").await;
    app.grant_org(&vid, &org, "Viewer").await;
    app.as_user(
        &mgr,
        Method::POST,
        "/workspaces",
        Some(json!({"name": "dev", "organization": "acme"})),
        StatusCode::OK,
    )
    .await;
    app.as_user(&mgr, Method::PATCH, "/workspaces/dev", Some(json!({"description": "d"})), StatusCode::OK).await;
    app.as_user(&mgr, Method::POST, "/workspaces/dev/enrollment_key", None, StatusCode::OK).await;
    app.as_user(&mgr, Method::DELETE, "/workspaces/dev", None, StatusCode::FORBIDDEN).await;
    app.as_user(
        &viewer,
        Method::POST,
        "/workspaces",
        Some(json!({"name": "v", "organization": "acme"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.as_user(&viewer, Method::PATCH, "/workspaces/dev", Some(json!({})), StatusCode::FORBIDDEN).await;
    app.as_user(&viewer, Method::POST, "/workspaces/dev/enrollment_key", None, StatusCode::FORBIDDEN).await;
    // A Manager of another organization cannot touch this one.
    let other = app.org("other").await;
    let (oid, omgr) = app.user("omgr").await;
    app.grant_org(&oid, &other, "Admin").await;
    app.as_user(&omgr, Method::DELETE, "/workspaces/dev", None, StatusCode::FORBIDDEN).await;
    app.admin(Method::DELETE, "/workspaces/dev", None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, "/workspaces/dev", None, StatusCode::NOT_FOUND).await;
    app.admin(Method::POST, "/workspaces/dev/enrollment_key", None, StatusCode::NOT_FOUND).await;
});

backend_tests!(teams_and_members, |app: TestApp| async move {
    let org = app.org("acme").await;
    let t =
        app.admin(Method::POST, "/teams", Some(json!({"name": "ml", "organization": "acme"})), StatusCode::OK).await;
    let tid = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["organization_id"], org.as_str());
    app.admin(Method::POST, "/teams", Some(json!({"name": "ml", "organization": org})), StatusCode::CONFLICT).await;
    app.admin(Method::POST, "/teams", Some(json!({"name": "x", "organization": "nope"})), StatusCode::NOT_FOUND).await;
    let (uid, _) = app.user("bob").await;
    let t =
        app.admin(Method::POST, &format!("/teams/{tid}/members"), Some(json!({"user": "bob"})), StatusCode::OK).await;
    assert_eq!(names(&t["members"], "username"), ["bob"]);
    app.admin(Method::POST, &format!("/teams/{tid}/members"), Some(json!({"user": uid})), StatusCode::CONFLICT).await;
    app.admin(Method::POST, &format!("/teams/{tid}/members"), Some(json!({"user": "ghost"})), StatusCode::NOT_FOUND)
        .await;
    let got = app.admin(Method::GET, &format!("/teams/{tid}"), None, StatusCode::OK).await;
    assert_eq!(names(&got["members"], "username"), ["bob"]);
    let list = app.admin(Method::GET, "/teams?organization=acme", None, StatusCode::OK).await;
    assert_eq!(names(&list, "name"), ["ml"]);
    // A team grant reaches its members.
    app.admin(
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Manager", "team": tid, "organization": "acme"})),
        StatusCode::OK,
    )
    .await;
    let grants = app.state.store.grants_for_principal(uid.parse().unwrap()).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!((grants[0].role.as_str(), grants[0].scope.as_str()), ("Manager", "organization"));
    // ... so bob, now a Manager through the team, may list the teams.
    let bob = app.login("bob", "bob-password").await;
    app.as_user(&bob, Method::GET, "/teams", None, StatusCode::OK).await;
    // Remove the member: the grant no longer applies.
    app.admin(Method::DELETE, &format!("/teams/{tid}/members/bob"), None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, &format!("/teams/{tid}/members/bob"), None, StatusCode::NOT_FOUND).await;
    assert!(app.state.store.grants_for_principal(uid.parse().unwrap()).await.unwrap().is_empty());
    let list = app.as_user(&bob, Method::GET, "/teams", None, StatusCode::OK).await;
    assert_eq!(list, json!([]));
    app.as_user(&bob, Method::GET, "/teams?organization=acme", None, StatusCode::FORBIDDEN).await;
    app.as_user(&bob, Method::GET, &format!("/teams/{tid}"), None, StatusCode::FORBIDDEN).await;
    // Unknown and malformed ids.
    app.admin(Method::GET, "/teams/not-a-uuid", None, StatusCode::NOT_FOUND).await;
    app.admin(Method::GET, &format!("/teams/{}", uuid::Uuid::new_v4()), None, StatusCode::NOT_FOUND).await;
    app.admin(Method::DELETE, &format!("/teams/{tid}"), None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, &format!("/teams/{tid}"), None, StatusCode::NOT_FOUND).await;
});

backend_tests!(roles_and_role_assignments, |app: TestApp| async move {
    let roles = app.admin(Method::GET, "/roles", None, StatusCode::OK).await;
    let pairs: Vec<(String, String)> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["scope"].as_str().unwrap().to_string(), r["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs.len(), 13);
    assert!(pairs.contains(&("workspace".into(), "Stack Admin".into())));
    assert!(pairs.contains(&("organization".into(), "Member".into())));
    let org = app.org("acme").await;
    let ws = app
        .admin(Method::POST, "/workspaces", Some(json!({"name": "w", "organization": "acme"})), StatusCode::OK)
        .await;
    let ws_id = ws["id"].as_str().unwrap().to_string();
    let (uid, user_tok) = app.user("carl").await;
    // Any logged-in user reads the roles.
    app.as_user(&user_tok, Method::GET, "/roles", None, StatusCode::OK).await;
    // Scopes.
    let g = app
        .admin(
            Method::POST,
            "/role_assignments",
            Some(json!({"role": "Developer", "user": "carl", "workspace": "w"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (g["scope"].as_str(), g["workspace_id"].as_str(), g["organization_id"].as_str()),
        (Some("workspace"), Some(ws_id.as_str()), Some(org.as_str()))
    );
    let project = uuid::Uuid::new_v4().to_string();
    let g2 = app
        .admin(
            Method::POST,
            "/role_assignments",
            Some(json!({"role": "Viewer", "user": uid, "workspace": ws_id, "project": project})),
            StatusCode::OK,
        )
        .await;
    assert_eq!((g2["scope"].as_str(), g2["project_id"].as_str()), (Some("project"), Some(project.as_str())));
    app.admin(
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Developer", "user": "carl", "workspace": "w"})),
        StatusCode::CONFLICT,
    )
    .await;
    // Invalid combinations → 422, unknown references → 404.
    for body in [
        json!({"role": "Developer", "user": "carl"}),
        json!({"role": "Developer", "user": "carl", "team": uuid::Uuid::new_v4(), "workspace": "w"}),
        json!({"role": "Developer", "workspace": "w"}),
        json!({"role": "Manager", "user": "carl", "workspace": "w"}),
        json!({"role": "Stack Admin", "user": "carl", "organization": "acme"}),
        json!({"role": "Viewer", "user": "carl", "project": project}),
        json!({"role": "Viewer", "user": "carl", "workspace": "w", "project": "not-a-uuid"}),
        json!({"role": "Viewer", "user": "carl", "whatever": 1}),
    ] {
        let r = app.call(Method::POST, "/role_assignments", Some(&app.admin_token), Some(body.clone())).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.2);
    }
    app.admin(
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Viewer", "user": "nobody", "workspace": "w"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    app.admin(
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Viewer", "user": "carl", "workspace": "nope"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Listing with filters.
    let l = app.admin(Method::GET, "/role_assignments?user=carl", None, StatusCode::OK).await;
    assert_eq!(l.as_array().unwrap().len(), 2);
    let l = app.admin(Method::GET, "/role_assignments?scope=project", None, StatusCode::OK).await;
    assert_eq!(l.as_array().unwrap().len(), 1);
    // Manager: grants anything but organization Admin; Admin: everything.
    let (mid, mgr) = app.user("mgr").await;
    app.grant_org(&mid, &org, "Manager").await;
    let (aid, adm) = app.user("adm").await;
    app.grant_org(&aid, &org, "Admin").await;
    app.as_user(
        &mgr,
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Viewer", "user": "carl", "organization": "acme"})),
        StatusCode::OK,
    )
    .await;
    app.as_user(
        &mgr,
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Admin", "user": "carl", "organization": "acme"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let ga = app
        .as_user(
            &adm,
            Method::POST,
            "/role_assignments",
            Some(json!({"role": "Admin", "user": "carl", "organization": "acme"})),
            StatusCode::OK,
        )
        .await;
    app.as_user(
        &mgr,
        Method::DELETE,
        &format!("/role_assignments/{}", ga["id"].as_str().unwrap()),
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A Manager lists its organization's assignments; a plain user nothing of others'.
    let l = app.as_user(&mgr, Method::GET, "/role_assignments?organization=acme", None, StatusCode::OK).await;
    assert!(l.as_array().unwrap().len() >= 5);
    let other = app.org("other").await;
    app.as_user(&mgr, Method::GET, &format!("/role_assignments?organization={other}"), None, StatusCode::FORBIDDEN)
        .await;
    // (carl is an organization Admin by now; dan holds nothing.)
    let (_, dan) = app.user("dan").await;
    app.as_user(
        &dan,
        Method::POST,
        "/role_assignments",
        Some(json!({"role": "Viewer", "user": "dan", "organization": "acme"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.as_user(&dan, Method::GET, "/role_assignments", None, StatusCode::OK).await;
    // Revoke.
    let gid = g["id"].as_str().unwrap();
    app.as_user(&mgr, Method::DELETE, &format!("/role_assignments/{gid}"), None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, &format!("/role_assignments/{gid}"), None, StatusCode::NOT_FOUND).await;
    app.as_user(
        &adm,
        Method::DELETE,
        &format!("/role_assignments/{}", ga["id"].as_str().unwrap()),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
});

backend_tests!(service_accounts_and_keys, |app: TestApp| async move {
    let org = app.org("acme").await;
    let sa = app
        .admin(Method::POST, "/service_accounts", Some(json!({"name": "bot", "organization": "acme"})), StatusCode::OK)
        .await;
    assert_eq!((sa["is_service_account"].as_bool(), sa["organization_id"].as_str()), (Some(true), Some(org.as_str())));
    let sa_id = sa["id"].as_str().unwrap().to_string();
    let key1 = sa["api_key"].as_str().unwrap().to_string();
    // Keys are stored hashed only.
    let row = app.state.store.list_api_keys(sa_id.parse().unwrap()).await.unwrap();
    assert_eq!(row.len(), 1);
    assert!(!key1.contains(&row[0].secret_hash));
    app.admin(
        Method::POST,
        "/service_accounts",
        Some(json!({"name": "bot", "organization": "acme"})),
        StatusCode::CONFLICT,
    )
    .await;
    // A user and a service account share the name space.
    app.admin(Method::POST, "/users", Some(json!({"username": "bot", "password": "p"})), StatusCode::CONFLICT).await;
    app.admin(
        Method::POST,
        "/service_accounts",
        Some(json!({"name": "b2", "organization": "nope"})),
        StatusCode::NOT_FOUND,
    )
    .await;
    // A second key; both work; listing shows metadata only.
    let k2 = app.admin(Method::POST, &format!("/service_accounts/{sa_id}/api_keys"), None, StatusCode::OK).await;
    let key2 = k2["api_key"].as_str().unwrap().to_string();
    app.as_user(&key1, Method::GET, "/users/me", None, StatusCode::OK).await;
    app.as_user(&key2, Method::GET, "/users/me", None, StatusCode::OK).await;
    let keys = app.admin(Method::GET, &format!("/service_accounts/{sa_id}/api_keys"), None, StatusCode::OK).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys.to_string().find("ZENPROKEY_").is_none());
    let list = app.admin(Method::GET, "/service_accounts?organization=acme", None, StatusCode::OK).await;
    assert_eq!(names(&list, "username"), ["bot"]);
    // Service accounts are not users in /users, and have no password.
    assert_eq!(names(&app.admin(Method::GET, "/users", None, StatusCode::OK).await, "username"), ["admin"]);
    app.admin(
        Method::PATCH,
        &format!("/users/{sa_id}"),
        Some(json!({"password": "x"})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Permissions.
    let (vid, viewer) = app.user("viewer").await;
    app.grant_org(&vid, &org, "Viewer").await;
    app.as_user(
        &viewer,
        Method::POST,
        "/service_accounts",
        Some(json!({"name": "x", "organization": "acme"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.as_user(&viewer, Method::POST, &format!("/service_accounts/{sa_id}/api_keys"), None, StatusCode::FORBIDDEN)
        .await;
    app.as_user(&viewer, Method::GET, "/service_accounts?organization=acme", None, StatusCode::FORBIDDEN).await;
    // The service account itself is not a manager.
    app.as_user(&key1, Method::POST, &format!("/service_accounts/{sa_id}/api_keys"), None, StatusCode::FORBIDDEN).await;
    // Revoking one key leaves the other.
    let kid = k2["id"].as_str().unwrap();
    app.admin(Method::DELETE, &format!("/service_accounts/{sa_id}/api_keys/{kid}"), None, StatusCode::NO_CONTENT).await;
    app.admin(Method::DELETE, &format!("/service_accounts/{sa_id}/api_keys/{kid}"), None, StatusCode::NOT_FOUND).await;
    assert_eq!(app.call(Method::GET, "/users/me", Some(&key2), None).await.0, StatusCode::UNAUTHORIZED);
    app.as_user(&key1, Method::GET, "/users/me", None, StatusCode::OK).await;
    // Unknown account.
    app.admin(
        Method::POST,
        &format!("/service_accounts/{}/api_keys", uuid::Uuid::new_v4()),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A deactivated service account's keys stop working.
    app.admin(Method::PATCH, &format!("/users/{sa_id}"), Some(json!({"active": false})), StatusCode::OK).await;
    assert_eq!(app.call(Method::GET, "/users/me", Some(&key1), None).await.0, StatusCode::UNAUTHORIZED);
});
