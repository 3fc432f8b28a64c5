"""Five-point alignment to the standard ArcFace 112 x 112 template.

The similarity transform (rotation, uniform scale, translation) is the least-squares fit of Umeyama (1991) from
the detected landmarks to the template; a closed form, so no RANSAC randomness. ``warpAffine`` with bilinear
sampling then cuts the 112 x 112 crop, the same recipe OpenCV's FaceRecognizerSF.alignCrop follows (a test
compares the two).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.face import DetectedFace, Landmarks

F64 = NDArray[np.float64]

#: Image-left eye, image-right eye, nose tip, image-left and image-right mouth corners, for a 112 x 112 crop.
ARCFACE_112: F64 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
CROP_SIZE = 112


def landmark_array(landmarks: Landmarks) -> F64:
    return np.array([[p.x, p.y] for p in landmarks.as_tuple()], dtype=np.float64)


def similarity_transform(src: F64, dst: F64) -> F64:
    """The 2 x 3 matrix of the least-squares similarity mapping ``src`` points onto ``dst`` (Umeyama)."""
    n = src.shape[0]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / n
    scale = float((s * d).sum() / var_src) if var_src > 0 else 1.0
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(pixels: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.uint8]:
    """The 112 x 112 BGR crop of ``face`` aligned to the ArcFace template."""
    matrix = similarity_transform(landmark_array(face.landmarks), ARCFACE_112)
    crop = cv2.warpAffine(
        pixels,
        matrix,
        (CROP_SIZE, CROP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(crop, dtype=np.uint8)
