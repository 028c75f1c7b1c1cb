"""Flow d: reading pipelines, runs, steps and artifacts back (SUMMARY.md "What the flows do" (d)).

A fresh ``trace_basic`` run and a failing ``trace_failing`` run are made once per backend; then the
CLI lists (``pipeline list``, ``pipeline runs list``, ``artifact list``, ``artifact version list``)
and the Python client (``list_pipelines``, ``get_pipeline``, ``list_pipeline_runs``,
``get_pipeline_run(...).steps``, ``get_artifact_version(...).load()``, step outputs ``load()``)
must show them.
"""

from __future__ import annotations

import pytest

from zenpro_compat import runs
from zenpro_compat.runs import BASIC_OUTPUTS, COMBINED_VALUE, INT_VALUE, TEXT_VALUE


@pytest.fixture(scope="module")
def made(zenpro_server, tmp_path_factory) -> dict:
    """The logged-in client and the two runs it made."""
    client = runs.module_client("flow-d", zenpro_server, tmp_path_factory.mktemp("flow-d"))
    basic = runs.run_pipeline(client, "basic")
    runs.run_pipeline(client, "failing")
    return {"client": client, "basic": basic}


@pytest.fixture
def c(made, client_factory):
    return runs.adopt(client_factory, made["client"])


def rows_by_name(result, name_col: int = 1) -> dict:
    """{NAME cell: row cells} of a CLI table whose first cells are ID, NAME, ..."""
    return {row[name_col]: row for row in runs.table_rows(result.out)}


def test_cli_lists(c, made):
    basic_run = made["basic"]

    r = c.zenml("pipeline", "list").ok()
    rows = rows_by_name(r)
    assert sorted(rows) == ["trace_basic", "trace_failing"], r.describe()
    # ID  NAME  USER  LATEST RUN STATUS  CREATED
    assert rows["trace_basic"][2:4] == ["admin", "completed"], r.describe()
    assert rows["trace_failing"][2:4] == ["admin", "failed"], r.describe()
    assert runs.items_found(r) == 2

    r = c.zenml("pipeline", "runs", "list").ok()
    # ID  INDEX  RUN NAME  PIPELINE  STATUS  STACK  OWNER
    got = {row[0]: row[1:] for row in runs.table_rows(r.out)}
    assert len(got) == 2, r.describe()
    assert got[basic_run["run_id"]][:5] == ["1", basic_run["run_name"], "trace_basic", "✅", "default"], r.describe()
    (failing_id,) = [rid for rid in got if rid != basic_run["run_id"]]
    failing = got[failing_id]
    assert failing[0] == "1" and failing[1].startswith("trace_failing-"), r.describe()
    assert failing[2:5] == ["trace_failing", "❌", "default"], r.describe()
    assert runs.items_found(r) == 2

    r = c.zenml("artifact", "list").ok()
    rows = rows_by_name(r)
    # ID  NAME  LATEST VERSION NAME  TAGS
    assert {name: row[2] for name, row in rows.items()} == {
        "trace_int": "1", "trace_text": "1", "trace_combined": "1"
    }, r.describe()
    assert runs.items_found(r) == 3

    r = c.zenml("artifact", "version", "list").ok()
    # ID  ARTIFACT  VERSION  TYPE
    got = sorted(tuple(row[1:4]) for row in runs.table_rows(r.out))
    assert got == [
        ("trace_combined", "1", "DataArtifact"),
        ("trace_int", "1", "DataArtifact"),
        ("trace_text", "1", "DataArtifact"),
    ], r.describe()
    assert runs.items_found(r) == 3


READ_BACK = """
import json
from zenml.client import Client

c = Client()
out = {}
out["pipelines"] = sorted(p.name for p in c.list_pipelines().items)
p = c.get_pipeline("trace_basic")
out["pipeline"] = p.name
runs = c.list_pipeline_runs(pipeline_id=p.id, sort_by="desc:created")
out["runs"] = [[str(r.id), r.name, r.status.value] for r in runs.items]
run = c.get_pipeline_run(runs.items[-1].id)
out["steps"] = {
    name: {"status": s.status.value,
           "outputs": {k: [str(a.id) for a in v] for k, v in s.outputs.items()},
           "loaded": {k: [repr(a.load()) for a in v] for k, v in s.outputs.items()}}
    for name, s in run.steps.items()
}
out["artifact_versions"] = sorted(
    [a.artifact.name, a.version] for a in c.list_artifact_versions(sort_by="desc:created").items
)
av = c.get_artifact_version("trace_combined")
out["combined"] = {"id": str(av.id), "version": av.version, "value": av.load()}
out["produce_int_output"] = run.steps["produce_int"].output.load()
out["all_runs"] = sorted([r.name.split("-")[0], r.status.value] for r in c.list_pipeline_runs().items)
print("OUT json=" + json.dumps(out))
"""


def test_python_read_back(c, made):
    basic_run = made["basic"]
    got = runs.snippet_json(c, READ_BACK)
    assert got["pipelines"] == ["trace_basic", "trace_failing"], got
    assert got["pipeline"] == "trace_basic", got
    assert got["runs"] == [[basic_run["run_id"], basic_run["run_name"], "completed"]], got
    assert sorted(got["steps"]) == sorted(BASIC_OUTPUTS), got
    values = {"trace_int": repr(INT_VALUE), "trace_text": repr(TEXT_VALUE), "trace_combined": repr(COMBINED_VALUE)}
    for step, output in BASIC_OUTPUTS.items():
        s = got["steps"][step]
        assert s["status"] == "completed", (step, s)
        assert list(s["outputs"]) == [output] and len(s["outputs"][output]) == 1, (step, s)
        assert s["loaded"] == {output: [values[output]]}, (step, s)
    assert got["artifact_versions"] == [["trace_combined", "1"], ["trace_int", "1"], ["trace_text", "1"]], got
    assert got["combined"]["value"] == COMBINED_VALUE, got
    assert got["combined"]["version"] == "1", got
    assert [got["combined"]["id"]] == got["steps"]["combine"]["outputs"]["trace_combined"], got
    assert got["produce_int_output"] == INT_VALUE, got
    assert got["all_runs"] == [["trace_basic", "completed"], ["trace_failing", "failed"]], got


LOG_METADATA = """
import json
from zenml import log_metadata
from zenml.client import Client

c = Client()
run = c.get_pipeline_run({run_id!r})
version = c.get_artifact_version("trace_int", "1")
log_metadata(metadata={{"accuracy": 0.93, "notes": {{"data": "v2"}}}}, run_id_name_or_prefix=run.id)
log_metadata(metadata={{"rows": 1200}}, step_name="produce_int", run_id_name_or_prefix=run.id)
log_metadata(metadata={{"checked": True}}, artifact_version_id=version.id)
run = c.get_pipeline_run(run.id)
print("OUT json=" + json.dumps({{
    "run": run.run_metadata,
    "step": run.steps["produce_int"].run_metadata,
    "artifact": c.get_artifact_version(version.id).run_metadata,
}}))
"""


def test_log_metadata(c, made):
    """`log_metadata` (POST /run-metadata) on a run, one of its steps and an artifact version."""
    got = runs.snippet_json(c, LOG_METADATA.format(run_id=made["basic"]["run_id"]))
    assert got["run"].get("accuracy") == 0.93 and got["run"].get("notes") == {"data": "v2"}, got
    assert got["step"].get("rows") == 1200, got
    assert got["artifact"].get("checked") is True, got
