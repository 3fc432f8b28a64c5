"""Head yaw and pitch from the five face landmarks. Standard library only.

The five points (two eye centres, nose tip, two mouth corners) are nearly enough for a coarse pose: the eyes and
mouth corners lie roughly in one plane, and the nose tip stands out in front of it. When the head turns, the nose
tip's image moves sideways off the eye-mouth midline; when it tilts, the nose moves along that midline.

Both measures are ratios of image distances, so they do not depend on image size, and they are taken in the
face's own frame (the line from the eye midpoint to the mouth midpoint), so a tilted phone (roll) does not change
them.

``yaw``
    Signed distance of the nose tip from the eye-mouth midline, divided by the inter-ocular distance.
    **Image space**: positive when the nose lies towards the image's right (larger x). 0 for a frontal face by
    symmetry, so yaw needs no calibration. In an *unmirrored* frame (what a person standing at the camera would
    see) a head turned to the applicant's own left shows the nose towards the image's right, i.e. yaw > 0.
    :mod:`idverify.factors.liveness` turns this into the applicant's point of view, taking mirroring into account.
``pitch``
    ``NEUTRAL_NOSE_HEIGHT - h`` where ``h`` is how far down the nose tip lies between the eye midpoint (0) and the
    mouth midpoint (1). Positive when the chin goes up (the nose tip moves towards the eyes), negative when the
    head bows. The neutral height is not 0.5 and depends on the detector's idea of "nose tip"; it was measured on
    real photographs (docs/reports/head-pose-calibration.md).

Under a rigid model of an average head (nose tip about 0.4 inter-ocular distances in front of the eye-mouth plane)
``yaw ~= 0.4 * tan(angle)``, so 0.1 is roughly 14 degrees and 0.25 roughly 32 degrees. That conversion is a model,
not a measurement; thresholds are set and reported in the ratio units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import Landmarks, Point

#: Median nose height (0 = eye midpoint, 1 = mouth midpoint) of YuNet landmarks over the 64 deepface-unit
#: photographs and their mirror images; see docs/reports/head-pose-calibration.md.
NEUTRAL_NOSE_HEIGHT = 0.59

#: Below this many pixels between the eyes the landmarks are too coarse for a pose.
MIN_INTER_OCULAR_PX = 4.0


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Coarse head pose in image space (see the module docstring for signs and units)."""

    yaw: float
    pitch: float


@dataclass(frozen=True, slots=True)
class PoseRatios:
    """The raw geometry behind :class:`HeadPose`: ``yaw`` as there, ``nose_height`` before the neutral is removed."""

    yaw: float
    nose_height: float


def pose_ratios(landmarks: Landmarks) -> PoseRatios:
    """Measure the nose tip against the eye-mouth midline.

    Raises InvalidArgument ``face_landmarks_degenerate`` when the eyes coincide or the mouth sits on the eyes
    (no face geometry to measure).
    """
    eyes_mid = _mid(landmarks.eye_image_left, landmarks.eye_image_right)
    mouth_mid = _mid(landmarks.mouth_image_left, landmarks.mouth_image_right)
    inter_ocular = landmarks.inter_ocular
    down_x, down_y = mouth_mid.x - eyes_mid.x, mouth_mid.y - eyes_mid.y
    face_height = math.hypot(down_x, down_y)
    if inter_ocular < MIN_INTER_OCULAR_PX or face_height < MIN_INTER_OCULAR_PX / 2:
        raise InvalidArgument("face_landmarks_degenerate", "the face landmarks are too close together")
    down_x, down_y = down_x / face_height, down_y / face_height
    # The unit vector across the face, pointing to the image's right when the face is upright.
    across_x, across_y = down_y, -down_x
    nose_x, nose_y = landmarks.nose_tip.x - eyes_mid.x, landmarks.nose_tip.y - eyes_mid.y
    yaw = (nose_x * across_x + nose_y * across_y) / inter_ocular
    height = (nose_x * down_x + nose_y * down_y) / face_height
    return PoseRatios(yaw=yaw, nose_height=height)


def estimate_head_pose(landmarks: Landmarks, neutral_nose_height: float = NEUTRAL_NOSE_HEIGHT) -> HeadPose:
    """Yaw and pitch of one face (image space). Raises InvalidArgument ``face_landmarks_degenerate``."""
    ratios = pose_ratios(landmarks)
    return HeadPose(yaw=ratios.yaw, pitch=neutral_nose_height - ratios.nose_height)


def _mid(a: Point, b: Point) -> Point:
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)
