"""Quality gates on one detected face: size, sharpness, exposure, pose and eye visibility.

Each failed gate adds a stable reason code to the :class:`QualityReport` (hints for the applicant, in zh-CN and
en, live with the codes in ``idverify.factors.face_match``). Sharpness and exposure are measured on the aligned
112 x 112 crop, so they do not depend on the photograph's resolution; size on the face box in the decoded image;
pose from the five landmarks (no extra model). Default limits and how they were chosen are in
docs/reports/face-calibration.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.face import DetectedFace, QualityReport

FACE_TOO_SMALL = "face_too_small"
FACE_BLURRY = "face_blurry"
FACE_UNDEREXPOSED = "face_underexposed"
FACE_OVEREXPOSED = "face_overexposed"
FACE_POSE = "face_pose_not_frontal"
EYES_NOT_VISIBLE = "eyes_not_visible"


@dataclass(frozen=True, slots=True)
class QualityLimits:
    """Limits of the gates. Pose ratios are in units of the distance between the eyes."""

    min_face_px: float = 64.0
    min_sharpness: float = 40.0
    min_brightness: float = 45.0
    max_brightness: float = 215.0
    max_clipped_fraction: float = 0.35
    max_yaw_ratio: float = 0.30
    pitch_ratio_range: tuple[float, float] = (0.25, 0.80)
    max_roll_deg: float = 40.0
    min_eye_box_ratio: float = 0.22


def assess(
    face: DetectedFace,
    crop: NDArray[np.uint8],
    image_width: int,
    image_height: int,
    limits: QualityLimits,
    *,
    scale: float = 1.0,
) -> QualityReport:
    """Gate ``face`` (coordinates in the image it was detected on; ``scale`` maps them to the original
    photograph, so the size gate judges original pixels) with its aligned BGR ``crop``."""
    reasons: list[str] = []
    lm = face.landmarks
    size = face.box.short_side / scale
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    centre = grey[24:104, 24:88]  # eyes, nose and mouth of the template, little background
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    clipped = float(((centre < 12) | (centre > 243)).mean())
    iod = max(lm.inter_ocular, 1e-6)
    eye_mid_x = (lm.eye_image_left.x + lm.eye_image_right.x) / 2
    eye_mid_y = (lm.eye_image_left.y + lm.eye_image_right.y) / 2
    mouth_mid_y = (lm.mouth_image_left.y + lm.mouth_image_right.y) / 2
    yaw = (lm.nose_tip.x - eye_mid_x) / iod
    span = mouth_mid_y - eye_mid_y
    pitch = (lm.nose_tip.y - eye_mid_y) / span if span > 1e-6 else 0.0
    roll = float(
        np.degrees(np.arctan2(lm.eye_image_right.y - lm.eye_image_left.y, lm.eye_image_right.x - lm.eye_image_left.x))
    )
    eyes_in_image = all(
        0 <= p.x < image_width and 0 <= p.y < image_height for p in (lm.eye_image_left, lm.eye_image_right)
    )
    eye_box_ratio = iod / max(face.box.w, 1e-6)

    if size < limits.min_face_px:
        reasons.append(FACE_TOO_SMALL)
    if not eyes_in_image or eye_box_ratio < limits.min_eye_box_ratio or lm.eye_image_left.x >= lm.eye_image_right.x:
        reasons.append(EYES_NOT_VISIBLE)
    if sharpness < limits.min_sharpness:
        reasons.append(FACE_BLURRY)
    if brightness < limits.min_brightness or (clipped > limits.max_clipped_fraction and brightness < 128):
        reasons.append(FACE_UNDEREXPOSED)
    elif brightness > limits.max_brightness or clipped > limits.max_clipped_fraction:
        reasons.append(FACE_OVEREXPOSED)
    low, high = limits.pitch_ratio_range
    if abs(yaw) > limits.max_yaw_ratio or not low <= pitch <= high or abs(roll) > limits.max_roll_deg:
        reasons.append(FACE_POSE)
    metrics = (
        ("face_px", size),
        ("sharpness", sharpness),
        ("brightness", brightness),
        ("clipped_fraction", clipped),
        ("yaw_ratio", yaw),
        ("pitch_ratio", pitch),
        ("roll_deg", roll),
        ("eye_box_ratio", eye_box_ratio),
        ("detector_score", face.box.score),
    )
    return QualityReport(tuple(reasons), tuple((k, round(float(v), 4)) for k, v in metrics))
