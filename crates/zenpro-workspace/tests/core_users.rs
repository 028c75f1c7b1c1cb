//! `/users`: create, read, update, delete, and the list engine as a client drives it
//! (filters, `logical_operator`, sorting, paging).
//!
//! Reference (Python 0.98.0) answers, checked once with `ref-server.sh`:
//! * `POST /users` twice with one name: 409 `EntityExistsError`; `ALICE` next to `alice` is
//!   accepted on SQLite and 409 on MariaDB (case-insensitive collation).
//! * a user created with a password is active; without one inactive.
//! * `GET /users?name=oneof:["alice","bob"]&sort_by=desc:name`: bob, alice.
//! * `GET /users?...&page=<past the end>`: 400 `ValueError` "Invalid page N. ...".
//! * `size=0`, `size=10001`: 422.
//! * `PUT /users/<other> {"password": ..}` as admin: 403 "Users cannot change the password of
//!   other users. ..."; `is_admin`/`active` changes of another user by an admin: 200.
//! * deleting oneself: 403.

mod common;

use common::{ADMIN, TestApp, enc, names};
use http::StatusCode;
use serde_json::{Value, json};
use zenpro_store::{Backend, q};

async fn seed(app: &TestApp, admin: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, pw) in
        [("alice", Some("alice-pw")), ("bob", Some("bob-pw")), ("charlie", None), ("dave", Some("dave-pw"))]
    {
        let mut body = json!({"name": name, "full_name": format!("{name} full"), "is_admin": false});
        if let Some(pw) = pw {
            body["password"] = json!(pw);
        }
        out.push(app.create_user(admin, body).await);
    }
    out
}

async fn list(app: &TestApp, tok: &str, query: &str) -> Value {
    let (status, _, body) = app.get(&format!("/api/v1/users?{query}"), Some(tok)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

backend_tests!(create_get_update_delete, |app: TestApp| async move {
    let admin = app.admin().await;
    let created = app
        .create_user(
            &admin,
            json!({"name": "alice", "full_name": "Alice A", "password": "alice-pw", "is_admin": false}),
        )
        .await;
    assert_eq!(created["name"], "alice");
    assert_eq!(created["body"]["full_name"], "Alice A");
    assert_eq!(created["body"]["active"], true, "a password activates the account");
    assert_eq!(created["body"]["is_admin"], false);
    assert_eq!(created["body"]["is_service_account"], false);
    assert_eq!(created["resources"], json!(null));
    assert!(created["metadata"].is_object(), "the create response is hydrated");
    let id = created["id"].as_str().unwrap().to_string();

    // The row: bcrypt hash as passlib writes it, oidc_claims the JSON text null.
    #[derive(sqlx::FromRow)]
    struct Row {
        password: Option<String>,
        oidc_claims: Option<String>,
    }
    let rows: Vec<Row> = app
        .pool()
        .fetch_all(q!(
            "SELECT password, CAST(oidc_claims AS CHAR) AS oidc_claims FROM `user` WHERE id = ?",
            uuid::Uuid::parse_str(&id).unwrap()
        ))
        .await
        .unwrap();
    assert!(rows[0].password.as_deref().unwrap().starts_with("$2b$12$"));
    assert_eq!(rows[0].oidc_claims.as_deref(), Some("null"));

    let (status, _, dup) =
        app.post_json("/api/v1/users", Some(&admin), &json!({"name": "alice", "is_admin": false})).await;
    assert_eq!((status, &dup["detail"][0]), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{dup}");

    for key in ["alice", id.as_str()] {
        let (status, _, got) = app.get(&format!("/api/v1/users/{key}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{key}: {got}");
        assert_eq!((got["id"].as_str(), got["name"].as_str()), (Some(id.as_str()), Some("alice")));
        assert!(got["metadata"].is_object(), "single GETs hydrate by default");
        assert_eq!(got["metadata"]["oidc_claims"], json!({}), "JSON null reads as {{}}");
    }
    let (status, _, got) = app.get("/api/v1/users/alice?hydrate=False", Some(&admin)).await;
    assert_eq!((status, &got["metadata"]), (StatusCode::OK, &json!(null)));
    let (status, _, missing) = app.get(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()), Some(&admin)).await;
    assert_eq!((status, &missing["detail"][0]), (StatusCode::NOT_FOUND, &json!("KeyError")));

    let path = format!("/api/v1/users/{id}");
    let (status, _, upd) =
        app.put_json(&path, Some(&admin), &json!({"full_name": "Alice B", "user_metadata": {"team": "ml"}})).await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["body"]["full_name"], "Alice B");
    assert_eq!(upd["metadata"]["user_metadata"], json!({"team": "ml"}));
    let (_, _, got) = app.get(&path, Some(&admin)).await;
    assert_eq!(got["body"]["full_name"], "Alice B");
    assert!(got["body"]["updated"].as_str() >= got["body"]["created"].as_str());

    // Renaming onto an existing name: 409.
    let (status, _, body) = app.put_json(&path, Some(&admin), &json!({"name": ADMIN})).await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::CONFLICT, &json!("EntityExistsError")), "{body}");

    let (status, _, body) = app.delete(&path, Some(&admin)).await;
    assert_eq!((status, body), (StatusCode::OK, json!(null)));
    assert_eq!(app.get(&path, Some(&admin)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, Some(&admin)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM `user`").await, 1);
});

backend_tests!(names_are_case_insensitive_only_on_mariadb, |app: TestApp| async move {
    let admin = app.admin().await;
    app.create_user(&admin, json!({"name": "alice", "is_admin": false})).await;
    let (status, _, body) =
        app.post_json("/api/v1/users", Some(&admin), &json!({"name": "ALICE", "is_admin": false})).await;
    match app.backend() {
        Backend::Sqlite => assert_eq!(status, StatusCode::OK, "{body}"),
        Backend::MySql => assert_eq!(status, StatusCode::CONFLICT, "{body}"),
    }
});

backend_tests!(admin_rules, |app: TestApp| async move {
    let admin = app.admin().await;
    let alice = app.create_user(&admin, json!({"name": "alice", "password": "alice-pw", "is_admin": false})).await;
    let alice_path = format!("/api/v1/users/{}", alice["id"].as_str().unwrap());
    let alice_tok = app.login("alice", "alice-pw").await;

    // A non-admin can read but not create, update others or delete.
    assert_eq!(list(&app, &alice_tok, "").await["total"], 2);
    for resp in [
        app.post_json("/api/v1/users", Some(&alice_tok), &json!({"name": "eve", "is_admin": false})).await,
        app.put_json(&format!("/api/v1/users/{ADMIN}"), Some(&alice_tok), &json!({"full_name": "x"})).await,
        app.delete(&format!("/api/v1/users/{ADMIN}"), Some(&alice_tok)).await,
        app.put_json(&alice_path, Some(&alice_tok), &json!({"is_admin": true})).await,
    ] {
        assert_eq!(
            (resp.0, &resp.2["detail"][0]),
            (StatusCode::FORBIDDEN, &json!("IllegalOperationError")),
            "{}",
            resp.2
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM `user` WHERE name = 'eve'").await, 0);

    // A user updates their own profile.
    let (status, _, me) = app.put_json(&alice_path, Some(&alice_tok), &json!({"full_name": "Alice Self"})).await;
    assert_eq!((status, &me["body"]["full_name"]), (StatusCode::OK, &json!("Alice Self")), "{me}");

    // An admin cannot set another user's password (the reference says: use deactivation).
    let (status, _, body) = app.put_json(&alice_path, Some(&admin), &json!({"password": "hijack-1"})).await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{body}");
    app.login("alice", "alice-pw").await;

    // ... but may promote them, and may not delete themselves.
    let (status, _, body) = app.put_json(&alice_path, Some(&admin), &json!({"is_admin": true})).await;
    assert_eq!((status, &body["body"]["is_admin"]), (StatusCode::OK, &json!(true)), "{body}");
    let (status, _, body) = app.delete(&format!("/api/v1/users/{ADMIN}"), Some(&admin)).await;
    assert_eq!((status, &body["detail"][0]), (StatusCode::FORBIDDEN, &json!("IllegalOperationError")), "{body}");
});

backend_tests!(list_filters, |app: TestApp| async move {
    let admin = app.admin().await;
    seed(&app, &admin).await;
    let all = list(&app, &admin, "").await;
    assert_eq!(all["total"], 5);
    assert_eq!(
        (all["index"].as_u64(), all["max_size"].as_u64(), all["total_pages"].as_u64()),
        (Some(1), Some(20), Some(1))
    );
    assert!(
        all["items"].as_array().unwrap().iter().all(|i| i["metadata"].is_null()),
        "lists do not hydrate by default"
    );

    let cases: &[(&str, &[&str])] = &[
        ("name=alice", &["alice"]),
        ("name=equals:alice", &["alice"]),
        ("name=contains:li", &["alice", "charlie"]),
        ("name=startswith:d", &["dave", "default"]),
        ("name=endswith:e", &["alice", "charlie", "dave"]),
        ("name=notequals:alice", &["bob", "charlie", "dave", "default"]),
        ("name=notcontains:a", &["bob"]),
        (r#"name=oneof:["alice","bob","nobody"]"#, &["alice", "bob"]),
        (r#"name=notoneof:["alice","bob"]"#, &["charlie", "dave", "default"]),
        ("name=oneof:[]", &[]),
        ("full_name=contains:full", &["alice", "bob", "charlie", "dave"]),
        ("full_name=", &["default"]),
        ("email=isnull:", &["alice", "bob", "charlie", "dave", "default"]),
        ("email=isnotnull:", &[]),
        ("active=True", &["alice", "bob", "dave", "default"]),
        ("active=false", &["charlie"]),
        ("active=0", &["charlie"]),
        ("created=gte:2000-01-01 00:00:00", &["alice", "bob", "charlie", "dave", "default"]),
        ("created=lt:2000-01-01 00:00:00", &[]),
        ("created=in:2000-01-01 00:00:00,2999-01-01 00:00:00", &["alice", "bob", "charlie", "dave", "default"]),
        ("name=contains:a&name=contains:e", &["alice", "charlie", "dave", "default"]),
        ("name=startswith:a&name=startswith:b&logical_operator=or", &["alice", "bob"]),
        ("name=startswith:a&active=false&logical_operator=or", &["alice", "charlie"]),
        ("name=startswith:a&active=false&logical_operator=and", &[]),
        ("id=not-a-uuid", &[]),
        // Not a field of the reference's UserFilter: ignored like any unknown key.
        ("is_admin=True", &["alice", "bob", "charlie", "dave", "default"]),
        ("id=notequals:not-a-uuid", &["alice", "bob", "charlie", "dave", "default"]),
    ];
    for (query, want) in cases {
        let page = list(&app, &admin, &format!("{}&sort_by=name", query.replace(' ', "%20").replace('"', "%22"))).await;
        assert_eq!(names(&page), *want, "{query}");
        assert_eq!(page["total"], want.len(), "{query}");
    }

    // A date filter in the future excludes everyone; UUID filters by id, full and prefix.
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    assert_eq!(list(&app, &admin, &format!("created=gte:{}", enc(&future))).await["total"], 0);
    let alice_id = list(&app, &admin, "name=alice").await["items"][0]["id"].as_str().unwrap().to_string();
    for q in [
        format!("id={alice_id}"),
        format!("id=startswith:{}", &alice_id[..13]),
        format!("id=contains:{}", alice_id.to_uppercase().replace('-', "")),
        format!("id={}", alice_id.replace('-', "")),
    ] {
        let page = list(&app, &admin, &q).await;
        assert!(names(&page).contains(&"alice".to_string()), "{q}: {page}");
        if !q.contains("contains") {
            assert_eq!(names(&page), ["alice"], "{q}");
        }
    }
    let page = list(&app, &admin, &format!(r#"id=oneof:["{alice_id}"]"#).replace('"', "%22")).await;
    assert_eq!(names(&page), ["alice"]);

    // Service accounts never show up in /users.
    let raw_sa = app
        .pool()
        .execute(q!(
            "INSERT INTO `user` (id, created, updated, name, is_service_account, full_name, active, is_admin) \
             VALUES (?, ?, ?, 'alice-sa', ?, '', ?, ?)",
            uuid::Uuid::new_v4(),
            zenpro_types::time::utc_now(),
            zenpro_types::time::utc_now(),
            true,
            true,
            false
        ))
        .await;
    raw_sa.unwrap();
    assert_eq!(names(&list(&app, &admin, "name=startswith:alice").await), ["alice"]);
});

backend_tests!(list_sorting_and_paging, |app: TestApp| async move {
    let admin = app.admin().await;
    seed(&app, &admin).await;
    let page = list(&app, &admin, "sort_by=desc:name").await;
    assert_eq!(names(&page), ["default", "dave", "charlie", "bob", "alice"]);
    let page = list(&app, &admin, "sort_by=asc:name").await;
    assert_eq!(names(&page), ["alice", "bob", "charlie", "dave", "default"]);
    // The reference ignores an unknown direction prefix and sorts ascending by the column.
    let page = list(&app, &admin, "sort_by=sideways:name").await;
    assert_eq!(names(&page), ["alice", "bob", "charlie", "dave", "default"]);

    // Equal sort keys are ordered by id, in the same direction.
    let mut ids: Vec<String> = list(&app, &admin, "size=100").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] != ADMIN)
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    app.pool().execute(q!("UPDATE `user` SET full_name = 'same'")).await.unwrap();
    let page = list(&app, &admin, "sort_by=desc:full_name&size=100").await;
    let got: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    let mut all_ids = ids.clone();
    all_ids.push(list(&app, &admin, "name=default").await["items"][0]["id"].as_str().unwrap().to_string());
    all_ids.sort();
    all_ids.reverse();
    assert_eq!(got, all_ids, "desc:full_name ties are broken by id desc");
    ids.sort();

    // Paging: 5 users, 2 a page.
    let p1 = list(&app, &admin, "sort_by=name&size=2").await;
    assert_eq!(
        (p1["total"].as_u64(), p1["total_pages"].as_u64(), p1["max_size"].as_u64()),
        (Some(5), Some(3), Some(2))
    );
    assert_eq!(names(&p1), ["alice", "bob"]);
    let p3 = list(&app, &admin, "sort_by=name&size=2&page=3").await;
    assert_eq!((p3["index"].as_u64(), names(&p3)), (Some(3), vec!["default".to_string()]));
    let (status, _, body) = app.get("/api/v1/users?sort_by=name&size=2&page=4", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body,
        json!({"detail": ["ValueError", "Invalid page 4. The requested page size is 2 and there are a total of 5 items for this query. The maximum page value therefore is 3."]})
    );
    // An empty result still has one (empty) page.
    let empty = list(&app, &admin, "name=nobody").await;
    assert_eq!((empty["total"].as_u64(), empty["total_pages"].as_u64()), (Some(0), Some(1)));
    assert_eq!(app.get("/api/v1/users?name=nobody&page=2", Some(&admin)).await.0, StatusCode::BAD_REQUEST);

    for q in ["size=0", "size=10001", "page=0", "size=-1", "size=abc", "page=x"] {
        let (status, _, body) = app.get(&format!("/api/v1/users?{q}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        assert_eq!(body[0], "ValueError", "{q}: {body}");
    }
    assert_eq!(list(&app, &admin, "size=10000").await["max_size"], 10000);
    assert_eq!(list(&app, &admin, "size=1").await["total_pages"], 5);
});

backend_tests!(oidc_claims_decode, |app: TestApp| async move {
    // MariaDB stores JSON as LONGTEXT utf8mb4_bin; the user rows must decode with a value in it.
    let admin = app.admin().await;
    app.pool()
        .execute(q!("UPDATE `user` SET oidc_claims = ? WHERE name = ?", r#"{"sub": "x", "groups": ["a", "é"]}"#, ADMIN))
        .await
        .unwrap();
    let (status, _, me) = app.get("/api/v1/current-user", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["metadata"]["oidc_claims"], json!({"sub": "x", "groups": ["a", "é"]}));
    assert_eq!(list(&app, &admin, "").await["total"], 1);
});

// Reference: `POST /users` without a password answers the clear activation token once;
// `PUT /users/{id}/activate` (no bearer token) with a wrong token is 401 "Authentication
// error: invalid activation token for user <key>", without one 401 "... no credentials
// provided"; deactivating oneself is 403 "Cannot deactivate yourself."
backend_tests!(activation_flow, |app: TestApp| async move {
    let admin = app.admin().await;
    let carol = app.create_user(&admin, json!({"name": "carol", "is_admin": false})).await;
    assert_eq!(carol["body"]["active"], false);
    let token = carol["body"]["activation_token"].as_str().expect("a clear activation token").to_string();
    assert_eq!(token.len(), 64);
    // Stored hashed, and never shown again.
    #[derive(sqlx::FromRow)]
    struct Row {
        activation_token: Option<String>,
    }
    let row: Vec<Row> =
        app.pool().fetch_all(q!("SELECT activation_token FROM `user` WHERE name = 'carol'")).await.unwrap();
    assert!(row[0].activation_token.as_deref().unwrap().starts_with("$2b$12$"));
    let (_, _, got) = app.get("/api/v1/users/carol", Some(&admin)).await;
    assert_eq!(got["body"]["activation_token"], json!(null));
    let resp = app.post_form("/api/v1/login", None, &[("username", "carol"), ("password", "")]).await;
    assert_eq!(resp.0, StatusCode::UNAUTHORIZED, "an inactive user without password cannot log in");

    let (status, _, body) = app
        .put_json("/api/v1/users/carol/activate", None, &json!({"activation_token": "wrong", "password": "x"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["detail"][1], "Authentication error: invalid activation token for user carol");
    let (status, _, body) = app.put_json("/api/v1/users/carol/activate", None, &json!({"password": "x"})).await;
    assert_eq!(
        (status, &body["detail"][1]),
        (StatusCode::UNAUTHORIZED, &json!("Authentication error: no credentials provided"))
    );
    let (status, _, _) = app.put_json("/api/v1/users/nobody/activate", None, &json!({"activation_token": token})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, body) = app
        .put_json(
            "/api/v1/users/carol/activate",
            None,
            &json!({"activation_token": token, "password": "carol-pw", "full_name": "Carol C", "is_admin": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((&body["body"]["active"], &body["body"]["full_name"]), (&json!(true), &json!("Carol C")));
    assert_eq!(body["body"]["is_admin"], false, "activation cannot grant admin");
    let carol_tok = app.login("carol", "carol-pw").await;
    // The token is spent.
    let (status, _, _) =
        app.put_json("/api/v1/users/carol/activate", None, &json!({"activation_token": token, "password": "y"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Deactivation: admins only, never oneself; it hands out a new token.
    let (status, _, body) = app
        .send_raw(http::Method::PUT, "/api/v1/users/default/deactivate", Some(&carol_tok), "application/json", "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) =
        app.send_raw(http::Method::PUT, "/api/v1/users/default/deactivate", Some(&admin), "application/json", "").await;
    assert_eq!((status, &body["detail"][1]), (StatusCode::FORBIDDEN, &json!("Cannot deactivate yourself.")));
    let (status, _, body) =
        app.send_raw(http::Method::PUT, "/api/v1/users/carol/deactivate", Some(&admin), "application/json", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["body"]["active"], false);
    let token2 = body["body"]["activation_token"].as_str().unwrap().to_string();
    assert_ne!(token2, token);
    assert_eq!(app.get("/api/v1/current-user", Some(&carol_tok)).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) = app
        .put_json("/api/v1/users/carol/activate", None, &json!({"activation_token": token2, "password": "carol-pw2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login("carol", "carol-pw2").await;
});
