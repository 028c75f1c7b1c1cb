"""Flow a: logging in with the real zenml 0.98.0 client (password, device flow, env vars).

See SUMMARY.md "What the flows do" (a), G1-G4. One server per backend for the whole module.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from zenpro_compat.client import password_login_snippet

SERVER_ERROR_MARKERS = ("Internal Server Error", "RuntimeError", "panicked", "status code 500", " 500 ")


def wait_for_file(path: Path, seconds: float = 15) -> str:
    """Contents of a file the detached browser child writes (it may finish just after the CLI)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            break
        time.sleep(0.2)
    return path.read_text() if path.exists() else "(the scripted browser wrote nothing)"


def assert_clean_auth_failure(result, why: str) -> None:
    """Non-zero exit, reported as a credentials problem, nothing that smells of a server crash."""
    result.failed()
    out = result.out
    last = [line for line in out.splitlines() if line.strip()][-1]
    assert "CredentialsNotValid" in last or "AuthorizationException" in last, (
        f"{why}: expected the client to end with a credentials error, got {last!r}\n" + result.describe()
    )
    for marker in SERVER_ERROR_MARKERS:
        assert marker not in out, f"{why}: output mentions {marker!r}\n" + result.describe()


def test_password_login_status_and_users(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("password", srv)

    # GlobalConfiguration().set_store(RestZenStoreConfiguration(url, username, password))
    r = c.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()
    assert r.values() == {"user": srv.admin_user, "project": "default", "stack": "default"}, r.describe()

    # A second process reuses the stored credentials (cached token or re-login) - whoami.
    r = c.python("""
        from zenml.client import Client
        u = Client().active_user
        print("OUT name=" + u.name)
        print("OUT is_admin=" + str(u.is_admin))
        print("OUT active=" + str(u.active))
    """).ok()
    assert r.values() == {"name": srv.admin_user, "is_admin": "True", "active": "True"}, r.describe()

    r = c.zenml("status").ok()
    assert f"Connected to a remote ZenML server: `{srv.url}`" in r.out, r.describe()
    assert f"The active user is: '{srv.admin_user}'" in r.out, r.describe()
    assert "The active project is: 'default'" in r.out, r.describe()
    assert "The active stack is: 'default'" in r.out, r.describe()
    assert "Server authentication: password" in r.out, r.describe()

    r = c.zenml("user", "list").ok()
    rows = [line.split() for line in r.out.splitlines() if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", line)]
    names = {row[2] if row[0] == "●" else row[1] for row in rows}
    assert srv.admin_user in names, r.describe()
    assert "1 items found" in r.out, r.describe()


def test_device_flow_login(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("device", srv)

    # `zenml login <url>`: POST /device_authorization, poll POST /login (device_code grant) while
    # our scripted browser logs in as admin and PUTs /devices/{id}/verify.
    r = c.zenml("login", srv.url).ok()
    assert f"Successfully logged in to {srv.url}" in r.out, r.describe()
    m = re.search(r"/devices/verify\?device_id=([0-9a-f-]{36})&user_code=([0-9a-f]+)", r.out)
    assert m, "no verification URL printed:\n" + r.describe()
    device_id = m.group(1)
    browser_log = wait_for_file(c.home / "browser.log")
    assert browser_log.startswith("verify 200 "), f"device verification failed: {browser_log}"

    r = c.zenml("status").ok()
    assert f"Connected to a remote ZenML server: `{srv.url}`" in r.out, r.describe()
    assert f"The active user is: '{srv.admin_user}'" in r.out, r.describe()

    r = c.zenml("authorized-device", "list").ok()
    row = next((line for line in r.out.splitlines() if device_id in line), None)
    assert row is not None, f"device {device_id} not listed:\n" + r.describe()
    assert "active" in row.split(), r.describe()

    r = c.zenml("authorized-device", "describe", device_id).ok()
    assert device_id in r.out, r.describe()


def test_env_var_login(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("env", srv)
    # CI-style: empty config, credentials from the environment.
    r = c.zenml("stack", "list", ZENML_STORE_URL=srv.url, ZENML_STORE_USERNAME=srv.admin_user,
                ZENML_STORE_PASSWORD=srv.admin_password).ok()
    rows = [line.split() for line in r.out.splitlines() if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", line)]
    assert any("default" in row for row in rows), r.describe()

    r = c.python("""
        from zenml.client import Client
        c = Client()
        print("OUT user=" + c.active_user.name)
        print("OUT projects=" + ",".join(sorted(p.name for p in c.list_projects().items)))
    """, ZENML_STORE_URL=srv.url, ZENML_STORE_USERNAME=srv.admin_user,
        ZENML_STORE_PASSWORD=srv.admin_password).ok()
    assert r.values() == {"user": srv.admin_user, "projects": "default"}, r.describe()


def test_wrong_password_is_refused(zenpro_server, client_factory):
    srv = zenpro_server
    c = client_factory.new("wrong-pw", srv)
    r = c.python(password_login_snippet(srv.url, srv.admin_user, "not-the-password"))
    assert_clean_auth_failure(r, "set_store with a wrong password")
    assert "invalid username or password" in r.out, r.describe()

    r = c.zenml("stack", "list", ZENML_STORE_URL=srv.url, ZENML_STORE_USERNAME=srv.admin_user,
                ZENML_STORE_PASSWORD="not-the-password")
    assert_clean_auth_failure(r, "env-var login with a wrong password")

    r = c.zenml("stack", "list", ZENML_STORE_URL=srv.url, ZENML_STORE_USERNAME="no-such-user",
                ZENML_STORE_PASSWORD="whatever")
    assert_clean_auth_failure(r, "env-var login with an unknown user")
