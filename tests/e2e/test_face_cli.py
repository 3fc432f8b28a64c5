"""`idverify face ...` against a running service, with the committed samples (scripts/make_samples.py).

The samples are drawn, not photographed: passive PAD is off here (a drawing is not a live face, and PAD is not
what this tests), and so is the light check (a recording cannot follow a new challenge's colours). What this
shows is the command line: a challenge opened, a folder of frames with their times answering it, CompareFaces.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from idverify.cli import main
from tests.docgen.render import fonts_available
from tests.transport.conftest import Running, running_app

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
V = verification_pb2


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_app(tmp_path_factory.mktemp("face-cli"), IDVERIFY_PAD="off", IDVERIFY_LIVENESS_LIGHT_CHECK="false",
                     IDVERIFY_LIVENESS_CHALLENGES_PER_VERIFICATION="100",
                     IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR="1000") as r:
        yield r


def cli(running: Running, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["face", "--server", f"127.0.0.1:{running.app.grpc.port}", "--data-dir", str(running.data_dir),
                 "--json", *argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("{")]  # logs share stdout
    return code, json.loads(lines[-1]) if lines else {"stderr": captured.err}


def open_verification(running: Running, loan: str, amount: str = "6000.00") -> str:
    stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
    ctx = common_pb2.ApplicationContext(applicant_id="acct-cli", loan_application_id=loan, device_id="dev-cli",
                                        amount=common_pb2.Money(currency="CNY", value=amount), locale="en")
    started = stub.StartVerification(V.StartVerificationRequest(
        context=ctx, phone_e164="+8613800138000", payout_account="6222-01",
        consent=V.Consent(biometric_processing=True, text_version="v1")), metadata=running.md())
    return str(started.verification.session_id)


def test_a_recorded_head_turn_answers_a_challenge_from_the_command_line(
        running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    session = open_verification(running, "L-cli-1")
    context = ["--applicant", "acct-cli", "--loan", "L-cli-1", "--amount", "6000.00", "--device", "dev-cli",
               "--locale", "en", "--session", session]
    for _ in range(60):
        code, answer = cli(running, "challenge", *context, capsys=capsys)
        assert code == 0
        challenge = answer["challenge"]
        assert isinstance(challenge, dict)
        if [s["pose"] for s in challenge["steps"]] == ["HEAD_POSE_LEFT", "HEAD_POSE_CENTRE"]:
            break
    else:
        pytest.fail("no left-then-centre challenge in 60 draws")
    time.sleep(2.5)  # the recording is made after the challenge: its frame times end now and span 2.2 s
    code, result = cli(running, "liveness", *context, "--challenge-id", str(challenge["challenge_id"]),
                       "--nonce", str(challenge["nonce"]), "--frames", str(SAMPLES / "frames" / "left-centre"),
                       capsys=capsys)
    assert (code, result["result"]["outcome"]) == (0, "FACTOR_OUTCOME_PASSED"), result  # type: ignore[index]


def test_compare_faces_exits_1_for_two_different_drawn_people_and_2_for_no_face(
        running: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import cv2

    from tests.docgen.synthetic_face import draw_face

    a, b, blank = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "blank.jpg"
    cv2.imwrite(str(a), draw_face(seed=1))
    cv2.imwrite(str(b), draw_face(variant=1, seed=3))
    cv2.imwrite(str(blank), draw_face(seed=1)[:60, :60])
    code, same = cli(running, "compare", str(a), str(a), "--comparison", "selfie-vs-enrolled", capsys=capsys)
    assert (code, same.get("matched")) == (0, True)
    code, _ = cli(running, "compare", str(a), str(blank), capsys=capsys)
    assert code == 2


def need_fonts() -> None:
    """The documents need the CJK fonts; CI installs them (scripts/install-fonts.sh), so there their absence fails."""
    if fonts_available():
        return
    reason = "the CJK fonts are missing (scripts/install-fonts.sh)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason + "; CI must have them")
    pytest.skip(reason)


def test_the_samples_are_what_make_samples_writes(tmp_path: Path) -> None:
    need_fonts()
    from scripts.make_samples import main as make_samples

    assert make_samples(["--out", str(tmp_path)]) == 0
    for name in ("documents/printed-data.json", "frames/left-centre/frames.jsonl",
                 "frames/right-centre/frames.jsonl"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (SAMPLES / name).read_text(encoding="utf-8"), name
    committed = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def with_documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    need_fonts()
    with running_app(tmp_path_factory.mktemp("doc-cli"), IDVERIFY_DOCUMENTS="on", IDVERIFY_PAD="off") as r:
        yield r


def test_submit_document_compares_the_card_with_typed_and_on_record_data(
        with_documents: Running, capsys: pytest.CaptureFixture[str]) -> None:
    printed = json.loads((SAMPLES / "documents" / "printed-data.json").read_text(encoding="utf-8"))["cn_id_card"]
    session = open_verification(with_documents, "L-doc-1", "60000.00")
    context = ["--applicant", "acct-cli", "--loan", "L-doc-1", "--amount", "60000.00", "--device", "dev-cli",
               "--locale", "en", "--session", session]
    card = ["--front", str(SAMPLES / "documents" / "cn-id-front.jpg"),
            "--back", str(SAMPLES / "documents" / "cn-id-back.jpg")]
    code, answer = cli(with_documents, "submit-document", *context, *card,
                       "--typed-full-name", printed["full_name"], "--typed-document-number",
                       printed["document_number"], "--record-full-name", "王小明", capsys=capsys)
    assert code == 1, answer
    checks = {c["name"]: c for c in answer["checks"]}  # type: ignore[union-attr]
    assert answer["extracted"]["document_number"] == printed["document_number"]  # type: ignore[index]
    failed = [name for name, c in checks.items() if not c.get("passed")]
    assert failed and all("holder" in name or "record" in name for name in failed), checks


def test_with_staff_sessions_required_compare_needs_the_analysts_session_not_their_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    from idverify.api.v1 import case_pb2, case_pb2_grpc
    from tests.console.conftest import code_at, enroll, staff_running
    from tests.docgen.synthetic_face import draw_face

    a = tmp_path / "a.jpg"
    cv2.imwrite(str(a), draw_face(seed=1))
    (tmp_path / "data").mkdir()
    with staff_running(tmp_path / "data", IDVERIFY_PAD="off") as running:  # staff sessions required
        monkeypatch.delenv("IDVERIFY_STAFF_SESSION", raising=False)
        key = ["--api-key", running.keys["risk_analyst"]]
        code, refused = cli(running, *key, "compare", str(a), str(a), "--comparison", "selfie-vs-enrolled",
                            capsys=capsys)
        assert code == 2 and "staff_session_required" in str(refused.get("stderr"))
        totp = enroll(running, "risk_analyst")
        session = case_pb2_grpc.CaseServiceStub(running.channel).StartStaffSession(
            case_pb2.StartStaffSessionRequest(totp_code=code_at(totp, 0)), metadata=running.md("risk_analyst"))
        monkeypatch.setenv("IDVERIFY_STAFF_SESSION", session.session_credential)
        code, same = cli(running, *key, "compare", str(a), str(a), "--comparison", "selfie-vs-enrolled",
                         capsys=capsys)
        assert (code, same.get("matched")) == (0, True)
