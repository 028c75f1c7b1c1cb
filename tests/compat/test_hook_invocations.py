"""Step hooks with the real zenml 0.98.0 client: ``on_success`` / ``on_failure`` hooks run, and the
client records each invocation (``POST /hook_invocations``); reading them back through
``list_hook_invocations`` / ``get_hook_invocation`` shows type, status, source, step and run.
Both servers must give the same answers (run with ``ZENPRO_COMPAT_TARGET=python`` to check).
"""

from __future__ import annotations

import pytest

from zenpro_compat import runs

HOOKS = """
import json
from zenml import pipeline, step
from zenml.client import Client
from zenml.models import HookInvocationFilter


def ok_hook():
    print("success hook ran")


def fail_hook(exception: BaseException):
    print("failure hook ran:", exception)


@step(on_success=ok_hook)
def first() -> int:
    return 1


@step(on_failure=fail_hook)
def second(x: int) -> int:
    raise ValueError("hooked failure")


@pipeline(enable_cache=False)
def hooked():
    second(first())


try:
    hooked()
except Exception as e:
    failed = type(e).__name__
c = Client()
run = c.list_pipeline_runs(pipeline_name="hooked", sort_by="desc:created", size=1)[0]
page = c.zen_store.list_hook_invocations(HookInvocationFilter(pipeline_run_id=run.id, sort_by="start_time"))
steps = {s.id: name for name, s in run.steps.items()}
found = [
    {
        "hook_type": h.hook_type.value,
        "status": h.status.value,
        "source": h.source,
        "step": steps.get(h.step_run_id),
        "run": str(h.pipeline_run_id) == str(run.id),
        "name": h.name,
    }
    for h in page.items
]
one = c.zen_store.get_hook_invocation(page.items[0].id)
print("OUT json=" + json.dumps({
    "failed": failed, "run_status": run.status.value, "total": page.total, "found": found,
    "get_same": str(one.id) == str(page.items[0].id) and one.source == page.items[0].source,
}))
"""


@pytest.fixture(scope="module")
def user(zenpro_server, tmp_path_factory):
    return runs.module_client("hooks", zenpro_server, tmp_path_factory.mktemp("hooks"))


def test_step_hooks_are_recorded(user, client_factory):
    c = runs.adopt(client_factory, user)
    got = runs.snippet_json(c, HOOKS)
    assert got["failed"] == "RuntimeError" and got["run_status"] == "failed", got
    assert got["total"] == 2, got
    by_type = {h["hook_type"]: h for h in got["found"]}
    success = by_type["step_success"]
    assert success["source"].endswith(".ok_hook"), got
    assert {k: v for k, v in success.items() if k != "source"} == {
        "hook_type": "step_success", "status": "completed", "step": "first", "run": True, "name": None,
    }, got
    assert by_type["step_failure"]["step"] == "second" and by_type["step_failure"]["source"].endswith("fail_hook"), got
    assert got["get_same"], got
    # The client logged no failure to record an invocation.
    assert "Failed to record" not in c.history[-1].stdout + c.history[-1].stderr, c.history[-1].describe()
