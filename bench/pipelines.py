"""Pipelines the benchmark runs with the real zenml 0.98.0 client.

    python pipelines.py training     # 5 steps, 5 output artifacts: the template of the seeded history
    python pipelines.py chain10      # 10 steps in a chain: the timed client run

Prints `RUN_ID=<id> STATUS=<status> PIPELINE_SECONDS=<wall time of the pipeline call>`.
"""

import sys
import time
from typing import Annotated, Dict, List

from zenml import pipeline, step


# ----------------------------------------------------------------- training: 5 steps, 5 artifacts
@step
def load_data() -> Annotated[Dict[str, List[float]], "zb_raw_data"]:
    return {"x": [float(i) for i in range(32)], "y": [float(i % 2) for i in range(32)]}


@step
def split_data(raw: Dict[str, List[float]]) -> Annotated[Dict[str, List[float]], "zb_train_set"]:
    return {"x": raw["x"][:24], "y": raw["y"][:24]}


@step
def make_features(train: Dict[str, List[float]]) -> Annotated[List[float], "zb_features"]:
    return [x * 0.5 for x in train["x"]]


@step
def train_model(features: List[float]) -> Annotated[Dict[str, float], "zb_model"]:
    return {"weight": sum(features) / len(features), "bias": 0.1}


@step
def evaluate(model: Dict[str, float], raw: Dict[str, List[float]]) -> Annotated[Dict[str, float], "zb_metrics"]:
    return {"accuracy": 0.9, "loss": abs(model["weight"] - len(raw["x"])) / 100}


@pipeline(enable_cache=False)
def zbench_training():
    raw = load_data()
    train = split_data(raw)
    features = make_features(train)
    model = train_model(features)
    evaluate(model, raw)


# ----------------------------------------------------------------- chain10: 10 steps in a chain
@step
def chain_start() -> int:
    return 1


@step
def chain_link(value: int) -> int:
    return value + 1


@pipeline(enable_cache=False)
def zbench_chain10():
    value = chain_start()
    for i in range(9):
        value = chain_link(value, id=f"chain_link_{i + 1}")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "training"
    fn = {"training": zbench_training, "chain10": zbench_chain10}[which]
    t0 = time.perf_counter()
    run = fn()
    elapsed = time.perf_counter() - t0
    print(f"RUN_ID={run.id} STATUS={run.status.value} PIPELINE_SECONDS={elapsed:.3f}")
