"""ZenML OSS -> zenpro Pro, end to end, in the order an operator does it (issue 6, point 4).

Per variant (``oss`` = the server of step 1: ``zenpro`` = ours, ``python`` = the 0.98.0 reference):

1. the OSS workspace server on MariaDB with ``ZENML_SECRETS_STORE_ENCRYPTION_KEY``: the default
   admin creates user ``alice``; alice registers a stack, an (encrypted) secret and runs two
   pipelines;
2. our control plane starts on a fresh PostgreSQL database;
3. ``zenpro admin`` creates the organization, the workspace and its enrollment key;
4. OUR workspace server is (re)started on the same MariaDB database with the Pro settings;
5. alice logs in through the control plane (device flow approved in Chromium) with the same
   client, sees her earlier runs and stack (still hers: the local account is adopted by name),
   reads the secret, loads an artifact of an OSS run and runs a new pipeline; a service account
   logs in with a ``ZENPROKEY_`` key (``zenml login --api-key``) and sees the same data;
6. a workspace Viewer reads but cannot write; a user without a grant cannot enter.

Steps 1-4 are the module fixture (once per variant); each test is one user's view of step 5/6.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
import uuid

import pytest
import requests

from zenpro_compat import servers
from zenpro_compat.client import ZenClient, password_login_snippet
from zenpro_compat.pro import (
    ORG,
    WORKSPACE,
    ControlPlane,
    OurProWorkspace,
    PostgresDatabase,
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
STACK = "oss-stack"
SECRET = "oss-secret"
SECRET_VALUE = "s3cr3t-" + pysecrets.token_hex(8)
ALICE_PW = "Alice-oss-pw1"
LOCAL_SA = "oss-local-sa"


class OssToPro:
    """Steps 1-4 and what they left behind (ids the later steps must find again)."""

    def __init__(self, oss_kind: str) -> None:
        self.oss_kind = oss_kind
        self.workdir = servers.new_workdir(f"zc-oss2pro-{oss_kind}-")
        self.db: servers.Database | None = None
        self.oss: servers.Server | None = None
        self.pg: PostgresDatabase | None = None
        self.env = ProEnv(self.workdir / "pro")  # users/grants helpers; its cp is replaced below
        self.ws: OurProWorkspace | None = None
        self.alice: ZenClient | None = None
        self.oss_server_id = ""
        self.alice_id = ""
        self.admin_id = ""
        self.local_key = ""
        self.alice_oss_token = ""
        self.stack_id = ""
        self.secret_id = ""
        self.run_ids: list[str] = []
        self.clients: list[ZenClient] = []

    def client(self, name: str, **env: str) -> ZenClient:
        c = ZenClient(name, self.workdir / "clients" / f"{len(self.clients):02d}-{name}", env=env)
        self.clients.append(c)
        return c

    # -- step 1
    def oss_phase(self) -> None:
        self.db = servers.Database.create(servers.MARIADB, self.workdir / "db",
                                          encryption_key=pysecrets.token_hex(32))
        self.oss = servers.Server(self.oss_kind, self.db, self.workdir / "oss").start()
        self.oss_server_id = requests.get(self.oss.url + "/api/v1/info", timeout=30).json()["id"]

        admin = self.client("oss-admin")
        admin.python(password_login_snippet(self.oss.url, self.oss.admin_user, self.oss.admin_password)).ok()
        r = admin.python(f"""
            from zenml.client import Client
            c = Client()
            print("OUT admin=" + str(c.active_user.id))
            print("OUT alice=" + str(c.create_user(name="alice", password={ALICE_PW!r}).id))
            c.create_service_account(name={LOCAL_SA!r})
            print("OUT key=" + c.create_api_key({LOCAL_SA!r}, name="oss-key").key)
        """).ok()
        self.admin_id, self.alice_id, self.local_key = (r.values()[k] for k in ("admin", "alice", "key"))

        self.alice = self.client("alice")
        self.alice.python(password_login_snippet(self.oss.url, "alice", ALICE_PW)).ok()
        r = self.alice.script(f"""
            from zenml.client import Client
            c = Client()
            st = c.create_stack({STACK!r}, components={{"orchestrator": "default", "artifact_store": "default"}})
            s = c.create_secret({SECRET!r}, values={{"token": {SECRET_VALUE!r}}})
            print("OUT secret=" + str(s.id))
            print("OUT stack=" + str(st.id))
        """).ok()
        self.secret_id, self.stack_id = r.values()["secret"], r.values()["stack"]
        for _ in range(2):
            self.run_ids.append(run_pipeline(self.alice, "basic")["run_id"])
        # A session token of the OSS era (alice, still a local account).
        resp = requests.post(self.oss.url + "/api/v1/login", data={"username": "alice", "password": ALICE_PW},
                             timeout=30)
        assert resp.status_code == 200, describe(resp)
        self.alice_oss_token = resp.json()["access_token"]
        self.oss.stop()

    # -- steps 2-4
    def pro_phase(self) -> None:
        self.pg = PostgresDatabase.create()
        cp = ControlPlane(self.workdir / "pro" / "cp", database_url=self.pg.url)
        self.env.cp = cp
        cp.start()
        cp.admin_login()
        cp.admin_ok("org", "create", ORG)
        ws_port = servers.free_port()
        self.env.enrollment = cp.admin_json(
            "workspace", "create", WORKSPACE, "--org", ORG, "--url", f"http://127.0.0.1:{ws_port}",
            "--output", "json")
        assert self.db is not None
        self.ws = OurProWorkspace(self.workdir / "pro-ws", ws_port, cp, self.env.enrollment, self.db)
        self.env.ws = self.ws  # type: ignore[assignment]
        self.ws.start()

    def close(self) -> None:
        for proc in (self.ws, self.oss, self.env.cp):
            if proc is not None:
                try:
                    proc.stop()
                except Exception:  # noqa: BLE001 - keep tearing down
                    pass
        for db in (self.db, self.pg):
            if db is not None:
                try:
                    db.drop()
                except Exception:  # noqa: BLE001
                    pass
        servers.remove_workdir(self.workdir)

    def report_sections(self) -> list[tuple[str, str]]:
        sections = []
        if self.oss is not None:
            sections.append((f"log: OSS {self.oss.label}", self.oss.log_tail(40)))
        sections += self.env.report_sections()
        for c in self.clients[-3:]:
            if c.history:
                sections.append((f"client {c.name}: last commands", "\n\n".join(r.describe() for r in c.history[-2:])))
        return sections


@pytest.fixture(scope="module", params=[servers.ZENPRO, servers.PYTHON], ids=["oss-zenpro", "oss-python"])
def o2p(request: pytest.FixtureRequest):
    if not servers.zenpro_bin().exists():
        pytest.skip("needs our zenpro binary (cargo build -p zenpro)")
    reason = servers.mariadb_unreachable_reason() or PostgresDatabase.unreachable_reason()
    if reason:
        pytest.skip(reason)
    s = OssToPro(request.param)
    with running(s, start=lambda: (s.oss_phase(), s.pro_phase())):
        yield s


def no_server_error(result) -> None:
    for marker in SERVER_ERROR_MARKERS:
        assert marker not in result.out, f"output mentions {marker!r}:\n" + result.describe()


def connected(result):
    result.ok()
    assert f"Connected to ZenML Pro server: {WORKSPACE}" in result.out, result.describe()
    return result


READ_BACK = """
from zenml.client import Client
c = Client()
u = c.active_user
print("OUT user=" + u.name)
print("OUT user_id=" + str(u.id))
runs = c.list_pipeline_runs(size=50, sort_by="asc:created")
print("OUT runs=" + ",".join(str(r.id) for r in runs.items))
print("OUT run_users=" + ",".join(sorted({(r.user.name if r.user else "-") for r in runs.items})))
print("OUT stacks=" + ",".join(sorted(s.name for s in c.list_stacks(size=50).items)))
print("OUT project=" + c.active_project.name)
"""


# ----------------------------------------------------------------------------- step 4
def test_workspace_serves_the_oss_database_in_pro_mode(o2p: OssToPro):
    ws, e = o2p.ws, o2p.env.enrollment
    info = requests.get(ws.url + "/api/v1/info", timeout=30).json()
    assert info["deployment_type"] == "cloud" and info["auth_scheme"] == "EXTERNAL", info
    assert info["pro_workspace_id"] == e["workspace_id"], info
    assert info["pro_api_url"] == o2p.env.cp.api_url, info
    # As the reference: a database that already has a server id keeps it.
    assert info["id"] == o2p.oss_server_id, info
    uuid.UUID(info["id"])

    resp = o2p.env.cp.get(f"/workspaces/{e['workspace_id']}", o2p.env.admin_token())
    assert resp.status_code == 200 and resp.json()["status"] == "available", describe(resp)

    # The OSS password login is gone; the secret stays encrypted at rest.
    resp = requests.post(ws.url + "/api/v1/login", data={"username": "alice", "password": ALICE_PW}, timeout=30)
    assert resp.status_code == 400 and "Unsupported grant type" in resp.text, describe(resp)
    # A token of the OSS era is refused while alice is still a local account (the reference:
    # "local account ... is not allowed to authenticate with external authentication").
    resp = requests.get(ws.url + "/api/v1/current-user", headers={"Authorization": f"Bearer {o2p.alice_oss_token}"},
                        timeout=30)
    assert resp.status_code == 401, describe(resp)
    rows = o2p.db.query("SELECT `values` FROM secret WHERE name = 'oss-secret'")
    stored = rows[0][0] if rows else None
    stored = stored.decode(errors="replace") if isinstance(stored, (bytes, bytearray)) else str(stored or "")
    assert stored and SECRET_VALUE not in stored, rows
    # AES-GCM as base64(iv | tag | ciphertext), not base64 of the JSON.
    assert SECRET_VALUE.encode() not in base64.b64decode(stored), rows


# ----------------------------------------------------------------------------- step 5
def test_device_login_adopts_alice_who_sees_her_runs_secret_and_runs_again(o2p: OssToPro):
    password = o2p.env.user("alice", role="Admin")
    c = o2p.alice  # the same client (and local artifact store) alice used in OSS
    c.extra_env["ZENML_PRO_API_URL"] = o2p.env.cp.api_url
    r, seen, verification_url = device_login(c, o2p.env.cp, o2p.env.workspace, "alice", password)
    connected(r)
    assert any("logged in" in s for s in seen.steps), f"the login form was not shown:\n{seen}"

    r = c.script(READ_BACK + f"""
s = c.get_secret({SECRET!r})
print("OUT secret=" + str(s.id) + ":" + s.secret_values["token"])
run = c.get_pipeline_run({o2p.run_ids[0]!r})
print("OUT combined=" + run.steps["combine"].outputs["trace_combined"][0].load())
""").ok()
    v = r.values()
    # Adopted, not duplicated: the same local account, and the OSS runs are still hers.
    assert v["user"] == "alice" and v["user_id"] == o2p.alice_id, r.describe()
    assert v["runs"].split(",") == o2p.run_ids, r.describe()
    assert v["run_users"] == "alice", r.describe()
    assert STACK in v["stacks"].split(","), r.describe()
    assert v["project"] == "default", r.describe()
    # The encrypted secret reads back with the kept key; an OSS run's artifact still loads.
    assert v["secret"] == f"{o2p.secret_id}:{SECRET_VALUE}", r.describe()
    assert v["combined"] == "hello from zenml trace / 84", r.describe()

    values = run_pipeline(c, "basic")
    assert values["run_id"] not in o2p.run_ids
    run_user = o2p.db.query(f"SELECT user_id FROM pipeline_run WHERE id = '{values['run_id'].replace('-', '')}'")
    assert run_user and run_user[0][0] == o2p.alice_id.replace("-", ""), run_user
    r = c.zenml("pipeline", "runs", "list").ok()
    assert all(rid in r.out for rid in [*o2p.run_ids, values["run_id"]]), r.describe()

    rows = o2p.db.query("SELECT COUNT(*) FROM user WHERE name = 'alice' AND is_service_account = 0")
    assert rows[0][0] == 1, rows
    rows = o2p.db.query(f"SELECT external_user_id FROM user WHERE id = '{o2p.alice_id.replace('-', '')}'")
    assert rows and rows[0][0], f"alice was not linked to her control-plane id: {rows}"


def test_service_account_key_login_sees_the_oss_data(o2p: OssToPro):
    sa = o2p.env.cp.admin_json("service-account", "create", "oss-bot", "--org", ORG, "--output", "json")
    key = sa["api_key"]
    o2p.env.grant("oss-bot", "Developer")
    c = o2p.client("oss-bot", ZENML_PRO_API_URL=o2p.env.cp.api_url)
    connected(c.zenml("login", WORKSPACE, "--api-key", "--pro-api-url", o2p.env.cp.api_url, stdin=key + "\n"))
    r = c.python(READ_BACK).ok()
    v = r.values()
    assert v["user"] == "oss-bot", r.describe()
    assert set(o2p.run_ids) <= set(v["runs"].split(",")), r.describe()
    assert STACK in v["stacks"].split(","), r.describe()
    r = c.zenml("pipeline", "runs", "list").ok()
    assert o2p.run_ids[0] in r.out, r.describe()

    # The environment form, and the key as a bearer straight at the workspace.
    c2 = o2p.client("oss-bot-env", ZENML_PRO_API_URL=o2p.env.cp.api_url, ZENML_STORE_URL=o2p.ws.url,
                    ZENML_STORE_API_KEY=key)
    r = c2.zenml("stack", "list").ok()
    assert STACK in r.out, r.describe()
    resp = requests.get(o2p.ws.url + f"/api/v1/runs/{o2p.run_ids[1]}", headers={"Authorization": f"Bearer {key}"},
                        timeout=30)
    assert resp.status_code == 200 and resp.json()["id"] == o2p.run_ids[1], describe(resp)


def test_local_service_account_key_of_the_oss_era_still_works(o2p: OssToPro):
    # The reference keeps accepting workspace-local ZENKEY_ keys in Pro mode (deprecated, no
    # control-plane RBAC for them).
    c = o2p.client("oss-local-sa", ZENML_STORE_URL=o2p.ws.url, ZENML_STORE_API_KEY=o2p.local_key)
    r = c.zenml("pipeline", "runs", "list").ok()
    assert o2p.run_ids[1] in r.out, r.describe()
    no_server_error(r)


def test_control_plane_admin_adopts_the_oss_admin(o2p: OssToPro):
    # The control plane's super-user has the OSS default user's name: the same local account.
    c = o2p.client("cp-admin", ZENML_PRO_API_URL=o2p.env.cp.api_url)
    store_pro_token(c, o2p.env.cp, o2p.env.cp.admin_user, o2p.env.cp.admin_password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", o2p.env.cp.api_url))
    r = c.python(READ_BACK).ok()
    assert r.values()["user"] == "admin" and r.values()["user_id"] == o2p.admin_id, r.describe()
    r = c.zenml("stack", "register", "admin-stack", "-o", "default", "-a", "default").ok()
    no_server_error(r)


# ----------------------------------------------------------------------------- step 6
def test_viewer_reads_but_cannot_write(o2p: OssToPro):
    password = o2p.env.user("vera", role="Viewer")
    c = o2p.client("vera", ZENML_PRO_API_URL=o2p.env.cp.api_url)
    store_pro_token(c, o2p.env.cp, "vera", password).ok()
    connected(c.zenml("login", WORKSPACE, "--pro-api-url", o2p.env.cp.api_url))
    r = c.python(READ_BACK).ok()
    v = r.values()
    assert v["user"] == "vera", r.describe()
    assert set(o2p.run_ids) <= set(v["runs"].split(",")), r.describe()
    assert STACK in v["stacks"].split(","), r.describe()

    # Logging in by the workspace URL: the client finds the control plane in our /info.
    connected(c.zenml("login", o2p.ws.url))
    r = c.zenml("stack", "register", "vera-stack", "-o", "default", "-a", "default")
    r.failed()
    assert "Insufficient permissions to CREATE resource 'stack'" in r.out, r.describe()
    no_server_error(r)
    r = c.zenml("pipeline", "runs", "delete", o2p.run_ids[0], "-y")
    r.failed()
    assert "Insufficient permissions" in r.out, r.describe()
    no_server_error(r)
    assert o2p.db.query(f"SELECT COUNT(*) FROM pipeline_run WHERE id = '{o2p.run_ids[0].replace('-', '')}'")[0][0] == 1


def test_user_without_grant_cannot_enter(o2p: OssToPro):
    password = o2p.env.user("nora")
    c = o2p.client("nora", ZENML_PRO_API_URL=o2p.env.cp.api_url)
    store_pro_token(c, o2p.env.cp, "nora", password).ok()
    r = c.zenml("login", WORKSPACE, "--pro-api-url", o2p.env.cp.api_url)
    r.failed()
    assert f"No ZenML Pro server with the name '{WORKSPACE}'" in r.out, r.describe()
    no_server_error(r)
    r = connect_with_pro_token(c, o2p.ws)
    r.failed()
    assert "Not authorized to access this server" in r.out, r.describe()
    assert o2p.db.query("SELECT COUNT(*) FROM user WHERE name = 'nora'")[0][0] == 0
