"""Flow i, second half: a pipeline run inside a second project (SUMMARY.md "What the flows do" (i)).

``trace_tagged`` runs once in ``default``; then ``zenml project register p2``,
``zenml project set p2`` and the same pipeline runs again in ``p2``. ``zenml pipeline runs list``
inside ``p2`` shows only the ``p2`` run; back in ``default`` (``zenml project set default``) the
client sees only the ``default`` run, and each run and pipeline belongs to its own project. One
test per backend (one server start, one client).
"""

from __future__ import annotations

from zenpro_compat import runs

READ_BACK = """
import json
from zenml.client import Client

c = Client()
out = {"active": c.active_project.name}
out["runs"] = [[str(r.id), r.project.name] for r in c.list_pipeline_runs().items]
out["p2_runs"] = [[str(r.id), r.project.name] for r in c.list_pipeline_runs(project="p2").items]
out["pipelines"] = {
    project: [[str(p.id), p.name] for p in c.list_pipelines(project=project).items]
    for project in ("default", "p2")
}
out["run_projects"] = {rid: c.get_pipeline_run(rid).project.name for rid in RUN_IDS}
print("OUT json=" + json.dumps(out))
"""


def test_run_in_second_project(zenpro_server, client_factory):
    c = client_factory.new("flow-i-runs", zenpro_server)
    runs.login(c, zenpro_server)

    in_default = runs.run_pipeline(c, "tagged")

    r = c.zenml("project", "register", "p2").ok()
    assert "Project created successfully" in r.out, r.describe()
    r = c.zenml("project", "set", "p2").ok()
    assert "The active project has been set to p2" in r.out, r.describe()

    in_p2 = runs.run_pipeline(c, "tagged")
    assert in_p2["run_id"] != in_default["run_id"]

    r = c.zenml("pipeline", "runs", "list").ok()
    # ID  INDEX  RUN NAME  PIPELINE  STATUS  STACK  OWNER
    rows = runs.table_rows(r.out)
    assert [row[:5] for row in rows] == [
        [in_p2["run_id"], "1", in_p2["run_name"], "trace_tagged", "✅"]
    ], r.describe()
    assert runs.items_found(r) == 1

    r = c.zenml("project", "set", "default").ok()
    assert "The active project has been set to default" in r.out, r.describe()

    code = READ_BACK.replace("RUN_IDS", repr([in_default["run_id"], in_p2["run_id"]]))
    got = runs.snippet_json(c, code)
    assert got["active"] == "default", got
    assert got["runs"] == [[in_default["run_id"], "default"]], got
    assert got["p2_runs"] == [[in_p2["run_id"], "p2"]], got
    assert got["run_projects"] == {in_default["run_id"]: "default", in_p2["run_id"]: "p2"}, got
    # The pipeline is registered once per project.
    default_pipes, p2_pipes = got["pipelines"]["default"], got["pipelines"]["p2"]
    assert [name for _, name in default_pipes] == ["trace_tagged"], got
    assert [name for _, name in p2_pipes] == ["trace_tagged"], got
    assert default_pipes[0][0] != p2_pipes[0][0], got
