"""A :class:`~idverify.ml.runner.ModelRunner` that runs a declared model on a KServe V2 model server over gRPC.

Tensors travel as little-endian FP32 in ``raw_input_contents`` (the protocol's compact form, which Triton, KServe
and MLServer all accept); answers are read from ``raw_output_contents`` or, when a server fills them instead, the
typed ``fp32_contents``. Every call has a deadline; UNAVAILABLE is retried with a short backoff; consecutive failures
open a circuit breaker. Whatever goes wrong surfaces as ``Unavailable("factor_not_available")``, so a face factor is
answered "not available now", never with a decision made on missing scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import grpc
import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import Unavailable
from idverify.kserve.breaker import CircuitBreaker
from idverify.kserve.v2 import grpc_predict_v2_pb2 as pb
from idverify.kserve.v2.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

F32 = NDArray[np.float32]

#: Status codes worth another try: the server or the path to it is away for a moment.
_RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """How to reach the model server and how patient to be with it."""

    target: str
    timeout_s: float = 2.0
    retries: int = 2
    backoff_s: float = 0.05
    breaker_threshold: int = 5
    breaker_cool_down_s: float = 10.0
    max_message_bytes: int = 64 * 1024 * 1024


def not_available(detail: str) -> Unavailable:
    return Unavailable("factor_not_available", f"face checks are not available right now ({detail})")


class KServeRunner:
    """One model on one V2 server: ``name`` and ``version`` as the server knows them."""

    def __init__(self, stub: GRPCInferenceServiceStub, *, name: str, version: str, batched: bool,
                 output_names: Sequence[str], settings: RemoteSettings, breaker: CircuitBreaker,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._stub = stub
        self.name = name
        self.version = version
        self._batched = batched
        self.output_names = list(output_names)
        self._settings = settings
        self._breaker = breaker
        self._sleep = sleep

    @property
    def batched(self) -> bool:
        return self._batched

    def request(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> pb.ModelInferRequest:
        names = list(output_names) if output_names is not None else self.output_names
        req = pb.ModelInferRequest(model_name=self.name, model_version=self.version)
        for input_name, tensor in feed.items():
            array = np.ascontiguousarray(tensor, dtype="<f4")
            req.inputs.add(name=input_name, datatype="FP32", shape=list(array.shape))
            req.raw_input_contents.append(array.tobytes())
        for output_name in names:
            req.outputs.add(name=output_name)
        return req

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, F32]) -> list[F32]:
        names = list(output_names) if output_names is not None else self.output_names
        req = self.request(names, feed)
        if not self._breaker.allow():
            raise not_available("model server circuit open")
        attempt = 0
        while True:
            try:
                resp = self._stub.ModelInfer(req, timeout=self._settings.timeout_s)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code in _RETRYABLE and attempt < self._settings.retries:
                    attempt += 1
                    self._sleep(self._settings.backoff_s * (2 ** (attempt - 1)))
                    continue
                self._breaker.failed()
                raise not_available(f"model server answered {code.name if code else 'an error'}") from None
            try:
                outputs = decode_outputs(resp, names)
            except ValueError as exc:
                self._breaker.failed()
                raise not_available(str(exc)) from None
            self._breaker.succeeded()
            return outputs


def decode_outputs(resp: pb.ModelInferResponse, names: Sequence[str]) -> list[F32]:
    """The named FP32 outputs of an answer, in the order asked. Raises ValueError for a malformed answer."""
    by_name: dict[str, F32] = {}
    raw = list(resp.raw_output_contents)
    for i, out in enumerate(resp.outputs):
        shape = tuple(int(d) for d in out.shape)
        if out.datatype != "FP32":
            raise ValueError(f"output {out.name} is {out.datatype}, not FP32")
        if raw:
            if i >= len(raw):
                raise ValueError("fewer raw outputs than output tensors")
            array = np.frombuffer(raw[i], dtype="<f4")
        else:
            array = np.asarray(out.contents.fp32_contents, dtype=np.float32)
        if array.size != int(np.prod(shape)):
            raise ValueError(f"output {out.name} holds {array.size} values for shape {shape}")
        by_name[out.name] = array.reshape(shape).astype(np.float32)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"outputs missing from the answer: {missing}")
    return [by_name[n] for n in names]
