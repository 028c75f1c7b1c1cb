"""Our server and the Python reference server take turns on the same database.

(a) ours creates the database and writes users/service accounts/projects through its API; the
    Python server (which refuses to run unless ``alembic_version`` is ``0.98.0``, and must not need
    to migrate) then serves them, and a password set through ours logs in on Python.
(b) the reverse: the Python server creates the database, ours serves it, and the ``ZENKEY_`` key
    made by Python logs in against ours.
(c) secrets encrypted with ``ZENML_SECRETS_STORE_ENCRYPTION_KEY`` survive the switch both ways.

With ``ZENPRO_COMPAT_TARGET=python`` "ours" is the reference server too (validates the test).
Plain REST calls (``requests``) only.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from zenpro_compat.api import Api, describe, error_detail
from zenpro_compat.servers import PYTHON, Database, Server

ALEMBIC_HEAD = "0.98.0"


def alembic_version(db: Database) -> list:
    return [row[0] for row in db.query("SELECT version_num FROM alembic_version")]


def user_request(name: str, password: str) -> dict:
    """What ``Client().create_user(name, password)`` sends (UserRequest.model_dump_json())."""
    return {
        "email": None, "email_opted_in": None, "password": password, "activation_token": None,
        "external_user_id": None, "user_metadata": None, "oidc_claims": None, "avatar_url": None,
        "name": name, "full_name": "", "is_admin": False, "active": True,
    }


def create_fixtures(api: Api, tag: str) -> dict:
    """A user with a password (changed once by the user), a service account with an API key and a
    project, created the way the 0.98.0 client does it. Returns what to check afterwards."""
    user = api.ok("POST", "/api/v1/users", json=user_request(f"user-{tag}", "First-pw-123"))
    user_api = Api.password(api.base, f"user-{tag}", "First-pw-123")
    user_api.ok("PUT", f"/api/v1/users/{user['id']}",
                json={"password": "Second-pw-456", "name": f"user-{tag}", "old_password": "First-pw-123"})

    sa = api.ok("POST", "/api/v1/service_accounts",
                json={"name": f"sa-{tag}", "full_name": "", "description": "interop", "active": True,
                      "avatar_url": None})
    key = api.ok("POST", f"/api/v1/service_accounts/{sa['id']}/api_keys",
                 json={"name": "default", "description": "Default API key."})
    assert key["body"]["key"].startswith("ZENKEY_"), key

    project = api.ok("POST", "/api/v1/projects",
                     json={"name": f"proj-{tag}", "display_name": f"Project {tag}", "description": "",
                           "project_metadata": None})
    return {
        "user": f"user-{tag}", "user_id": user["id"], "password": "Second-pw-456", "old_password": "First-pw-123",
        "sa": f"sa-{tag}", "sa_id": sa["id"], "api_key": key["body"]["key"], "api_key_id": key["id"],
        "project": f"proj-{tag}", "project_id": project["id"],
    }


def check_fixtures(server: Server, made: dict, made_by: str) -> None:
    """Everything ``made`` (by the other server) is served by ``server``."""
    where = f"{server.label}, data written by {made_by}"
    api = Api.password(server.url, server.admin_user, server.admin_password)

    users = api.ok("GET", "/api/v1/users", params={"size": 100})
    by_name = {u["name"]: u for u in users["items"]}
    assert server.admin_user in by_name and made["user"] in by_name, f"{where}: users {sorted(by_name)}"
    assert by_name[made["user"]]["id"] == made["user_id"], where
    assert by_name[server.admin_user]["body"]["is_admin"] is True, where
    assert by_name[made["user"]]["body"]["is_admin"] is False, where

    sas = api.ok("GET", "/api/v1/service_accounts", params={"size": 100})
    assert [s["id"] for s in sas["items"] if s["name"] == made["sa"]] == [made["sa_id"]], f"{where}: {sas}"
    keys = api.ok("GET", f"/api/v1/service_accounts/{made['sa_id']}/api_keys")
    assert [(k["id"], k["name"], k["body"]["active"]) for k in keys["items"]] == [
        (made["api_key_id"], "default", True)
    ], f"{where}: {keys}"

    projects = api.ok("GET", "/api/v1/projects", params={"size": 100})
    assert sorted(p["name"] for p in projects["items"]) == sorted(["default", made["project"]]), where
    proj = api.ok("GET", f"/api/v1/projects/{made['project']}", params={"hydrate": "True"})
    assert proj["id"] == made["project_id"], where

    stacks = api.ok("GET", "/api/v1/stacks", params={"name": "equals:default"})
    assert stacks["total"] == 1, f"{where}: {stacks}"

    # The password set (and changed) on the other server is the one that works here.
    resp = Api.login_response(server.url, username=made["user"], password=made["password"])
    assert resp.status_code == 200, f"{where}: password login: " + describe(resp)
    me = Api(server.url, resp.json()["access_token"]).ok("GET", "/api/v1/current-user")
    assert me["name"] == made["user"], where
    resp = Api.login_response(server.url, username=made["user"], password=made["old_password"])
    assert resp.status_code == 401, f"{where}: the old password must fail: " + describe(resp)

    # The ZENKEY_ key made by the other server logs in here.
    resp = Api.login_response(server.url, password=made["api_key"], grant_type="zenml-api-key")
    assert resp.status_code == 200, f"{where}: API-key login: " + describe(resp)
    me = Api(server.url, resp.json()["access_token"]).ok("GET", "/api/v1/current-user")
    assert me["name"] == made["sa"] and me["id"] == made["sa_id"], f"{where}: {me}"
    assert me["body"]["is_service_account"] is True, where


def assert_stored_encrypted(db: Database, count: int) -> None:
    """``secret.values`` is base64(iv || tag || ciphertext) with a key, base64(json) without one
    (db-schema.md); with a key set it must not decode to JSON."""
    rows = db.query('SELECT "values" FROM secret' if db.backend == "sqlite" else "SELECT `values` FROM secret")
    assert len(rows) == count, rows
    for (raw,) in rows:
        decoded = base64.b64decode(raw if isinstance(raw, bytes) else str(raw).encode())
        try:
            json.loads(decoded)
        except ValueError:
            continue
        raise AssertionError(f"secret values stored unencrypted: {decoded[:80]!r}")


@pytest.fixture
def ours(target_kind) -> str:
    return target_kind


def test_ours_then_python(backend, ours, server_factory):
    db = server_factory.database(backend)
    first = server_factory.server(ours, db)
    made = create_fixtures(Api.password(first.url, first.admin_user, first.admin_password), "a")
    first.stop()

    assert alembic_version(db) == [ALEMBIC_HEAD], "the database must be at zenml's 0.98.0 revision"
    second = server_factory.server(PYTHON, db)
    check_fixtures(second, made, first.label)
    assert alembic_version(db) == [ALEMBIC_HEAD]


def test_python_then_ours(backend, ours, server_factory):
    db = server_factory.database(backend)
    first = server_factory.server(PYTHON, db)
    made = create_fixtures(Api.password(first.url, first.admin_user, first.admin_password), "b")
    first.stop()

    second = server_factory.server(ours, db)
    check_fixtures(second, made, first.label)
    # ... and it can keep writing to it.
    api = Api.password(second.url, second.admin_user, second.admin_password)
    api.ok("POST", "/api/v1/projects", json={"name": "proj-b2", "display_name": "", "description": ""})
    assert alembic_version(db) == [ALEMBIC_HEAD]


def test_encrypted_secrets_both_ways(backend, ours, server_factory):
    db = server_factory.database(backend, encryption_key=secrets.token_hex(32))

    py = server_factory.server(PYTHON, db)
    api = Api.password(py.url, py.admin_user, py.admin_password)
    s1 = api.ok("POST", "/api/v1/secrets",
                json={"name": "from-python", "private": False, "values": {"username": "alice", "password": "s3cr3t"}})
    py.stop()
    assert_stored_encrypted(db, count=1)

    srv = server_factory.server(ours, db)
    api = Api.password(srv.url, srv.admin_user, srv.admin_password)
    got = api.ok("GET", f"/api/v1/secrets/{s1['id']}", params={"hydrate": "True"})
    assert got["body"]["values"] == {"username": "alice", "password": "s3cr3t"}, got
    s2 = api.ok("POST", "/api/v1/secrets",
                json={"name": "from-ours", "private": True, "values": {"token": "abc"}})
    dup = api.post("/api/v1/secrets", json={"name": "from-python", "private": False, "values": {"x": "y"}})
    assert dup.status_code == 409 and error_detail(dup)[0] == "EntityExistsError", describe(dup)
    srv.stop()
    assert_stored_encrypted(db, count=2)

    py.start()
    api = Api.password(py.url, py.admin_user, py.admin_password)
    got = api.ok("GET", f"/api/v1/secrets/{s2['id']}", params={"hydrate": "True"})
    assert got["body"]["values"] == {"token": "abc"}, got
    assert got["body"]["private"] is True, got
