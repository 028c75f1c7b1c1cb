"""Pipeline deployments with the real zenml 0.98.0 client and the default stack's local deployer:
``zenml pipeline deploy`` records a deployment (``POST/PUT /deployments``) and starts the pipeline
server on 127.0.0.1; ``zenml deployment list|describe`` read it back, ``zenml deployment invoke``
runs the pipeline through it (a real run on our server), ``zenml deployment delete`` stops the
server and removes the record. Run with ``ZENPRO_COMPAT_TARGET=python`` to check the reference.
"""

from __future__ import annotations

import json
import re

import pytest

from zenpro_compat import runs

PIPELINE = '''
from zenml import pipeline, step


@step
def hello(name: str = "x") -> str:
    return f"hello {name}"


@pipeline
def greet(name: str = "x") -> str:
    return hello(name)
'''


@pytest.fixture(scope="module")
def user(zenpro_server, tmp_path_factory):
    client = runs.module_client("deploy", zenpro_server, tmp_path_factory.mktemp("deploy"))
    (client.home / "deployable.py").write_text(PIPELINE)
    yield client
    # Stop the pipeline server the client started, whatever the test did.
    client.zenml("deployment", "delete", "greeter", "-y", timeout=120)


def test_deploy_list_invoke_delete(user, client_factory):
    c = runs.adopt(client_factory, user)
    assert "No deployments found" in c.zenml("deployment", "list").ok().out
    deployed = c.zenml("pipeline", "deploy", "deployable.greet", "--name", "greeter", timeout=300).ok()
    assert "greeter" in deployed.out, deployed.describe()

    rows = runs.table_rows(c.zenml("deployment", "list").ok().out)
    assert len(rows) == 1 and rows[0][1] == "greeter" and "RUNNING" in rows[0], rows
    described = c.zenml("deployment", "describe", "greeter").ok().out
    assert "status: RUNNING" in described and "Pipeline: greet" in described, described
    url = re.search(r"Endpoint URL: (http://127\.0\.0\.1:\d+)", described)
    assert url, described

    invoked = c.zenml("deployment", "invoke", "greeter", '--name="zen"', timeout=300).ok()
    answer = json.loads(invoked.out[invoked.out.index("{"):])
    assert answer["success"] is True and answer["error"] is None, answer
    run_name = answer["metadata"]["run_name"]
    got = runs.snippet_json(c, f"""
        import json
        from zenml.client import Client
        run = Client().get_pipeline_run({run_name!r})
        print("OUT json=" + json.dumps({{"status": run.status.value, "pipeline": run.pipeline.name}}))
    """)
    assert got == {"status": "completed", "pipeline": "greet"}, got

    c.zenml("deployment", "delete", "greeter", "-y", timeout=120).ok()
    assert "No deployments found" in c.zenml("deployment", "list").ok().out
