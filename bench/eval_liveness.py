"""Liveness against the attacks of issue 20, on captures synthesised from real photographs, at default settings.

Usage: .venv/bin/python bench/eval_liveness.py [FOLDER] [--photos N] [--out docs/reports/liveness-attacks.md]

FOLDER defaults to ../shared/data/faces/deepface-unit. Every capture is built from one of its portraits by
tests/adapters/liveness/synth.py and judged by the production code path (OnnxLivenessFrames over YuNet + SFace,
then idverify.factors.liveness.evaluate with LivenessConfig's defaults and the calibrated same-person threshold;
passive PAD off, as it is not installed by default). The sets:

* ``genuine``: a frontal portrait re-rendered as a rigid head turning left or right (alternating per photo) and
  back, under the challenge's screen colours (simulated reflection), 80 ms a frame with jitter, JPEG-encoded.
* ``warp``: the same photo, same timing and same simulated reflection (the attacker knows the colours), but the
  turn is a flat 2-D warp that slides the nose and mid-face by up to 0.36 face widths (issue 20's attack);
  ``warp_mild`` the same up to 0.25 face widths (the face stays closer to the original).
* ``collage``: separate real photos of one person (identities from master.csv), a few frames each, at camera
  timing, with the simulated reflection during the light steps.
* ``static``: one photo sent as every frame (with the simulated reflection).
* ``timing``: a genuine capture's frames with forged capture times (1970, 2200, identical, backwards, a turn in
  1 ms steps after a pause, 5 fps, before the challenge): judged on the genuine capture's own observations.
* ``replay``: a genuine capture recorded under one challenge, submitted to another (another colour sequence).
* ``screen``: a capture with no reflection of its own, shown on a screen held up to the camera: the screen's
  colour tints the whole picture alike (face and background gain 0.08).

APCER per attack set = attacks accepted / attacks; BPCER = genuine captures refused / genuine captures.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.domain.errors import InvalidArgument  # noqa: E402
from idverify.factors.face_match import DEFAULT_THRESHOLDS  # noqa: E402
from idverify.factors.head_pose import estimate_head_pose  # noqa: E402
from idverify.factors.liveness import (  # noqa: E402
    GUIDANCE,
    Challenge,
    ChallengeStep,
    FrameObservation,
    LivenessConfig,
    LivenessResult,
    Pose,
    SubmittedFrame,
    evaluate,
    start_challenge,
)
from idverify.ml.detector import load_detector  # noqa: E402
from idverify.ml.embedder import load_embedder  # noqa: E402
from idverify.ml.imaging import from_pixels  # noqa: E402
from idverify.ml.liveness_frames import OnnxLivenessFrames  # noqa: E402
from idverify.ml.model_registry import ModelRegistry  # noqa: E402
from idverify.ml.onnx_sessions import SessionConfig  # noqa: E402
from tests.adapters.liveness.synth import (  # noqa: E402
    Face,
    Frame,
    Pixels,
    capture,
    encode,
    fit,
    jitter,
    screen_light,
)
from tests.fakes import FixedClock, SeededRandom  # noqa: E402

DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "faces" / "deepface-unit"
CONFIG = LivenessConfig(same_person_threshold=DEFAULT_THRESHOLDS["sface-2021dec"].liveness_same_person)


class Judge:
    def __init__(self) -> None:
        registry = ModelRegistry.load(ROOT / "models")
        config = SessionConfig(intra_op_threads=2, inter_op_threads=1, allow_gpu=False)
        self.detector = load_detector(registry, "yunet-2023mar", config)
        self.observer = OnnxLivenessFrames(self.detector, load_embedder(registry, "sface-2021dec", config),
                                           max_frames=CONFIG.max_frames)

    def observe(self, challenge: Challenge, frames: Sequence[Frame]) -> list[FrameObservation]:
        return self.observer.observe([SubmittedFrame(image=encode(f.pixels), captured_at_ms=f.t_ms,
                                                     nonce=challenge.nonce, sequence=n, light_step=f.light_step)
                                      for n, f in enumerate(frames)])


def challenge_of(seed: int, turn: Pose) -> Challenge:
    issued = start_challenge("eval", FixedClock(datetime(2026, 11, 29, 9, 0, tzinfo=UTC) + timedelta(minutes=seed)),
                             SeededRandom(seed), CONFIG)
    return replace(issued, steps=(ChallengeStep(turn, dict(GUIDANCE[turn])),
                                  ChallengeStep(Pose.CENTRE, dict(GUIDANCE[Pose.CENTRE]))))


def t0(challenge: Challenge) -> int:
    return int(challenge.issued_at.timestamp() * 1000) + 1_000


def now_for(challenge: Challenge, frames: Sequence[Frame]) -> datetime:
    return datetime.fromtimestamp((frames[-1].t_ms + 400) / 1000, tz=UTC)


def light_of(challenge: Challenge) -> list[tuple[tuple[float, float, float], int]]:
    return [(s.channels, s.duration_ms) for s in challenge.light]


def frontal_photos(judge: Judge, folder: Path) -> list[tuple[str, Pixels, Face]]:
    out = []
    for path in sorted(folder.glob("img*.jpg"), key=lambda p: int("".join(c for c in p.stem if c.isdigit()) or 0)):
        if "reflection" in path.name:
            continue
        pixels = cv2.imread(str(path))
        if pixels is None:
            continue
        pixels = fit(np.asarray(pixels, dtype=np.uint8))
        faces = judge.detector.detect(from_pixels(pixels))
        if len(faces) != 1:
            continue
        try:
            pose = estimate_head_pose(faces[0].landmarks)
        except InvalidArgument:
            continue
        if abs(pose.yaw) <= 0.1 and abs(pose.pitch) <= 0.1 and faces[0].box.w >= 80:
            out.append((path.name, pixels, Face.of(faces[0])))
    return out


def identities(folder: Path) -> list[list[str]]:
    """Groups of photos of one person, from the same-person pairs of master.csv (union of the pairs)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    with (folder / "master.csv").open() as f:
        for row in csv.DictReader(f):
            if row["Decision"] == "Yes":
                parent[find(row["file_x"])] = find(row["file_y"])
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(find(name), []).append(name)
    return [sorted(g) for g in groups.values() if len(g) >= 3]


def forged_times(frames: Sequence[FrameObservation], case: str, challenge: Challenge) -> list[FrameObservation]:
    t = [f.captured_at_ms for f in frames]
    if case == "1970":
        t = [1_000 + 80 * k for k in range(len(t))]
    elif case == "2200":
        t = [7_258_118_400_000 + 80 * k for k in range(len(t))]
    elif case == "identical":
        t = [t[0]] * len(t)
    elif case == "backwards":
        t = list(reversed(t))
    elif case == "1ms_steps":
        t = t[:5] + [t[4] + 150 + k for k in range(len(t) - 5)]
    elif case == "5fps":
        t = [t[0] + 200 * k for k in range(len(t))]
    elif case == "before_challenge":
        t = [v - 20_000 for v in t]
    return [replace(f, captured_at_ms=v) for f, v in zip(frames, t, strict=True)]


TIMING_CASES = ("1970", "2200", "identical", "backwards", "1ms_steps", "5fps", "before_challenge")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    judge = Judge()
    photos = frontal_photos(judge, args.folder)[: args.photos]
    results: dict[str, list[tuple[str, LivenessResult]]] = {k: [] for k in (
        "genuine", "warp", "warp_mild", "collage", "static", "timing", "replay", "screen")}

    def run(kind: str, label: str, challenge: Challenge, frames: Sequence[Frame]) -> list[FrameObservation]:
        observations = judge.observe(challenge, frames)
        results[kind].append((label, evaluate(challenge, observations, now_for(challenge, frames), config=CONFIG)))
        return observations

    for n, (name, pixels, face) in enumerate(photos):
        turn = Pose.LEFT if n % 2 == 0 else Pose.RIGHT
        challenge = challenge_of(n, turn)
        rng = np.random.default_rng(n)
        poses = [p.value for p in challenge.poses]
        genuine = capture(pixels, face, light=light_of(challenge), poses=poses, t0_ms=t0(challenge), rng=rng)
        observed = run("genuine", f"{name} {turn.value}", challenge, genuine)
        now = now_for(challenge, genuine)
        for case in TIMING_CASES:
            results["timing"].append((f"{name} {case}", evaluate(challenge, forged_times(observed, case, challenge),
                                                                 now, config=CONFIG)))
        other = challenge_of(n + 1000, turn)
        shift = t0(other) - t0(challenge)
        moved = [replace(o, captured_at_ms=o.captured_at_ms + shift, nonce=other.nonce) for o in observed]
        results["replay"].append((f"{name} under seed {n + 1000}", evaluate(
            other, moved, now + timedelta(milliseconds=shift), config=CONFIG)))
        warped = capture(pixels, face, light=light_of(challenge), poses=poses, t0_ms=t0(challenge),
                         rng=np.random.default_rng(n), warp=True)
        run("warp", f"{name} {turn.value}", challenge, warped)
        mild = capture(pixels, face, light=light_of(challenge), poses=poses, t0_ms=t0(challenge),
                       rng=np.random.default_rng(n), warp=True, warp_per_degree=0.007)
        run("warp_mild", f"{name} {turn.value}", challenge, mild)
        if n % 2 == 0:
            still = [replace(f, pixels=screen_light(pixels, face, challenge.light[f.light_step - 1].channels,
                                                   gain=0.25) if f.light_step else pixels) for f in genuine]
            run("static", name, challenge, still)
            whole = Face(pixels.shape[1] / 2, pixels.shape[0] / 2, pixels.shape[1] * 4.0, pixels.shape[0] * 4.0,
                         face.nose)
            unlit = capture(pixels, face, light=light_of(challenge), poses=poses, t0_ms=t0(challenge),
                            rng=np.random.default_rng(n), gain=0.0)
            screen = [replace(f, pixels=screen_light(f.pixels, whole, challenge.light[f.light_step - 1].channels,
                                                     gain=0.08, background_gain=0.08)) if f.light_step else f
                      for f in unlit]
            run("screen", name, challenge, screen)
    loaded: dict[str, Pixels] = {}
    for k, group in enumerate(identities(args.folder)):
        for turn in (Pose.LEFT, Pose.RIGHT):
            challenge = challenge_of(2000 + 2 * k + (turn is Pose.RIGHT), turn)
            rng = np.random.default_rng(k)
            frames: list[Frame] = []
            t = t0(challenge)
            first = group[0]
            if first not in loaded:
                loaded[first] = fit(np.asarray(cv2.imread(str(args.folder / first)), dtype=np.uint8))
            found = judge.detector.detect(from_pixels(loaded[first]))
            base_face = Face.of(max(found, key=lambda f: f.box.area)) if found else None
            for step, (rgb, ms) in enumerate(light_of(challenge), start=1):
                for _ in range(max(2, ms // 80)):
                    pixels = loaded[first]
                    lit = screen_light(pixels, base_face, rgb, gain=0.25) if base_face else pixels
                    frames.append(Frame(jitter(lit, rng), t, step))
                    t += 80
            for name in group:
                if name not in loaded:
                    loaded[name] = fit(np.asarray(cv2.imread(str(args.folder / name)), dtype=np.uint8))
                for _ in range(5):
                    frames.append(Frame(jitter(loaded[name], rng), t, 0))
                    t += 80
            run("collage", f"{'+'.join(group)} {turn.value}", challenge, frames)
    elapsed = time.perf_counter() - started
    report(results, args, len(photos), elapsed)


def report(results: dict[str, list[tuple[str, LivenessResult]]], args: argparse.Namespace, photos: int,
           elapsed: float) -> None:
    lines = [
        "# Liveness against photo attacks: synthetic captures from real photographs",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, {platform.machine()}; "
        f"load average {os.getloadavg()[0]:.2f}; run time {elapsed:.0f} s",
        f"- command: `.venv/bin/python bench/eval_liveness.py --photos {args.photos}"
        f"{' --out ' + str(args.out) if args.out else ''}` over "
        f"`../shared/data/faces/deepface-unit` ({photos} frontal one-face portraits used)",
        "- decision: the production path (OnnxLivenessFrames: YuNet + SFace; `evaluate` with `LivenessConfig` "
        "defaults, same-person threshold "
        f"{CONFIG.same_person_threshold}); passive PAD off (not installed by default); no capture key or "
        "attestation (those are evidence from outside the pixels, not measured here)",
        "- every capture is **synthetic** (bench/eval_liveness.py docstring and tests/adapters/liveness/synth.py): "
        "genuine ones are portraits re-rendered as a rigid head with a simulated screen reflection, not recordings "
        "of people. The rates say how the checks separate these sets, nothing about real captures.",
        "",
        "| set | captures | accepted | rate | what refused them (primary reason: count) |",
        "|---|---:|---:|---:|---|",
    ]
    for kind, rows in results.items():
        accepted = sum(r.passed for _, r in rows)
        if kind == "genuine":
            rate = f"BPCER {(len(rows) - accepted) / max(len(rows), 1):.3f}"
        else:
            rate = f"APCER {accepted / max(len(rows), 1):.3f}"
        reasons = Counter(r.primary_reason for _, r in rows if not r.passed)
        why = ", ".join(f"{k}: {v}" for k, v in reasons.most_common()) or "-"
        lines.append(f"| {kind} | {len(rows)} | {accepted} | {rate} | {why} |")
    lines += ["", "## Every capture", ""]
    for kind, rows in results.items():
        lines.append(f"- **{kind}**: " + "; ".join(
            f"{label} {'PASS' if r.passed else ','.join(r.reason_codes)}" for label, r in rows))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
