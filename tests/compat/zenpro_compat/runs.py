"""Helpers for the flows that run pipelines (c, d, f, g, i and the run interop tests).

* :func:`run_pipeline` runs ``tests/compat/pipelines/trace_pipelines.py <which>`` as a client
  process (the file is copied into the client's home, which is the process's cwd and so the
  source root).
* :func:`snippet_json` runs a Python snippet (from a file) that prints ``OUT json=<json>``.
* :func:`describe_runs` reads runs back through ``Client()`` in one process: status, steps,
  their outputs, exception info, whether the artifact bytes exist.
* :func:`table_rows` / :func:`items_found` read the CLI's tables.
* :func:`module_client` / :func:`adopt`: one logged-in client per module and backend, whose
  commands are shown when a test fails.

The default stack's local artifact store has no configured path, so the client resolves it under
its own config directory (``<config>/local_stores/<artifact store id>``): artifact bytes stay with
the client (home) that ran the pipeline, and loading them needs that same client.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any, Iterable, Optional

from .client import Result, ZenClient, password_login_snippet
from .servers import COMPAT_DIR, Server, venv_bin

PIPELINES_FILE = COMPAT_DIR / "pipelines" / "trace_pipelines.py"

# What the steps of trace_pipelines.py return.
INT_VALUE = 42
TEXT_VALUE = "hello from zenml trace"
COMBINED_VALUE = f"{TEXT_VALUE} / {INT_VALUE * 2}"
FAILURE_MESSAGE = f"intentional failure for tracing (got {INT_VALUE})"
BASIC_OUTPUTS = {"produce_int": "trace_int", "produce_text": "trace_text", "combine": "trace_combined"}

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGE_RE = re.compile(r"Page \((\d+)/(\d+)\), (\d+) items found")


def login(client: ZenClient, server: Server) -> dict:
    """Password login of ``client`` to ``server`` (``GlobalConfiguration().set_store``); keeps the
    client's config directory (and so its local artifact stores)."""
    snippet = password_login_snippet(server.url, server.admin_user, server.admin_password)
    return client.python(snippet).ok().values()


def module_client(name: str, server: Server, home: Path) -> ZenClient:
    """A client logged in to ``server`` (for a module-scoped fixture)."""
    client = ZenClient(name, home, server=server)
    login(client, server)
    return client


def adopt(client_factory: Any, client: ZenClient) -> ZenClient:
    """Let the suite's failure report show ``client``'s last commands in this test."""
    if client not in client_factory.clients:
        client_factory.clients.append(client)
    return client


def run_pipeline(client: ZenClient, which: str, timeout: Optional[float] = 300) -> dict:
    """Run pipeline ``which`` (basic | failing | model | tagged) with ``client``'s config.

    The process must exit 0 (the script catches the expected failure of ``failing``). Returns the
    script's ``OUT`` values: ``run_id``, ``run_name``, ``status`` (``error`` for ``failing``).
    """
    target = client.home / PIPELINES_FILE.name
    if not target.exists():
        shutil.copy(PIPELINES_FILE, target)
    result = client.run([str(venv_bin() / "python"), PIPELINES_FILE.name, which], timeout=timeout).ok()
    values = result.values()
    if which == "failing":
        assert "error" in values and "run_id" not in values, "the failing pipeline did not fail:\n" + result.describe()
    else:
        assert values.get("status") == "completed", "the pipeline run did not complete:\n" + result.describe()
    return values


def snippet_json(client: ZenClient, code: str, timeout: Optional[float] = None) -> Any:
    """Run ``code`` from a file in the client's home; it prints ``OUT json=<json.dumps(...)>``."""
    snippets = client.home / "snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    path = snippets / f"snippet{len(client.history):02d}.py"
    path.write_text(textwrap.dedent(code))
    result = client.run([str(venv_bin() / "python"), str(path)], timeout=timeout).ok()
    value = result.values().get("json")
    assert value is not None, "the snippet printed no 'OUT json=' line:\n" + result.describe()
    return json.loads(value)


DESCRIBE_RUNS = """
import json
from pathlib import Path
from zenml.client import Client

c = Client()
RUN_IDS = {run_ids!r}
LAST_RUN_OF = {pipelines!r}
LOAD = {load!r}


def describe(run):
    steps = {{}}
    for name, s in run.steps.items():
        outputs = {{}}
        for out_name, versions in s.outputs.items():
            outputs[out_name] = [
                {{"id": str(v.id), "artifact": v.artifact.name, "version": v.version,
                  "uri_exists": Path(v.uri).exists(),
                  "value": repr(v.load()) if LOAD else None}}
                for v in versions
            ]
        exc = s.exception_info
        steps[name] = {{
            "status": s.status.value,
            "outputs": outputs,
            "exception_message": exc.message if exc else None,
            "exception_traceback": exc.traceback if exc else None,
            "original_step_run_id": str(s.original_step_run_id) if s.original_step_run_id else None,
            "id": str(s.id),
        }}
    return {{
        "id": str(run.id), "name": run.name, "status": run.status.value,
        "pipeline": run.pipeline.name if run.pipeline else None,
        "project": run.project.name, "steps": steps,
        "tags": sorted(t.name for t in run.tags),
    }}


out = {{"runs": {{}}, "last_runs": {{}}}}
for rid in RUN_IDS:
    out["runs"][rid] = describe(c.get_pipeline_run(rid))
for name in LAST_RUN_OF:
    out["last_runs"][name] = describe(c.get_pipeline(name).last_run)
out["artifact_versions"] = c.list_artifact_versions(size=1).total
print("OUT json=" + json.dumps(out))
"""


def describe_runs(client: ZenClient, run_ids: Iterable[str] = (), last_run_of: Iterable[str] = (),
                  load: bool = False) -> dict:
    """``{"runs": {id: run}, "last_runs": {pipeline: run}, "artifact_versions": total}`` where a
    run is ``{id, name, status, pipeline, project, tags, steps: {name: {status, outputs: {name:
    [{id, artifact, version, uri_exists, value}]}, exception_message, exception_traceback,
    original_step_run_id, id}}}`` as ``Client()`` reads it (``value``: ``repr(load())`` if
    ``load``)."""
    code = DESCRIBE_RUNS.format(run_ids=list(run_ids), pipelines=list(last_run_of), load=load)
    return snippet_json(client, code)


def step_statuses(run: dict) -> dict:
    return {name: step["status"] for name, step in run["steps"].items()}


def output_ids(run: dict) -> dict:
    """{step: {output name: [artifact version ids]}}"""
    return {name: {k: [v["id"] for v in vs] for k, vs in step["outputs"].items()}
            for name, step in run["steps"].items()}


def table_rows(stdout: str) -> list[list[str]]:
    """Rows of a CLI table: the cells from the first UUID (the ID column) on."""
    rows = []
    for line in stdout.splitlines():
        cells = line.split()
        for i, cell in enumerate(cells):
            if UUID_RE.fullmatch(cell):
                rows.append(cells[i:])
                break
    return rows


def items_found(result: Result) -> int:
    m = PAGE_RE.search(result.out)
    assert m, "no 'Page (x/y), N items found' line:\n" + result.describe()
    return int(m.group(3))
