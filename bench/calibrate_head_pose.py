"""Head-pose calibration on real photographs: yaw and pitch of YuNet landmarks over a folder and its mirror images.

Usage: .venv/bin/python bench/calibrate_head_pose.py [FOLDER] [--rows] [--replay]
FOLDER defaults to ../shared/data/faces/deepface-unit. Prints the distribution of the head_pose ratios, how the
current thresholds (idverify.factors.liveness.PoseThresholds) classify each photo, and, with --rows, one line per
image. The photographs are mostly frontal portraits, so they measure the *frontal* spread and the detector's
mirror consistency; they cannot measure what a deliberate turn looks like. ``--replay`` adds the thumbnail
difference (mean absolute difference, grey levels) between each photo and simple altered copies of it, the figure
that the replay check (``LivenessConfig.duplicate_max_thumbnail_mad``) compares.
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.factors.head_pose import NEUTRAL_NOSE_HEIGHT, HeadPose, PoseRatios, pose_ratios
from idverify.factors.liveness import PoseThresholds, classify_pose
from idverify.ml.detector import load_detector
from idverify.ml.imaging import decode_image, from_pixels
from idverify.ml.liveness_frames import frame_thumbnail
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "faces" / "deepface-unit"


def percentiles(values: list[float]) -> str:
    qs = np.percentile(np.asarray(values), [0, 5, 25, 50, 75, 95, 100])
    return " ".join(f"{q:+.3f}" for q in qs)


def main(argv: list[str]) -> None:
    folder = Path(next((a for a in argv if not a.startswith("--")), DEFAULT_FOLDER))
    detector = load_detector(ModelRegistry.load(ROOT / "models"), "yunet-2023mar",
                             SessionConfig(intra_op_threads=2, allow_gpu=False))
    thresholds = PoseThresholds()
    rows: list[tuple[str, bool, int, PoseRatios]] = []
    no_face: list[str] = []
    for path in sorted(folder.glob("*.jpg")):
        image = decode_image(path.read_bytes())
        for flipped in (False, True):
            frame = from_pixels(np.ascontiguousarray(cv2.flip(image.pixels, 1))) if flipped else image
            faces = detector.detect(frame)
            if not faces:
                no_face.append(f"{path.name}{' (flipped)' if flipped else ''}")
                continue
            largest = max(faces, key=lambda f: f.box.area)
            rows.append((path.name, flipped, len(faces), pose_ratios(largest.landmarks)))
    single = [r for r in rows if r[2] == 1]
    print(f"folder: {folder}")
    print(f"images: {len(rows) // 2 + len(no_face) // 2} x 2 (original + horizontal flip); "
          f"detections: {len(rows)}; one face: {len(single)}; several faces (largest used): "
          f"{len(rows) - len(single)}; no face: {len(no_face)} {no_face}")
    for label, subset in (("one-face images", single), ("all images, largest face", rows)):
        print(f"\n{label} (n={len(subset)})   percentiles 0 5 25 50 75 95 100")
        print(f"  yaw          {percentiles([r[3].yaw for r in subset])}")
        print(f"  |yaw|        {percentiles([abs(r[3].yaw) for r in subset])}")
        print(f"  nose height  {percentiles([r[3].nose_height for r in subset])}")
        print(f"  pitch        {percentiles([NEUTRAL_NOSE_HEIGHT - r[3].nose_height for r in subset])}"
              f"   (neutral {NEUTRAL_NOSE_HEIGHT})")
    originals = {r[0]: r[3] for r in single if not r[1]}
    pairs = [(originals[r[0]], r[3]) for r in single if r[1] and r[0] in originals]
    sums = [a.yaw + b.yaw for a, b in pairs]
    print(f"\nmirror consistency over {len(pairs)} one-face originals with their flips: yaw(orig)+yaw(flip) "
          f"median {statistics.median(sums):+.3f}, mean |sum| {statistics.fmean(abs(s) for s in sums):.3f}, "
          f"max |sum| {max(abs(s) for s in sums):.3f}; nose-height difference max "
          f"{max(abs(a.nose_height - b.nose_height) for a, b in pairs):.3f}")
    classes = Counter(
        str(classify_pose(HeadPose(r[3].yaw, NEUTRAL_NOSE_HEIGHT - r[3].nose_height), False, thresholds))
        for r in single)
    print(f"\nclasses with {thresholds} over the {len(single)} one-face images: {dict(sorted(classes.items()))}")
    if "--replay" in argv:
        replay_figures(folder, [f"img{n}.jpg" for n in (1, 8, 17, 22, 27, 35, 44, 50)])
    if "--rows" in argv:
        print("\nimage flipped faces yaw nose_height class")
        for name, flipped, count, ratios in rows:
            pose = HeadPose(ratios.yaw, NEUTRAL_NOSE_HEIGHT - ratios.nose_height)
            print(f"{name} {int(flipped)} {count} {ratios.yaw:+.3f} {ratios.nose_height:.3f} "
                  f"{classify_pose(pose, False, thresholds)}")


def replay_figures(folder: Path, names: list[str]) -> None:
    """Thumbnail MAD between a photo and: JPEG q80 and q50 re-encodes, +-8 uniform noise, a 3-pixel shift."""
    def thumb(pixels: NDArray[np.uint8]) -> NDArray[np.float64]:
        return np.frombuffer(frame_thumbnail(from_pixels(pixels)), dtype=np.uint8).astype(np.float64)

    def reencode(pixels: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
        data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)

    rng = np.random.default_rng(0)
    table: list[list[float]] = []
    for name in names:
        pixels = decode_image((folder / name).read_bytes()).pixels
        noisy = np.clip(pixels.astype(np.int16) + rng.integers(-8, 9, pixels.shape), 0, 255).astype(np.uint8)
        shift = np.array([[1, 0, 3], [0, 1, 0]], dtype=np.float32)
        shifted = np.asarray(cv2.warpAffine(pixels, shift, (pixels.shape[1], pixels.shape[0]),
                                            borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
        base = thumb(pixels)
        table.append([float(np.abs(base - thumb(x)).mean())
                      for x in (reencode(pixels, 80), reencode(pixels, 50), noisy, shifted)])
    arr = np.asarray(table)
    print(f"\nreplay thumbnail MAD over {len(names)} photos (min / max): "
          + ", ".join(f"{label} {arr[:, i].min():.3f} / {arr[:, i].max():.3f}"
                      for i, label in enumerate(("jpeg q80", "jpeg q50", "noise +-8", "shift 3 px"))))


if __name__ == "__main__":
    main(sys.argv[1:])
