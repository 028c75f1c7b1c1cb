"""Flow f: models and model versions (SUMMARY.md "What the flows do" (f)).

``create_model`` / ``create_model_version`` through ``Client()``; a run of a pipeline declared with
``@pipeline(model=Model(name="trace_model"))``, which makes the model and its version ``1`` on the
server implicitly and links the run's artifacts to it; ``zenml model list`` and
``zenml model version list``; ``list_model_versions``, ``get_model_version(name, "latest")``,
``list_model_version_artifact_links`` and ``mv.get_artifact(...).load()``. One test per backend
(one server start, one client).
"""

from __future__ import annotations

from zenpro_compat import runs
from zenpro_compat.runs import COMBINED_VALUE

CREATE = """
import json
from zenml.client import Client

c = Client()
m = c.create_model(name="trace_model_manual", description="manual", tags=["trace-model-tag"])
mv = c.create_model_version(model_name_or_id=m.id, name="v1", description="first")
print("OUT json=" + json.dumps({"model_id": str(m.id), "version_id": str(mv.id), "version": mv.name,
                                "number": mv.number, "model": mv.model.name}))
"""

READ_BACK = """
import json
from zenml.client import Client

c = Client()
out = {}
out["models"] = sorted(m.name for m in c.list_models().items)
manual = c.get_model("trace_model_manual")
out["manual"] = {"id": str(manual.id), "description": manual.description,
                 "tags": sorted(t.name for t in manual.tags)}
v1 = c.get_model_version("trace_model_manual", "v1")
out["manual_v1"] = {"id": str(v1.id), "number": v1.number, "description": v1.description}
out["versions"] = [[v.name, v.number] for v in c.list_model_versions(model="trace_model").items]
mv = c.get_model_version("trace_model", "latest")
out["latest"] = {"id": str(mv.id), "name": mv.name, "number": mv.number, "model": mv.model.name}
links = c.list_model_version_artifact_links(model_version_id=mv.id)
out["links"] = sorted(l.artifact_version.artifact.name for l in links.items)
out["artifact"] = mv.get_artifact("trace_combined").load()
run = c.get_pipeline_run(RUN_ID)
out["run_model_version"] = str(run.model_version.id) if run.model_version else None
out["version_runs"] = sorted(str(r) for r in mv.pipeline_run_ids.values())
print("OUT json=" + json.dumps(out))
"""


def test_models(zenpro_server, client_factory):
    c = client_factory.new("flow-f", zenpro_server)
    runs.login(c, zenpro_server)

    made = runs.snippet_json(c, CREATE)
    assert (made["model"], made["version"], made["number"]) == ("trace_model_manual", "v1", 1), made

    run = runs.run_pipeline(c, "model")

    r = c.zenml("model", "list").ok()
    # ID  NAME  LATEST VERSION NAME  TAGS
    rows = {row[1]: row for row in runs.table_rows(r.out)}
    assert sorted(rows) == ["trace_model", "trace_model_manual"], r.describe()
    assert rows["trace_model"][2] == "1", r.describe()
    assert rows["trace_model_manual"][2] == "v1", r.describe()
    assert rows["trace_model_manual"][0] == made["model_id"], r.describe()
    assert runs.items_found(r) == 2

    r = c.zenml("model", "version", "list", "--model=trace_model").ok()
    # ID  MODEL  NUMBER  STAGE
    rows = runs.table_rows(r.out)
    assert [row[1:4] for row in rows] == [["trace_model", "1", "None"]], r.describe()
    assert runs.items_found(r) == 1

    got = runs.snippet_json(c, READ_BACK.replace("RUN_ID", repr(run["run_id"])))
    assert got["models"] == ["trace_model", "trace_model_manual"], got
    assert got["manual"] == {"id": made["model_id"], "description": "manual", "tags": ["trace-model-tag"]}, got
    assert got["manual_v1"] == {"id": made["version_id"], "number": 1, "description": "first"}, got
    assert got["versions"] == [["1", 1]], got
    assert got["latest"]["name"] == "1" and got["latest"]["number"] == 1, got
    assert got["latest"]["model"] == "trace_model", got
    assert got["latest"]["id"] == rows[0][0], (got, rows)
    assert got["links"] == ["trace_combined", "trace_int", "trace_text"], got
    assert got["artifact"] == COMBINED_VALUE, got
    assert got["run_model_version"] == got["latest"]["id"], got
    assert got["version_runs"] == [run["run_id"]], got
