//! The Pro device login (pro-protocol §1.2): `POST /auth/device_authorization`, polling
//! `POST /auth/login` with the device-code grant, and the browser pages `/login` and
//! `/devices/verify` (session cookie, CSRF, workspace chooser, escaping).

mod common;
mod protocol_support;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;
use zenpro_control::store::users::NewUser;

use common::{ADMIN, ADMIN_PW, TestApp};
use protocol_support::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const UA: &str = "Host/laptop ZenML/0.98.0 Python/3.11.2 OS/Linux";

/// A browser response: status, `Set-Cookie` name → value, `Location`, body text.
struct Page {
    status: StatusCode,
    cookies: Vec<(String, String, String)>,
    location: Option<String>,
    body: String,
}

impl Page {
    fn cookie(&self, name: &str) -> Option<&(String, String, String)> {
        self.cookies.iter().find(|(n, _, _)| n == name)
    }
}

/// A request to the browser pages with a `Cookie` header.
async fn browse(
    app: &TestApp,
    method: Method,
    uri: &str,
    cookies: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Page {
    let mut req = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header(header::COOKIE, c.join("; "));
    }
    let req = match form {
        Some(f) => req
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(f).unwrap())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let s = v.to_str().unwrap().to_string();
            let (nv, attrs) = s.split_once(';').unwrap_or((&s, ""));
            let (n, v) = nv.split_once('=').unwrap();
            (n.to_string(), v.to_string(), attrs.to_string())
        })
        .collect();
    let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Page { status, cookies, location, body }
}

async fn authorize_device(app: &TestApp, client_id: &str) -> Value {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/device_authorization")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, UA)
        .body(Body::from(format!("client_id={client_id}")))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.2);
    r.2
}

async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> common::Resp {
    app.form_login(&[("grant_type", GRANT), ("client_id", client_id), ("device_code", device_code)], None).await
}

/// The OAuth error of a poll; the body must have exactly `error` and `error_description`.
async fn poll_error(app: &TestApp, client_id: &str, device_code: &str) -> String {
    let r = poll(app, client_id, device_code).await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST, "{}", r.2);
    let keys: Vec<&String> = r.2.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "error_description"], "zenml's OAuthError accepts no other keys: {}", r.2);
    r.2["error"].as_str().unwrap().to_string()
}

/// Log in through `/login` as the browser does; the session cookie value.
async fn browser_login(app: &TestApp, username: &str, password: &str) -> String {
    let form = browse(app, Method::GET, "/login?next=/devices/verify", &[], None).await;
    let csrf = form.cookie("zenpro_csrf").unwrap().1.clone();
    let r = browse(
        app,
        Method::POST,
        "/login",
        &[("zenpro_csrf", &csrf)],
        Some(&[("username", username), ("password", password), ("csrf", &csrf), ("next", "/devices/verify")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.cookie("zenpro_session").expect("a session cookie").1.clone()
}

/// Decide a device in the browser as the session's user.
async fn decide(app: &TestApp, session: &str, user_code: &str, workspace: Option<&str>, decision: &str) -> Page {
    let page = browse(
        app,
        Method::GET,
        &format!("/devices/verify?user_code={user_code}"),
        &[("zenpro_session", session)],
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.cookie("zenpro_csrf").unwrap().1.clone();
    let mut form = vec![("csrf", csrf.as_str()), ("user_code", user_code), ("decision", decision)];
    if let Some(w) = workspace {
        form.push(("workspace", w));
    }
    browse(app, Method::POST, "/devices/verify", &[("zenpro_session", session), ("zenpro_csrf", &csrf)], Some(&form))
        .await
}

backend_tests!(protocol_device_flow, [("ZENPRO_CP_DEVICE_INTERVAL", "0")], |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let ws = workspace(&app, org_a, "alpha").await;
    let _other = workspace(&app, org_a, "beta").await;
    let client = Uuid::new_v4().to_string();

    let d = authorize_device(&app, &client).await;
    let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"]
    );
    let code = d["device_code"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(d["verification_uri"], "http://127.0.0.1:8080/devices/verify");
    assert_eq!(d["verification_uri_complete"], format!("http://127.0.0.1:8080/devices/verify?user_code={user_code}"));
    assert_eq!((d["expires_in"].as_i64(), d["interval"].as_i64()), (Some(300), Some(0)));
    assert_eq!(poll_error(&app, &client, code).await, "authorization_pending");
    // Wrong client, unknown code.
    assert_eq!(poll_error(&app, &Uuid::new_v4().to_string(), code).await, "invalid_grant");
    assert_eq!(poll_error(&app, &client, "not-a-code").await, "invalid_grant");

    // The browser: no session → the login page, back to the same URL afterwards.
    let verify = format!("/devices/verify?user_code={user_code}&workspace=alpha");
    let r = browse(&app, Method::GET, &verify, &[], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let location = r.location.unwrap();
    assert!(location.starts_with("/login?next="), "{location}");
    let next: Vec<(String, String)> = serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    assert_eq!(next[0].1, verify);
    let form = browse(&app, Method::GET, &location, &[], None).await;
    assert_eq!(form.status, StatusCode::OK);
    for id in ["id=\"username\"", "id=\"password\"", "id=\"login\""] {
        assert!(form.body.contains(id), "{id} in {}", form.body);
    }
    let (_, csrf, attrs) = form.cookie("zenpro_csrf").unwrap().clone();
    assert!(attrs.contains("HttpOnly"), "{attrs}");
    // A wrong CSRF token, a wrong password: refused, no session.
    let cookies = [("zenpro_csrf", csrf.as_str())];
    let r = browse(
        &app,
        Method::POST,
        "/login",
        &cookies,
        Some(&[("username", ADMIN), ("password", ADMIN_PW), ("csrf", "forged"), ("next", &verify)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("zenpro_session").is_none());
    let r = browse(
        &app,
        Method::POST,
        "/login",
        &cookies,
        Some(&[("username", ADMIN), ("password", "wrong"), ("csrf", &csrf), ("next", &verify)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("id=\"error\""));
    assert!(r.cookie("zenpro_session").is_none());
    // The right password: the session cookie and back to the device page; an outside `next` is
    // not followed.
    let r = browse(
        &app,
        Method::POST,
        "/login",
        &cookies,
        Some(&[("username", ADMIN), ("password", ADMIN_PW), ("csrf", &csrf), ("next", &verify)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some(verify.as_str()));
    let (_, session, attrs) = r.cookie("zenpro_session").unwrap().clone();
    assert!(attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"), "{attrs}");
    let r = browse(
        &app,
        Method::POST,
        "/login",
        &cookies,
        Some(&[("username", ADMIN), ("password", ADMIN_PW), ("csrf", &csrf), ("next", "//evil.example/x")]),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/"));

    // The device page: client info, the workspaces, `alpha` preselected.
    let page = browse(&app, Method::GET, &verify, &[("zenpro_session", &session)], None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for needle in [
        "id=\"workspace\"".to_string(),
        "id=\"approve\"".to_string(),
        "id=\"deny\"".to_string(),
        "laptop".to_string(),
        "0.98.0".to_string(),
        format!("<option value=\"{}\" selected>alpha (acme)</option>", ws.id),
        "beta (acme)".to_string(),
    ] {
        assert!(page.body.contains(&needle), "{needle} in {}", page.body);
    }
    let csrf = page.cookie("zenpro_csrf").map(|c| c.1.clone()).unwrap_or(csrf);
    // Approving without the CSRF token does nothing.
    let ws_id = ws.id.to_string();
    let r = browse(
        &app,
        Method::POST,
        "/devices/verify",
        &[("zenpro_session", &session)],
        Some(&[("user_code", user_code), ("workspace", &ws_id), ("decision", "approve"), ("csrf", "x")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(poll_error(&app, &client, code).await, "authorization_pending");
    // Approve with alpha.
    let r = browse(
        &app,
        Method::POST,
        "/devices/verify",
        &[("zenpro_session", &session), ("zenpro_csrf", &csrf)],
        Some(&[("user_code", user_code), ("workspace", &ws_id), ("decision", "approve"), ("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"result\""));

    // The poll now gets a user token with the chosen workspace as tenant_id, once.
    let t = poll(&app, &client, code).await;
    assert_eq!(t.0, StatusCode::OK, "{}", t.2);
    assert_eq!(t.2["token_type"], "bearer");
    assert_eq!(t.2["expires_in"], 86400);
    assert_eq!(t.2["device_metadata"], json!({"tenant_id": ws_id}));
    assert!(Uuid::parse_str(t.2["device_id"].as_str().unwrap()).is_ok());
    let token = t.2["access_token"].as_str().unwrap();
    let w = app.as_user(token, Method::GET, &format!("/workspaces/{ws_id}"), None, StatusCode::OK).await;
    assert_eq!(w["name"], "alpha");
    assert_eq!(poll_error(&app, &client, code).await, "invalid_grant");
    // The page of a decided code says so.
    let r = browse(&app, Method::GET, &verify, &[("zenpro_session", &session)], None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Denied in the browser → access_denied.
    let d = authorize_device(&app, &client).await;
    let r = decide(&app, &session, d["user_code"].as_str().unwrap(), None, "deny").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(poll_error(&app, &client, d["device_code"].as_str().unwrap()).await, "access_denied");

    // Unknown user code → 404 page; no client_id → 422.
    let r =
        browse(&app, Method::GET, "/devices/verify?user_code=BCDF-GHJK", &[("zenpro_session", &session)], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call_raw(Method::POST, "/auth/device_authorization", None, "device_id=x", "application/x-www-form-urlencoded")
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY);
});

backend_tests!(protocol_device_workspace_choice, [("ZENPRO_CP_DEVICE_INTERVAL", "0")], |app: TestApp| async move {
    let org_a = org(&app, "acme").await;
    let mine = workspace(&app, org_a, "mine").await;
    let hidden = workspace(&app, org_a, "<script>alert(1)</script>").await;
    let hash = zenpro_auth::password::hash("pw-of-dev".into()).await.unwrap();
    let dev = app
        .state
        .store
        .create_user(NewUser {
            username: "dev\"<b>".into(),
            password_hash: Some(hash),
            active: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    let session = browser_login(&app, "dev\"<b>", "pw-of-dev").await;
    let client = Uuid::new_v4().to_string();

    // No workspace yet: the page says so and the token has no tenant_id.
    let d = authorize_device(&app, &client).await;
    let uc = d["user_code"].as_str().unwrap().to_string();
    let page =
        browse(&app, Method::GET, &format!("/devices/verify?user_code={uc}"), &[("zenpro_session", &session)], None)
            .await;
    assert!(page.body.contains("id=\"no-workspace\""), "{}", page.body);
    assert!(page.body.contains("dev&quot;&lt;b&gt;"), "the username is escaped: {}", page.body);
    let r = decide(&app, &session, &uc, None, "approve").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = poll(&app, &client, d["device_code"].as_str().unwrap()).await;
    assert_eq!(t.0, StatusCode::OK);
    assert_eq!(t.2["device_metadata"], json!({}));

    // With a role on `mine` only: `mine` is offered; the other (hostile name) is neither listed
    // nor accepted; a `workspace=` it cannot use is named, escaped.
    grant_ws(&app, &mine, "Viewer", dev.id).await;
    let d = authorize_device(&app, &client).await;
    let uc = d["user_code"].as_str().unwrap().to_string();
    let q = serde_urlencoded::to_string([("user_code", uc.as_str()), ("workspace", hidden.name.as_str())]).unwrap();
    let page = browse(&app, Method::GET, &format!("/devices/verify?{q}"), &[("zenpro_session", &session)], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("<option value=\"{}\">mine (acme)</option>", mine.id)), "{}", page.body);
    assert!(!page.body.contains(&hidden.id.to_string()));
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.body);
    // Preselect by id too.
    let page = browse(
        &app,
        Method::GET,
        &format!("/devices/verify?user_code={uc}&workspace={}", mine.id),
        &[("zenpro_session", &session)],
        None,
    )
    .await;
    assert!(page.body.contains(&format!("<option value=\"{}\" selected>", mine.id)));
    let r = decide(&app, &session, &uc, Some(&hidden.id.to_string()), "approve").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = decide(&app, &session, &uc, None, "approve").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a workspace must be chosen when there is one");
    assert_eq!(poll_error(&app, &client, d["device_code"].as_str().unwrap()).await, "authorization_pending");
    let r = decide(&app, &session, &uc, Some(&mine.id.to_string()), "approve").await;
    assert_eq!(r.status, StatusCode::OK);
    let t = poll(&app, &client, d["device_code"].as_str().unwrap()).await;
    assert_eq!(t.2["device_metadata"]["tenant_id"], mine.id.to_string());
    // The token is the user's: authorize_server admits it for `mine`, not for the other.
    let token = t.2["access_token"].as_str().unwrap().to_string();
    let r =
        ws_call_as(&app, &mine, &token, Method::GET, &format!("/users/authorize_server?server_id={}", mine.id), None)
            .await;
    assert_eq!((r.0, r.2["username"].clone()), (StatusCode::OK, json!("dev\"<b>")));
    let r = ws_call_as(
        &app,
        &hidden,
        &token,
        Method::GET,
        &format!("/users/authorize_server?server_id={}", hidden.id),
        None,
    )
    .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);

    // Posting without a session goes to the login page.
    let r = browse(&app, Method::POST, "/devices/verify", &[], Some(&[("user_code", "X"), ("decision", "deny")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.unwrap().starts_with("/login?next="));
});

backend_tests!(
    protocol_device_slow_down_and_expiry,
    [("ZENPRO_CP_DEVICE_EXPIRES_IN", "1")],
    |app: TestApp| async move {
        let client = Uuid::new_v4().to_string();
        let d = authorize_device(&app, &client).await;
        let code = d["device_code"].as_str().unwrap();
        assert_eq!(d["interval"], 2);
        assert_eq!(poll_error(&app, &client, code).await, "authorization_pending");
        assert_eq!(poll_error(&app, &client, code).await, "slow_down");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(poll_error(&app, &client, code).await, "expired_token");
        // An expired code cannot be approved either.
        let session = browser_login(&app, ADMIN, ADMIN_PW).await;
        let r = browse(
            &app,
            Method::GET,
            &format!("/devices/verify?user_code={}", d["user_code"].as_str().unwrap()),
            &[("zenpro_session", &session)],
            None,
        )
        .await;
        assert!(r.status == StatusCode::GONE || r.status == StatusCode::NOT_FOUND, "{}", r.status);
    }
);
