"""Flow e: secrets with the real zenml 0.98.0 CLI and ``Client()``.

See SUMMARY.md "What the flows do" (e) and console/flow-e.log: CLI create (and the duplicate),
list, get (and a missing one), update, delete; ``Client()`` create_secret(private=True), list,
get, update_secret, delete_secret; and private secrets stay private: a second user (created through
the REST API, as the dashboard does) neither lists nor reads nor changes them, but sees the public
ones. One server per backend.
"""

from __future__ import annotations

import re

from zenpro_compat.api import Api, describe, error_detail
from zenpro_compat.client import password_login_snippet

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SERVER_ERROR_MARKERS = ("Internal Server Error", "status code 500", "panicked")

SECOND_USER = "secret-user"
SECOND_PASSWORD = "Sec0nd-pw-789"


def secret_rows(stdout: str) -> dict:
    """{name: id} of `zenml secret list` (columns: ID, NAME)."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) >= 2 and UUID_RE.fullmatch(cells[0]):
            rows[cells[1]] = cells[0]
    return rows


def secret_values(stdout: str) -> dict:
    """{key: value} of the SECRET KEY / SECRET VALUE table of `zenml secret get|create`."""
    values, in_table = {}, False
    for line in stdout.splitlines():
        stripped = line.strip()
        if stripped.startswith("SECRET KEY"):
            in_table = True
            continue
        if not in_table or (stripped and set(stripped) <= {"─"}):
            continue
        if not stripped:
            in_table = False
            continue
        cells = stripped.split(None, 1)
        values[cells[0]] = cells[1].strip() if len(cells) > 1 else ""
    return values


def clean_failure(result, *needles: str) -> None:
    result.failed()
    for needle in needles:
        assert needle in result.out, f"expected {needle!r} in the error:\n" + result.describe()
    for marker in SERVER_ERROR_MARKERS:
        assert marker not in result.out, f"output mentions {marker!r}:\n" + result.describe()


def user_request(name: str, password: str) -> dict:
    """What ``Client().create_user(name, password)`` sends (UserRequest.model_dump_json())."""
    return {
        "email": None, "email_opted_in": None, "password": password, "activation_token": None,
        "external_user_id": None, "user_metadata": None, "oidc_claims": None, "avatar_url": None,
        "name": name, "full_name": "", "is_admin": False, "active": True,
    }


def test_secrets_cli(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("secrets-cli", srv)
    c.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()

    r = c.zenml("secret", "create", "trace_secret", "--username=alice", "--password=s3cr3t").ok()
    assert "Secret 'trace_secret' successfully created." in r.out, r.describe()
    assert secret_values(r.out) == {"username": "***", "password": "***"}, r.describe()

    r = c.zenml("secret", "create", "trace_secret", "--username=bob")
    clean_failure(r, "Secret with name already exists.",
                  "Found an existing public secret with the same 'trace_secret' name")

    r = c.zenml("secret", "list").ok()
    rows = secret_rows(r.out)
    assert list(rows) == ["trace_secret"], r.describe()
    secret_id = rows["trace_secret"]

    r = c.zenml("secret", "get", "trace_secret").ok()
    assert f"Fetched secret with name `trace_secret` and ID `{secret_id}`:" in r.out, r.describe()
    assert secret_values(r.out) == {"username": "alice", "password": "s3cr3t"}, r.describe()

    r = c.zenml("secret", "get", "missing")
    clean_failure(r, "Could not find a secret with name id or prefix `missing`")

    r = c.zenml("secret", "update", "trace_secret", "--username=bob").ok()
    assert f"Updating secret with name 'trace_secret' and ID '{secret_id}'" in r.out, r.describe()
    assert "Secret 'trace_secret' successfully updated." in r.out, r.describe()

    r = c.zenml("secret", "get", "trace_secret").ok()
    assert secret_values(r.out) == {"username": "bob", "password": "s3cr3t"}, r.describe()

    r = c.zenml("secret", "delete", "trace_secret", "-y").ok()
    assert "Secret 'trace_secret' successfully deleted." in r.out, r.describe()

    r = c.zenml("secret", "list").ok()
    assert secret_rows(r.out) == {}, r.describe()
    assert "No secrets found for the given filters." in r.out, r.describe()


def test_secrets_python_and_private(zenpro_server, client_factory):
    srv = zenpro_server
    admin = client_factory.new("secrets-admin", srv)
    admin.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()

    # --- create_secret(private=True), a public one, list, get, update_secret -------------------------
    r = admin.python("""
        from zenml.client import Client
        c = Client()
        s = c.create_secret(name="trace_py_secret", values={"token": "abc"}, private=True)
        print("OUT private_id=" + str(s.id))
        print("OUT private=" + str(s.private))
        p = c.create_secret(name="trace_shared", values={"user": "svc", "key": "k1"}, private=False)
        print("OUT public_id=" + str(p.id))
        print("OUT list=" + ",".join(sorted(x.name for x in c.list_secrets().items)))
        print("OUT private_list=" + ",".join(x.name for x in c.list_secrets(private=True).items))
        s = c.get_secret("trace_py_secret")
        print("OUT values=" + repr(s.secret_values))
        c.update_secret("trace_py_secret", add_or_update_values={"token": "def", "extra": "1"})
        s = c.get_secret("trace_py_secret")
        print("OUT updated=" + repr(dict(sorted(s.secret_values.items()))))
        print("OUT owner=" + s.user.name)
    """).ok()
    v = r.values()
    private_id, public_id = v.pop("private_id"), v.pop("public_id")
    assert v == {
        "private": "True",
        "list": "trace_py_secret,trace_shared",
        "private_list": "trace_py_secret",
        "values": "{'token': 'abc'}",
        "updated": "{'extra': '1', 'token': 'def'}",
        "owner": srv.admin_user,
    }, r.describe()

    # --- a second user sees the public secret only ------------------------------------------------------
    api = Api.password(srv.url, srv.admin_user, srv.admin_password)
    api.ok("POST", "/api/v1/users", json=user_request(SECOND_USER, SECOND_PASSWORD))
    other = client_factory.new("secrets-other", srv)
    r = other.python(password_login_snippet(srv.url, SECOND_USER, SECOND_PASSWORD)).ok()
    assert r.values()["user"] == SECOND_USER, r.describe()

    r = other.python(f"""
        from zenml.client import Client
        c = Client()
        print("OUT list=" + ",".join(sorted(x.name for x in c.list_secrets().items)))
        for ref in ("trace_py_secret", {private_id!r}):
            try:
                s = c.get_secret(ref)
                print("OUT get_private=" + repr(s.secret_values))
            except KeyError as e:
                print("OUT get_private=KeyError")
        s = c.get_secret("trace_shared")
        print("OUT shared=" + repr(dict(sorted(s.secret_values.items()))))
        # Names of private secrets are per user: the same name is free for this user.
        mine = c.create_secret(name="trace_py_secret", values={{"token": "other"}}, private=True)
        print("OUT mine_id=" + str(mine.id))
        print("OUT mine=" + repr(c.get_secret("trace_py_secret").secret_values))
    """).ok()
    v = r.values()
    mine_id = v.pop("mine_id")
    assert v == {
        "list": "trace_shared",
        "get_private": "KeyError",
        "shared": "{'key': 'k1', 'user': 'svc'}",
        "mine": "{'token': 'other'}",
    }, r.describe()
    assert r.stdout.count("OUT get_private=KeyError") == 2, r.describe()
    assert mine_id != private_id

    # The same through REST: the other user's private secret is a 404 for GET, PUT and DELETE.
    other_api = Api.password(srv.url, SECOND_USER, SECOND_PASSWORD)
    for method, body in (("GET", None), ("PUT", {"values": {"token": "stolen"}}), ("DELETE", None)):
        resp = other_api.request(method, f"/api/v1/secrets/{private_id}", json=body)
        assert resp.status_code == 404 and error_detail(resp)[0] == "KeyError", describe(resp)
    names = sorted(other_api.list_names("/api/v1/secrets"))
    assert names == ["trace_py_secret", "trace_shared"], names  # its own private one + the public one
    got = other_api.ok("GET", f"/api/v1/secrets/{public_id}", params={"hydrate": "True"})
    assert got["body"]["values"] == {"user": "svc", "key": "k1"}, got

    # --- and the admin does not see the second user's private secret; delete -------------------------
    r = admin.python(f"""
        from zenml.client import Client
        c = Client()
        print("OUT list=" + ",".join(sorted(x.name for x in c.list_secrets().items)))
        print("OUT values=" + repr(dict(sorted(c.get_secret("trace_py_secret").secret_values.items()))))
        try:
            c.get_secret({mine_id!r})
            print("OUT get_other=found")
        except KeyError:
            print("OUT get_other=KeyError")
        c.delete_secret("trace_py_secret")
        c.delete_secret("trace_shared")
        print("OUT after=" + ",".join(x.name for x in c.list_secrets().items))
    """).ok()
    assert r.values() == {
        "list": "trace_py_secret,trace_shared",
        "values": "{'extra': '1', 'token': 'def'}",
        "get_other": "KeyError",
        "after": "",
    }, r.describe()
    # The second user's own private secret is untouched by all of this.
    got = other_api.ok("GET", f"/api/v1/secrets/{mine_id}", params={"hydrate": "True"})
    assert got["body"]["values"] == {"token": "other"} and got["body"]["private"] is True, got
    assert other_api.list_names("/api/v1/secrets") == ["trace_py_secret"]
