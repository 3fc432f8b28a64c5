"""Connecting the declared models to a V2 model server, and refusing a server that runs something else.

At start-up, for each model the service needs: the server must report it ready; its metadata must name the
declared input and FP32 tensors; and a probe (a fixed pseudo-random input of the declared shape) must give the
same outputs from the server as from the manifest's own verified bytes run in-process (within ``tolerance``).
The probe is what makes "the server runs the model whose sha256 the manifest pins" checkable whatever the server
(Triton, KServe, MLServer), since the protocol's metadata carries no digest.
"""

from __future__ import annotations

import time

import grpc
import numpy as np

from idverify.domain.errors import FailedPrecondition
from idverify.kserve.breaker import CircuitBreaker
from idverify.kserve.runner import KServeRunner, RemoteSettings
from idverify.kserve.v2 import grpc_predict_v2_pb2 as pb
from idverify.kserve.v2.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from idverify.ml.model_registry import ModelSpec
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.runner import ModelRunner, OrtRunner, RunnerFactory

#: Largest absolute difference accepted between the server's and the in-process outputs of the probe.
PROBE_TOLERANCE = 1e-4


def mismatch(model_id: str, detail: str) -> FailedPrecondition:
    return FailedPrecondition("model_server_mismatch", f"model server: {model_id!r} {detail}")


def open_channel(settings: RemoteSettings) -> grpc.Channel:
    options = [("grpc.max_send_message_length", settings.max_message_bytes),
               ("grpc.max_receive_message_length", settings.max_message_bytes)]
    return grpc.insecure_channel(settings.target, options=options)


def probe_input(spec: ModelSpec, batch: int) -> np.ndarray:
    rng = np.random.default_rng(20261129)
    shape = (batch, 3, spec.input_height, spec.input_width)
    return rng.uniform(0.0, 255.0, shape).astype(np.float32)


def check_model(stub: GRPCInferenceServiceStub, spec: ModelSpec, local: OrtRunner, remote: KServeRunner,
                timeout_s: float) -> None:
    """Raise ``FailedPrecondition("model_server_mismatch")`` unless the server runs what the manifest declares."""
    try:
        ready = stub.ModelReady(pb.ModelReadyRequest(name=spec.id, version=remote.version), timeout=timeout_s)
        meta = stub.ModelMetadata(pb.ModelMetadataRequest(name=spec.id, version=remote.version), timeout=timeout_s)
    except grpc.RpcError as exc:
        code = exc.code().name if isinstance(exc, grpc.Call) else "an error"
        raise mismatch(spec.id, f"could not be read ({code})") from None
    if not ready.ready:
        raise mismatch(spec.id, "is not ready")
    inputs = {t.name: t for t in meta.inputs}
    if meta.inputs and (spec.input_name not in inputs or inputs[spec.input_name].datatype != "FP32"):
        raise mismatch(spec.id, f"does not take an FP32 input named {spec.input_name!r}")
    outputs = {t.name for t in meta.outputs}
    if meta.outputs and not set(local.output_names) <= outputs:
        raise mismatch(spec.id, f"does not declare the outputs {local.output_names}")
    x = probe_input(spec, 2 if local.batched else 1)
    want = local.run(None, {spec.input_name: x})
    got = remote.run(None, {spec.input_name: x})
    if len(want) != len(got) or any(w.shape != g.shape for w, g in zip(want, got, strict=True)):
        raise mismatch(spec.id, "answers the probe with other tensor shapes than the manifest's model")
    worst = max(float(np.max(np.abs(w - g))) for w, g in zip(want, got, strict=True))
    if worst > PROBE_TOLERANCE:
        raise mismatch(spec.id, f"answers the probe differently from the manifest's model (max |diff| {worst:.3g})")


def kserve_runners(settings: RemoteSettings, *, verify: bool = True) -> tuple[RunnerFactory, grpc.Channel]:
    """A runner factory for the face adapters that sends every model to the V2 server at ``settings.target``.

    One breaker is shared by every model on that server. Raises ``FailedPrecondition("model_server_mismatch")``
    from the factory when ``verify`` finds the server runs something other than the declared model.
    """
    channel = open_channel(settings)
    stub = GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
    breaker = CircuitBreaker(threshold=settings.breaker_threshold, cool_down_s=settings.breaker_cool_down_s,
                             monotonic=time.monotonic)

    def make(spec: ModelSpec, model: bytes) -> ModelRunner:
        local = OrtRunner(model, SessionConfig(intra_op_threads=1, allow_gpu=False))
        remote = KServeRunner(stub, name=spec.id, version="", batched=local.batched, output_names=local.output_names,
                              settings=settings, breaker=breaker)
        if verify:
            check_model(stub, spec, local, remote, settings.timeout_s)
        return remote

    return make, channel
