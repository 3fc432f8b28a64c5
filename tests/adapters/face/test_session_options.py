"""Memory options of onnxruntime sessions change where buffers come from, never what a model computes."""

from __future__ import annotations

import numpy as np
import pytest

from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig, create_session


@pytest.mark.parametrize(
    "config",
    [
        SessionConfig(intra_op_threads=1, allow_gpu=False, shared_arena=False),
        SessionConfig(intra_op_threads=2, allow_gpu=False, memory_pattern=False),
        SessionConfig(intra_op_threads=2, allow_gpu=False, memory_arena=False, memory_pattern=False),
    ],
    ids=["own-arena", "shared-arena-no-pattern", "no-arena"],
)
def test_sface_gives_the_same_embeddings_under_every_memory_option(registry: ModelRegistry,
                                                                    config: SessionConfig) -> None:
    model = registry.model_bytes("sface-2021dec")
    crops = np.random.default_rng(3).uniform(0, 255, (3, 3, 112, 112)).astype(np.float32)
    default = create_session(model, SessionConfig(intra_op_threads=2, allow_gpu=False))
    reference = default.run(None, {"data": crops})[0]
    other = create_session(model, config)
    for _ in range(2):  # the second run reuses whatever the first left in the arena
        np.testing.assert_allclose(other.run(None, {"data": crops})[0], reference, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(default.run(None, {"data": crops})[0], reference, rtol=1e-5, atol=1e-5)
