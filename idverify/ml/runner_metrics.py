"""Per-model latency: every run of a declared model, timed where it executes (in-process or on a model server).

Labels are the manifest's model id and the backend, a closed set; nothing about the input is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from prometheus_client import Histogram

from idverify.ml.model_registry import ModelSpec
from idverify.ml.runner import F32, ModelRunner, RunnerFactory

MODEL_SECONDS = Histogram(
    "idverify_model_seconds", "Time of one model run (one request, any batch size)", ["model", "backend"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class TimedRunner:
    """A :class:`ModelRunner` that observes each run's duration, then answers as the runner it wraps."""

    def __init__(self, inner: ModelRunner, model: str, backend: str) -> None:
        self._inner = inner
        self._observe = MODEL_SECONDS.labels(model, backend).observe

    @property
    def batched(self) -> bool:
        return self._inner.batched

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> list[F32]:
        started = time.perf_counter()
        try:
            return self._inner.run(output_names, feed)
        finally:
            self._observe(time.perf_counter() - started)


def timed_runners(inner: RunnerFactory, backend: str) -> RunnerFactory:
    """``inner``'s runners, each timed under its model's declared id."""

    def make(spec: ModelSpec, model: bytes) -> ModelRunner:
        return TimedRunner(inner(spec, model), spec.id, backend)

    return make
