//! The dashboard pages: sessions and CSRF on every form, the same permissions as the admin API
//! (a plain member sees and can post no admin action), the enrollment key shown once, escaping,
//! the `/api/auth/login` landing, and the destructive actions behind their confirm pages
//! (deactivate/reactivate/delete a workspace, delete a team or an organization, remove a
//! member, revoke an API key).

mod common;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::{ADMIN, ADMIN_PW, TestApp};
use zenpro_control::routes::client::accessible_workspaces;
use zenpro_control::store::roles::GrantFilter;

/// A browser response: status, `Set-Cookie` pairs, `Location`, body text.
struct Page {
    status: StatusCode,
    cookies: Vec<(String, String)>,
    location: Option<String>,
    body: String,
}

/// A browser with a cookie jar (session + CSRF cookies).
struct Browser<'a> {
    app: &'a TestApp,
    jar: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser { app, jar: Vec::new() }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.jar.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    async fn send(&mut self, method: Method, uri: &str, form: Option<&[(&str, &str)]>, extra: &[(&str, &str)]) -> Page {
        let mut req = Request::builder().method(method).uri(uri);
        if !self.jar.is_empty() {
            let c: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = match form {
            Some(f) => req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(f).unwrap())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies: Vec<(String, String)> = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| {
                let s = v.to_str().unwrap();
                let nv = s.split(';').next().unwrap();
                let (n, v) = nv.split_once('=').unwrap();
                (n.to_string(), v.to_string())
            })
            .collect();
        for (n, v) in &cookies {
            self.jar.retain(|(k, _)| k != n);
            if !v.is_empty() {
                self.jar.push((n.clone(), v.clone()));
            }
        }
        let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Page { status, cookies, location, body }
    }

    async fn get(&mut self, uri: &str) -> Page {
        self.send(Method::GET, uri, None, &[]).await
    }

    /// POST a form with this browser's CSRF token added.
    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.cookie("zenpro_csrf").expect("a CSRF cookie (open a page first)");
        let mut f = form.to_vec();
        f.push(("csrf", &csrf));
        self.send(Method::POST, uri, Some(&f), &[]).await
    }

    async fn login(&mut self, username: &str, password: &str) {
        let p = self.get("/login").await;
        assert_eq!(p.status, StatusCode::OK);
        let p = self.post("/login", &[("username", username), ("password", password), ("next", "/")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert!(self.cookie("zenpro_session").is_some());
    }
}

/// The text between `id="<id>">` and the next `<`.
fn element_text(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\">"))? + id.len() + 6;
    Some(body[start..].split('<').next()?.to_string())
}

async fn sqlite_app() -> TestApp {
    let db = common::TestDb::new(common::Backend::Sqlite).await.expect("sqlite always works");
    TestApp::start(db, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_forms_need_the_csrf_token() {
    let app = sqlite_app().await;
    let mut b = Browser::new(&app);
    // No session: every page goes to the login with the way back.
    let p = b.get("/organizations/x/members").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/login?next=%2Forganizations%2Fx%2Fmembers"));
    b.login(ADMIN, ADMIN_PW).await;
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("id=\"create-org\""), "a super-user may create organizations");
    assert!(home.body.contains("href=\"/static/cp.css\"") && home.body.contains("src=\"/static/htmx.min.js\""));
    let csp = app.router.clone().oneshot(Request::get("/static/htmx.min.js").body(Body::empty()).unwrap()).await;
    assert_eq!(csp.unwrap().status(), StatusCode::OK, "htmx is served from the binary");
    // A forged POST (no CSRF field, or a field that is not the cookie) is refused and changes nothing.
    let session = b.cookie("zenpro_session").unwrap();
    let forged = b.send(Method::POST, "/organizations", Some(&[("name", "forged")]), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged =
        b.send(Method::POST, "/organizations", Some(&[("name", "forged"), ("csrf", &"x".repeat(43))]), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.state.store.get_organization_by_id_or_name("forged").await.unwrap().is_none());
    // Logout without the token does not sign out either.
    let p = b.send(Method::POST, "/logout", Some(&[]), &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(b.cookie("zenpro_session").as_deref(), Some(session.as_str()));
    // With the token: created, and the answer goes to its page.
    let p = b.post("/organizations", &[("name", "acme"), ("description", "Acme <b>&</b>")]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/organizations/acme")));
    let org = b.get("/organizations/acme").await;
    assert_eq!(org.status, StatusCode::OK);
    assert!(org.body.contains("Acme &#60;b&#62;&#38;&#60;/b&#62;"), "descriptions are escaped");
    assert!(org.body.contains("id=\"create-workspace\"") && org.body.contains("id=\"link-members\""));
    // Bad input is a page with the reason, not a 500.
    let p = b.post("/organizations/acme/workspaces", &[("name", "w/1")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element_text(&p.body, "error").unwrap().contains("Invalid workspace name"));
    // Sign out: the cookie is dropped and the pages want a login again.
    let p = b.post("/logout", &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?signed_out=1")));
    assert!(p.cookies.iter().any(|(n, v)| n == "zenpro_session" && v.is_empty()));
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_key_is_shown_once_and_escaped_names_stay_escaped() {
    let app = sqlite_app().await;
    let org = app.org("acme").await;
    let mut b = Browser::new(&app);
    b.login(ADMIN, ADMIN_PW).await;
    b.get("/").await;
    let name = "ws-\"<x>";
    let p = b.post("/organizations/acme/workspaces", &[("name", name), ("url", "http://127.0.0.1:9999/")]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let key = element_text(&p.body, "enrollment-key").expect("the key is on the page");
    let w = app.state.store.get_workspace_by_id_or_name(name).await.unwrap().expect("created");
    assert_eq!(w.organization_id.to_string(), org);
    assert!(app.state.store.verify_enrollment_key(w.id, &key).await.unwrap().is_some(), "the shown key works");
    let helm = element_text(&p.body, "helm-values").unwrap();
    assert!(helm.contains(&format!("    enrollmentKey: {key}\n")), "{helm}");
    assert!(helm.contains("    workspaceName: ") && helm.contains("ws-\\") && helm.contains("&#60;x&#62;"), "{helm}");
    assert!(
        element_text(&p.body, "env-vars").unwrap().contains(&format!("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET={key}"))
    );
    assert!(!p.body.contains("<x>"), "names are escaped");
    // The workspace page never shows it again.
    let page = b.get("/workspaces/ws-%22%3Cx%3E").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains(&key));
    assert!(page.body.contains("id=\"rotate-key\""));
    assert_eq!(element_text(&page.body, "ws-last-seen").as_deref(), Some("never"));
    // Rotation shows a new key once, and the old one stops working.
    let p = b.post("/workspaces/ws-%22%3Cx%3E/enrollment_key", &[]).await;
    let new_key = element_text(&p.body, "enrollment-key").unwrap();
    assert_ne!(new_key, key);
    assert!(app.state.store.verify_enrollment_key(w.id, &key).await.unwrap().is_none());
    assert!(app.state.store.verify_enrollment_key(w.id, &new_key).await.unwrap().is_some());
    // The Python server's browser login: from the workspace's URL to its page, via the login.
    let mut anon = Browser::new(&app);
    let p = anon.send(Method::GET, "/api/auth/login", None, &[("referer", "http://127.0.0.1:9999/")]).await;
    assert_eq!(p.location.as_deref(), Some("/login?next=%2Fworkspaces%2Fws-%2522%253Cx%253E"));
    let p = b.get("/api/auth/login?returnTo=http://evil.example/x").await;
    assert_eq!(p.location.as_deref(), Some("/"), "foreign targets land on the home page");
    let p = b.get("/api/auth/login?returnTo=/profile").await;
    assert_eq!(p.location.as_deref(), Some("/profile"), "signed in: straight there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_no_admin_action_and_cannot_post_one() {
    let app = sqlite_app().await;
    let org = app.org("acme").await;
    let (bob_id, _) = app.user("bob").await;
    app.grant_org(&bob_id, &org, "Member").await;
    let (carol_id, _) = app.user("carol").await;
    app.grant_org(&carol_id, &org, "Manager").await;
    let mut admin = Browser::new(&app);
    admin.login(ADMIN, ADMIN_PW).await;
    admin.get("/").await;
    assert_eq!(admin.post("/organizations/acme/workspaces", &[("name", "alpha")]).await.status, StatusCode::OK);

    let mut bob = Browser::new(&app);
    bob.login("bob", "bob-password").await;
    let home = bob.get("/").await;
    assert!(!home.body.contains("id=\"create-org\""));
    assert!(home.body.contains("<option value=\"acme\">acme</option>"), "the org switcher lists acme");
    let page = bob.get("/organizations/acme").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(element_text(&page.body, "org-role").as_deref(), Some("Member"));
    assert!(page.body.contains("data-name=\"alpha\""), "members see the workspaces");
    for admin_only in ["create-workspace", "org-admin-links", "link-members"] {
        assert!(!page.body.contains(&format!("id=\"{admin_only}\"")), "{admin_only} shown to a member");
    }
    assert!(!bob.get("/workspaces/alpha").await.body.contains("id=\"rotate-key\""));
    // The htmx partial: the table alone; without a session htmx gets a 401, not the login page.
    let t = bob.get("/organizations/acme/workspaces_table").await;
    assert!(t.body.starts_with("<div id=\"workspaces\"") && t.body.contains("data-name=\"alpha\""), "{}", t.body);
    let mut anon = Browser::new(&app);
    let t = anon.send(Method::GET, "/organizations/acme/workspaces_table", None, &[("hx-request", "true")]).await;
    assert_eq!(t.status, StatusCode::UNAUTHORIZED);
    for path in ["/organizations/acme/members", "/organizations/acme/teams", "/organizations/acme/service_accounts"] {
        assert_eq!(bob.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Posting anyway (with a valid CSRF token) is refused like the admin API refuses it.
    let p = bob.post("/organizations/acme/workspaces", &[("name", "bobs")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(app.state.store.get_workspace_by_id_or_name("bobs").await.unwrap().is_none());
    let p = bob
        .post("/organizations/acme/members", &[("username", "bob"), ("role", "Admin"), ("scope", "organization")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.post("/workspaces/alpha/enrollment_key", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.post("/organizations", &[("name", "mine")]).await.status, StatusCode::FORBIDDEN);
    // An organization bob is not in does not exist for him.
    app.org("other").await;
    assert_eq!(bob.get("/organizations/other").await.status, StatusCode::NOT_FOUND);

    // A Manager manages members but cannot grant organization Admin (only Admins can).
    let mut carol = Browser::new(&app);
    carol.login("carol", "carol-password").await;
    let m = carol.get("/organizations/acme/members").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(!m.body.contains("<option value=\"Admin\">Admin</option>"), "no org Admin choice for a Manager");
    let p = carol
        .post("/organizations/acme/members", &[("username", "bob"), ("role", "Admin"), ("scope", "organization")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let ws = app.state.store.get_workspace_by_id_or_name("alpha").await.unwrap().unwrap().id.to_string();
    let p = carol
        .post(
            "/organizations/acme/members",
            &[("username", "dave"), ("password", "dave-pw-123"), ("role", "Viewer"), ("scope", &ws)],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(element_text(&p.body, "notice").as_deref(), Some("Granted Viewer to dave."));
    assert!(p.body.contains("data-principal=\"dave\" data-role=\"Viewer\""));
    app.login("dave", "dave-pw-123").await;
    // Profile: a wrong current password is refused; a right one changes it and keeps the session.
    let p = bob.get("/profile").await;
    assert_eq!(element_text(&p.body, "profile-username").as_deref(), Some("bob"));
    let p =
        bob.post("/profile/password", &[("current", "nope"), ("new", "bob-new-pw"), ("confirm", "bob-new-pw")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = bob
        .post("/profile/password", &[("current", "bob-password"), ("new", "bob-new-pw"), ("confirm", "bob-new-pw")])
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(element_text(&p.body, "notice").as_deref(), Some("Your password was changed."));
    assert_eq!(bob.get("/profile").await.status, StatusCode::OK, "the new session cookie works");
    app.login("bob", "bob-new-pw").await;
}

/// Every `<a … class="{class}"…>` link's href on a page.
fn links_of_class(body: &str, class: &str) -> Vec<String> {
    body.match_indices("<a href=\"")
        .filter_map(|(i, _)| {
            let rest = &body[i + 9..];
            let (href, tail) = rest.split_once('"')?;
            tail.split('>').next()?.contains(&format!("class=\"{class}\"")).then(|| href.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_deactivate_reactivate_and_delete_follow_the_admin_api_rules() {
    let app = sqlite_app().await;
    let org = app.org("acme").await;
    let (bob_id, _) = app.user("bob").await;
    app.grant_org(&bob_id, &org, "Member").await;
    let (carol_id, _) = app.user("carol").await;
    app.grant_org(&carol_id, &org, "Manager").await;
    app.user("dave").await;
    let mut admin = Browser::new(&app);
    admin.login(ADMIN, ADMIN_PW).await;
    admin.get("/").await;
    assert_eq!(admin.post("/organizations/acme/workspaces", &[("name", "alpha")]).await.status, StatusCode::OK);
    let alpha = || async { app.state.store.get_workspace_by_id_or_name("alpha").await.unwrap() };

    // Only the actions a user may do are offered: a Member none, a Manager (de)activation, an Admin also deletion.
    let mut bob = Browser::new(&app);
    bob.login("bob", "bob-password").await;
    let page = bob.get("/organizations/acme").await;
    assert!(links_of_class(&page.body, "ws-deactivate").is_empty() && !page.body.contains("ws-delete"));
    let mut carol = Browser::new(&app);
    carol.login("carol", "carol-password").await;
    let page = carol.get("/organizations/acme").await;
    assert_eq!(links_of_class(&page.body, "ws-deactivate"), ["/workspaces/alpha/deactivate"]);
    assert!(links_of_class(&page.body, "ws-delete").is_empty(), "only Admins delete workspaces");
    let page = admin.get("/organizations/acme").await;
    assert_eq!(links_of_class(&page.body, "ws-delete"), ["/workspaces/alpha/delete"]);
    let table = admin.get("/organizations/acme/workspaces_table").await;
    assert_eq!(links_of_class(&table.body, "ws-delete"), ["/workspaces/alpha/delete"], "the htmx partial too");
    // The workspace page offers the same actions by the same rule.
    let page = admin.get("/workspaces/alpha").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(links_of_class(&page.body, "ws-deactivate"), ["/workspaces/alpha/deactivate"]);
    assert_eq!(links_of_class(&page.body, "ws-delete"), ["/workspaces/alpha/delete"]);
    assert!(links_of_class(&page.body, "ws-reactivate").is_empty(), "alpha is not deactivated");
    let page = carol.get("/workspaces/alpha").await;
    assert_eq!(links_of_class(&page.body, "ws-deactivate"), ["/workspaces/alpha/deactivate"]);
    assert!(links_of_class(&page.body, "ws-delete").is_empty(), "a Manager gets no delete link");
    let page = bob.get("/workspaces/alpha").await;
    assert_eq!(page.status, StatusCode::OK, "a Member sees the workspace page");
    for class in ["ws-deactivate", "ws-reactivate", "ws-delete"] {
        assert!(links_of_class(&page.body, class).is_empty(), "{class} offered to a Member");
    }
    assert!(!page.body.contains("id=\"ws-actions\""));

    // A Member is refused the confirm page and the POST (with a valid CSRF token); nothing changes.
    assert_eq!(bob.get("/workspaces/alpha/deactivate").await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.post("/workspaces/alpha/deactivate", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(alpha().await.unwrap().desired_state, "available");
    // Someone outside the organization does not even see the workspace.
    let mut dave = Browser::new(&app);
    dave.login("dave", "dave-password").await;
    assert_eq!(dave.get("/workspaces/alpha/delete").await.status, StatusCode::NOT_FOUND);

    // The Manager deactivates: the confirm page says what happens; a forged POST is refused.
    let ask = carol.get("/workspaces/alpha/deactivate").await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(element_text(&ask.body, "confirm-question").is_some() && ask.body.contains("id=\"consequences\""));
    assert!(ask.body.contains("action=\"/workspaces/alpha/deactivate\""));
    let forged = carol.send(Method::POST, "/workspaces/alpha/deactivate", Some(&[]), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(alpha().await.unwrap().desired_state, "available");
    let p = carol.post("/workspaces/alpha/deactivate", &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/workspaces/alpha")));
    let w = alpha().await.unwrap();
    assert_eq!((w.desired_state.as_str(), w.status.as_str()), ("deactivated", "deactivated"));
    // A deactivated workspace is no longer offered for logins (client list, device approval).
    let carol_row = app.state.store.get_user_by_id_or_name("carol").await.unwrap().unwrap();
    let offered = || async { accessible_workspaces(&app.state, &carol_row).await.unwrap().len() };
    assert_eq!(offered().await, 0);
    let page = carol.get("/organizations/acme").await;
    assert_eq!(links_of_class(&page.body, "ws-reactivate"), ["/workspaces/alpha/reactivate"]);
    let page = carol.get("/workspaces/alpha").await;
    assert_eq!(links_of_class(&page.body, "ws-reactivate"), ["/workspaces/alpha/reactivate"]);
    assert!(links_of_class(&page.body, "ws-deactivate").is_empty(), "deactivated: reactivate only");
    let p = carol.post("/workspaces/alpha/reactivate", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(alpha().await.unwrap().desired_state, "available");
    assert_eq!(offered().await, 1, "reactivated: offered again");

    // Deleting is for Admins (403 for the Manager), and needs the name typed again.
    assert_eq!(carol.get("/workspaces/alpha/delete").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        carol.post("/workspaces/alpha/delete", &[("confirm_name", "alpha")]).await.status,
        StatusCode::FORBIDDEN
    );
    let ask = admin.get("/workspaces/alpha/delete").await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("id=\"confirm-name\""), "the name must be typed");
    assert!(ask.body.contains("This cannot be undone."));
    let p = admin.post("/workspaces/alpha/delete", &[("confirm_name", "alfa")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element_text(&p.body, "error").unwrap().contains("nothing was changed"));
    assert!(alpha().await.is_some());
    let p = admin.post("/workspaces/alpha/delete", &[("confirm_name", "alpha")]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/organizations/acme")));
    assert!(alpha().await.is_none(), "deleted");
    assert_eq!(admin.get("/workspaces/alpha/delete").await.status, StatusCode::NOT_FOUND);
}

backend_tests!(members_teams_and_organizations_can_be_removed, |app: TestApp| async move {
    let org = app.org("acme").await;
    let (bob_id, _) = app.user("bob").await;
    app.grant_org(&bob_id, &org, "Member").await;
    let (carol_id, _) = app.user("carol").await;
    app.grant_org(&carol_id, &org, "Manager").await;
    let (erin_id, _) = app.user("erin").await;
    app.grant_org(&erin_id, &org, "Admin").await;
    let mut carol = Browser::new(&app);
    carol.login("carol", "carol-password").await;
    carol.get("/").await;
    let p = carol.post("/organizations/acme/workspaces", &[("name", "alpha")]).await;
    assert_eq!(p.status, StatusCode::OK);
    let ws = app.state.store.get_workspace_by_id_or_name("alpha").await.unwrap().unwrap().id.to_string();
    let p = carol.post("/organizations/acme/members", &[("username", "bob"), ("role", "Viewer"), ("scope", &ws)]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let p = carol.post("/organizations/acme/teams", &[("name", "ml")]).await;
    let team_href = p.location.expect("to the team page");
    assert_eq!(carol.post(&format!("{team_href}/members"), &[("username", "bob")]).await.status, StatusCode::SEE_OTHER);

    // The members page lists people; the Manager may remove bob but not the Admin erin.
    let m = carol.get("/organizations/acme/members").await;
    assert_eq!(m.status, StatusCode::OK);
    let remove_bob = format!("/organizations/acme/members/{bob_id}/remove");
    let removable = links_of_class(&m.body, "remove-member");
    assert!(removable.contains(&remove_bob), "{removable:?}");
    assert!(!removable.iter().any(|h| h.contains(&erin_id)), "a Manager cannot remove an Admin");
    assert!(m.body.contains("data-name=\"erin\""));
    let p = carol.post(&format!("/organizations/acme/members/{erin_id}/remove"), &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let erin_grants = GrantFilter { user_id: Some(erin_id.parse().unwrap()), ..Default::default() };
    assert_eq!(app.state.store.list_grants(&erin_grants).await.unwrap().len(), 1);

    // bob, a Member, may do none of it.
    let mut bob = Browser::new(&app);
    bob.login("bob", "bob-password").await;
    assert_eq!(bob.get("/organizations/acme").await.status, StatusCode::OK);
    assert_eq!(bob.get(&remove_bob).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bob.post(&format!("/organizations/acme/members/{carol_id}/remove"), &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(bob.post(&format!("{team_href}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.get("/organizations/acme/delete").await.status, StatusCode::FORBIDDEN);

    // Removing bob: the confirm page names each role and team; without the CSRF token nothing happens.
    let ask = carol.get(&remove_bob).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(ask.body.contains("The role Member on Organization is revoked."), "{}", ask.body);
    assert!(ask.body.contains("The role Viewer on Workspace alpha is revoked."));
    assert!(ask.body.contains("bob leaves the team ml"));
    assert_eq!(carol.send(Method::POST, &remove_bob, Some(&[]), &[]).await.status, StatusCode::FORBIDDEN);
    let bob_grants = GrantFilter { user_id: Some(bob_id.parse().unwrap()), ..Default::default() };
    assert_eq!(app.state.store.list_grants(&bob_grants).await.unwrap().len(), 2);
    let p = carol.post(&remove_bob, &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/organizations/acme/members")));
    assert!(app.state.store.list_grants(&bob_grants).await.unwrap().is_empty());
    assert!(app.state.store.teams_of_user(bob_id.parse().unwrap()).await.unwrap().is_empty());
    assert!(app.state.store.get_user_by_id_or_name("bob").await.unwrap().is_some(), "the user stays");
    assert_eq!(bob.get("/organizations/acme").await.status, StatusCode::NOT_FOUND, "bob is out");
    assert_eq!(carol.get(&remove_bob).await.status, StatusCode::NOT_FOUND, "no longer a member");

    // Deleting the team (a Manager may): confirm page, then gone with its grants.
    let p = carol.post(&format!("{team_href}/grants"), &[("role", "Viewer"), ("scope", "organization")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let team_page = carol.get(&team_href).await;
    assert!(team_page.body.contains(&format!("href=\"{team_href}/delete\" id=\"delete-team\"")));
    let ask = carol.get(&format!("{team_href}/delete")).await;
    assert!(ask.body.contains("Its 1 role assignment(s) are deleted"), "{}", ask.body);
    let p = carol.post(&format!("{team_href}/delete"), &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/organizations/acme/teams")));
    assert!(app.state.store.list_teams(None).await.unwrap().is_empty());
    assert_eq!(carol.get(&team_href).await.status, StatusCode::NOT_FOUND);

    // Deleting the organization: super-users only (as DELETE /api/v1/organizations), name typed again.
    assert!(!carol.get("/organizations/acme").await.body.contains("id=\"delete-org\""));
    assert_eq!(carol.get("/organizations/acme/delete").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        carol.post("/organizations/acme/delete", &[("confirm_name", "acme")]).await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = Browser::new(&app);
    admin.login(ADMIN, ADMIN_PW).await;
    assert!(admin.get("/organizations/acme").await.body.contains("id=\"delete-org\""));
    let p = admin.post("/organizations/acme/service_accounts", &[("name", "ci-bot")]).await;
    assert_eq!(p.status, StatusCode::OK);
    let ask = admin.get("/organizations/acme/delete").await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Its 1 workspace(s) are deleted (alpha)"), "{}", ask.body);
    assert!(ask.body.contains("1 service account(s)"));
    let p = admin.post("/organizations/acme/delete", &[("confirm_name", "ACME")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.state.store.get_organization_by_id_or_name("acme").await.unwrap().is_some());
    let p = admin.post("/organizations/acme/delete", &[("confirm_name", "acme")]).await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/")));
    assert!(app.state.store.get_organization_by_id_or_name("acme").await.unwrap().is_none());
    assert!(app.state.store.get_workspace_by_id_or_name("alpha").await.unwrap().is_none());
    assert!(app.state.store.get_user_by_id_or_name("ci-bot").await.unwrap().is_none(), "its service accounts go");
    assert!(app.state.store.get_user_by_id_or_name("carol").await.unwrap().is_some(), "users stay");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_of_a_service_account_are_revoked_by_its_managers_only() {
    let app = sqlite_app().await;
    let org = app.org("acme").await;
    let (bob_id, _) = app.user("bob").await;
    app.grant_org(&bob_id, &org, "Member").await;
    let mut admin = Browser::new(&app);
    admin.login(ADMIN, ADMIN_PW).await;
    admin.get("/").await;
    let p = admin.post("/organizations/acme/service_accounts", &[("name", "ci-bot")]).await;
    assert_eq!(p.status, StatusCode::OK);
    let api_key = element_text(&p.body, "api-key").expect("shown once");
    let account = app.state.store.get_user_by_id_or_name("ci-bot").await.unwrap().unwrap();
    let keys = app.state.store.list_api_keys(account.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    let key_id = keys[0].id.to_string();
    let page = admin.get(&format!("/service_accounts/{}", account.id)).await;
    assert!(page.body.contains(&format!("value=\"{key_id}\"")), "the key is listed with its revoke form");
    assert!(!page.body.contains(&api_key), "the secret is not shown again");
    let revoke = format!("/service_accounts/{}/revoke", account.id);
    // A Member of the organization: 403; a forged POST: 403; the key still exists.
    let mut bob = Browser::new(&app);
    bob.login("bob", "bob-password").await;
    assert_eq!(bob.get(&format!("/service_accounts/{}", account.id)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.post(&revoke, &[("key", &key_id)]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.send(Method::POST, &revoke, Some(&[("key", &key_id)]), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.state.store.list_api_keys(account.id).await.unwrap().len(), 1);
    // A bad key id is a clear 404, not a 500; the right one is revoked.
    assert_eq!(admin.post(&revoke, &[("key", "nope")]).await.status, StatusCode::NOT_FOUND);
    let p = admin.post(&revoke, &[("key", &key_id)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(app.state.store.list_api_keys(account.id).await.unwrap().is_empty());
    assert_eq!(
        element_text(&admin.get(&format!("/service_accounts/{}", account.id)).await.body, "no-keys").as_deref(),
        Some("No API keys.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_plane_page_is_reachable_from_the_navigation() {
    let app = sqlite_app().await;
    app.org("acme").await;
    let mut admin = Browser::new(&app);
    admin.login(ADMIN, ADMIN_PW).await;
    let home = admin.get("/").await;
    for link in [
        "href=\"/\" id=\"nav-organizations\"",
        "href=\"/devices/verify\" id=\"nav-devices\"",
        "href=\"/profile\" id=\"nav-profile\"",
        "action=\"/switch\"",
        "action=\"/logout\"",
    ] {
        assert!(home.body.contains(link), "{link}");
    }
    assert!(home.body.contains("href=\"/organizations/acme\""), "organizations are linked from the home page");
    let org = admin.get("/organizations/acme").await;
    for (id, href) in [
        ("link-members", "/organizations/acme/members"),
        ("link-teams", "/organizations/acme/teams"),
        ("link-service-accounts", "/organizations/acme/service_accounts"),
    ] {
        assert!(org.body.contains(&format!("href=\"{href}\" id=\"{id}\"")), "{id}");
        let sub = admin.get(href).await;
        assert_eq!(sub.status, StatusCode::OK, "{href}");
        // The sub-pages carry the same organization links, back to the workspaces too.
        assert!(sub.body.contains("href=\"/organizations/acme\" id=\"link-workspaces\""), "{href}");
        assert!(sub.body.contains(&format!("href=\"{href}\" id=\"{id}\" aria-current=\"page\"")), "{href}");
    }
    assert_eq!(admin.get("/devices/verify").await.status, StatusCode::OK);
    assert_eq!(admin.get("/profile").await.status, StatusCode::OK);
}
