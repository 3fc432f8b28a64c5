"""Untrusted image bytes: refused cheaply before decoding when hostile, decoded upright otherwise."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from idverify.domain.errors import InvalidArgument
from idverify.ml.imaging import decode_image


def _png(width: int, height: int, rows: int | None = None) -> bytes:
    """A greyscale PNG whose header claims width x height; IDAT holds ``rows`` rows of zeros (compresses ~1000x)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(comp.compress(row) for _ in range(height if rows is None else rows)) + comp.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _jpeg(pixels: np.ndarray, exif_orientation: int | None = None) -> bytes:
    pil = Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1]))
    out = io.BytesIO()
    if exif_orientation is None:
        pil.save(out, "JPEG", quality=95)
    else:
        exif = pil.getexif()
        exif[0x0112] = exif_orientation
        pil.save(out, "JPEG", quality=100, exif=exif)
    return out.getvalue()


def _code(data: bytes, **limits: int) -> str:
    with pytest.raises(InvalidArgument) as err:
        decode_image(data, **limits)
    return err.value.code


def _picture() -> np.ndarray:
    px = np.zeros((60, 100, 3), dtype=np.uint8)
    px[:10, :20] = 255
    px[40:, 80:, 0] = 200
    return px


def test_jpeg_png_and_webp_decode_to_bgr_uint8_of_the_stored_size() -> None:
    px = _picture()
    for ext in (".png", ".webp"):
        _, buf = cv2.imencode(ext, px, [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else [])
        image = decode_image(buf.tobytes())
        assert image.pixels.dtype == np.uint8
        assert image.pixels.shape == (60, 100, 3)
        assert np.array_equal(image.pixels, px)
        assert image.format == ext[1:]
    image = decode_image(_jpeg(px))
    assert (image.width, image.height, image.format) == (100, 60, "jpeg")


def test_empty_bytes_are_image_empty() -> None:
    assert _code(b"") == "image_empty"


def test_more_bytes_than_allowed_are_image_too_large() -> None:
    assert _code(_jpeg(_picture()), max_bytes=100) == "image_too_large"


@pytest.mark.parametrize("data", [b"GIF89a" + bytes(40), b"BM" + bytes(60), b"hello world", b"%PDF-1.7"])
def test_formats_other_than_jpeg_png_webp_are_image_unsupported(data: bytes) -> None:
    assert _code(data) == "image_unsupported"


def test_a_20000_by_20000_jpeg_header_is_refused_without_decoding() -> None:
    data = bytearray(_jpeg(np.zeros((8, 8, 3), dtype=np.uint8)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 20000, 20000)
    assert _code(bytes(data)) == "image_too_large"


def test_a_png_bomb_is_refused_from_its_header() -> None:
    bomb = _png(20000, 20000)  # 400 megapixels in well under a megabyte
    assert len(bomb) < 1_000_000
    assert _code(bomb) == "image_too_large"
    assert _code(_png(5000, 5000), max_pixels=4_000_000) == "image_too_large"
    assert _code(_png(9000, 10), max_side=8192) == "image_too_large"


def test_truncated_jpeg_png_and_webp_are_image_corrupt() -> None:
    px = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    jpeg = _jpeg(px)
    png = cv2.imencode(".png", px)[1].tobytes()
    webp = cv2.imencode(".webp", px)[1].tobytes()
    for data in (jpeg, png, webp):
        assert _code(data[: len(data) // 2]) == "image_corrupt"


def test_garbage_after_a_jpeg_magic_number_is_image_corrupt() -> None:
    assert _code(b"\xff\xd8\xff" + bytes(64)) == "image_corrupt"


def test_a_one_pixel_image_decodes() -> None:
    image = decode_image(cv2.imencode(".png", np.zeros((1, 1, 3), dtype=np.uint8))[1].tobytes())
    assert (image.width, image.height) == (1, 1)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow_exif_transpose(orientation: int) -> None:
    data = _jpeg(_picture(), exif_orientation=orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data)).convert("RGB")))[:, :, ::-1]
    image = decode_image(data)
    assert image.pixels.shape == expected.shape
    assert np.array_equal(image.pixels, expected)
    assert (image.original_width, image.original_height) == (100, 60)
