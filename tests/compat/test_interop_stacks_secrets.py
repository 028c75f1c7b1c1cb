"""Stacks, components and encrypted secrets written by one server and served by the other.

Both directions, each on SQLite and MariaDB, with ``ZENML_SECRETS_STORE_TYPE=sql`` and one
``ZENML_SECRETS_STORE_ENCRYPTION_KEY`` (and JWT key) shared by both servers:

* the writer (the real 0.98.0 ``Client()`` against it) registers two components with labels,
  configuration, environment and a linked secret, a stack of them with labels, a description and
  linked secrets, a public and a private encrypted secret;
* the writer's REST answers for those objects are recorded, the writer is stopped;
* the reader, on the same database, must give the *same* JSON for the same GET requests (ids and
  timestamps included: it is the same database), decrypt the secrets, and the real client against
  it must see the stack and the secret values.

``test_interop.py`` already checks that encrypted secret *values* survive the switch; here the
whole secret responses are compared, along with the stacks and components that link them.
With ``ZENPRO_COMPAT_TARGET=python`` both sides are the reference (validates the test).
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from zenpro_compat.api import Api, describe
from zenpro_compat.client import password_login_snippet
from zenpro_compat.servers import PYTHON, Database

CREATE_SNIPPET = """
from zenml.client import Client
from zenml.enums import StackComponentType as T
c = Client()
shared = c.create_secret(name="interop_secret", values={"username": "alice", "password": "s3cr3t"})
mine = c.create_secret(name="interop_private", values={"token": "t0k3n", "n": "42"}, private=True)
store = c.create_stack_component(
    name="interop_store", flavor="local", component_type=T.ARTIFACT_STORE,
    configuration={"path": %(path)r}, labels={"team": "ml", "tier": "gold"},
)
orch = c.create_stack_component(
    name="interop_orch", flavor="local_docker", component_type=T.ORCHESTRATOR,
    configuration={"run_args": {"cpu_count": 2, "mem_limit": "1g"}},
    labels={"env": "interop"}, environment={"FOO": "bar"}, secrets=["interop_secret"],
)
stack = c.create_stack(
    name="interop_stack",
    components={T.ARTIFACT_STORE: "interop_store", T.ORCHESTRATOR: "interop_orch"},
    labels={"env": "interop", "owner": "qa"}, secrets=["interop_secret", "interop_private"],
)
stack = c.update_stack("interop_stack", description="written by the other server")
for key, value in (("stack", stack), ("store", store), ("orch", orch), ("shared", shared), ("private", mine)):
    print(f"OUT {key}={value.id}")
"""

READ_SNIPPET = """
from zenml.client import Client
from zenml.enums import StackComponentType as T
c = Client()
s = c.get_stack("interop_stack")
print("OUT components=" + repr(sorted((str(t), v[0].name, v[0].flavor_name) for t, v in s.components.items())))
print("OUT labels=" + repr(dict(sorted(s.labels.items()))))
print("OUT description=" + repr(s.description))
o = c.get_stack_component(T.ORCHESTRATOR, "interop_orch")
print("OUT orch_config=" + repr(o.configuration))
print("OUT orch_env=" + repr(o.environment))
a = c.get_stack_component(T.ARTIFACT_STORE, "interop_store")
print("OUT store_labels=" + repr(dict(sorted(a.labels.items()))))
print("OUT shared=" + repr(dict(sorted(c.get_secret("interop_secret").secret_values.items()))))
print("OUT private=" + repr(dict(sorted(c.get_secret("interop_private").secret_values.items()))))
print("OUT secrets=" + ",".join(sorted(x.name for x in c.list_secrets().items)))
"""


def snapshot(api: Api, ids: dict) -> dict:
    """The JSON of every GET we compare, keyed by request."""
    paths = [
        f"/api/v1/stacks/{ids['stack']}?hydrate=True",
        f"/api/v1/stacks/{ids['stack']}?hydrate=False",
        f"/api/v1/components/{ids['store']}?hydrate=True",
        f"/api/v1/components/{ids['orch']}?hydrate=True",
        f"/api/v1/components/{ids['orch']}?hydrate=False",
        f"/api/v1/secrets/{ids['shared']}?hydrate=True",
        f"/api/v1/secrets/{ids['private']}?hydrate=True",
        "/api/v1/stacks?hydrate=True&size=100",
        "/api/v1/stacks?name=equals:interop_stack",
        "/api/v1/components?hydrate=True&size=100",
        "/api/v1/components?type=orchestrator&size=100",
        "/api/v1/secrets?size=100",
        "/api/v1/secrets?private=true&hydrate=True",
    ]
    out = {}
    for path in paths:
        resp = api.get(path)
        assert resp.status_code == 200, describe(resp)
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            # Same rows; the order of rows with equal sort keys (e.g. the default components,
            # created in one transaction) is not part of the contract.
            body["items"] = sorted(body["items"], key=lambda item: item["id"])
        out[path] = body
    return out


def json_diff(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                diffs.append(f"{path}.{k}: only on the reader: {json.dumps(b[k])[:300]}")
            elif k not in b:
                diffs.append(f"{path}.{k}: only on the writer: {json.dumps(a[k])[:300]}")
            else:
                diffs += json_diff(a[k], b[k], f"{path}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items on the writer, {len(b)} on the reader:\n"
                    f"    writer: {json.dumps(a)[:600]}\n    reader: {json.dumps(b)[:600]}"]
        diffs = []
        for i, (x, y) in enumerate(zip(a, b)):
            diffs += json_diff(x, y, f"{path}[{i}]")
        return diffs
    if a != b or type(a) is not type(b):
        return [f"{path}: writer {json.dumps(a)[:300]} != reader {json.dumps(b)[:300]}"]
    return []


def assert_stored_encrypted(db: Database, count: int) -> None:
    """With an encryption key, ``secret.values`` must not be base64(json) (see test_interop.py)."""
    rows = db.query('SELECT "values" FROM secret' if db.backend == "sqlite" else "SELECT `values` FROM secret")
    assert len(rows) == count, rows
    for (raw,) in rows:
        decoded = base64.b64decode(raw if isinstance(raw, bytes) else str(raw).encode())
        try:
            json.loads(decoded)
        except ValueError:
            continue
        raise AssertionError(f"secret values stored unencrypted: {decoded[:80]!r}")


@pytest.mark.parametrize("direction", ["ours_then_python", "python_then_ours"])
def test_stacks_components_secrets(direction, backend, target_kind, server_factory, client_factory, tmp_path):
    writer_kind, reader_kind = (
        (target_kind, PYTHON) if direction == "ours_then_python" else (PYTHON, target_kind)
    )
    db = server_factory.database(backend, encryption_key=secrets.token_hex(32))
    store_path = tmp_path / "interop-artifacts"
    store_path.mkdir()

    # --- the writer --------------------------------------------------------------------------------
    writer = server_factory.server(writer_kind, db)
    wc = client_factory.new("writer", writer)
    wc.python(password_login_snippet(writer.url, writer.admin_user, writer.admin_password)).ok()
    r = wc.script(CREATE_SNIPPET % {"path": str(store_path)}).ok()
    ids = r.values()
    assert sorted(ids) == ["orch", "private", "shared", "stack", "store"], r.describe()

    wapi = Api.password(writer.url, writer.admin_user, writer.admin_password)
    before = snapshot(wapi, ids)
    stack = before[f"/api/v1/stacks/{ids['stack']}?hydrate=True"]
    assert stack["metadata"]["labels"] == {"env": "interop", "owner": "qa"}, stack
    assert stack["metadata"]["description"] == "written by the other server", stack
    assert sorted(stack["metadata"]["components"]) == ["artifact_store", "orchestrator"], stack
    assert sorted(stack["metadata"]["secrets"]) == sorted([ids["shared"], ids["private"]]), stack
    orch = before[f"/api/v1/components/{ids['orch']}?hydrate=True"]
    assert orch["metadata"]["configuration"] == {"run_args": {"cpu_count": 2, "mem_limit": "1g"}}, orch
    assert orch["metadata"]["labels"] == {"env": "interop"}, orch
    assert orch["metadata"]["environment"] == {"FOO": "bar"}, orch
    assert orch["metadata"]["secrets"] == [ids["shared"]], orch
    store = before[f"/api/v1/components/{ids['store']}?hydrate=True"]
    assert store["metadata"]["configuration"] == {"path": str(store_path)}, store
    assert before[f"/api/v1/secrets/{ids['private']}?hydrate=True"]["body"]["values"] == {"token": "t0k3n", "n": "42"}
    writer.stop()
    assert_stored_encrypted(db, count=2)

    # --- the reader, same database ------------------------------------------------------------------
    reader = server_factory.server(reader_kind, db)
    rapi = Api.password(reader.url, reader.admin_user, reader.admin_password)
    after = snapshot(rapi, ids)
    diffs = []
    for path in before:
        for d in json_diff(before[path], after[path]):
            diffs.append(f"GET {path}\n  {d}")
    assert not diffs, (
        f"{reader.label} answers differently from {writer.label} (the writer) on the same database:\n"
        + "\n".join(diffs)
    )

    # The real client against the reader.
    rc = client_factory.new("reader", reader)
    rc.python(password_login_snippet(reader.url, reader.admin_user, reader.admin_password)).ok()
    r = rc.python(READ_SNIPPET).ok()
    assert r.values() == {
        "components": "[('artifact_store', 'interop_store', 'local'), ('orchestrator', 'interop_orch', 'local_docker')]",
        "labels": "{'env': 'interop', 'owner': 'qa'}",
        "description": "'written by the other server'",
        "orch_config": "{'run_args': {'cpu_count': 2, 'mem_limit': '1g'}}",
        "orch_env": "{'FOO': 'bar'}",
        "store_labels": "{'team': 'ml', 'tier': 'gold'}",
        "shared": "{'password': 's3cr3t', 'username': 'alice'}",
        "private": "{'n': '42', 'token': 't0k3n'}",
        "secrets": "interop_private,interop_secret",
    }, r.describe()
