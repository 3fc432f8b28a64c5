"""The seam between a model adapter and whatever executes the model: in-process onnxruntime or a model server.

Detectors and embedders own the pre- and post-processing of a declared model; a :class:`ModelRunner` only turns
named input tensors into the requested output tensors. :class:`OrtRunner` runs the verified, folded ONNX bytes in
this process (the default). The KServe V2 adapter (``idverify.kserve``) satisfies the same protocol over gRPC, so
the same pre- and post-processing serve both and their scores can be compared number for number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from idverify.ml.model_registry import ModelSpec
from idverify.ml.onnx_sessions import SessionConfig, create_session

F32 = NDArray[np.float32]


class ModelRunner(Protocol):
    """Runs one declared model on named float32 tensors."""

    @property
    def batched(self) -> bool:
        """True when the model's first dimension is dynamic, so several inputs may go as one request."""
        ...

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> list[F32]:
        """The outputs named (all, in the model's order, for None). Raises ``Unavailable`` when the runner is away."""
        ...


#: Builds the runner of one declared model from its spec and its verified (folded) ONNX bytes.
RunnerFactory = Callable[[ModelSpec, bytes], ModelRunner]


class OrtRunner:
    """In-process onnxruntime over the verified model bytes."""

    def __init__(self, model: bytes, config: SessionConfig) -> None:
        self._session = create_session(model, config)
        shape = self._session.get_inputs()[0].shape
        self._batched = not isinstance(shape[0], int)
        self.output_names = [o.name for o in self._session.get_outputs()]

    @property
    def batched(self) -> bool:
        return self._batched

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> list[F32]:
        names = list(output_names) if output_names is not None else None
        return [np.asarray(r, dtype=np.float32) for r in self._session.run(names, dict(feed))]


def ort_runners(config: SessionConfig) -> RunnerFactory:
    """The default factory: every model runs in-process with ``config``'s threads and providers."""

    def make(_spec: ModelSpec, model: bytes) -> ModelRunner:
        return OrtRunner(model, config)

    return make
