"""ZenML Pro, two workspaces of one organization side by side (issue 6 point 5).

One control plane (ours), one organization with two enrolled workspaces: ``ws-py`` is the Python
zenml 0.98.0 server in Pro mode, ``ws-rs`` is our workspace server in Pro mode, each on its own
SQLite database (``zenpro_compat/side_by_side.py``). One real 0.98.0 client, logged in to the
control plane once, switches between them with ``zenml login <name>`` / ``zenml login <id>``,
runs a 3-step pipeline on each, and each workspace lists only its own run.
"""

from __future__ import annotations

import pytest

from zenpro_compat import servers
from zenpro_compat.pro import running, store_pro_token
from zenpro_compat.runs import run_pipeline
from zenpro_compat.side_by_side import ORG, RUN_IDS_SNIPPET, WS_PY, WS_RS, SideBySide

pytestmark = pytest.mark.pro


@pytest.fixture(scope="module")
def sbs(target_kind: str):
    if target_kind == servers.PYTHON or not servers.zenpro_bin().exists():
        pytest.skip("needs our zenpro binary (our control plane and our workspace server)")
    env = SideBySide(servers.new_workdir("zc-sbs-"))
    with running(env):
        yield env


def connected(result, workspace: str):
    result.ok()
    assert f"Connected to ZenML Pro server: {workspace}" in result.out, result.describe()


def runs_seen(c, project: str = "p1") -> tuple[str, set[str]]:
    c.zenml("project", "set", project).ok()
    v = c.python(RUN_IDS_SNIPPET).ok().values()
    return v["workspace"], {r for r in v["runs"].split(",") if r}


def test_one_client_two_workspaces_each_sees_only_its_runs(sbs: SideBySide, client_factory):
    password = sbs.user("alice", "Admin")
    c = client_factory.new("alice", None, ZENML_PRO_API_URL=sbs.cp.api_url)
    store_pro_token(c, sbs.cp, "alice", password).ok()

    # Both workspaces are in the organization the control plane shows this user.
    r = c.zenml("server", "list").ok()
    assert WS_PY in r.out and WS_RS in r.out, r.describe()

    runs = {}
    # By name to the Python workspace, by id to ours.
    for ws, arg in ((WS_PY, WS_PY), (WS_RS, sbs.rs.id)):
        connected(c.zenml("login", arg, "--pro-api-url", sbs.cp.api_url), ws)
        info = c.python("""
            from zenml.client import Client
            i = Client().zen_store.get_store_info()
            print("OUT url=" + str(Client().zen_store.url))
            print("OUT org=" + str(i.pro_organization_name))
            print("OUT user=" + Client().active_user.name)
        """).ok().values()
        assert info == {"url": sbs.workspace(ws).url, "org": ORG, "user": "alice"}, info
        c.zenml("project", "register", "p1", "--set").ok()
        values = run_pipeline(c, "basic")
        runs[ws] = values["run_id"]

    assert runs[WS_PY] != runs[WS_RS]
    # Back and forth: each workspace lists its own run and not the other's.
    for ws, arg in ((WS_PY, sbs.py.id), (WS_RS, WS_RS)):
        connected(c.zenml("login", arg, "--pro-api-url", sbs.cp.api_url), ws)
        name, seen = runs_seen(c)
        assert name == ws, name
        other = WS_RS if ws == WS_PY else WS_PY
        assert runs[ws] in seen and runs[other] not in seen, (ws, runs, seen)
        r = c.zenml("pipeline", "runs", "list").ok()
        assert runs[ws] in r.out and runs[other] not in r.out, r.describe()

    # Both workspaces are still up and known to the control plane after the switching.
    token = sbs.cp.admin_token()
    for ws in (WS_PY, WS_RS):
        resp = sbs.cp.get(f"/workspaces/{ws}", token)
        assert resp.status_code == 200 and resp.json()["status"] == "available", resp.text
