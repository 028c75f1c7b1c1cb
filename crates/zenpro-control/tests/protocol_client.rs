//! Client → control plane listings (pro-protocol §1.4–1.5): `GET /workspaces` with zenml's
//! filters, `GET /workspaces/{id or name}`, `GET /organizations[/{id or name}]`.

mod common;
mod protocol_support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use common::TestApp;
use protocol_support::*;

fn names(v: &Value) -> Vec<String> {
    v.as_array().expect("a bare JSON array").iter().map(|w| w["name"].as_str().unwrap().to_string()).collect()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    app.as_user(token, Method::GET, &format!("/workspaces?{query}"), None, StatusCode::OK).await
}

backend_tests!(protocol_workspace_listing, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let org_b = org(&app, "other").await;
    let ws1 = workspace(&app, org_a, "alpha").await;
    let _ws2 = workspace(&app, org_a, "beta").await;
    let ws3 = workspace(&app, org_b, "gamma").await;
    let _pending = new_workspace(&app, org_a, "delta").await;

    // A workspace Developer of alpha who is also an organization Member of acme.
    let (u, t) = user(&app, "u", false).await;
    grant_ws(&app, &ws1, "Developer", u).await;
    grant_org(&app, org_a, "Member", u).await;
    // zenml's own queries: offset=0&limit=20&member_only=True / False.
    assert_eq!(names(&list(&app, &t, "offset=0&limit=20&member_only=True").await), ["alpha"]);
    assert_eq!(names(&list(&app, &t, "offset=0&limit=20&member_only=False").await), ["alpha", "beta", "delta"]);
    assert_eq!(names(&list(&app, &t, "").await), ["alpha", "beta", "delta"]);
    // By name (as `zenml login <name>` asks).
    assert_eq!(names(&list(&app, &t, "workspace_name=alpha&member_only=True").await), ["alpha"]);
    assert_eq!(names(&list(&app, &t, "workspace_name=beta&member_only=True").await), Vec::<String>::new());
    assert_eq!(names(&list(&app, &t, "workspace_name=gamma&member_only=False").await), Vec::<String>::new());
    // By URL as typed: case of scheme/host, trailing slash and default port do not matter.
    let typed = format!("{}/", ws1.url.to_uppercase());
    let q = serde_urlencoded::to_string([("url", typed.as_str()), ("member_only", "True")]).unwrap();
    assert_eq!(names(&list(&app, &t, &q).await), ["alpha"]);
    let q = serde_urlencoded::to_string([("url", "http://nowhere.example.test"), ("member_only", "True")]).unwrap();
    assert_eq!(names(&list(&app, &t, &q).await), Vec::<String>::new());
    // By status and organization.
    assert_eq!(names(&list(&app, &t, "status=not_initialized").await), ["delta"]);
    assert_eq!(names(&list(&app, &t, "status=available&member_only=False").await), ["alpha", "beta"]);
    assert_eq!(names(&list(&app, &t, &format!("organization_id={org_b}")).await), Vec::<String>::new());
    // Paging.
    assert_eq!(names(&list(&app, &t, "offset=1&limit=1").await), ["beta"]);

    // The shape zenml parses.
    let w = &list(&app, &t, "workspace_name=alpha").await[0];
    assert_eq!(w["id"], ws1.id.to_string());
    assert_eq!(w["organization"]["name"], "acme");
    assert_eq!(w["status"], "available");
    assert_eq!(w["desired_state"], "available");
    assert!(w["state_reason"].is_string());
    assert_eq!(w["zenml_service"]["status"]["server_url"], ws1.url.as_str());

    // A super-user sees every workspace.
    let (_, su) = user(&app, "root", true).await;
    assert_eq!(names(&list(&app, &su, "member_only=True").await), ["alpha", "beta", "delta", "gamma"]);
    assert_eq!(names(&list(&app, &su, &format!("organization_id={org_b}")).await), ["gamma"]);
    // Someone without any role sees nothing.
    let (_, nobody) = user(&app, "nobody", false).await;
    assert_eq!(names(&list(&app, &nobody, "member_only=False").await), Vec::<String>::new());

    // Bad filters → 422; no token → 401; a workspace token → 403.
    for bad in ["member_only=maybe", "limit=-1", "offset=x", "organization_id=nope"] {
        let r = app.call(Method::GET, &format!("/workspaces?{bad}"), Some(&t), None).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.2);
    }
    assert_eq!(app.call(Method::GET, "/workspaces", None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::GET, "/workspaces", Some(&ws3.token), None).await.0, StatusCode::FORBIDDEN);
});

backend_tests!(protocol_workspace_and_organization_get, |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let org_b = org(&app, "other").await;
    let ws1 = workspace(&app, org_a, "alpha").await;
    let ws3 = workspace(&app, org_b, "gamma").await;
    let (u, t) = user(&app, "u", false).await;
    grant_project(&app, &ws1, Uuid::new_v4(), "Viewer", u).await;

    // By id and by name.
    for key in [ws1.id.to_string(), "alpha".to_string()] {
        let w = app.as_user(&t, Method::GET, &format!("/workspaces/{key}"), None, StatusCode::OK).await;
        assert_eq!(w["id"], ws1.id.to_string());
    }
    // Invisible and unknown workspaces are the same 404.
    for key in [ws3.id.to_string(), "gamma".to_string(), Uuid::new_v4().to_string(), "nope".to_string()] {
        let r = app.call(Method::GET, &format!("/workspaces/{key}"), Some(&t), None).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND, "{key}: {}", r.2);
    }

    // Organizations: those where the caller holds a role or can log in to a workspace.
    let orgs = app.as_user(&t, Method::GET, "/organizations?offset=0&limit=20", None, StatusCode::OK).await;
    assert_eq!(names(&orgs), ["acme"]);
    let o = app.as_user(&t, Method::GET, "/organizations/acme", None, StatusCode::OK).await;
    assert_eq!(
        o,
        json!({"id": org_a.to_string(), "name": "acme", "description": null,
                         "created": o["created"], "updated": o["updated"]})
    );
    assert!(o["created"].as_str().unwrap().starts_with("20"));
    app.as_user(&t, Method::GET, &format!("/organizations/{org_a}"), None, StatusCode::OK).await;
    for key in [org_b.to_string(), "other".to_string(), "missing".to_string()] {
        let r = app.call(Method::GET, &format!("/organizations/{key}"), Some(&t), None).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND, "{key}");
    }
    let (_, su) = user(&app, "root", true).await;
    let all = app.as_user(&su, Method::GET, "/organizations", None, StatusCode::OK).await;
    assert_eq!(names(&all), ["acme", "other"]);
    let one = app.as_user(&su, Method::GET, "/organizations?offset=1&limit=5", None, StatusCode::OK).await;
    assert_eq!(names(&one), ["other"]);
});
