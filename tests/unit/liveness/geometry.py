"""Synthetic five-point faces from a rigid 3D head, for tests that must not need a detector.

Model (units of inter-ocular distance): eye centres at (+-0.5, 0, 0), mouth corners at (+-0.4, 1, 0), nose tip at
(0, NEUTRAL_NOSE_HEIGHT, -0.4) (z towards the camera is negative). Orthographic projection, so
``yaw = 0.4 * tan(yaw angle)`` and ``pitch = 0.4 * tan(pitch angle)`` exactly.
"""

from __future__ import annotations

import math

from idverify.domain.face import Landmarks, Point
from idverify.factors.head_pose import NEUTRAL_NOSE_HEIGHT

NOSE_DEPTH = 0.4
_MODEL = (
    (-0.5, 0.0, 0.0),  # eye on the image's left (subject's right eye in an unmirrored frame)
    (0.5, 0.0, 0.0),
    (0.0, NEUTRAL_NOSE_HEIGHT, -NOSE_DEPTH),
    (-0.4, 1.0, 0.0),
    (0.4, 1.0, 0.0),
)


def face_landmarks(yaw_deg: float = 0.0, pitch_deg: float = 0.0, *, roll_deg: float = 0.0, mirrored: bool = False,
                   scale: float = 60.0, centre: tuple[float, float] = (320.0, 240.0)) -> Landmarks:
    """Landmarks of a head turned ``yaw_deg`` to the applicant's own left (negative: right) and tilted
    ``pitch_deg`` up (negative: down), as an unmirrored camera sees it, or mirrored when asked."""
    yaw, pitch, roll = math.radians(yaw_deg), math.radians(pitch_deg), math.radians(roll_deg)
    points = []
    for mx, my, mz in _MODEL:
        # Turning to the applicant's left brings the nose (z < 0) towards the image's right.
        x, z = mx * math.cos(yaw) - mz * math.sin(yaw), mx * math.sin(yaw) + mz * math.cos(yaw)
        # Chin up brings the nose towards the eyes (smaller y).
        y = my * math.cos(pitch) + z * math.sin(pitch)
        x, y = x * math.cos(roll) - y * math.sin(roll), x * math.sin(roll) + y * math.cos(roll)
        if mirrored:
            x = -x
        points.append(Point(centre[0] + scale * x, centre[1] + scale * y))
    if mirrored:  # names follow the image: swap the image-left/right pairs back into place
        points = [points[1], points[0], points[2], points[4], points[3]]
    return Landmarks(*points)


def flat(landmarks: Landmarks) -> tuple[float, ...]:
    return tuple(c for p in landmarks.as_tuple() for c in (p.x, p.y))
