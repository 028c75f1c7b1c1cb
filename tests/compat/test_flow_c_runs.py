"""Flow c: pipeline runs with the real zenml 0.98.0 client (SUMMARY.md "What the flows do" (c)).

The 3-step ``trace_basic`` pipeline (``produce_int``, ``produce_text`` -> ``combine``) runs fresh,
then again fully cached, then ``trace_failing`` (cached ``produce_int``, then ``explode`` raises)
on the default stack with the local orchestrator. Each run is read back through ``Client()`` the
way a user checks it. One server and one logged-in client per backend; the tests run in order and
build on each other (the cached run needs the fresh one).
"""

from __future__ import annotations

import pytest

from zenpro_compat import runs
from zenpro_compat.runs import BASIC_OUTPUTS, FAILURE_MESSAGE


@pytest.fixture(scope="module")
def user(zenpro_server, tmp_path_factory):
    return runs.module_client("flow-c", zenpro_server, tmp_path_factory.mktemp("flow-c"))


@pytest.fixture(scope="module")
def state(user) -> dict:
    """Run ids passed between the tests (one dict per backend)."""
    return {}


@pytest.fixture
def c(user, client_factory):
    return runs.adopt(client_factory, user)


def test_fresh_run(c, state):
    made = runs.run_pipeline(c, "basic")
    state["fresh"] = made["run_id"]
    info = runs.describe_runs(c, [made["run_id"]])
    run = info["runs"][made["run_id"]]
    assert run["name"] == made["run_name"] and run["pipeline"] == "trace_basic", run
    assert run["status"] == "completed", run
    assert runs.step_statuses(run) == {name: "completed" for name in BASIC_OUTPUTS}, run
    for step, output in BASIC_OUTPUTS.items():
        outs = run["steps"][step]["outputs"]
        assert list(outs) == [output] and len(outs[output]) == 1, (step, run)
        version = outs[output][0]
        assert (version["artifact"], version["version"]) == (output, "1"), (step, version)
        assert version["uri_exists"], f"artifact bytes of {output} missing on the client: {version}"
        assert run["steps"][step]["exception_message"] is None, (step, run)
    assert info["artifact_versions"] == 3, info


def test_cached_rerun(c, state):
    assert "fresh" in state, "needs test_fresh_run"
    made = runs.run_pipeline(c, "basic")
    assert made["run_id"] != state["fresh"], made
    info = runs.describe_runs(c, [state["fresh"], made["run_id"]])
    fresh, cached = info["runs"][state["fresh"]], info["runs"][made["run_id"]]
    assert cached["status"] == "completed", cached
    assert runs.step_statuses(cached) == {name: "cached" for name in BASIC_OUTPUTS}, cached
    # The cached steps point at the fresh run's steps and reuse its artifact versions: no new ones.
    for step in BASIC_OUTPUTS:
        assert cached["steps"][step]["original_step_run_id"] == fresh["steps"][step]["id"], (step, cached)
    assert runs.output_ids(cached) == runs.output_ids(fresh), (fresh, cached)
    assert info["artifact_versions"] == 3, info
    # ... and the fresh run is untouched.
    assert fresh["status"] == "completed", fresh
    assert runs.step_statuses(fresh) == {name: "completed" for name in BASIC_OUTPUTS}, fresh


def test_failing_run(c, state):
    made = runs.run_pipeline(c, "failing")
    assert "Pipeline run has failed due to failure in step(s): explode" in made["error"], made
    info = runs.describe_runs(c, [state["fresh"]] if "fresh" in state else [], last_run_of=["trace_failing"])
    run = info["last_runs"]["trace_failing"]
    assert run["status"] == "failed", run
    assert runs.step_statuses(run) == {"produce_int": "cached", "explode": "failed"}, run
    explode = run["steps"]["explode"]
    assert explode["exception_message"] == FAILURE_MESSAGE, explode
    assert "RuntimeError" in (explode["exception_traceback"] or ""), explode
    assert explode["outputs"] == {}, explode
    assert run["steps"]["produce_int"]["exception_message"] is None, run
    # The failing run made no artifact version (produce_int came from the cache).
    assert info["artifact_versions"] == 3, info
    if "fresh" in state:
        fresh = info["runs"][state["fresh"]]
        assert runs.output_ids(run)["produce_int"] == runs.output_ids(fresh)["produce_int"], (fresh, run)
