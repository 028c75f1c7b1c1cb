"""ZenML Pro end to end: our control plane against real zenml 0.98.0 software only.

One control plane (``zenpro control-plane serve``, SQLite) and one open-source Python zenml
0.98.0 server in Pro mode enrolled with it, per module (see ``zenpro_compat/pro.py``); the real
0.98.0 CLI and ``Client()`` as users; a real Chromium (Playwright) as the user's browser.

1. enrollment: the Python server starts only if our ``/auth/login`` (client credentials) and
   ``PATCH /workspace_status`` work; the workspace is then ``available`` with its URL;
2. device-flow ``zenml login <workspace> --pro-api-url`` approved in Chromium, then a project and
   a pipeline run on the workspace (RBAC, entitlements and usage events go through our CP);
3. ``ZENPROKEY_`` service-account keys: ``zenml login --api-key`` and ``ZENML_STORE_API_KEY``;
4. RBAC: workspace Viewer reads but cannot create (403), no grant = no login, revocation;
5. bad input straight at the control plane: 401/404/422, never 500.

Runs once (not per database backend): the workspace is the Python server on SQLite.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from zenpro_compat import servers
from zenpro_compat.pro import (
    ORG,
    WORKSPACE,
    ControlPlane,
    ProEnv,
    connect_with_pro_token,
    describe,
    device_login,
    running,
    store_pro_token,
)
from zenpro_compat.runs import run_pipeline

pytestmark = pytest.mark.pro

SERVER_ERROR_MARKERS = ("Internal Server Error", "status code 500", "panicked", "RuntimeError")


@pytest.fixture(scope="module")
def pro(target_kind: str):
    if not servers.zenpro_bin().exists() and target_kind == servers.PYTHON:
        pytest.skip("the control plane tests need our zenpro binary (there is no reference control plane)")
    env = ProEnv(servers.new_workdir("zc-pro-"))
    with running(env):
        yield env


def pro_client(client_factory, pro: ProEnv, name: str, **env: str):
    """A fresh zenml client (own config dir) that knows our Pro API URL."""
    return client_factory.new(name, None, ZENML_PRO_API_URL=pro.cp.api_url, **env)


def no_server_error(result) -> None:
    for marker in SERVER_ERROR_MARKERS:
        assert marker not in result.out, f"output mentions {marker!r}:\n" + result.describe()


def refused(result, *needles: str):
    result.failed()
    for needle in needles:
        assert needle in result.out, f"expected {needle!r} in the output:\n" + result.describe()
    return result


def connected(result, workspace: str = WORKSPACE):
    result.ok()
    assert f"Connected to ZenML Pro server: {workspace}" in result.out, result.describe()
    return result


# ----------------------------------------------------------------------------- 1. enrollment
def test_enrollment_makes_workspace_available(pro: ProEnv):
    e = pro.enrollment
    for key in ("organization_id", "organization_name", "workspace_id", "workspace_name",
                "enrollment_key", "api_url", "dashboard_url"):
        assert e.get(key), f"`workspace create --output json` lacks {key}: {e}"
    assert e["organization_name"] == ORG and e["workspace_name"] == WORKSPACE, e
    assert e["api_url"].rstrip("/") == pro.cp.api_url, e
    uuid.UUID(e["workspace_id"]), uuid.UUID(e["organization_id"])

    # The Python server answered /health, so client credentials + PATCH /workspace_status worked.
    token = pro.admin_token()
    for ref in (pro.ws.id, WORKSPACE):
        resp = pro.cp.get(f"/workspaces/{ref}", token)
        assert resp.status_code == 200, describe(resp)
        ws = resp.json()
        assert ws["id"] == pro.ws.id and ws["name"] == WORKSPACE, ws
        assert ws["status"] == "available", ws
        assert ws["organization"]["name"] == ORG and ws["organization"]["id"] == e["organization_id"], ws
        status = (ws.get("zenml_service") or {}).get("status") or {}
        assert status.get("server_url", "").rstrip("/") == pro.ws.url, ws
        assert status.get("version") == "0.98.0", ws

    # The lists the real client asks for (by name, by URL as typed, member_only as a string).
    for params in ({"workspace_name": WORKSPACE, "member_only": "True"},
                   {"url": pro.ws.url + "/", "member_only": "True"},
                   {"offset": 0, "limit": 20, "member_only": "False"}):
        resp = pro.cp.get("/workspaces", token, params=params)
        assert resp.status_code == 200 and isinstance(resp.json(), list), describe(resp)
        assert pro.ws.id in [w["id"] for w in resp.json()], describe(resp)

    # The workspace tells clients where its control plane is.
    import requests

    info = requests.get(pro.ws.url + "/api/v1/info", timeout=30).json()
    assert info["deployment_type"] == "cloud" and info["auth_scheme"] == "EXTERNAL", info
    assert info["pro_api_url"] == pro.cp.api_url and info["pro_workspace_id"] == pro.ws.id, info


# ----------------------------------------------------------------------------- 2. device flow
def test_device_login_in_chromium_then_pipeline_run(pro: ProEnv, client_factory):
    password = pro.user("alice", role="Admin")
    c = pro_client(client_factory, pro, "alice")

    r, seen, verification_url = device_login(c, pro.cp, pro.workspace, "alice", password)
    connected(r)
    assert verification_url.startswith(pro.cp.url + "/"), verification_url
    assert f"workspace={WORKSPACE}" in verification_url, verification_url
    assert any("logged in" in s for s in seen.steps), f"the login form was not shown:\n{seen}"

    # Pro workspaces have no default project: make one (RBAC create + entitlement + usage event).
    r = c.zenml("project", "register", "p1", "--set").ok()
    no_server_error(r)
    r = c.python("""
        from zenml.client import Client
        c = Client()
        print("OUT user=" + c.active_user.name)
        print("OUT project=" + c.active_project.name)
        print("OUT stack=" + c.active_stack_model.name)
    """).ok()
    assert r.values() == {"user": "alice", "project": "p1", "stack": "default"}, r.describe()

    values = run_pipeline(c, "basic")
    assert values["status"] == "completed", values
    r = c.zenml("pipeline", "runs", "list").ok()
    assert values["run_id"] in r.out or values["run_name"] in r.out, r.describe()

    # The Pro session also lists the workspaces (GET /workspaces?member_only=True).
    r = c.zenml("server", "list").ok()
    assert WORKSPACE in r.out, r.describe()


def test_device_flow_denied_in_chromium(pro: ProEnv, client_factory):
    password = pro.user("dora", role="Viewer")
    c = pro_client(client_factory, pro, "dora")
    r, seen, _ = device_login(c, pro.cp, pro.workspace, "dora", password, approve=False, timeout=90)
    r.failed()
    assert "access_denied" in r.out or "denied" in r.out.lower(), r.describe()
    assert "Connected to ZenML Pro server" not in r.out, r.describe()


def test_device_login_without_workspace_argument_uses_the_chooser(pro: ProEnv, client_factory):
    # `zenml login --pro`: nothing preselected; the workspace picked on the device page comes
    # back as device_metadata.tenant_id and the CLI connects to it.
    password = pro.user("carl", role="Contributor")
    c = pro_client(client_factory, pro, "carl")
    r, seen, verification_url = device_login(c, pro.cp, pro.workspace, "carl", password,
                                             login_args=["--pro", "--pro-api-url", pro.cp.api_url])
    connected(r)
    assert "workspace=" not in verification_url, verification_url
    assert "carl" in c.python("""
        from zenml.client import Client
        print("OUT user=" + Client().active_user.name)
    """).ok().values()["user"]


# ----------------------------------------------------------------------------- 3. ZENPROKEY_
def test_service_account_key_logins(pro: ProEnv, client_factory):
    sa = pro.cp.admin_json("service-account", "create", "bot-e2e", "--org", ORG, "--output", "json")
    key = sa.get("api_key", "")
    assert re.fullmatch(r"ZENPROKEY_[0-9a-f]{32}_[A-Za-z0-9_-]{43}", key), sa
    pro.grant("bot-e2e", "Developer")

    # The key itself at the control plane (what the client does with it).
    resp = pro.cp.login_response(password=key)
    assert resp.status_code == 200 and resp.json().get("access_token"), describe(resp)

    # zenml login <workspace> --api-key (the key typed at the prompt).
    c = pro_client(client_factory, pro, "bot-login")
    r = c.zenml("login", WORKSPACE, "--api-key", "--pro-api-url", pro.cp.api_url, stdin=key + "\n")
    connected(r)
    r = c.zenml("stack", "list").ok()
    assert "default" in r.out, r.describe()
    # `zenml status` with a stored Pro key asks GET /workspaces?url=<store url>&member_only=True.
    r = c.zenml("status").ok()
    assert WORKSPACE in r.out and pro.ws.url in r.out, r.describe()
    r = c.python("""
        from zenml.client import Client
        u = Client().active_user
        print("OUT user=" + u.name)
        print("OUT sa=" + str(u.is_service_account))
    """).ok()
    assert r.values() == {"user": "bot-e2e", "sa": "True"}, r.describe()

    # Env form: ZENML_STORE_URL + ZENML_STORE_API_KEY (+ ZENML_PRO_API_URL).
    c2 = pro_client(client_factory, pro, "bot-env", ZENML_STORE_URL=pro.ws.url, ZENML_STORE_API_KEY=key)
    r = c2.zenml("stack", "list").ok()
    assert "default" in r.out, r.describe()

    # The key as a bearer at the workspace: authorize_server on every request.
    import requests

    resp = requests.get(pro.ws.url + "/api/v1/stacks", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert resp.status_code == 200, describe(resp)

    # A wrong secret for the same key id is refused everywhere.
    bad = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    resp = pro.cp.login_response(password=bad)
    assert resp.status_code == 401, describe(resp)
    c3 = pro_client(client_factory, pro, "bot-bad", ZENML_STORE_URL=pro.ws.url, ZENML_STORE_API_KEY=bad)
    r = c3.zenml("stack", "list").failed()
    no_server_error(r)


# ----------------------------------------------------------------------------- 4. RBAC
def test_workspace_viewer_reads_but_cannot_create(pro: ProEnv, client_factory):
    password = pro.user("victor", role="Viewer")
    c = pro_client(client_factory, pro, "victor")
    store_pro_token(c, pro.cp, "victor", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))

    r = c.zenml("stack", "list").ok()
    assert "default" in r.out, r.describe()
    # Logging in by the workspace URL: the client finds our CP in the workspace's /info and
    # looks the workspace up with GET /workspaces?url=...&member_only=True.
    connected(c.zenml("login", pro.ws.url))
    r = c.zenml("stack", "register", "victor-stack", "-o", "default", "-a", "default")
    refused(r, "Insufficient permissions to CREATE resource 'stack'")
    no_server_error(r)
    r = c.zenml("project", "register", "victor-project")
    refused(r, "Insufficient permissions to CREATE resource 'project'")
    no_server_error(r)


def test_user_without_grant_cannot_use_the_workspace(pro: ProEnv, client_factory):
    password = pro.user("nora")
    c = pro_client(client_factory, pro, "nora")
    store_pro_token(c, pro.cp, "nora", password).ok()  # logging in to the control plane is fine

    r = c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url)
    refused(r, f"No ZenML Pro server with the name '{WORKSPACE}'")
    no_server_error(r)

    # Going to the workspace directly: it asks our /users/authorize_server, which refuses.
    r = connect_with_pro_token(c, pro.ws)
    refused(r, "Not authorized to access this server")

    token = pro.cp.token("nora", password)["access_token"]
    resp = pro.cp.get("/users/authorize_server", token, params={"server_id": pro.ws.id},
                      headers={"zenml-server-id": pro.ws.id})
    assert resp.status_code == 403, describe(resp)
    resp = pro.cp.get(f"/workspaces/{pro.ws.id}", token)
    assert resp.status_code == 404, describe(resp)


def test_revoked_grant_takes_effect_at_once(pro: ProEnv, client_factory):
    # A user: "Stack Admin" may create stacks; after the revocation the next call is refused
    # (same workspace session) and so is a new login.
    password = pro.user("sam", role="Stack Admin")
    c = pro_client(client_factory, pro, "sam")
    store_pro_token(c, pro.cp, "sam", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
    r = c.zenml("stack", "register", "sam-stack-1", "-o", "default", "-a", "default").ok()
    assert "successfully registered" in r.out, r.describe()

    pro.revoke("sam", "Stack Admin")
    r = c.zenml("stack", "register", "sam-stack-2", "-o", "default", "-a", "default")
    refused(r, "Insufficient permissions to CREATE resource 'stack'")

    c2 = pro_client(client_factory, pro, "sam-again")
    store_pro_token(c2, pro.cp, "sam", password).ok()
    refused(c2.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url), "No ZenML Pro server")
    refused(connect_with_pro_token(c2, pro.ws), "Not authorized to access this server")

    # A service-account key: authorize_server is asked on every request that carries it.
    sa = pro.cp.admin_json("service-account", "create", "bot-revoke", "--org", ORG, "--output", "json")
    key = sa["api_key"]
    pro.grant("bot-revoke", "Viewer")
    c3 = pro_client(client_factory, pro, "bot-revoke", ZENML_STORE_URL=pro.ws.url, ZENML_STORE_API_KEY=key)
    assert "default" in c3.zenml("stack", "list").ok().out

    import requests

    def stacks_with_key():
        return requests.get(pro.ws.url + "/api/v1/stacks", headers={"Authorization": f"Bearer {key}"}, timeout=30)

    assert stacks_with_key().status_code == 200
    pro.revoke("bot-revoke", "Viewer")
    resp = stacks_with_key()
    assert resp.status_code == 401, describe(resp)
    c4 = pro_client(client_factory, pro, "bot-revoked", ZENML_STORE_URL=pro.ws.url, ZENML_STORE_API_KEY=key)
    r = c4.zenml("stack", "list").failed()
    no_server_error(r)


def test_project_scoped_grant_limits_the_project_list(pro: ProEnv, client_factory):
    # The super-user makes a project; a user with a project Viewer grant sees that project only.
    admin = pro_client(client_factory, pro, "cp-admin")
    store_pro_token(admin, pro.cp, pro.cp.admin_user, pro.cp.admin_password).ok()
    connected(admin.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
    admin.zenml("project", "register", "proj-x").ok()
    admin.zenml("project", "register", "proj-y").ok()
    r = admin.python("""
        from zenml.client import Client
        print("OUT id=" + str(Client().get_project("proj-x").id))
    """).ok()
    project_id = r.values()["id"]

    password = pro.user("pia")
    pro.grant("pia", "Viewer", ("--project", f"{WORKSPACE}/{project_id}"))
    c = pro_client(client_factory, pro, "pia")
    store_pro_token(c, pro.cp, "pia", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
    r = c.python("""
        from zenml.client import Client
        print("OUT projects=" + ",".join(sorted(p.name for p in Client().list_projects(size=100).items)))
    """).ok()
    assert r.values()["projects"] == "proj-x", r.describe()
    refused(c.zenml("project", "register", "pia-project"), "Insufficient permissions to CREATE resource 'project'")


def test_organization_roles(pro: ProEnv, client_factory):
    # Organization Member: membership only, no workspace access; organization Viewer: workspace
    # Viewer on every workspace of the organization.
    member_pw = pro.user("mona")
    pro.grant("mona", "Member", ("--org", ORG))
    c = pro_client(client_factory, pro, "mona")
    store_pro_token(c, pro.cp, "mona", member_pw).ok()
    refused(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url), "No ZenML Pro server")
    refused(connect_with_pro_token(c, pro.ws), "Not authorized to access this server")

    viewer_pw = pro.user("otto")
    pro.grant("otto", "Viewer", ("--org", ORG))
    c = pro_client(client_factory, pro, "otto")
    store_pro_token(c, pro.cp, "otto", viewer_pw).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
    assert "default" in c.zenml("stack", "list").ok().out
    refused(c.zenml("stack", "register", "otto-stack", "-o", "default", "-a", "default"),
            "Insufficient permissions to CREATE resource 'stack'")


def test_team_grant_admits_its_members(pro: ProEnv, client_factory):
    password = pro.user("tom")
    pro.cp.admin_ok("team", "create", "viewers-e2e", "--org", ORG)
    pro.cp.admin_ok("team", "add-member", "viewers-e2e", "--user", "tom")
    pro.cp.admin_ok("role", "grant", "--team", "viewers-e2e", "--workspace", WORKSPACE, "--role", "Viewer")
    c = pro_client(client_factory, pro, "tom")
    store_pro_token(c, pro.cp, "tom", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
    assert "default" in c.zenml("stack", "list").ok().out
    refused(c.zenml("stack", "register", "tom-stack", "-o", "default", "-a", "default"),
            "Insufficient permissions to CREATE resource 'stack'")


# ----------------------------------------------------------------------------- 5. bad input
def _cp_token(secret: str, subject: str, expires_in: int) -> str:
    """A control-plane-shaped token (docs/control-plane.md "CP token") signed with ``secret``."""
    import jwt

    now = int(time.time())
    claims = {"iss": "zenpro-control-plane", "sub": subject, "kind": "user",
              "iat": now - 60, "exp": now + expires_in, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_control_plane_refuses_bad_input(pro: ProEnv):
    cp = pro.cp
    ws_id = pro.ws.id
    problems = []

    def expect(resp, wanted, what):
        statuses = wanted if isinstance(wanted, tuple) else (wanted,)
        if resp.status_code not in statuses:
            problems.append(f"{what}: expected {statuses}, got {describe(resp)}")
        if resp.status_code >= 500:
            problems.append(f"{what}: server error {describe(resp)}")

    # Workspace client credentials.
    expect(cp.login_response(grant_type="client_credentials", client_id=ws_id,
                             client_secret="x" * 64, audience=cp.api_url), 401, "wrong enrollment key")
    expect(cp.login_response(grant_type="client_credentials", client_id=str(uuid.uuid4()),
                             client_secret=pro.enrollment["enrollment_key"], audience=cp.api_url),
           401, "unknown workspace id")
    expect(cp.login_response(grant_type="client_credentials", client_id="not-a-uuid",
                             client_secret="x"), (400, 401, 422), "malformed workspace id")
    expect(cp.login_response(grant_type="client_credentials", client_id=ws_id), (400, 401, 422),
           "no client secret")
    expect(cp.login_response(username="admin", password="wrong-password"), 401, "wrong password")
    expect(cp.login_response(grant_type="nonsense"), (400, 401, 422), "unknown grant type")

    # Device flow: a made-up device code answers an OAuth error the client can parse.
    resp = cp.login_response(grant_type="urn:ietf:params:oauth:grant-type:device_code",
                             client_id=str(uuid.uuid4()), device_code="garbage")
    expect(resp, (400, 401), "unknown device code")
    if resp.status_code == 400:
        body = resp.json()
        if not isinstance(body, dict) or not set(body) <= {"error", "error_description", "error_uri", "status_code"} \
                or body.get("error") in (None, "authorization_pending", "slow_down"):
            problems.append(f"unknown device code: not a final OAuth error the client accepts: {body}")

    # Tokens.
    admin_id = pro.principal_id(cp.admin_user)
    subject = admin_id or str(uuid.uuid4())
    for what, token in (("garbage token", "garbage"),
                        ("expired token", _cp_token(cp.token_secret, subject, -3600)),
                        ("token signed with another key", _cp_token("not-the-secret-of-this-control-plane-0123456789", subject, 3600)),
                        ("token of an unknown principal", _cp_token(cp.token_secret, str(uuid.uuid4()), 3600))):
        expect(cp.get("/workspaces", token), 401, f"{what} at GET /workspaces")
        expect(cp.get("/users/authorize_server", token, params={"server_id": ws_id},
                      headers={"zenml-server-id": ws_id}), 401, f"{what} at authorize_server")
    expect(cp.get("/workspaces"), 401, "no token at GET /workspaces")
    expect(cp.get("/workspaces", headers={"Authorization": "Bearer "}), 401, "empty bearer at GET /workspaces")
    expect(cp.get("/workspaces", headers={"Authorization": "Basic YWRtaW46eA=="}), 401, "basic auth at GET /workspaces")

    # authorize_server with the admin's valid token.
    admin = pro.admin_token()
    ok = cp.get("/users/authorize_server", admin, params={"server_id": ws_id}, headers={"zenml-server-id": ws_id})
    expect(ok, 200, "authorize_server for the super-user")
    if ok.status_code == 200:
        body = ok.json()
        if body.get("username") != cp.admin_user or body.get("is_superuser") is not True:
            problems.append(f"authorize_server body: {body}")
    other = str(uuid.uuid4())
    expect(cp.get("/users/authorize_server", admin, params={"server_id": other}, headers={"zenml-server-id": other}),
           404, "authorize_server for an unknown workspace")
    expect(cp.get("/users/authorize_server", admin, params={"server_id": ws_id}, headers={"zenml-server-id": other}),
           404, "authorize_server with server_id != zenml-server-id")
    expect(cp.get("/users/authorize_server", admin, params={"server_id": "not-a-uuid"},
                  headers={"zenml-server-id": ws_id}), (400, 404, 422), "authorize_server with a malformed id")
    expect(cp.get("/users/authorize_server", admin), (400, 404, 422), "authorize_server without server_id")

    # RBAC with the workspace's own token.
    wst = pro.workspace_token()
    user_id = admin_id or str(uuid.uuid4())
    good = cp.request("POST", "/rbac/check_permissions", wst, params={"user_id": user_id, "action": "read"},
                      json=["stack", "project"])
    expect(good, 200, "check_permissions with good resources")
    if good.status_code == 200 and good.json() != {"stack": True, "project": True}:
        problems.append(f"check_permissions for the super-user: {good.json()}")
    pid = str(uuid.uuid4())
    for bad in (["pipeline"],                      # project-scoped type without a project
                [f"{pid}:stack"],                  # workspace-wide type with a project
                ["no_such_type"],
                ["stack/not-a-uuid"],
                [f"not-a-uuid:pipeline"],
                [""]):
        expect(cp.request("POST", "/rbac/check_permissions", wst, params={"user_id": user_id, "action": "read"},
                          json=bad), 422, f"check_permissions {bad}")
    expect(cp.request("POST", "/rbac/check_permissions", wst, params={"user_id": user_id, "action": "fly"},
                      json=["stack"]), (400, 422), "check_permissions with an unknown action")
    expect(cp.request("POST", "/rbac/check_permissions", wst, params={"user_id": user_id, "action": "read"},
                      json={"stack": 1}), (400, 422), "check_permissions with an object body")
    expect(cp.request("POST", "/rbac/check_permissions", "garbage", params={"user_id": user_id, "action": "read"},
                      json=["stack"]), 401, "check_permissions with a garbage token")
    expect(cp.get("/rbac/allowed_resource_ids", wst, params={"user_id": user_id, "resource": "stack/x",
                                                             "action": "read"}), (400, 422),
           "allowed_resource_ids with a resource id")
    expect(cp.request("PATCH", "/workspace_status", "garbage", headers={"zenml-server-id": ws_id,
                                                                         "zenml-server-version": "0.98.0"}),
           401, "workspace_status with a garbage token")

    # A user token is not a workspace token.
    expect(cp.request("POST", "/rbac/check_permissions", admin, params={"user_id": user_id, "action": "read"},
                      json=["stack"]), (401, 403), "check_permissions with a user token")

    assert not problems, "\n".join(problems)


def test_rotated_enrollment_key(pro: ProEnv):
    """A second workspace: after `workspace rotate-key` the old key no longer logs in."""
    cp = pro.cp
    spare = cp.admin_json("workspace", "create", "ws-spare", "--org", ORG, "--url", "http://127.0.0.1:9/",
                          "--output", "json")
    old = spare["enrollment_key"]
    pro.workspace_token(spare["workspace_id"], old)
    rotated = cp.admin_json("workspace", "rotate-key", "ws-spare", "--output", "json")
    new = rotated.get("enrollment_key")
    assert new and new != old, rotated
    resp = cp.login_response(grant_type="client_credentials", client_id=spare["workspace_id"],
                             client_secret=old, audience=cp.api_url)
    assert resp.status_code == 401, describe(resp)
    pro.workspace_token(spare["workspace_id"], new)


def test_deactivated_workspace_refuses_logins(pro: ProEnv, client_factory):
    """Deactivating the workspace (admin API) refuses new logins at once; re-activating it
    lets them in again. Last in the module: it changes the shared workspace."""
    password = pro.user("dave", role="Viewer")
    admin = pro.admin_token()

    def set_state(state: str) -> None:
        resp = pro.cp.request("PATCH", f"/workspaces/{WORKSPACE}", admin, json={"desired_state": state})
        assert resp.status_code == 200 and resp.json().get("desired_state") == state, describe(resp)

    set_state("deactivated")
    try:
        c = pro_client(client_factory, pro, "dave-deactivated")
        store_pro_token(c, pro.cp, "dave", password).ok()
        r = c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url).failed()
        no_server_error(r)
        assert "Connected to ZenML Pro server" not in r.out, r.describe()
        refused(connect_with_pro_token(c, pro.ws), "Not authorized to access this server")
    finally:
        set_state("available")
    c = pro_client(client_factory, pro, "dave-again")
    store_pro_token(c, pro.cp, "dave", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", pro.cp.api_url))
