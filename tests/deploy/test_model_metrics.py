"""Per-model latency is recorded under the model's declared id, whatever runs it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from prometheus_client import REGISTRY

from idverify.ml.runner import F32
from idverify.ml.runner_metrics import timed_runners


class EchoRunner:
    batched = True

    def __init__(self) -> None:
        self.calls = 0

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> list[F32]:
        self.calls += 1
        return [feed["x"] * 2]


class Spec:
    id = "test-model-7"


def count(model: str) -> float:
    return REGISTRY.get_sample_value("idverify_model_seconds_count", {"model": model, "backend": "test"}) or 0.0


def test_each_run_is_timed_under_the_model_id_and_answers_unchanged() -> None:
    inner = EchoRunner()
    runner = timed_runners(lambda spec, model: inner, "test")(Spec(), b"")  # type: ignore[arg-type]
    before = count("test-model-7")
    out = runner.run(None, {"x": np.ones(3, dtype=np.float32)})
    runner.run(None, {"x": np.zeros(3, dtype=np.float32)})
    assert out[0].tolist() == [2.0, 2.0, 2.0]
    assert runner.batched is True
    assert inner.calls == 2
    assert count("test-model-7") - before == 2
