"""One continuous capture: timing, frame order, frame-to-frame continuity and rigid-head geometry. Standard library.

A set of separate photographs, however well posed, is not one capture. These checks ask the frames to look like
what a camera produces over a few seconds: capture times near the server's clock and inside the challenge's life,
spaced as a camera spaces them, numbered without gaps; between consecutive frames the face box, the landmarks, the
background and the head pose move by small amounts; and when the head turns, the face's outline narrows as a rigid
head's does (a photo warped to move the nose against the eyes keeps its outline). Rules and defaults are in
docs/liveness.md, section 4; each check returns the reason codes it found, nothing raises.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise


@dataclass(frozen=True, slots=True)
class ContinuityConfig:
    min_interval_ms: int = 16
    max_interval_ms: int = 200
    max_median_interval_ms: int = 100
    clock_skew_ms: int = 2_000
    max_box_shift: float = 0.35  # face widths between consecutive frames
    max_box_scale: float = 0.25  # relative change of the face width
    max_landmark_shift: float = 0.25  # face widths
    max_background_mad: float = 28.0  # grey levels, mean over the capture's consecutive pairs
    max_pose_step: float = 0.2  # head_pose ratio units between consecutive frames
    rigid_min_yaw: float = 0.2  # turns smaller than this (from the frontal reference) are not judged
    rigid_slope: float = 0.3  # a turned frame's outline aspect must be <= 1 - slope * |yaw change|

    def __post_init__(self) -> None:
        if not 0 < self.min_interval_ms < self.max_median_interval_ms <= self.max_interval_ms:
            raise ValueError("continuity: need 0 < min_interval_ms < max_median_interval_ms <= max_interval_ms")


@dataclass(frozen=True, slots=True)
class Track:
    """What continuity needs of one frame. ``box``: x, y, w, h in pixels; ``landmarks``: ten numbers;
    ``background``: small grey thumbnail of the frame with the face box blanked; ``yaw``/``pitch``: head pose."""

    sequence: int
    captured_at_ms: int
    box: tuple[float, float, float, float] | None
    landmarks: tuple[float, ...] | None
    background: bytes
    yaw: float | None
    pitch: float | None


TIMING = "liveness_timing"
SEQUENCE = "liveness_sequence"
DISCONTINUOUS = "liveness_discontinuous"
GEOMETRY = "liveness_geometry"


def check_timing(tracks: Sequence[Track], issued_at: datetime, now: datetime, config: ContinuityConfig
                 ) -> list[str]:
    """``liveness_sequence`` when the counters are not 0, 1, 2, ...; ``liveness_timing`` when a capture time lies
    outside the challenge's life (with the skew allowance) or the spacing is not a camera's."""
    reasons: list[str] = []
    if [t.sequence for t in tracks] != list(range(len(tracks))):
        reasons.append(SEQUENCE)
    if not tracks:
        return reasons
    earliest = issued_at.timestamp() * 1000 - config.clock_skew_ms
    latest = now.timestamp() * 1000 + config.clock_skew_ms
    times = [t.captured_at_ms for t in tracks]
    gaps = [b - a for a, b in pairwise(times)]
    out_of_life = any(not earliest <= t <= latest for t in times)
    bad_gaps = any(not config.min_interval_ms <= g <= config.max_interval_ms for g in gaps)
    slow = bool(gaps) and statistics.median(gaps) > config.max_median_interval_ms
    if out_of_life or bad_gaps or slow:
        reasons.append(TIMING)
    return reasons


def check_continuity(tracks: Sequence[Track], config: ContinuityConfig) -> list[str]:
    """``liveness_discontinuous`` when consecutive frames jump (box, landmarks, pose) or the background changes
    more than a steady hand-held camera's does."""
    mads: list[float] = []
    jump = False
    for a, b in pairwise(tracks):
        if len(a.background) == len(b.background) and a.background:
            mads.append(sum(abs(x - y) for x, y in zip(a.background, b.background, strict=True)) / len(a.background))
        if a.box is None or b.box is None:
            continue  # no face in one of them: the face-count checks report it
        width = max(a.box[2], 1.0)
        ca = (a.box[0] + a.box[2] / 2, a.box[1] + a.box[3] / 2)
        cb = (b.box[0] + b.box[2] / 2, b.box[1] + b.box[3] / 2)
        if math.hypot(cb[0] - ca[0], cb[1] - ca[1]) / width > config.max_box_shift:
            jump = True
        if abs(b.box[2] - a.box[2]) / width > config.max_box_scale:
            jump = True
        if a.landmarks and b.landmarks and len(a.landmarks) == len(b.landmarks):
            # Landmarks relative to their own box centre, so a shift of the whole face is judged once (above).
            rel_a = _relative(a.landmarks, ca)
            rel_b = _relative(b.landmarks, cb)
            if max(abs(x - y) for x, y in zip(rel_a, rel_b, strict=True)) / width > config.max_landmark_shift:
                jump = True
        if a.yaw is not None and b.yaw is not None and abs(b.yaw - a.yaw) > config.max_pose_step:
            jump = True
        if a.pitch is not None and b.pitch is not None and abs(b.pitch - a.pitch) > config.max_pose_step:
            jump = True
    if jump or (mads and statistics.fmean(mads) > config.max_background_mad):
        return [DISCONTINUOUS]
    return []


def _relative(landmarks: Sequence[float], centre: tuple[float, float]) -> list[float]:
    return [v - centre[i % 2] for i, v in enumerate(landmarks)]


def check_rigid(tracks: Sequence[Track], frontal: Sequence[int], turned: Sequence[int], config: ContinuityConfig
                ) -> list[str]:
    """``liveness_geometry`` when a turned frame keeps a frontal face's outline.

    ``frontal``: indices of the capture's frontal frames (the reference); ``turned``: indices of frames classified
    as left/right turns. A rigid head turned so that the nose moves by ``|dyaw|`` shows a narrower face box
    (the far cheek turns away); a flat warp of a photo moves the nose and keeps the box. Judged per turn
    direction on the median of the turned frames (yaw change at least ``rigid_min_yaw``): the detector's box lags
    a moving head by a frame or so, and one frame should not decide.
    """
    reference = [_aspect(tracks[i]) for i in frontal]
    ref_yaws = [tracks[i].yaw for i in frontal]
    known = [(a, y) for a, y in zip(reference, ref_yaws, strict=True) if a is not None and y is not None]
    if not known or not turned:
        return []
    base_aspect = statistics.median(a for a, _ in known)
    base_yaw = statistics.median(y for _, y in known)
    for side in (1, -1):  # each turn direction on its own: the median turned frame, not the noisiest one
        changes, ratios = [], []
        for i in turned:
            aspect, yaw = _aspect(tracks[i]), tracks[i].yaw
            if aspect is None or yaw is None:
                continue
            change = (yaw - base_yaw) * side
            if change >= config.rigid_min_yaw:
                changes.append(change)
                ratios.append(aspect / base_aspect)
        if ratios and statistics.median(ratios) > 1.0 - config.rigid_slope * statistics.median(changes):
            return [GEOMETRY]
    return []


def _aspect(track: Track) -> float | None:
    if track.box is None or track.box[3] <= 0:
        return None
    return track.box[2] / track.box[3]
