"""Five-point alignment to the standard ArcFace 112 x 112 template.

The similarity transform (rotation, uniform scale, translation) is the least-squares fit of Umeyama (1991) from
the detected landmarks to the template; a closed form in the plane, so no RANSAC randomness. ``warpAffine`` with
bilinear sampling then cuts the 112 x 112 crop, the same recipe OpenCV's FaceRecognizerSF.alignCrop follows (a
test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.face import DetectedFace

F64 = NDArray[np.float64]

#: Image-left eye, image-right eye, nose tip, image-left and image-right mouth corners, for a 112 x 112 crop.
ARCFACE_112: F64 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
CROP_SIZE = 112


Points = Sequence[Sequence[float]]


def _similarity(src: Points, dst: Points) -> F64:
    """Umeyama's least-squares similarity in the plane, in closed form: with both point sets centred, the best
    ``scale * rotation`` is ``[[a, -b], [b, a]]`` with ``a = sum(u x + v y) / sum(x^2 + y^2)`` and
    ``b = sum(v x - u y) / sum(x^2 + y^2)``; the same matrix the SVD route gives (a test checks it, reflected point
    sets included), for five points in plain floats. Right after a model run, numpy's small operations and the SVD
    took about 0.2 ms per face here against 30 us in a loop of their own (docs/reports/single-node-perf.md,
    section 7)."""
    n = len(src)
    sx, sy = sum(p[0] for p in src) / n, sum(p[1] for p in src) / n
    dx, dy = sum(p[0] for p in dst) / n, sum(p[1] for p in dst) / n
    dot = cross = var = 0.0
    for (px, py), (qx, qy) in zip(src, dst, strict=True):
        x, y, u, v = px - sx, py - sy, qx - dx, qy - dy
        dot += u * x + v * y
        cross += v * x - u * y
        var += x * x + y * y
    a, b = (dot / var, cross / var) if var > 0 else (1.0, 0.0)
    return np.array([[a, -b, dx - (a * sx - b * sy)], [b, a, dy - (b * sx + a * sy)]], dtype=np.float64)


def similarity_transform(src: F64, dst: F64) -> F64:
    """The 2 x 3 matrix of the least-squares similarity (rotation, uniform scale, translation; never a reflection)
    mapping ``src`` points onto ``dst`` (Umeyama)."""
    return _similarity(src.tolist(), dst.tolist())


_TEMPLATE: tuple[tuple[float, float], ...] = tuple((float(x), float(y)) for x, y in ARCFACE_112.tolist())


def align_face(pixels: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.uint8]:
    """The 112 x 112 BGR crop of ``face`` aligned to the ArcFace template."""
    matrix = _similarity([(p.x, p.y) for p in face.landmarks.as_tuple()], _TEMPLATE)
    crop = cv2.warpAffine(
        pixels,
        matrix,
        (CROP_SIZE, CROP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(crop, dtype=np.uint8)
