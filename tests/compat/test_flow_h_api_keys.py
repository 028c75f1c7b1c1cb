"""Flow h: service accounts, API keys and API-key logins with the real zenml 0.98.0 CLI.

See SUMMARY.md "What the flows do" (h), G3 and G14.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

from zenpro_compat.api import Api, describe, error_detail
from zenpro_compat.client import password_login_snippet

KEY_RE = re.compile(r"ZENKEY_[A-Za-z0-9+/=_-]+")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def table_names(stdout: str) -> list[str]:
    """NAME column of a `zenml ... list` table (the cell after the ID)."""
    names = []
    for line in stdout.splitlines():
        cells = line.split()
        for i, cell in enumerate(cells):
            if UUID_RE.fullmatch(cell) and i + 1 < len(cells):
                names.append(cells[i + 1])
                break
    return names


def decode_key(key: str) -> dict:
    """ZENKEY_ + base64({"id": <api key uuid>, "key": <secret>}) (G14)."""
    assert key.startswith("ZENKEY_"), key
    payload = json.loads(base64.b64decode(key[len("ZENKEY_"):]))
    uuid.UUID(payload["id"])
    assert isinstance(payload["key"], str) and payload["key"], payload
    return payload


def one_key(result) -> str:
    keys = set(KEY_RE.findall(result.out))
    assert len(keys) == 1, f"expected exactly one ZENKEY_ key in the output:\n" + result.describe()
    return keys.pop()


def api_key_login(url: str, key: str):
    return Api.login_response(url, password=key, grant_type="zenml-api-key")


def test_service_accounts_and_api_keys(zenpro_server, client_factory):
    srv = zenpro_server
    admin = client_factory.new("admin", srv)
    admin.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()

    # --- create a service account (also creates API key "default") -----------------------------
    r = admin.zenml("service-account", "create", "trace-sa").ok()
    assert "Created service account 'trace-sa'" in r.out, r.describe()
    key1 = one_key(r)
    key1_id = decode_key(key1)["id"]

    r = admin.zenml("service-account", "list").ok()
    assert "trace-sa" in table_names(r.out), r.describe()

    r = admin.zenml("service-account", "api-key", "trace-sa", "create", "second-key").ok()
    assert "Successfully created API key `second-key`" in r.out, r.describe()
    key2 = one_key(r)
    key2_id = decode_key(key2)["id"]
    assert key2_id != key1_id

    r = admin.zenml("service-account", "api-key", "trace-sa", "list").ok()
    assert sorted(table_names(r.out)) == ["default", "second-key"], r.describe()
    assert key1_id in r.out and key2_id in r.out, r.describe()

    # --- `zenml login <url> --api-key`, the key typed on stdin -----------------------------------
    sa = client_factory.new("apikey", srv)
    r = sa.zenml("login", srv.url, "--api-key", stdin=key1 + "\n").ok()
    assert "using an API key" in r.out, r.describe()
    r = sa.zenml("status").ok()
    assert f"Connected to a remote ZenML server: `{srv.url}`" in r.out, r.describe()
    assert "The active user is: 'trace-sa'" in r.out, r.describe()
    assert "Server authentication: API key" in r.out, r.describe()
    r = sa.zenml("stack", "list").ok()
    assert "default" in table_names(r.out), r.describe()

    # --- CI-style: ZENML_STORE_URL + ZENML_STORE_API_KEY, empty config ---------------------------
    env_client = client_factory.new("apikey-env", srv)
    r = env_client.python("""
        from zenml.client import Client
        c = Client()
        print("OUT user=" + c.active_user.name)
        print("OUT projects=" + ",".join(p.name for p in c.list_projects().items))
    """, ZENML_STORE_URL=srv.url, ZENML_STORE_API_KEY=key2).ok()
    assert r.values() == {"user": "trace-sa", "projects": "default"}, r.describe()

    # --- rotate: a new key for the same API key id; the old value stops working -----------------
    r = admin.zenml("service-account", "api-key", "trace-sa", "rotate", "second-key").ok()
    assert "Successfully rotated API key `second-key`" in r.out, r.describe()
    key2_new = one_key(r)
    assert key2_new != key2
    assert decode_key(key2_new)["id"] == key2_id
    resp = api_key_login(srv.url, key2_new)
    assert resp.status_code == 200, "login with the rotated key: " + describe(resp)
    resp = api_key_login(srv.url, key2)
    assert resp.status_code == 401, "login with the pre-rotation key: " + describe(resp)
    assert error_detail(resp)[0] == "CredentialsNotValid", describe(resp)

    # --- deactivate ----------------------------------------------------------------------------
    r = admin.zenml("service-account", "api-key", "trace-sa", "update", "second-key", "--active", "false").ok()
    assert "Successfully updated API key `second-key`" in r.out, r.describe()
    resp = api_key_login(srv.url, key2_new)
    assert resp.status_code == 401, "login with the deactivated key: " + describe(resp)
    assert error_detail(resp)[0] == "CredentialsNotValid", describe(resp)
    assert "not active" in error_detail(resp)[1], describe(resp)

    # The real client with the (old value of the) rotated-and-deactivated key fails cleanly:
    # 401 -> CredentialsNotValid, exit code != 0.
    bad = client_factory.new("apikey-bad", srv)
    r = bad.zenml("project", "list", ZENML_STORE_URL=srv.url, ZENML_STORE_API_KEY=key2).failed()
    assert "CredentialsNotValid" in r.out, r.describe()
    assert "Internal Server Error" not in r.out, r.describe()

    # The first key is untouched by all of this.
    resp = api_key_login(srv.url, key1)
    assert resp.status_code == 200, "login with key 'default': " + describe(resp)
    r = sa.zenml("project", "list").ok()
    assert "default" in table_names(r.out), r.describe()
