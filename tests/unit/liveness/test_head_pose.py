"""Head pose from five landmarks: signs, units and invariances (synthetic rigid-head geometry)."""

from __future__ import annotations

import math

import pytest

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import Landmarks, Point
from idverify.factors.head_pose import (
    NEUTRAL_NOSE_HEIGHT,
    estimate_head_pose,
    pose_ratios,
)
from tests.unit.liveness.geometry import NOSE_DEPTH, face_landmarks


def test_a_frontal_face_has_zero_yaw_and_zero_pitch() -> None:
    pose = estimate_head_pose(face_landmarks())
    assert pose.yaw == pytest.approx(0.0, abs=1e-9)
    assert pose.pitch == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("degrees", [10.0, 25.0, 40.0])
def test_turning_to_the_applicants_left_moves_the_nose_to_the_image_right_in_an_unmirrored_frame(
        degrees: float) -> None:
    pose = estimate_head_pose(face_landmarks(yaw_deg=degrees))
    assert pose.yaw == pytest.approx(NOSE_DEPTH * math.tan(math.radians(degrees)), rel=1e-6)
    assert estimate_head_pose(face_landmarks(yaw_deg=-degrees)).yaw == pytest.approx(-pose.yaw, rel=1e-6)


def test_a_mirrored_frame_reverses_the_image_yaw() -> None:
    plain = estimate_head_pose(face_landmarks(yaw_deg=30))
    mirrored = estimate_head_pose(face_landmarks(yaw_deg=30, mirrored=True))
    assert plain.yaw > 0.2
    assert mirrored.yaw == pytest.approx(-plain.yaw, rel=1e-6)


@pytest.mark.parametrize("degrees", [15.0, 30.0])
def test_chin_up_gives_positive_pitch_and_bowing_gives_negative_pitch(degrees: float) -> None:
    up = estimate_head_pose(face_landmarks(pitch_deg=degrees))
    down = estimate_head_pose(face_landmarks(pitch_deg=-degrees))
    assert up.pitch == pytest.approx(NOSE_DEPTH * math.tan(math.radians(degrees)), rel=1e-6)
    assert down.pitch == pytest.approx(-up.pitch, rel=1e-6)
    assert abs(up.yaw) < 1e-9
    assert abs(down.yaw) < 1e-9


def test_pose_does_not_depend_on_image_roll_scale_or_position() -> None:
    reference = estimate_head_pose(face_landmarks(yaw_deg=20, pitch_deg=-10))
    for roll, scale, centre in ((35.0, 60.0, (320.0, 240.0)), (-20.0, 200.0, (900.0, 50.0)),
                                (0.0, 25.0, (10.0, 10.0))):
        other = estimate_head_pose(face_landmarks(yaw_deg=20, pitch_deg=-10, roll_deg=roll, scale=scale,
                                                  centre=centre))
        assert other.yaw == pytest.approx(reference.yaw, abs=1e-9)
        assert other.pitch == pytest.approx(reference.pitch, abs=1e-9)


def test_pitch_is_the_nose_height_measured_from_the_neutral() -> None:
    landmarks = face_landmarks(pitch_deg=12)
    assert estimate_head_pose(landmarks, neutral_nose_height=0.5).pitch == pytest.approx(
        0.5 - pose_ratios(landmarks).nose_height)
    assert pose_ratios(face_landmarks()).nose_height == pytest.approx(NEUTRAL_NOSE_HEIGHT)


def test_landmarks_without_face_geometry_are_refused() -> None:
    p = Point(100.0, 100.0)
    with pytest.raises(InvalidArgument) as caught:
        estimate_head_pose(Landmarks(p, p, Point(100.0, 110.0), Point(95.0, 120.0), Point(105.0, 120.0)))
    assert caught.value.code == "face_landmarks_degenerate"
