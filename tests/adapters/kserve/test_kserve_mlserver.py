"""The KServe V2 adapter against a real V2 model server (MLServer on loopback) serving the exported models.

What must hold: the same scores as in-process onnxruntime on the real photographs (within 1e-4) and the same
decisions; a server that runs a different model under the declared name is refused at start-up; a server that is
away makes the face factors answer ``factor_not_available``, never a decision.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from idverify.api.v1 import face_pb2, face_pb2_grpc
from idverify.domain.errors import FailedPrecondition, Unavailable
from idverify.factors.face_match import DEFAULT_THRESHOLDS
from idverify.kserve.breaker import CircuitBreaker
from idverify.kserve.export import export_serving
from idverify.kserve.models import kserve_runners
from idverify.kserve.runner import KServeRunner, RemoteSettings
from idverify.kserve.v2.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.pipeline import FacePipeline
from tests.adapters.kserve.mlserver import free_port, mlserver, mlserver_binary
from tests.shared_data import shared_path

pytestmark = pytest.mark.shared_data

MODELS = Path(__file__).resolve().parents[3] / "models"
EMBEDDER = "sface-2021dec"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mlserver_binary()
    out = tmp_path_factory.mktemp("serving")
    export_serving(MODELS, out)
    return out / "mlserver"


@pytest.fixture(scope="module")
def served(exported: Path) -> Iterator[str]:
    with mlserver(exported) as server:
        yield server.target


def pivot_names(faces: Path) -> tuple[list[dict[str, str]], list[str]]:
    with (faces / "face-recognition-pivot.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return rows, sorted({Path(r[k]).name for r in rows for k in ("file_x", "file_y")})


def embed_all(pipeline: FacePipeline, faces: Path, names: list[str]) -> dict[str, np.ndarray]:
    return {n: np.asarray(pipeline.analyse(pipeline.decode((faces / n).read_bytes()), select="largest")
                          .embedding.values) for n in names}


def test_remote_scores_equal_in_process_scores_on_the_pivot_pairs(served: str) -> None:
    faces = shared_path("faces", "deepface-unit")
    rows, names = pivot_names(faces)
    local = FacePipeline.from_models_dir(MODELS, threads=1, allow_gpu=False)
    factory, channel = kserve_runners(RemoteSettings(target=served, timeout_s=10.0))
    remote = FacePipeline.from_models_dir(MODELS, threads=1, allow_gpu=False, runners=factory)
    try:
        assert isinstance(remote.embedder._session, KServeRunner)
        want, got = embed_all(local, faces, names), embed_all(remote, faces, names)
    finally:
        channel.close()
    threshold = DEFAULT_THRESHOLDS[EMBEDDER].selfie_vs_enrolled
    diffs, same_decisions = [], 0
    for r in rows:
        a, b = Path(r["file_x"]).name, Path(r["file_y"]).name
        s_local, s_remote = float(want[a] @ want[b]), float(got[a] @ got[b])
        diffs.append(abs(s_local - s_remote))
        same_decisions += (s_local >= threshold) == (s_remote >= threshold)
    assert len(rows) == 280
    assert max(diffs) <= 1e-4
    assert same_decisions == 280


def test_detection_boxes_and_landmarks_equal_in_process(served: str) -> None:
    faces = shared_path("faces", "deepface-unit")
    local = FacePipeline.from_models_dir(MODELS, threads=1, allow_gpu=False)
    factory, channel = kserve_runners(RemoteSettings(target=served, timeout_s=10.0))
    try:
        remote = FacePipeline.from_models_dir(MODELS, threads=1, allow_gpu=False, runners=factory)
        for name in ("img1.jpg", "couple.jpg"):
            image = local.decode((faces / name).read_bytes())
            a, b = local.detect(image), remote.detect(image)
            assert len(a) == len(b) >= 1
            for fa, fb in zip(a, b, strict=True):
                assert abs(fa.box.score - fb.box.score) <= 1e-4
                assert max(abs(p - q) for p, q in zip((fa.box.x, fa.box.y, fa.box.w, fa.box.h),
                                                      (fb.box.x, fb.box.y, fb.box.w, fb.box.h), strict=True)) <= 1e-2
                for pa, pb in zip(fa.landmarks.as_tuple(), fb.landmarks.as_tuple(), strict=True):
                    assert abs(pa.x - pb.x) <= 1e-2 and abs(pa.y - pb.y) <= 1e-2
    finally:
        channel.close()


def test_a_server_running_another_model_under_the_declared_name_is_refused(exported: Path,
                                                                             tmp_path: Path) -> None:
    tampered = tmp_path / "repo"
    (tampered / EMBEDDER).mkdir(parents=True)
    for f in (exported / EMBEDDER).iterdir():
        if f.is_file():
            (tampered / EMBEDDER / f.name).write_bytes(f.read_bytes())
    graph = onnx.load_from_string((exported / EMBEDDER / "model.onnx").read_bytes())
    weight = max(graph.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    values = numpy_helper.to_array(weight).copy()
    values.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    (tampered / EMBEDDER / "model.onnx").write_bytes(graph.SerializeToString())
    registry = ModelRegistry.load(MODELS)
    with mlserver(tampered) as server:
        factory, channel = kserve_runners(RemoteSettings(target=server.target, timeout_s=10.0))
        try:
            with pytest.raises(FailedPrecondition) as err:
                factory(registry.spec(EMBEDDER), registry.model_bytes(EMBEDDER))
            assert err.value.code == "model_server_mismatch"
            with pytest.raises(FailedPrecondition) as missing:
                factory(registry.spec("yunet-2023mar"), registry.model_bytes("yunet-2023mar"))
            assert missing.value.code == "model_server_mismatch"
        finally:
            channel.close()


def test_a_server_that_is_away_answers_factor_not_available_and_opens_the_breaker() -> None:
    registry = ModelRegistry.load(MODELS)
    spec = registry.spec(EMBEDDER)
    clock = [0.0]
    breaker = CircuitBreaker(threshold=2, cool_down_s=5.0, monotonic=lambda: clock[0])
    channel = grpc.insecure_channel(f"127.0.0.1:{free_port()}")
    sleeps: list[float] = []
    runner = KServeRunner(GRPCInferenceServiceStub(channel), name=spec.id, version="", batched=True,  # type: ignore[no-untyped-call]
                          output_names=["fc1"], settings=RemoteSettings(target="x", timeout_s=1.0, retries=2),
                          breaker=breaker, sleep=sleeps.append)
    x = np.zeros((1, 3, 112, 112), dtype=np.float32)
    try:
        for _ in range(2):
            with pytest.raises(Unavailable) as err:
                runner.run(None, {"data": x})
            assert err.value.code == "factor_not_available"
        assert len(sleeps) == 4  # two retries with backoff per call before giving up
        assert breaker.state == "open"
        started = time.monotonic()
        with pytest.raises(Unavailable):
            runner.run(None, {"data": x})
        assert len(sleeps) == 4  # open: failed at once, nothing sent
        assert time.monotonic() - started < 0.5
        clock[0] += 5.0
        assert breaker.state == "half_open"
    finally:
        channel.close()


def compare_request(one: bytes, two: bytes) -> face_pb2.CompareFacesRequest:
    return face_pb2.CompareFacesRequest(image_a=one, image_b=two, comparison=face_pb2.COMPARISON_SELFIE_VS_ENROLLED)


def test_compare_faces_over_grpc_through_the_model_server_then_unavailable_when_it_stops(
        exported: Path, tmp_path: Path) -> None:
    from tests.transport.conftest import running_app

    faces = shared_path("faces", "deepface-unit")
    repo = tmp_path / "repo"
    for model in exported.iterdir():
        if model.is_dir():
            (repo / model.name).mkdir(parents=True)
            for f in model.iterdir():
                if f.is_file():
                    (repo / model.name / f.name).write_bytes(f.read_bytes())
    one, two = (faces / "img1.jpg").read_bytes(), (faces / "img2.jpg").read_bytes()
    with mlserver(repo) as server, running_app(
            tmp_path / "data", IDVERIFY_INFERENCE_BACKEND="kserve", IDVERIFY_KSERVE_TARGET=server.target,
            IDVERIFY_KSERVE_TIMEOUT_S="5", IDVERIFY_KSERVE_RETRIES="1", IDVERIFY_PAD="off") as r:
        stub = face_pb2_grpc.FaceServiceStub(r.channel)
        md = r.md("risk_analyst")
        answer = stub.CompareFaces(compare_request(one, two), metadata=md)
        assert answer.matched
        local = FacePipeline.from_models_dir(MODELS, threads=1, allow_gpu=False)
        a = np.asarray(local.analyse(local.decode(one), select="largest").embedding.values)
        b = np.asarray(local.analyse(local.decode(two), select="largest").embedding.values)
        assert abs(answer.score - float(a @ b)) <= 1e-4
        server.stop()
        # The model server is gone: the service stays up and says the face check is not available now.
        with pytest.raises(grpc.RpcError) as err:
            stub.CompareFaces(compare_request(one, two), metadata=md)
        assert err.value.code() is grpc.StatusCode.UNAVAILABLE
        trailers = dict(err.value.trailing_metadata() or ())
        assert trailers.get("idverify-reason") == "factor_not_available"
