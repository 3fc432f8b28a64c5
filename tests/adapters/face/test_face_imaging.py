"""Untrusted image bytes: refused cheaply before decoding when hostile, decoded upright otherwise."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from idverify.domain.errors import InvalidArgument
from idverify.ml.imaging import DecodeGate, decode_image, probe_image, reduction


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


def _large(width: int, height: int) -> np.ndarray:
    """A smooth picture with a bright block in the top-left corner, so an orientation shows."""
    ys, xs = np.mgrid[0:height, 0:width]
    px = np.stack([(xs * 255 // width), (ys * 255 // height), np.full_like(xs, 90)], axis=2).astype(np.uint8)
    px[: height // 5, : width // 5] = 255
    return px


@pytest.mark.parametrize(
    ("width", "height", "min_long_side", "denominator"),
    [(1280, 960, 640, 2), (1281, 701, 640, 2), (1279, 960, 640, 2), (1277, 960, 640, 1), (5120, 2000, 640, 8),
     (2600, 1900, 640, 4), (1280, 960, 0, 1), (640, 480, 640, 1)],
)
def test_a_large_jpeg_is_decoded_reduced_while_its_longer_side_stays_at_least_what_was_asked(
    width: int, height: int, min_long_side: int, denominator: int
) -> None:
    data = _jpeg(_large(width, height))
    assert reduction(probe_image(data), min_long_side) == denominator
    image = decode_image(data, min_long_side=min_long_side)
    # libjpeg rounds a scaled size up
    assert (image.width, image.height) == (-(-width // denominator), -(-height // denominator))
    assert max(image.width, image.height) >= min(min_long_side, max(width, height))
    assert image.scale == 1 / denominator
    assert (image.original_width, image.original_height) == (width, height)
    if denominator > 1:
        full = decode_image(data)
        assert full.scale == 1.0
        shrunk = cv2.resize(full.pixels, (image.width, image.height), interpolation=cv2.INTER_AREA)
        assert np.abs(shrunk.astype(int) - image.pixels.astype(int)).mean() < 3


def test_png_and_webp_are_never_decoded_reduced() -> None:
    px = _large(1400, 1000)
    for ext in (".png", ".webp"):
        image = decode_image(cv2.imencode(ext, px)[1].tobytes(), min_long_side=640)
        assert (image.width, image.height, image.scale) == (1400, 1000, 1.0)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_reduced_decode_is_upright_like_a_full_one(orientation: int) -> None:
    pil = Image.fromarray(np.ascontiguousarray(_large(1400, 1000)[:, :, ::-1]))
    exif = pil.getexif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    pil.save(out, "JPEG", quality=95, exif=exif)
    full = decode_image(out.getvalue())
    reduced = decode_image(out.getvalue(), min_long_side=640)
    assert reduced.pixels.shape == (full.height // 2, full.width // 2, 3)
    shrunk = cv2.resize(full.pixels, (reduced.width, reduced.height), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - reduced.pixels.astype(int)).mean() < 3
    assert (reduced.original_width, reduced.original_height) == (1400, 1000)


def test_limits_and_truncation_are_judged_before_a_reduced_decode_as_before_a_full_one() -> None:
    data = _jpeg(_large(1400, 1000))
    assert _code(data, max_pixels=1_000_000, min_long_side=640) == "image_too_large"
    assert _code(data, max_side=1000, min_long_side=640) == "image_too_large"
    assert _code(data[: len(data) // 2], min_long_side=640) == "image_corrupt"


def test_decodes_on_several_threads_pass_the_gate_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _jpeg(_picture())
    lock, running, most = threading.Lock(), 0, 0
    real = cv2.imdecode

    def slow_decode(buffer: np.ndarray, flags: int) -> np.ndarray | None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        try:
            return real(buffer, flags)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr("idverify.ml.imaging.cv2.imdecode", slow_decode)
    gate = DecodeGate(1)
    with ThreadPoolExecutor(4) as threads:
        decoded = list(threads.map(lambda _: decode_image(good, gate=gate), range(4)))
    assert [d.width for d in decoded] == [100] * 4
    assert most == 1
