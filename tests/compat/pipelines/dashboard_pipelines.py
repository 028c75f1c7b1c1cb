"""Pipelines of the workspace-views browser test (``test_dashboard_workspace.py``).

Everything runs in ONE client process (importing zenml costs seconds per process):

    python dashboard_pipelines.py <fillers>

makes, in this order, with the client's config (logged in to the server under test):

* ``ws_etl`` twice: ``load_rows`` -> ``clean_rows`` / ``row_stats`` -> ``report`` (four steps, the
  artifacts ``raw_rows``, ``clean_rows``, ``row_count`` and ``etl_report`` on the DAG's edges); the
  second run is served from the cache;
* ``ws_broken``: ``load_rows`` -> ``explode`` (fails on purpose; the client re-raises);
* ``ws_train`` with the tag ``nightly`` and the model ``ws_model`` (a model version with linked
  artifacts);
* ``ws_filler`` ``<fillers>`` times (one step, cache off), so the runs list has more than a page;
* the secret ``ws_db_credentials`` (its value must never show in the views).

Prints ``OUT <key>=<value>`` lines: ``etl_run``, ``etl_cached_run``, ``broken_run``, ``train_run``
(run ids), their ``*_status``, ``error`` (the failure), ``filler_runs`` and ``secret_id``.
"""

import sys
from typing import Annotated

from zenml import Model, pipeline, step
from zenml.client import Client

SECRET_NAME = "ws_db_credentials"
SECRET_VALUE = "s3cr3t-Value-that-must-not-show"


@step
def load_rows() -> Annotated[list, "raw_rows"]:
    return [3, 1, 4, 1, 5, 9, 2, 6]


@step
def clean_rows(rows: list) -> Annotated[list, "clean_rows"]:
    return sorted(set(rows))


@step
def row_stats(rows: list) -> Annotated[int, "row_count"]:
    return len(rows)


@step
def report(rows: list, count: int) -> Annotated[str, "etl_report"]:
    return f"{count} raw rows, {len(rows)} distinct: {rows}"


@step
def explode(rows: list) -> int:
    raise RuntimeError(f"intentional failure of the dashboard test ({len(rows)} rows)")


@step
def train(rows: list) -> Annotated[float, "ws_accuracy"]:
    return round(len(rows) / 10, 2)


@step(enable_cache=False)
def tick() -> Annotated[int, "tick"]:
    return 1


@pipeline(enable_cache=True)
def ws_etl():
    rows = load_rows()
    cleaned = clean_rows(rows)
    count = row_stats(rows)
    report(cleaned, count)


@pipeline(enable_cache=False)
def ws_broken():
    explode(load_rows())


@pipeline(tags=["nightly"], model=Model(name="ws_model", description="model of the dashboard test"),
          enable_cache=False)
def ws_train():
    train(load_rows())


@pipeline(enable_cache=False)
def ws_filler():
    tick()


def out(key: str, value: object) -> None:
    print(f"OUT {key}={value}", flush=True)


def main(fillers: int) -> None:
    first = ws_etl()
    out("etl_run", first.id)
    out("etl_status", first.status.value)
    cached = ws_etl()
    out("etl_cached_run", cached.id)
    out("etl_cached_status", cached.status.value)
    try:
        ws_broken()
    except Exception as e:  # the client re-raises the step's failure
        out("error", f"{type(e).__name__}: {e}")
    broken = Client().get_pipeline("ws_broken").last_run
    out("broken_run", broken.id)
    out("broken_status", broken.status.value)
    trained = ws_train()
    out("train_run", trained.id)
    out("train_status", trained.status.value)
    for _ in range(fillers):
        ws_filler()
    out("filler_runs", fillers)
    secret = Client().create_secret(name=SECRET_NAME, values={"password": SECRET_VALUE})
    out("secret_id", secret.id)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
