"""The per-frame checks behind a liveness decision: replays, pose order, one person throughout, and PAD."""

from __future__ import annotations

import hmac
import math
from collections.abc import Sequence

from idverify.domain.face import Embedding
from idverify.factors.continuity import Track
from idverify.factors.liveness_model import FrameObservation, LivenessConfig, LivenessReason, PadPolicy, Pose


def track(frame: FrameObservation) -> Track:
    """The frame as the continuity checks see it: no face geometry unless it shows exactly one face."""
    one = one_face(frame)
    return Track(sequence=frame.sequence, captured_at_ms=frame.captured_at_ms,
                 box=frame.box if one else None, landmarks=frame.landmarks if one else None,
                 background=frame.background, yaw=frame.pose.yaw if one and frame.pose else None,
                 pitch=frame.pose.pitch if one and frame.pose else None)


def same_nonce(got: str, want: str) -> bool:
    """Constant-time comparison of a frame's nonce with the challenge's."""
    return hmac.compare_digest(got.encode("utf-8"), want.encode("utf-8"))


def one_face(frame: FrameObservation) -> bool:
    return frame.face_count == 1


def duplicates(frames: Sequence[FrameObservation], config: LivenessConfig) -> list[int | None]:
    """For each frame, the index of an earlier frame it duplicates, or None. Same bytes anywhere, or the same
    picture re-encoded (landmarks and thumbnail both practically identical); a still applicant in a real capture
    moves the landmarks by more than that between frames."""
    out: list[int | None] = [None] * len(frames)
    seen: dict[bytes, int] = {}
    for j, later in enumerate(frames):
        if later.digest and later.digest in seen:
            out[j] = seen[later.digest]
            continue
        if later.digest:
            seen[later.digest] = j
        for i in range(j):
            if _is_duplicate(frames[i], later, config):
                out[j] = i
                break
    return out


def _is_duplicate(a: FrameObservation, b: FrameObservation, config: LivenessConfig) -> bool:
    if not (a.landmarks and b.landmarks and len(a.landmarks) == len(b.landmarks) == 10):
        return False
    scale = math.hypot(a.landmarks[2] - a.landmarks[0], a.landmarks[3] - a.landmarks[1])
    shift = max(abs(x - y) for x, y in zip(a.landmarks, b.landmarks, strict=True))
    if scale <= 0 or shift / scale > config.duplicate_max_landmark_shift:
        return False
    if not a.thumbnail or len(a.thumbnail) != len(b.thumbnail):
        return True
    mad = sum(abs(x - y) for x, y in zip(a.thumbnail, b.thumbnail, strict=True)) / len(a.thumbnail)
    return mad <= config.duplicate_max_thumbnail_mad


def match_sequence(classes: Sequence[Pose | None], asked: Sequence[Pose]) -> tuple[int, bool]:
    """(asked poses shown in order, whether the whole sequence was shown with no pose that was not asked)."""
    reached = 0
    previous: Pose | None = None
    for pose in classes:
        if pose is None or pose == previous:
            continue
        previous = pose
        if reached < len(asked) and pose == asked[reached]:
            reached += 1
        elif pose is not Pose.CENTRE and not (reached > 0 and pose == asked[reached - 1]):
            return reached, False
    return reached, reached == len(asked)


def similarities(frames: Sequence[FrameObservation], selfie: int | None) -> list[float | None]:
    order = ([selfie] if selfie is not None else []) + list(range(len(frames)))  # the selfie, else the first
    reference = next((frames[i].embedding for i in order if one_face(frames[i]) and frames[i].embedding), None)
    if reference is None:
        return [None] * len(frames)
    return [_cosine(f.embedding, reference) if one_face(f) and f.embedding else None for f in frames]


def _cosine(a: Embedding, b: Embedding) -> float | None:
    try:
        return a.cosine(b)
    except ValueError:  # different embedder models: no evidence of the same person
        return None


def pad(frames: Sequence[FrameObservation], policy: PadPolicy | None
         ) -> tuple[bool, float | None, list[bool], LivenessReason | None]:
    """(pad_ran, aggregate, per-frame flags, reason). PAD ran when every embedded one-face frame carries a score
    (the adapter embeds and scores a sample of the frames, always including the last frontal ones)."""
    faces = [f for f in frames if one_face(f) and f.embedding is not None]  # the frames the adapter scored
    flagged = [False] * len(frames)
    if policy is None:
        return False, None, flagged, None
    scores = [f.pad_live_score for f in faces]
    if not faces or any(s is None for s in scores):
        return False, None, flagged, LivenessReason.PAD_UNAVAILABLE if policy.required else None
    present = [s for s in scores if s is not None]
    flagged = [f.pad_live_score is not None and f.pad_live_score < policy.threshold for f in frames]
    aggregate = min(present) if policy.aggregate == "min" else math.fsum(present) / len(present)
    attack = aggregate < policy.threshold or (
        policy.frame_floor is not None and min(present) < policy.frame_floor)
    return True, aggregate, flagged, LivenessReason.PAD_ATTACK_SUSPECTED if attack else None
