"""The document factor over gRPC on synthetic cards (no real person's ID): OCR, checks, a portrait matched against
the live selfie, and the highest assurance when passive PAD ran; bad images refused before any OCR."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from tests.docgen.identities import CnIdentity, cn_identity
from tests.docgen.render import fonts_available, render_cn_back, render_cn_front
from tests.shared_data import shared_path
from tests.transport.conftest import Running, running_app
from tests.transport.test_face_flow import live, open_with_otp
from tests.transport.test_server import context, reason_of

V = verification_pb2
pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
AMOUNT = "60000.00"  # the default policy asks for the document and a portrait match from 50,000 CNY
SEED = 11


def ctx(loan: str = "L-1") -> common_pb2.ApplicationContext:
    return context(loan=loan, amount=AMOUNT)


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_path("faces", "deepface-unit")


@pytest.fixture
def running(tmp_path: Path, faces: Path) -> Iterator[Running]:
    if not fonts_available():
        import os

        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CJK and OCR-B fonts missing: scripts/install-fonts.sh must run in CI")
        pytest.skip("fonts for synthetic documents are missing (run scripts/install-fonts.sh)")
    # turn_challenge draws until a left/right-only challenge comes up: the hourly budget (10) must not end it.
    with running_app(tmp_path, IDVERIFY_DOCUMENTS="on", IDVERIFY_PAD="off",
                     IDVERIFY_LIVENESS_CHALLENGES_PER_VERIFICATION="60",
                     IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR="500") as r:
        yield r


def person() -> CnIdentity:
    return cn_identity(random.Random(SEED), date.today())


def jpeg(pixels: np.ndarray) -> bytes:  # type: ignore[type-arg]
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def card(faces: Path, who: CnIdentity, number: str | None = None) -> tuple[bytes, bytes]:
    photo = np.asarray(cv2.imread(str(faces / "img37.jpg")), dtype=np.uint8)
    return (jpeg(render_cn_front(who, photo=photo, seed=SEED, number=number)),
            jpeg(render_cn_back(who, seed=SEED)))


def typed(who: CnIdentity) -> V.DocumentFields:
    return V.DocumentFields(full_name=who.name, document_number=who.number, birth_date=who.birth_date.isoformat(),
                            sex="M" if who.sex == "男" else "F")


def test_a_card_checked_then_its_portrait_matched_against_the_live_selfie(running: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_with_otp_at(running, stub, "L-1")
    who = person()
    front, back = card(faces, who)
    answer = stub.SubmitDocument(V.SubmitDocumentRequest(
        context=ctx(), session_id=sid, document_type=V.DOCUMENT_TYPE_CN_ID_CARD, front_image=front,
        back_image=back, typed=typed(who), holder_record=V.DocumentFields(full_name=who.name,
                                                                          document_number=who.number)),
        metadata=running.md(), timeout=120)
    failed = [(c.name, c.reason_code) for c in answer.checks if not c.passed]
    assert answer.decision == "pass", failed
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED
    assert answer.extracted.document_number == who.number
    assert answer.extracted.birth_date == who.birth_date.isoformat()

    # As in the face flow, a fresh challenge (at most twice) when the render alone is judged discontinuous.
    liveness = live(running, stub, faces, sid, "L-1", amount=AMOUNT, context_of=ctx())
    matches = {m.factor: m for m in liveness.face_matches}
    assert matches[common_pb2.FACTOR_FACE_MATCH_DOCUMENT].outcome == common_pb2.FACTOR_OUTCOME_PASSED
    done = stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx(), session_id=sid),
                                     metadata=running.md())
    claims = json.loads(base64.urlsafe_b64decode(done.token.split(".")[1] + "=="))
    assert claims["amr"] == ["doc", "face", "mfa", "sms"]
    # Passive PAD is off in this deployment, so the assurance stops at substantial, honestly.
    assert claims["acr"] == "urn:idverify:acr:substantial"


def open_with_otp_at(running: Running, stub: verification_pb2_grpc.VerificationServiceStub, loan: str) -> str:
    return open_with_otp(running, stub, loan, amount=AMOUNT)


def test_a_printed_number_with_a_wrong_check_character_fails_the_document(running: Running, faces: Path) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_with_otp_at(running, stub, "L-1")
    who = person()
    wrong = who.number[:17] + ("0" if who.number[17] != "0" else "1")
    front, back = card(faces, who, number=wrong)
    answer = stub.SubmitDocument(V.SubmitDocumentRequest(
        context=ctx(), session_id=sid, document_type=V.DOCUMENT_TYPE_CN_ID_CARD, front_image=front,
        back_image=back), metadata=running.md(), timeout=120)
    assert answer.decision == "fail"
    assert answer.result.outcome == common_pb2.FACTOR_OUTCOME_FAILED
    assert "id_number_checksum" in {c.reason_code for c in answer.checks if not c.passed}


@pytest.mark.parametrize(("image", "reason"), [
    (b"not an image at all", "image_unsupported"),
    (b"", "document_image_missing"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image_corrupt"),
])
def test_unusable_images_are_refused_before_ocr_and_record_nothing(running: Running, image: bytes,
                                                                   reason: str) -> None:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_with_otp_at(running, stub, "L-1")
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitDocument(V.SubmitDocumentRequest(context=ctx(), session_id=sid,
                                                    document_type=V.DOCUMENT_TYPE_CN_ID_CARD, front_image=image),
                            metadata=running.md(), timeout=60)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(err.value) == reason
    session = stub.GetVerification(V.GetVerificationRequest(context=ctx(), session_id=sid),
                                   metadata=running.md()).verification
    assert [r.factor for r in session.results] == [common_pb2.FACTOR_SMS_OTP]


def test_a_huge_png_is_refused_from_its_header(running: Running) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100_000)) + chunk(
        b"IEND", b"")
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    sid = open_with_otp_at(running, stub, "L-1")
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitDocument(V.SubmitDocumentRequest(context=ctx(), session_id=sid,
                                                    document_type=V.DOCUMENT_TYPE_CN_ID_CARD, front_image=bomb),
                            metadata=running.md(), timeout=60)
    assert reason_of(err.value) == "image_too_large"
