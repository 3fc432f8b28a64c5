"""Safe decoding of untrusted image bytes into an upright BGR uint8 array.

Order of checks, cheapest first, so hostile input is refused before any pixel is decoded:
size in bytes, format by magic number (JPEG, PNG, WebP only), dimensions from the header (Pillow opens lazily
and reads only the header), then the full decode (OpenCV), then EXIF orientation. Every refusal is an
``InvalidArgument`` with one of the codes ``image_empty``, ``image_too_large``, ``image_unsupported``,
``image_corrupt``. Messages carry sizes and formats only, never image content.

The decoding budget (issue 11): each kind of image has its own pixel limit (:data:`PIXEL_LIMITS`), judged from
the header before a pixel is decoded; :func:`probe_image` reads only the header, so a caller can refuse a whole
stream whose declared pixels exceed its budget before decoding any of it; and at most
:data:`DEFAULT_CONCURRENT_DECODES` full decodes run at once in the process (:class:`DecodeGate`), so many hostile
requests cannot multiply the memory one decode takes.

Reduced decoding: a caller that only needs ``min_long_side`` pixels on the longer side (the face pipeline works at
640) may let a large JPEG be decoded at 1/2, 1/4 or 1/8 scale in libjpeg's DCT (fewer pixels written, no separate
resize); the factor is carried in :attr:`DecodedImage.scale` so measures in stored pixels keep their meaning.
Every check above runs unchanged before it. OpenCV releases the GIL while it decodes, so decodes on several
threads (the two images of a comparison, idverify/ml/pipeline.py) run at once, each through the gate.
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from idverify.domain.errors import InvalidArgument

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_SIDE = 8192
DEFAULT_CONCURRENT_DECODES = 4


class ImageKind(StrEnum):
    DOCUMENT_PAGE = "document_page"
    SELFIE = "selfie"
    LIVENESS_FRAME = "liveness_frame"


#: Largest declared width x height per kind: a document page up to 24 MP (a 6000 x 4000 phone photo), a selfie up
#: to 16 MP, a liveness frame up to 1280 x 720 (docs/liveness.md asks for 640 x 480).
PIXEL_LIMITS: dict[ImageKind, int] = {
    ImageKind.DOCUMENT_PAGE: 24_000_000,
    ImageKind.SELFIE: 16_000_000,
    ImageKind.LIVENESS_FRAME: 1280 * 720,
}
DEFAULT_MAX_PIXELS = PIXEL_LIMITS[ImageKind.DOCUMENT_PAGE]


class DecodeGate:
    """At most ``slots`` full decodes at once (a bounded semaphore); the others wait their turn."""

    def __init__(self, slots: int = DEFAULT_CONCURRENT_DECODES) -> None:
        if slots < 1:
            raise ValueError("a decode gate needs at least one slot")
        self._slots = threading.BoundedSemaphore(slots)

    def __enter__(self) -> None:
        self._slots.acquire()

    def __exit__(self, *exc: object) -> None:
        self._slots.release()


_SHARED_GATE = DecodeGate()  # a semaphore, nothing heavier


def shared_gate() -> DecodeGate:
    """The process-wide gate every decode passes unless the caller brings its own."""
    return _SHARED_GATE


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str
    width: int
    height: int
    orientation: int

    @property
    def pixels(self) -> int:
        return self.width * self.height
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """Upright pixels (H x W x 3, BGR, uint8) plus the size stored in the file before orientation, and ``scale``:
    decoded pixels per stored pixel (1.0, or 1/2, 1/4, 1/8 for a reduced JPEG decode)."""

    pixels: NDArray[np.uint8]
    format: str
    original_width: int
    original_height: int
    scale: float = 1.0

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def __repr__(self) -> str:
        return f"DecodedImage({self.format}, {self.width}x{self.height})"


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"``, ``"webp"`` from the magic number, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _header(data: bytes, fmt: str) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) from the header only."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as img:
                width, height = img.size
                orientation = 1
                if fmt == "jpeg":
                    try:
                        orientation = int(img.getexif().get(_EXIF_ORIENTATION, 1))
                    except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image: keep it upright as stored
                        orientation = 1
                return width, height, orientation
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidArgument("image_too_large", "image dimensions exceed the allowed size") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise InvalidArgument("image_corrupt", f"the {fmt} header cannot be read") from None


def _jpeg_complete(data: bytes) -> bool:
    # libjpeg pads a truncated stream with grey and only warns; an intact file ends with EOI (some encoders
    # append a few padding bytes after it).
    return b"\xff\xd9" in data[-64:]


def _orient(pixels: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    transforms: dict[int, tuple[int | None, bool]] = {
        2: (None, True),
        3: (cv2.ROTATE_180, False),
        4: (cv2.ROTATE_180, True),
        5: (cv2.ROTATE_90_COUNTERCLOCKWISE, True),
        6: (cv2.ROTATE_90_CLOCKWISE, False),
        7: (cv2.ROTATE_90_CLOCKWISE, True),
        8: (cv2.ROTATE_90_COUNTERCLOCKWISE, False),
    }
    rotate, mirror = transforms.get(orientation, (None, False))
    out: NDArray[np.uint8] = pixels
    if mirror:
        out = np.asarray(cv2.flip(out, 1), dtype=np.uint8)
    if rotate is not None:
        out = np.asarray(cv2.rotate(out, rotate), dtype=np.uint8)
    return np.ascontiguousarray(out)


def probe_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> ImageHeader:
    """Format and declared size from the header, without decoding a pixel. Raises the codes of
    :func:`decode_image` (``image_too_large`` for a declared size over the limits)."""
    if not data:
        raise InvalidArgument("image_empty", "no image bytes")
    if len(data) > max_bytes:
        raise InvalidArgument("image_too_large", f"image is {len(data)} bytes; the limit is {max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidArgument("image_unsupported", "only JPEG, PNG and WebP images are accepted")
    width, height, orientation = _header(data, fmt)
    if width < 1 or height < 1:
        raise InvalidArgument("image_corrupt", "image has no pixels")
    if width * height > max_pixels or max(width, height) > max_side:
        raise InvalidArgument(
            "image_too_large", f"image is {width}x{height}; limits are {max_pixels} pixels and {max_side} per side"
        )
    return ImageHeader(fmt, width, height, orientation)


#: libjpeg's DCT scalings OpenCV exposes, largest first: denominator -> imdecode flag.
_REDUCED_JPEG = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}


def reduction(header: ImageHeader, min_long_side: int) -> int:
    """The largest JPEG scale denominator (8, 4, 2, else 1) that keeps the decoded longer side at least
    ``min_long_side``; 1 for other formats (OpenCV would decode them whole and resize) or ``min_long_side`` <= 0."""
    if header.format != "jpeg" or min_long_side <= 0:
        return 1
    long_side = max(header.width, header.height)
    return next((d for d in _REDUCED_JPEG if math.ceil(long_side / d) >= min_long_side), 1)


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    gate: DecodeGate | None = None,
    min_long_side: int = 0,
) -> DecodedImage:
    """Decode JPEG/PNG/WebP bytes into an upright BGR image, through the decode gate.

    ``min_long_side`` > 0 lets a JPEG be decoded smaller by libjpeg (see :func:`reduction`) while its longer side
    stays at least that many pixels; the result's ``scale`` says by how much. The limits are judged on the stored
    size either way.

    Raises InvalidArgument: ``image_empty`` (no bytes), ``image_too_large`` (bytes, pixels or a side over the
    limits, judged from the header before decoding), ``image_unsupported`` (not JPEG/PNG/WebP),
    ``image_corrupt`` (unreadable header, failed or truncated decode).
    """
    header = probe_image(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side)
    fmt, width, height = header.format, header.width, header.height
    if fmt == "jpeg" and not _jpeg_complete(data):
        raise InvalidArgument("image_corrupt", "the JPEG stream is truncated")
    denominator = reduction(header, min_long_side)
    flags = _REDUCED_JPEG.get(denominator, cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION
    expected = (math.ceil(height / denominator), math.ceil(width / denominator))  # libjpeg rounds scaled sizes up
    buffer = np.frombuffer(data, dtype=np.uint8)
    with gate or shared_gate():
        pixels = cv2.imdecode(buffer, flags)
    if pixels is None or pixels.ndim != 3 or pixels.shape[:2] != expected:
        raise InvalidArgument("image_corrupt", f"the {fmt} image cannot be decoded")
    upright = _orient(np.asarray(pixels, dtype=np.uint8), header.orientation)
    return DecodedImage(upright, fmt, width, height, 1.0 / denominator)


def from_pixels(pixels: NDArray[np.uint8], fmt: str = "raw") -> DecodedImage:
    """Wrap an already decoded BGR array (camera frames, tests)."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise InvalidArgument("image_unsupported", "pixels must be an H x W x 3 uint8 BGR array")
    return DecodedImage(np.ascontiguousarray(pixels), fmt, int(pixels.shape[1]), int(pixels.shape[0]))
