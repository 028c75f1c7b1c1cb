"""Flow g: tags (SUMMARY.md "What the flows do" (g)).

A run of ``@pipeline(tags=["trace-pipeline-tag"])``; ``add_tags(run=...)`` and
``add_tags(artifact_version_id=...)``; runs and artifact versions listed by tag;
``zenml tag register``, ``tag list``, ``tag delete``; ``remove_tags(run=...)``. One test per
backend (one server start, one client).
"""

from __future__ import annotations

from zenpro_compat import runs

ADD = """
import json
from uuid import UUID
from zenml import add_tags
from zenml.client import Client

c = Client()
run_id = RUN_ID
av = c.get_artifact_version("trace_int")
add_tags(tags=["trace-run-tag"], run=run_id)
add_tags(tags=["trace-artifact-tag"], artifact_version_id=UUID(str(av.id)))
out = {}
out["run_tags"] = sorted(t.name for t in c.get_pipeline_run(run_id).tags)
out["runs_by_tag"] = [str(r.id) for r in c.list_pipeline_runs(tags=["trace-run-tag"]).items]
out["runs_by_pipeline_tag"] = [str(r.id) for r in c.list_pipeline_runs(tags=["trace-pipeline-tag"]).items]
out["artifact_version"] = str(av.id)
out["artifact_version_tags"] = sorted(t.name for t in c.get_artifact_version(av.id).tags)
out["versions_by_tag"] = [str(v.id) for v in c.list_artifact_versions(tags=["trace-artifact-tag"]).items]
print("OUT json=" + json.dumps(out))
"""

REMOVE = """
import json
from zenml import remove_tags
from zenml.client import Client

c = Client()
run_id = RUN_ID
remove_tags(tags=["trace-run-tag"], run=run_id)
out = {}
out["run_tags"] = sorted(t.name for t in c.get_pipeline_run(run_id).tags)
out["runs_by_tag"] = [str(r.id) for r in c.list_pipeline_runs(tags=["trace-run-tag"]).items]
out["tags"] = sorted(t.name for t in c.list_tags().items)
out["artifact_version_tags"] = sorted(t.name for t in c.get_artifact_version("trace_int").tags)
print("OUT json=" + json.dumps(out))
"""


def test_tags(zenpro_server, client_factory):
    c = client_factory.new("flow-g", zenpro_server)
    runs.login(c, zenpro_server)

    run = runs.run_pipeline(c, "tagged")
    run_id = run["run_id"]

    got = runs.snippet_json(c, ADD.replace("RUN_ID", repr(run_id)))
    assert got["run_tags"] == ["trace-pipeline-tag", "trace-run-tag"], got
    assert got["runs_by_tag"] == [run_id], got
    assert got["runs_by_pipeline_tag"] == [run_id], got
    assert got["artifact_version_tags"] == ["trace-artifact-tag"], got
    assert got["versions_by_tag"] == [got["artifact_version"]], got

    r = c.zenml("tag", "register", "-n", "trace-cli-tag", "-c", "blue").ok()
    rows = runs.table_rows(r.out)
    assert [row[1] for row in rows] == ["trace-cli-tag"], r.describe()
    cli_tag_id = rows[0][0]

    r = c.zenml("tag", "list").ok()
    # ID  NAME  COLOR  EXCLUSIVE  USER
    rows = {row[1]: row for row in runs.table_rows(r.out)}
    assert sorted(rows) == ["trace-artifact-tag", "trace-cli-tag", "trace-pipeline-tag", "trace-run-tag"], r.describe()
    assert rows["trace-cli-tag"][:5] == [cli_tag_id, "trace-cli-tag", "blue", "False", "admin"], r.describe()
    assert runs.items_found(r) == 4

    r = c.zenml("tag", "delete", "trace-cli-tag", "-y").ok()
    assert "Tag 'trace-cli-tag' deleted." in r.out, r.describe()

    got = runs.snippet_json(c, REMOVE.replace("RUN_ID", repr(run_id)))
    assert got["run_tags"] == ["trace-pipeline-tag"], got
    assert got["runs_by_tag"] == [], got
    # remove_tags unlinks; the tag itself stays. The deleted CLI tag is gone.
    assert got["tags"] == ["trace-artifact-tag", "trace-pipeline-tag", "trace-run-tag"], got
    assert got["artifact_version_tags"] == ["trace-artifact-tag"], got
