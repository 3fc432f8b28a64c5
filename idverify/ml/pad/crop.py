"""The face crops MiniFASNet was trained on, reproduced from the upstream inference code's behaviour.

Upstream (Silent-Face-Anti-Spoofing, ``CropImage``) takes the detector's box (x, y, w, h), scales it about its
centre by the factor in the model's file name (2.7 or 4.0), first lowering that factor so the scaled box fits
inside the image ((H-1)/h, (W-1)/w), then shifts a box that sticks out over an edge back inside the
[0, W-1] x [0, H-1] frame (it never shrinks or pads it), truncates the corners to integers, takes the pixels
between them inclusive and resizes that patch to the model's input with bilinear interpolation. The patch stays
BGR and uint8; the network takes it as float32 without any normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import InvalidArgument

#: Below this face-box side (pixels) the 2.7x crop would be upsampled to 80x80 from under ~80 pixels: the
#: texture cues the network relies on are gone, so the answer would be a guess. A quality failure, not a verdict.
MIN_FACE_PX = 32


@dataclass(frozen=True, slots=True)
class CropWindow:
    """Inclusive pixel corners of the patch, as upstream computes them."""

    left: int
    top: int
    right: int
    bottom: int


def crop_window(image_w: int, image_h: int, box: tuple[float, float, float, float], scale: float) -> CropWindow:
    """The patch corners for a face box ``(x, y, w, h)`` scaled by ``scale``, kept inside the image."""
    x, y, box_w, box_h = box
    scale = min((image_h - 1) / box_h, (image_w - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = x + box_w / 2, y + box_h / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    right, bottom = cx + new_w / 2, cy + new_h / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > image_w - 1:
        left -= right - image_w + 1
        right = image_w - 1
    if bottom > image_h - 1:
        top -= bottom - image_h + 1
        bottom = image_h - 1
    return CropWindow(int(left), int(top), int(right), int(bottom))


def check_face_box(image_w: int, image_h: int, box: tuple[float, float, float, float],
                   min_face_px: int = MIN_FACE_PX) -> None:
    """Raise InvalidArgument when the box cannot give a meaningful PAD crop.

    ``pad_face_too_small``: the smaller side is under ``min_face_px`` pixels.
    ``pad_face_box_invalid``: the box is degenerate or its centre lies outside the image.
    """
    x, y, w, h = box
    if not all(np.isfinite(v) for v in box) or w <= 0 or h <= 0:
        raise InvalidArgument("pad_face_box_invalid", "the face box must have a positive, finite size")
    if not (0 <= x + w / 2 < image_w and 0 <= y + h / 2 < image_h):
        raise InvalidArgument("pad_face_box_invalid", "the face box centre lies outside the image")
    if min(w, h) < min_face_px:
        raise InvalidArgument("pad_face_too_small",
                              f"the face is smaller than {min_face_px} pixels; move closer to the camera")


def crop_patch(image_bgr: NDArray[np.uint8], box: tuple[float, float, float, float], scale: float,
               size: int) -> NDArray[np.uint8]:
    """The ``size`` x ``size`` BGR patch upstream would feed a model trained at ``scale``."""
    h, w = image_bgr.shape[:2]
    win = crop_window(w, h, box, scale)
    patch = image_bgr[win.top:win.bottom + 1, win.left:win.right + 1]
    resized = cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.asarray(resized, dtype=np.uint8)


def to_input(patches: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """Stack HWC BGR uint8 patches into an NCHW float32 batch, values left in 0..255."""
    batch = np.stack(patches).astype(np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
