"""Synthetic liveness captures made from real photographs, for tests and bench/eval_liveness.py.

None of this is a real camera capture; it is what the evaluation can honestly build without head-turn video:

* :func:`rigid_turn` re-renders a frontal photo as a *rigid* head turned by an angle: the face is modelled as a
  half-ellipsoid over the detected face (depth 0.75 face widths) with the nose standing 0.35 face widths further
  out, each pixel is rotated with its depth (orthographic), and the background stays where it is. Landmarks then
  move as a rigid head's would (eyes foreshortened, nose ahead of them). It is the *genuine* model of a turn.
* :func:`flat_warp` is the attack from issue 20: a smooth 2-D displacement that slides the nose and the middle of
  the face sideways while the eyes and the face outline stay put.
* :func:`screen_light` tints the face (soft ellipse) towards a screen colour with a gain, and the background with
  a much smaller one: a simulated reflection of a phone screen a few centimetres away.
* :func:`capture` makes a whole genuine-looking stream: light steps first (frontal, small motion), then a gradual
  head turn for each asked pose through intermediate angles, with sensor noise and JPEG encoding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.face import DetectedFace

Pixels = NDArray[np.uint8]

WHITE = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Face:
    """Where the face is in the source photo: centre, width and height (pixels), nose tip."""

    cx: float
    cy: float
    w: float
    h: float
    nose: tuple[float, float]

    @classmethod
    def of(cls, detected: DetectedFace) -> Face:
        box, nose = detected.box, detected.landmarks.nose_tip
        return cls(box.x + box.w / 2, box.y + box.h / 2, box.w, box.h, (nose.x, nose.y))


@dataclass(frozen=True)
class Frame:
    pixels: Pixels
    t_ms: int
    light_step: int


def _grid(shape: tuple[int, ...]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    ys, xs = np.mgrid[0: shape[0], 0: shape[1]].astype(np.float32)
    return xs, ys


def _head_depth(face: Face, xs: NDArray[np.float32], ys: NDArray[np.float32]
                ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(depth towards the camera in pixels, weight 1 inside the head fading to 0 outside)."""
    a, b = face.w * 0.62, face.h * 0.75
    u, v = (xs - face.cx) / a, (ys - face.cy) / b
    r2 = u * u + v * v
    ellipsoid = 0.75 * face.w * np.sqrt(np.clip(1.0 - r2, 0.0, None))
    nx, ny = face.nose
    sigma = 0.12 * face.w
    nose = 0.35 * face.w * np.exp(-((xs - nx) ** 2 + (ys - ny) ** 2) / (2 * sigma * sigma))
    weight = np.clip((1.45 - np.sqrt(r2)) / 0.45, 0.0, 1.0)
    return (ellipsoid + nose).astype(np.float32), weight.astype(np.float32)


def rigid_turn(pixels: Pixels, face: Face, yaw_deg: float, pitch_deg: float = 0.0) -> Pixels:
    """The photo's head turned ``yaw_deg`` towards the image's right (nose moves to larger x) and tilted
    ``pitch_deg`` up (nose moves to smaller y), as a rigid depth model (see the module docstring)."""
    xs, ys = _grid(pixels.shape)
    depth, weight = _head_depth(face, xs, ys)
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    src_x, src_y = xs.copy(), ys.copy()
    for _ in range(5):  # backward map: the source pixel whose forward image lands here (fixed point)
        d = cv2.remap(depth, src_x, src_y, cv2.INTER_LINEAR)
        w = cv2.remap(weight, src_x, src_y, cv2.INTER_LINEAR)
        src_x = xs - w * ((src_x - face.cx) * (math.cos(yaw) - 1) + d * math.sin(yaw))
        src_y = ys - w * ((src_y - face.cy) * (math.cos(pitch) - 1) - d * math.sin(pitch))
    out = cv2.remap(pixels, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(out, dtype=np.uint8)


def flat_warp(pixels: Pixels, face: Face, shift: float) -> Pixels:
    """Slide the nose and mid-face sideways by ``shift`` face widths (positive: towards larger x); the eyes and
    the outline barely move. No rigid head produces this."""
    xs, ys = _grid(pixels.shape)
    nx, ny = face.nose
    sigma_x, sigma_y = 0.22 * face.w, 0.28 * face.h
    bump = np.exp(-((xs - nx) ** 2) / (2 * sigma_x ** 2) - ((ys - ny) ** 2) / (2 * sigma_y ** 2))
    dx = shift * face.w * bump
    out = cv2.remap(pixels, (xs - dx).astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(out, dtype=np.uint8)


def screen_light(pixels: Pixels, face: Face, rgb: tuple[float, float, float], *, gain: float,
                 background_gain: float = 0.01) -> Pixels:
    """Tint towards the screen colour ``rgb`` (0..1 each): ``gain`` on the face, ``background_gain`` elsewhere.
    The tint is relative to white, so under white nothing changes."""
    xs, ys = _grid(pixels.shape)
    u, v = (xs - face.cx) / (face.w * 0.6), (ys - face.cy) / (face.h * 0.7)
    mask = np.clip(1.3 - np.sqrt(u * u + v * v), 0.0, 1.0)[..., None]
    colour = np.asarray([rgb[2], rgb[1], rgb[0]], dtype=np.float32)  # BGR
    factor = 1.0 + (gain * mask + background_gain * (1 - mask)) * (colour - 1.0)
    return np.asarray(np.clip(pixels.astype(np.float32) * factor, 0, 255), dtype=np.uint8)


def jitter(pixels: Pixels, rng: np.random.Generator, *, shift_px: float = 1.5, noise: float = 2.0) -> Pixels:
    """Small camera shake (sub-pixel shift) and sensor noise."""
    dx, dy = rng.uniform(-shift_px, shift_px, size=2)
    moved = cv2.warpAffine(pixels, np.float32([[1, 0, dx], [0, 1, dy]]), (pixels.shape[1], pixels.shape[0]),
                           borderMode=cv2.BORDER_REFLECT)
    noisy = moved.astype(np.float32) + rng.normal(0.0, noise, size=moved.shape)
    return np.asarray(np.clip(noisy, 0, 255), dtype=np.uint8)


def encode(pixels: Pixels, quality: int = 88) -> bytes:
    return bytes(cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())


def fit(pixels: Pixels, max_side: int = 640) -> Pixels:
    scale = max_side / max(pixels.shape[:2])
    if scale >= 1:
        return pixels
    size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def turn_angles(poses: Sequence[str], *, mirrored: bool, degrees: float = 36.0, frames_per_move: int = 8
                ) -> list[tuple[float, float]]:
    """(image yaw, image pitch) in degrees, per frame, for a head that moves through each asked pose from the
    front and back, through intermediate angles, via the centre between two turns. Poses are the applicant's
    (``left`` turns the nose towards the image's right unless mirrored)."""
    targets = {"left": (degrees, 0.0), "right": (-degrees, 0.0), "up": (0.0, degrees * 0.8),
               "down": (0.0, -degrees * 0.8), "centre": (0.0, 0.0)}
    out: list[tuple[float, float]] = []
    current = (0.0, 0.0)
    path: list[str] = []
    for pose in poses:  # people come back to the middle between two turns
        if pose != "centre" and path and path[-1] != "centre":
            path.append("centre")
        path.append(pose)
    for pose in path:
        yaw, pitch = targets[pose]
        if mirrored:
            yaw = -yaw
        for k in range(1, frames_per_move + 1):
            s = k / frames_per_move
            out.append((current[0] + (yaw - current[0]) * s, current[1] + (pitch - current[1]) * s))
        out.extend([(yaw, pitch)] * 2)  # hold the pose for a moment
        current = (yaw, pitch)
    return out


def capture(pixels: Pixels, face: Face, *, light: Sequence[tuple[tuple[float, float, float], int]],
            poses: Sequence[str], mirrored: bool = False, t0_ms: int, rng: np.random.Generator,
            interval_ms: int = 80, gain: float = 0.25, warp: bool = False, warp_per_degree: float = 0.01
            ) -> list[Frame]:
    """A whole stream: each light step (colour, duration) while frontal, then the head poses. ``warp`` swaps the
    rigid render for :func:`flat_warp` (the photo-warp attack) with the same timing."""
    frames: list[Frame] = []
    t = t0_ms
    for step, (rgb, duration) in enumerate(light, start=1):
        for _ in range(max(2, duration // interval_ms)):
            lit = screen_light(pixels, face, rgb, gain=gain * rng.uniform(0.7, 1.3))
            frames.append(Frame(jitter(lit, rng), t, step))
            t += interval_ms + int(rng.integers(-8, 9))
    for yaw, pitch in turn_angles(poses, mirrored=mirrored):
        moved = flat_warp(pixels, face, shift=warp_per_degree * yaw) if warp else rigid_turn(pixels, face, yaw, pitch)
        frames.append(Frame(jitter(moved, rng), t, 0))
        t += interval_ms + int(rng.integers(-8, 9))
    return frames
