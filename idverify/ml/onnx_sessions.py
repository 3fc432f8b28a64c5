"""The one place that creates onnxruntime sessions.

Providers and thread counts are always explicit: onnxruntime's defaults use every core it sees, which on a shared
2-core host means oversubscription when several requests run at once. CUDA goes first when the installed build
offers it (onnxruntime-gpu) and the caller allows it; the CPU provider is always the fallback.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """How to run a model: threads inside one operator, threads across operators, and whether CUDA may be used."""

    intra_op_threads: int = 2
    inter_op_threads: int = 1
    allow_gpu: bool = True
    #: Spinning intra-op threads win on an idle machine but, measured on a busy shared 2-core host, made SFace
    #: with 2 threads ~1.8x slower than blocking threads (first-wave face benchmark, since removed); off by default.
    allow_spinning: bool = False
    #: onnxruntime's CPU arena keeps every block a session ever used for its next run (fast, but the process keeps
    #: the largest run's memory for each session); off, blocks go back to malloc after each run.
    memory_arena: bool = True
    #: Plans one block for all intermediate tensors of an input shape and reuses the plan for that shape.
    memory_pattern: bool = True
    #: With the arena on, every session of the process that asks for it draws from one CPU arena instead of one
    #: each: the process then keeps the largest concurrent use (OCR detection, then recognition, then a face)
    #: rather than the sum of every model's largest run (docs/reports/single-node-perf.md).
    shared_arena: bool = True

    def __post_init__(self) -> None:
        if self.intra_op_threads < 1 or self.inter_op_threads < 1:
            raise ValueError("thread counts must be at least 1")


_shared_arena_lock = threading.Lock()


@functools.cache
def _shared_arena() -> None:
    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(info, ort.OrtArenaCfg({"arena_extend_strategy": 0}))


def _register_shared_arena() -> None:
    """Register the process-wide CPU arena once (on the first session that wants it, never at import)."""
    with _shared_arena_lock:
        _shared_arena()


def providers_for(config: SessionConfig) -> list[str]:
    """The execution providers, in order of preference, that this build and config allow."""
    available = ort.get_available_providers()
    chosen = [CUDA] if config.allow_gpu and CUDA in available else []
    return [*chosen, CPU]


def create_session(model: bytes, config: SessionConfig) -> ort.InferenceSession:
    """An inference session over serialised ONNX bytes (already verified and folded by the registry)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = config.inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = config.memory_arena
    options.enable_mem_pattern = config.memory_pattern
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.allow_spinning else "0")
    if config.memory_arena and config.shared_arena:
        _register_shared_arena()
        options.add_session_config_entry("session.use_env_allocators", "1")
    return ort.InferenceSession(model, sess_options=options, providers=providers_for(config))
