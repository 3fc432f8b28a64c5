"""A drawn, entirely synthetic face: no photograph of anyone, so it may be committed (samples/).

The drawing is plain shapes (skin, hair, eyes, brows, nose, mouth) that the face detector finds (YuNet score
about 0.9 at 640x480). It is not a person: passive PAD may well call it an attack, and it is useful for
sandboxes and wiring tests, never for measuring accuracy.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Bgr = NDArray[np.uint8]

#: Skin, hair and iris colours (BGR) per variant, so two synthetic "people" differ.
VARIANTS: tuple[tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((150, 180, 220), (30, 30, 35), (60, 45, 35)),
    ((120, 150, 195), (40, 55, 90), (50, 80, 40)),
)


def draw_face(width: int = 640, height: int = 480, *, variant: int = 0, seed: int = 0) -> Bgr:
    """A frontal synthetic face centred in a ``width`` x ``height`` frame, with a little sensor noise."""
    skin, hair, iris = VARIANTS[variant % len(VARIANTS)]
    rng = np.random.default_rng(seed)
    shade = np.linspace(0.85, 1.05, width, dtype=np.float32)[None, :, None]
    img = np.asarray(np.full((height, width, 3), (200, 205, 210), np.float32) * shade, dtype=np.uint8)
    s = height / 480
    cx, cy = width // 2, height // 2 + round(10 * s)

    def pt(dx: float, dy: float) -> tuple[int, int]:
        return (round(cx + dx * s), round(cy + dy * s))

    def ax(a: float, b: float) -> tuple[int, int]:
        return (round(a * s), round(b * s))

    cv2.ellipse(img, pt(0, 230), ax(170, 120), 0, 180, 360, (90, 70, 60), -1)
    cv2.rectangle(img, pt(-45, 90), pt(45, 170), tuple(c - 10 for c in skin), -1)
    cv2.ellipse(img, pt(0, -30), ax(118, 140), 0, 0, 360, hair, -1)
    cv2.ellipse(img, pt(0, 0), ax(100, 130), 0, 0, 360, skin, -1)
    shadow = img.copy()
    cv2.ellipse(shadow, pt(60, 10), ax(50, 110), 0, 0, 360, tuple(c - 30 for c in skin), -1)
    img = cv2.addWeighted(img, 0.7, shadow, 0.3, 0)
    cv2.ellipse(img, pt(0, -95), ax(105, 55), 0, 180, 360, hair, -1)
    for dx in (-40, 40):
        cv2.ellipse(img, pt(dx, -45), ax(24, 7), 0, 180, 360, (40, 40, 45), max(1, round(4 * s)))
        cv2.ellipse(img, pt(dx, -25), ax(20, 10), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, pt(dx, -25), round(8 * s), iris, -1)
        cv2.circle(img, pt(dx, -25), round(4 * s), (10, 10, 10), -1)
    nose = np.array([pt(0, -15), pt(-14, 30), pt(14, 30)], np.int32)
    cv2.polylines(img, [nose], True, tuple(c - 40 for c in skin), max(1, round(3 * s)))
    cv2.ellipse(img, pt(0, 30), ax(16, 7), 0, 0, 180, tuple(c - 50 for c in skin), max(1, round(3 * s)))
    cv2.ellipse(img, pt(0, 65), ax(34, 12), 0, 0, 180, (80, 80, 170), -1)
    cv2.line(img, pt(-34, 65), pt(34, 65), (60, 60, 120), max(1, round(2 * s)))
    img = cv2.GaussianBlur(img, (5, 5), 1.2)
    noisy = img.astype(np.float32) + rng.normal(0, 3, img.shape)
    return np.asarray(np.clip(noisy, 0, 255), dtype=np.uint8)
