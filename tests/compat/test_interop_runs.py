"""Pipeline runs made through one server are served by the other (same database).

(a) The Python reference server records a fresh ``trace_basic`` run and a failing
    ``trace_failing`` run; then it is stopped and ours serves the same database: the runs are
    listed (``zenml pipeline runs list``), read back with their steps, outputs and exception info,
    their artifacts ``load()``, and a rerun through ours is fully cached from the Python server's
    step runs.
(b) The reverse: ours records the runs, the Python server reads them and caches from them.

Both servers get the database's JWT key. The artifact store is the client's local store, so the
artifact bytes are on the client's disk: one client (one config directory, one home) is used for
both phases and only re-pointed (password login) to the second server, whose port differs.
With ``ZENPRO_COMPAT_TARGET=python`` "ours" is the reference server too (validates the test).
"""

from __future__ import annotations

import pytest

from zenpro_compat import runs
from zenpro_compat.runs import BASIC_OUTPUTS, COMBINED_VALUE, FAILURE_MESSAGE, INT_VALUE, TEXT_VALUE
from zenpro_compat.servers import PYTHON

VALUES = {"produce_int": repr(INT_VALUE), "produce_text": repr(TEXT_VALUE), "combine": repr(COMBINED_VALUE)}


@pytest.fixture
def ours(target_kind) -> str:
    return target_kind


def record_runs(client, server) -> dict:
    runs.login(client, server)
    basic = runs.run_pipeline(client, "basic")
    runs.run_pipeline(client, "failing")
    return basic


def check_runs(client, server, basic: dict, written_by: str) -> None:
    """``server`` serves the runs ``written_by`` the other one made, and caches from them."""
    where = f"{server.label}, runs recorded by {written_by}"
    runs.login(client, server)

    r = client.zenml("pipeline", "runs", "list").ok()
    # ID  INDEX  RUN NAME  PIPELINE  STATUS  STACK  OWNER
    rows = {row[0]: row[1:] for row in runs.table_rows(r.out)}
    assert len(rows) == 2 and basic["run_id"] in rows, f"{where}:\n{r.describe()}"
    assert rows[basic["run_id"]][:4] == ["1", basic["run_name"], "trace_basic", "✅"], f"{where}:\n{r.describe()}"
    (failing,) = [row for rid, row in rows.items() if rid != basic["run_id"]]
    assert failing[2:4] == ["trace_failing", "❌"], f"{where}:\n{r.describe()}"

    # Writing on the other server's data: the rerun's steps come from the recorded run's cache.
    rerun = runs.run_pipeline(client, "basic")

    info = runs.describe_runs(client, [basic["run_id"], rerun["run_id"]], last_run_of=["trace_failing"], load=True)
    first, cached = info["runs"][basic["run_id"]], info["runs"][rerun["run_id"]]
    assert first["status"] == "completed", (where, first)
    assert runs.step_statuses(first) == {name: "completed" for name in BASIC_OUTPUTS}, (where, first)
    for step, output in BASIC_OUTPUTS.items():
        (version,) = first["steps"][step]["outputs"][output]
        assert version["value"] == VALUES[step], (where, step, version)

    failed = info["last_runs"]["trace_failing"]
    assert failed["status"] == "failed", (where, failed)
    assert runs.step_statuses(failed) == {"produce_int": "cached", "explode": "failed"}, (where, failed)
    assert failed["steps"]["explode"]["exception_message"] == FAILURE_MESSAGE, (where, failed)
    assert "RuntimeError" in (failed["steps"]["explode"]["exception_traceback"] or ""), (where, failed)

    assert cached["status"] == "completed", (where, cached)
    assert runs.step_statuses(cached) == {name: "cached" for name in BASIC_OUTPUTS}, (where, cached)
    assert runs.output_ids(cached) == runs.output_ids(first), (where, first, cached)
    for step in BASIC_OUTPUTS:
        assert cached["steps"][step]["original_step_run_id"] == first["steps"][step]["id"], (where, step, cached)
    assert info["artifact_versions"] == 3, (where, info)


def test_python_runs_served_by_ours(backend, ours, server_factory, client_factory):
    db = server_factory.database(backend)
    first = server_factory.server(PYTHON, db)
    client = client_factory.new("interop-runs", first)
    basic = record_runs(client, first)
    first.stop()

    second = server_factory.server(ours, db)
    client.server = second
    check_runs(client, second, basic, first.label)


def test_our_runs_served_by_python(backend, ours, server_factory, client_factory):
    db = server_factory.database(backend)
    first = server_factory.server(ours, db)
    client = client_factory.new("interop-runs", first)
    basic = record_runs(client, first)
    first.stop()

    second = server_factory.server(PYTHON, db)
    client.server = second
    check_runs(client, second, basic, first.label)
