"""Pipelines of the compatibility suite (flows c, d, f, g, i and the run interop tests).

A copy of the reference trace's ``tools/trace_pipelines.py`` (same steps, artifact names, model
and tags, so runs look like the recorded ones), with machine-readable output. The tests copy this
file into a client's home and run it there with that client's config:

    python trace_pipelines.py <which>      which = basic | failing | model | tagged

Prints ``OUT run_id=..``, ``OUT run_name=..``, ``OUT status=..`` for the run it made; a failing
pipeline prints ``OUT error=<exception class>: <message>`` (the client re-raises the step failure)
and exits 0. ``zenpro_compat/runs.py`` knows what the steps return.
"""

import sys
from typing import Annotated

from zenml import Model, pipeline, step


@step
def produce_int() -> Annotated[int, "trace_int"]:
    return 42


@step
def produce_text() -> Annotated[str, "trace_text"]:
    return "hello from zenml trace"


@step
def combine(number: int, text: str) -> Annotated[str, "trace_combined"]:
    return f"{text} / {number * 2}"


@step
def explode(number: int) -> int:
    raise RuntimeError(f"intentional failure for tracing (got {number})")


@pipeline
def trace_basic():
    n = produce_int()
    t = produce_text()
    combine(n, t)


@pipeline
def trace_failing():
    n = produce_int()
    explode(n)


@pipeline(
    model=Model(name="trace_model", description="model for API tracing"),
    enable_cache=False,
)
def trace_model_pipeline():
    n = produce_int()
    t = produce_text()
    combine(n, t)


@pipeline(tags=["trace-pipeline-tag"], enable_cache=False)
def trace_tagged():
    produce_int()


PIPELINES = {
    "basic": trace_basic,
    "failing": trace_failing,
    "model": trace_model_pipeline,
    "tagged": trace_tagged,
}


def main(which: str) -> None:
    if which not in PIPELINES:
        raise SystemExit(f"unknown pipeline {which!r}; one of {sorted(PIPELINES)}")
    try:
        run = PIPELINES[which]()
    except Exception as e:  # the client re-raises a step failure
        if which != "failing":
            raise
        print(f"OUT error={type(e).__name__}: {e}")
        return
    print(f"OUT run_id={run.id}")
    print(f"OUT run_name={run.name}")
    print(f"OUT status={run.status.value}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "basic")
