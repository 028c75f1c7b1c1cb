"""Two zenpro server processes on one database, real clients running pipelines at once (issue 4,
point 3): several replicas behind one ingress must behave as one server.

Four clients (two per server process) each run the model pipeline (cache off: every run makes new
artifact versions and an implicit model version) and the tagged pipeline, all at the same time.
Afterwards the database must hold exactly what one server would have written: one pipeline row per
pipeline, one tag, gap-free artifact and model version numbers, run indexes 1..N, every step, and
no failed request (a lost race surfaced as a 500 makes a client process fail).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from zenpro_compat import runs, servers

CLIENTS = 4


@pytest.fixture
def replicas(backend, server_factory):
    db = server_factory.database(backend)
    try:
        # The first process creates the schema; the second finds it at 0.98.0.
        first = server_factory.server(servers.ZENPRO, db)
        second = server_factory.server(servers.ZENPRO, db)
    except servers.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    return db, (first, second)


def test_clients_on_two_processes_make_no_duplicates(replicas, tmp_path_factory, client_factory):
    db, procs = replicas
    clients = []
    for i in range(CLIENTS):
        server = procs[i % 2]
        home = tmp_path_factory.mktemp(f"replica-client-{i}")
        clients.append(runs.adopt(client_factory, runs.module_client(f"replica-{i}", server, home)))

    def work(client):
        return [runs.run_pipeline(client, "model"), runs.run_pipeline(client, "tagged")]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        made = [m for result in pool.map(work, clients) for m in result]
    assert len({m["run_id"] for m in made}) == 2 * CLIENTS, made

    def one(sql: str):
        rows = db.query(sql)
        return [tuple(r) for r in rows]

    # One pipeline row per pipeline, each counting its runs; run indexes 1..N without repeats.
    for name in ("trace_model_pipeline", "trace_tagged"):
        pipes = one(f"SELECT id FROM pipeline WHERE name = '{name}'")
        assert len(pipes) == 1, (name, pipes)
        indexes = sorted(r[0] for r in one(f"SELECT `index` FROM pipeline_run WHERE pipeline_id = '{pipes[0][0]}'"))
        assert indexes == list(range(1, CLIENTS + 1)), (name, indexes)

    statuses = one("SELECT status, count(*) FROM pipeline_run GROUP BY status")
    assert statuses == [("completed", 2 * CLIENTS)], statuses
    # model pipeline: 3 steps, tagged: 1 step; none lost, none duplicated.
    steps = one("SELECT status, count(*) FROM step_run GROUP BY status")
    assert steps == [("completed", 4 * CLIENTS)], steps

    # Artifact versions: trace_int is produced by both pipelines (cache off) -> 2N versions,
    # numbered 1..2N; the other two outputs N each.
    expected = {"trace_int": 2 * CLIENTS, "trace_text": CLIENTS, "trace_combined": CLIENTS}
    for name, count in expected.items():
        numbers = sorted(
            int(r[0])
            for r in one(
                "SELECT v.version FROM artifact_version v JOIN artifact a ON a.id = v.artifact_id "
                f"WHERE a.name = '{name}'"
            )
        )
        assert numbers == list(range(1, count + 1)), (name, numbers)
    assert one("SELECT count(*) FROM artifact WHERE name IN ('trace_int', 'trace_text', 'trace_combined')") == [(3,)]

    # One implicit model, N versions numbered 1..N.
    models = one("SELECT id FROM model WHERE name = 'trace_model'")
    assert len(models) == 1, models
    numbers = sorted(r[0] for r in one(f"SELECT number FROM model_version WHERE model_id = '{models[0][0]}'"))
    assert numbers == list(range(1, CLIENTS + 1)), numbers

    # One tag (get-or-create raced by every tagged run), attached once to each tagged run.
    tags = one("SELECT id FROM tag WHERE name = 'trace-pipeline-tag'")
    assert len(tags) == 1, tags
    per_type = dict(one(f"SELECT resource_type, count(*) FROM tag_resource WHERE tag_id = '{tags[0][0]}' GROUP BY resource_type"))
    assert per_type == {"pipeline_run": CLIENTS}, per_type
