"""Decompression-style images (issue 11, item 2): tiny uploads that declare huge pictures are refused from their
header, with ``image_too_large``, before anything is decoded; the server keeps serving; and at most a fixed number
of decodes run at once. Over gRPC against the real server on SQLite and PostgreSQL, plus the decoder's own limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idverify.api.v1 import verification_pb2
from idverify.domain.errors import InvalidArgument
from idverify.ml.imaging import PIXEL_LIMITS, DecodeGate, ImageKind, decode_image, probe_image
from tests.adapters.liveness.hostile import declared_png
from tests.adversarial.conftest import Applicant, refusal, replicas
from tests.transport.conftest import Running

V = verification_pb2
pytestmark = pytest.mark.slow


@pytest.fixture
def face_server(tmp_path: Path, db_url: str) -> Iterator[Running]:
    with replicas(tmp_path, db_url, IDVERIFY_FACE="on", IDVERIFY_PAD="off", IDVERIFY_DOCUMENTS="off") as (one,):
        yield one


def liveness_applicant(running: Running, name: str) -> Applicant:
    applicant = Applicant(running, name, amount="6000.00", device_id=f"dev-{name}")
    applicant.start()
    return applicant


def frames(applicant: Applicant, challenge: V.LivenessChallenge, images: list[bytes]
           ) -> Iterator[V.SubmitLivenessFramesRequest]:
    t0 = int(time.time() * 1000)
    for n, image in enumerate(images):
        yield V.SubmitLivenessFramesRequest(
            context=applicant.context() if n == 0 else None, session_id=applicant.session_id,
            challenge_id=challenge.challenge_id, nonce=challenge.nonce, captured_at_ms=t0 + 70 * n, image=image,
            sequence=n)


def challenge_for(applicant: Applicant) -> V.LivenessChallenge:
    reply: V.StartLivenessChallengeResponse = applicant.stub.StartLivenessChallenge(V.StartLivenessChallengeRequest(
        context=applicant.context(), session_id=applicant.session_id), metadata=applicant.running.md())
    return reply.challenge


def test_a_stream_of_pngs_declaring_8000x5000_is_refused_as_too_large_and_the_server_keeps_serving(
        face_server: Running) -> None:
    applicant = liveness_applicant(face_server, "bomb-1")
    challenge = challenge_for(applicant)
    hostile = declared_png(8000, 5000)
    assert len(hostile) < 200_000  # about 120 MB once decoded
    code = refusal(applicant.stub.SubmitLivenessFrames, frames(applicant, challenge, [hostile] * 20),
                   metadata=face_server.md())
    assert code == "image_too_large"
    health = health_pb2_grpc.HealthStub(face_server.channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    # The refused stream used its challenge up (one answer per challenge) and changed nothing else.
    assert refusal(applicant.stub.SubmitLivenessFrames, frames(applicant, challenge, [hostile]),
                   metadata=face_server.md()) == "liveness_challenge_used"
    verification = applicant.stub.GetVerification(V.GetVerificationRequest(
        context=applicant.context(), session_id=applicant.session_id), metadata=face_server.md()).verification
    assert verification.status in (V.VERIFICATION_STATUS_CREATED, V.VERIFICATION_STATUS_IN_PROGRESS)
    assert list(verification.passed_factors) == []


def test_one_oversized_frame_behind_ordinary_ones_refuses_the_stream(face_server: Running) -> None:
    applicant = liveness_applicant(face_server, "bomb-2")
    ordinary = cv2.imencode(".jpg", np.zeros((480, 640, 3), dtype=np.uint8))[1].tobytes()
    big = cv2.imencode(".png", np.zeros((1080, 1920, 3), dtype=np.uint8))[1].tobytes()  # 2 MP > 0.92 MP
    code = refusal(applicant.stub.SubmitLivenessFrames, frames(applicant, challenge_for(applicant),
                                                                [ordinary] * 5 + [big]), metadata=face_server.md())
    assert code == "image_too_large"


def test_concurrent_hostile_streams_are_each_refused(face_server: Running) -> None:
    hostile = declared_png(8000, 5000)
    codes: list[str] = []

    def attack(n: int) -> None:
        applicant = liveness_applicant(face_server, f"bomb-c{n}")
        codes.append(refusal(applicant.stub.SubmitLivenessFrames,
                             frames(applicant, challenge_for(applicant), [hostile] * 20), metadata=face_server.md()))

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == ["image_too_large"] * 6


@pytest.mark.parametrize(("kind", "width", "height", "refused"), [
    (ImageKind.LIVENESS_FRAME, 1280, 720, False), (ImageKind.LIVENESS_FRAME, 1281, 720, True),
    (ImageKind.SELFIE, 4000, 4000, False), (ImageKind.SELFIE, 4001, 4000, True),
    (ImageKind.DOCUMENT_PAGE, 6000, 4000, False), (ImageKind.DOCUMENT_PAGE, 8000, 5000, True),
])
def test_each_kind_has_its_own_pixel_limit_judged_from_the_header(kind: ImageKind, width: int, height: int,
                                                                   refused: bool) -> None:
    data = declared_png(width, height)
    if refused:
        with pytest.raises(InvalidArgument) as caught:
            probe_image(data, max_pixels=PIXEL_LIMITS[kind])
        assert caught.value.code == "image_too_large"
    else:
        header = probe_image(data, max_pixels=PIXEL_LIMITS[kind])
        assert (header.width, header.height) == (width, height)


def test_no_more_decodes_than_the_gate_allows_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    real = cv2.imdecode

    def slow_decode(buffer: np.ndarray, flags: int) -> object:  # type: ignore[type-arg]
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        try:
            return real(buffer, flags)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr("idverify.ml.imaging.cv2.imdecode", slow_decode)
    gate = DecodeGate(2)
    image = cv2.imencode(".png", np.zeros((32, 32, 3), dtype=np.uint8))[1].tobytes()
    threads = [threading.Thread(target=decode_image, args=(image,), kwargs={"gate": gate}) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2
