"""``idverify face ...``: the face and document factors from the command line, against a running server.

* ``challenge``: open a liveness challenge and print its id, nonce and asked poses;
* ``liveness``: answer it with a folder of frames (``frames.jsonl`` or name order) or a video file (sampled every
  ``--every-ms``). Frames get sequence numbers; no capture key is registered. A recording cannot follow a new
  challenge's colour sequence, so against a server with the light check on (the default) the answer fails with
  ``liveness_light_challenge``: this is for sandboxes and servers with ``IDVERIFY_LIVENESS_LIGHT_CHECK=false``;
* ``enroll``: store the account holder's face from a verification whose liveness passed (needs ``--consent``);
* ``compare``: CompareFaces on two images (operator tool, role risk_analyst or admin; nothing stored);
* ``submit-document``: a document with what the applicant typed and what the lender holds on record.

``idverify insightface-pack DIR`` declares a licensed insightface model pack (docs/insightface.md).

Credentials as for ``idverify client``: ``IDVERIFY_STAFF_SESSION`` (a staff session credential, which staff-only
calls such as ``compare`` need when IDVERIFY_STAFF_SESSIONS_REQUIRED is on), ``--api-key``, ``IDVERIFY_API_KEY``, or in
development the role's key from
``<data-dir>/dev-api-keys.toml``. Exit status 0 when the call succeeded and its factor passed (or the faces
matched), 1 when it ran but did not pass, 2 for an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc
from google.protobuf import json_format

from idverify.api.v1 import common_pb2, face_pb2, face_pb2_grpc, verification_pb2, verification_pb2_grpc

V = verification_pb2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DOCUMENT_FIELDS = ("full_name", "document_number", "birth_date", "sex", "expiry_date", "nationality",
                   "issuing_state")


def _api_key(args: argparse.Namespace, role: str) -> str:
    if args.api_key:
        return str(args.api_key)
    if os.environ.get("IDVERIFY_API_KEY"):
        return os.environ["IDVERIFY_API_KEY"]
    path = Path(args.data_dir) / "dev-api-keys.toml"
    if path.exists():
        keys = tomllib.loads(path.read_text(encoding="utf-8"))
        if role in keys:
            return str(keys[role])
    raise SystemExit("idverify face: no API key: use --api-key, IDVERIFY_API_KEY or a dev server's data folder")


def _context(args: argparse.Namespace) -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(
        applicant_id=args.applicant, loan_application_id=args.loan,
        amount=common_pb2.Money(value=args.amount, currency=args.currency), device_id=args.device,
        locale=args.locale)


def _call(args: argparse.Namespace, role: str, call: Callable[[grpc.Channel, list[tuple[str, str]]], Any],
          passed: Callable[[Any], bool]) -> int:
    session = os.environ.get("IDVERIFY_STAFF_SESSION", "")
    # A staff member's session credential (from StartStaffSession, i.e. their own key and TOTP) stands in for the
    # key, as it must where IDVERIFY_STAFF_SESSIONS_REQUIRED is on (production by default).
    metadata = [("authorization", f"Bearer {session}")] if session else [("x-api-key", _api_key(args, role))]
    with grpc.insecure_channel(args.server) as channel:
        try:
            reply = call(channel, metadata)
        except grpc.RpcError as err:
            trailing: Any = err.trailing_metadata() or ()  # type: ignore[attr-defined]
            reason = next((str(v) for k, v in trailing if k == "idverify-reason"), "")
            print(f"error: {err.code().name} {reason}: {err.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 2
    print(json_format.MessageToJson(reply, preserving_proto_field_name=True, indent=None if args.json else 2))
    return 0 if passed(reply) else 1


def _verification(channel: grpc.Channel) -> Any:
    return verification_pb2_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]


def _factor_passed(reply: Any) -> bool:
    return bool(reply.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED)


@dataclass(frozen=True)
class RecordedFrame:
    """A frame to send: its bytes, capture time (ms from the first frame) and light step (0: none)."""

    image: bytes
    at_ms: int
    light_step: int = 0


def frames_from_folder(folder: Path, every_ms: int) -> list[RecordedFrame]:
    """The frames of a folder. With a ``frames.jsonl`` (one ``{"file", "t_ms", "light_step"}`` object a line, as
    ``scripts/make_samples.py`` writes) its order and times; else every JPEG or PNG in name order, ``every_ms``
    apart. Raises SystemExit when there is none."""
    listing = folder / "frames.jsonl"
    if listing.exists():
        rows = [json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [RecordedFrame((folder / str(r["file"])).read_bytes(), int(r["t_ms"]), int(r.get("light_step", 0)))
                for r in rows]
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"idverify face: no .jpg or .png frames in {folder}")
    return [RecordedFrame(p.read_bytes(), n * every_ms) for n, p in enumerate(files)]


def frames_from_video(path: Path, every_ms: int, limit: int) -> list[tuple[int, bytes]]:
    """JPEG frames sampled from a video every ``every_ms`` of its own time, with that time (ms from the start)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"idverify face: cannot read the video {path}")
    frames: list[tuple[int, bytes]] = []
    next_ms = 0.0
    try:
        while len(frames) < limit:
            ok, image = capture.read()
            if not ok:
                break
            at = float(capture.get(cv2.CAP_PROP_POS_MSEC))
            if at + 1e-6 >= next_ms:
                frames.append((round(at), cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()))
                next_ms = at + every_ms
    finally:
        capture.release()
    if not frames:
        raise SystemExit(f"idverify face: no frames read from {path}")
    return frames


def timed_frames(args: argparse.Namespace) -> list[RecordedFrame]:
    """The frames to send, with capture times in epoch ms ending now (a recording made just before)."""
    if args.video:
        recorded = [RecordedFrame(image, at) for at, image in
                    frames_from_video(Path(args.video), args.every_ms, args.max_frames)]
    else:
        recorded = frames_from_folder(Path(args.frames), args.every_ms)[: args.max_frames]
    start = int(time.time() * 1000) - recorded[-1].at_ms
    return [RecordedFrame(f.image, start + f.at_ms, f.light_step) for f in recorded]


def _challenge(args: argparse.Namespace) -> int:
    def call(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        return _verification(channel).StartLivenessChallenge(
            V.StartLivenessChallengeRequest(context=_context(args), session_id=args.session, mirrored=args.mirrored),
            metadata=md)

    return _call(args, "app_backend", call, lambda _reply: True)


def _liveness(args: argparse.Namespace) -> int:
    frames = timed_frames(args)

    def requests() -> Iterator[V.SubmitLivenessFramesRequest]:
        for n, frame in enumerate(frames):
            yield V.SubmitLivenessFramesRequest(
                context=_context(args) if n == 0 else None, session_id=args.session,
                challenge_id=args.challenge_id, nonce=args.nonce, captured_at_ms=frame.at_ms, image=frame.image,
                sequence=n, light_step=frame.light_step)

    def call(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        return _verification(channel).SubmitLivenessFrames(requests(), metadata=md)

    return _call(args, "app_backend", call, _factor_passed)


def _enroll(args: argparse.Namespace) -> int:
    def call(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        return _verification(channel).EnrollFace(V.EnrollFaceRequest(
            context=_context(args), session_id=args.session,
            consent=V.Consent(biometric_processing=args.consent, text_version=args.consent_text)), metadata=md)

    return _call(args, "app_backend", call, lambda _reply: True)


def _compare(args: argparse.Namespace) -> int:
    kind: Any = face_pb2.Comparison.Value("COMPARISON_" + args.comparison.upper().replace("-", "_"))

    def call(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        stub: Any = face_pb2_grpc.FaceServiceStub(channel)  # type: ignore[no-untyped-call]
        return stub.CompareFaces(face_pb2.CompareFacesRequest(
            image_a=Path(args.image_a).read_bytes(), image_b=Path(args.image_b).read_bytes(), comparison=kind),
            metadata=md)

    return _call(args, "risk_analyst", call, lambda reply: bool(reply.matched))


def document_fields(args: argparse.Namespace, prefix: str) -> V.DocumentFields | None:
    values = {name: getattr(args, f"{prefix}_{name}") for name in DOCUMENT_FIELDS}
    return V.DocumentFields(**values) if any(values.values()) else None


def _submit_document(args: argparse.Namespace) -> int:
    def call(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        return _verification(channel).SubmitDocument(V.SubmitDocumentRequest(
            context=_context(args), session_id=args.session, document_type=cast(Any, V.DocumentType.Value(args.type)),
            front_image=Path(args.front).read_bytes(), back_image=Path(args.back).read_bytes() if args.back else b"",
            typed=document_fields(args, "typed"), holder_record=document_fields(args, "record")), metadata=md)

    return _call(args, "app_backend", call, _factor_passed)


def _insightface_pack(args: argparse.Namespace) -> int:
    from idverify.domain.errors import IdVerifyError
    from idverify.ml.insightface_pack import declare_pack

    try:
        declared = declare_pack(Path(args.pack_dir), Path(args.models_dir), licence=args.licence, source=args.source,
                                pack=args.pack or None)
    except IdVerifyError as exc:
        print(f"error: {exc.code}: {exc}", file=sys.stderr)
        return 2
    for item in declared:
        print(f"declared {item.model_id}\t{item.task}\t{item.file}\tsha256 {item.sha256}")
    return 0


def _with_context(p: argparse.ArgumentParser, session: bool = True) -> argparse.ArgumentParser:
    p.add_argument("--applicant", required=True, help="the lender's applicant/account id")
    p.add_argument("--loan", required=True, help="loan application id")
    p.add_argument("--amount", required=True, help='decimal amount, e.g. "60000.00"')
    p.add_argument("--currency", default="CNY")
    p.add_argument("--device", default="")
    p.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en"])
    if session:
        p.add_argument("--session", required=True)
    return p


def register(sub: Any) -> None:
    face = sub.add_parser("face", help="face and document factors against a running server")
    face.add_argument("--server", default=os.environ.get("IDVERIFY_SERVER", "127.0.0.1:50051"))
    face.add_argument("--api-key", default="")
    face.add_argument("--data-dir", default=os.environ.get("IDVERIFY_DATA_DIR", "var"))
    face.add_argument("--json", action="store_true", help="print responses on one line")
    commands = face.add_subparsers(dest="face_command", required=True)

    p = _with_context(commands.add_parser("challenge", help="open a liveness challenge"))
    p.add_argument("--mirrored", action="store_true", help="the frames will be mirrored like a selfie preview")
    p.set_defaults(func=_challenge)
    p = _with_context(commands.add_parser("liveness", help="answer a challenge with frames or a video"))
    p.add_argument("--challenge-id", required=True)
    p.add_argument("--nonce", required=True)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", help="folder of .jpg/.png frames, in name order")
    source.add_argument("--video", help="video file (anything OpenCV reads)")
    p.add_argument("--every-ms", type=int, default=300, help="time between frames (video: sampling interval)")
    p.add_argument("--max-frames", type=int, default=96)
    p.set_defaults(func=_liveness)
    p = _with_context(commands.add_parser("enroll", help="enrol the face of a verification whose liveness passed"))
    p.add_argument("--consent", action="store_true", help="the applicant consented to storing their face")
    p.add_argument("--consent-text", default="cli", help="version of the consent text shown")
    p.set_defaults(func=_enroll)
    p = commands.add_parser("compare", help="CompareFaces (risk_analyst/admin; nothing stored)")
    p.add_argument("image_a")
    p.add_argument("image_b")
    p.add_argument("--comparison", default="selfie-vs-document", choices=["selfie-vs-document", "selfie-vs-enrolled"])
    p.set_defaults(func=_compare)
    p = _with_context(commands.add_parser("submit-document", help="a document with typed and on-record data"))
    p.add_argument("--type", default="DOCUMENT_TYPE_CN_ID_CARD",
                   choices=[n for n in list(V.DocumentType.keys()) if n != "DOCUMENT_TYPE_UNSPECIFIED"])
    p.add_argument("--front", required=True)
    p.add_argument("--back", default="")
    for prefix, who in (("typed", "what the applicant typed"), ("record", "what the lender holds on record")):
        for name in DOCUMENT_FIELDS:
            p.add_argument(f"--{prefix}-{name.replace('_', '-')}", dest=f"{prefix}_{name}", default="",
                           help=f"{who}: {name}")
    p.set_defaults(func=_submit_document)

    pack = sub.add_parser("insightface-pack", help="declare a licensed insightface model pack (docs/insightface.md)")
    pack.add_argument("pack_dir", help="the pack folder, e.g. .../buffalo_l")
    pack.add_argument("--licence", required=True, help="your licence for the pack (required)")
    pack.add_argument("--source", required=True, help="where the pack came from (required)")
    pack.add_argument("--pack", default="", help="the pack layout when the folder is named otherwise")
    pack.add_argument("--models-dir", default="models")
    pack.set_defaults(func=_insightface_pack)
