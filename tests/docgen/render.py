"""Render synthetic PRC identity cards (front and back) and passport data pages, and distort them like phone photos.

Fonts come from Debian packages (scripts/install-fonts.sh): Noto Sans/Serif CJK for Chinese, OCR-B for the MRZ and
the card number (DejaVu Sans Mono when OCR-B is absent). The face, when given, is a photograph the caller loads
(tests take it from the shared deepface folder); otherwise a drawn silhouette. Output: BGR uint8 arrays.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from tests.docgen.identities import CnIdentity

Bgr = NDArray[np.uint8]
NOTO_SANS = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
NOTO_SANS_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
NOTO_SERIF = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
DEJAVU_MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
_SC_INDEX = 2  # Simplified Chinese face inside the Noto CJK collections
LABEL = (40, 110, 170)
INK = (20, 20, 24)


class FontsMissing(RuntimeError):
    """The CJK fonts are not installed: run scripts/install-fonts.sh."""


def fonts_available() -> bool:
    return NOTO_SANS.exists() and NOTO_SERIF.exists()


@cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    if not path.exists():
        if path in (OCR_B,) and DEJAVU_MONO.exists():
            return ImageFont.truetype(str(DEJAVU_MONO), size)
        raise FontsMissing(f"{path} not found; run scripts/install-fonts.sh")
    index = _SC_INDEX if path.suffix == ".ttc" else 0
    return ImageFont.truetype(str(path), size, index=index)


def _background(width: int, height: int, rng: random.Random, tint: tuple[int, int, int]) -> Image.Image:
    """A light card background with faint guilloche waves (so text never sits on a flat synthetic white)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.empty((height, width, 3), np.float32)
    for c in range(3):
        base[..., c] = tint[c] - 12 * (x / width) + 6 * (y / height)
    phase = rng.uniform(0, 6.28)
    for k in range(6):
        wave = np.sin(x / (37 + 9 * k) + y / (53 + 7 * k) + phase + k)
        base -= 5 * (np.abs(wave) < 0.05)[..., None]
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def _paste_photo(img: Image.Image, photo: Bgr | None, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if photo is None:
        face = Image.new("RGB", (w, h), (225, 228, 232))
        draw = ImageDraw.Draw(face)
        draw.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.6), fill=(150, 150, 155))
        draw.ellipse((w * 0.12, h * 0.6, w * 0.88, h * 1.3), fill=(150, 150, 155))
    else:
        ph, pw = photo.shape[:2]
        scale = max(w / pw, h / ph)
        resized = cv2.resize(photo, (int(pw * scale) + 1, int(ph * scale) + 1), interpolation=cv2.INTER_AREA)
        oy, ox = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
        crop = resized[oy : oy + h, ox : ox + w]
        face = Image.fromarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    img.paste(face, (x0, y0))


def _to_bgr(img: Image.Image) -> Bgr:
    return np.asarray(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR), np.uint8)


def _wrap(text: str, per_line: int, max_lines: int = 3) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)][:max_lines]


def render_cn_front(
    person: CnIdentity, *, photo: Bgr | None = None, width: int = 1280, seed: int = 0, number: str | None = None
) -> Bgr:
    """The front of a second-generation card; ``number`` overrides the printed number (to print a broken one)."""
    rng = random.Random(seed)
    height = round(width * 54 / 85.6)
    img = _background(width, height, rng, (236, 240, 238))
    draw = ImageDraw.Draw(img)
    u = width / 100
    label, value = _font(NOTO_SANS, round(2.6 * u)), _font(NOTO_SERIF, round(3.0 * u))
    lx, vx = 7 * u, 17 * u

    def row(y: float, parts: Sequence[tuple[str, bool, float]]) -> None:
        for text, is_label, x in parts:
            draw.text((x, y * height / 100), text, font=label if is_label else value, fill=LABEL if is_label else INK)

    row(10, [("姓名", True, lx), (person.name, False, vx)])
    row(23, [("性别", True, lx), (person.sex, False, vx), ("民族", True, 32 * u), (person.ethnicity, False, 42 * u)])
    b = person.birth_date
    row(
        36,
        [
            ("出生", True, lx),
            (str(b.year), False, vx),
            ("年", True, 28 * u),
            (str(b.month), False, 32.5 * u),
            ("月", True, 37 * u),
            (str(b.day), False, 41.5 * u),
            ("日", True, 46 * u),
        ],
    )
    row(49, [("住址", True, lx)])
    for i, line in enumerate(_wrap(person.address, 13)):
        row(49 + 10 * i, [(line, False, vx)])
    row(82, [("公民身份号码", True, lx)])
    digits = _font(OCR_B, round(3.6 * u))
    x = 32 * u
    for ch in number or person.number:
        draw.text((x, 81.5 * height / 100), ch, font=digits, fill=INK)
        x += 2.75 * u
    _paste_photo(img, photo, (int(62 * u), int(0.12 * height), int(91 * u), int(0.74 * height)))
    return _to_bgr(img)


def render_cn_back(person: CnIdentity, *, width: int = 1280, seed: int = 0, validity: str | None = None) -> Bgr:
    """The back: title, a stylised (not the real) emblem, 签发机关 and 有效期限."""
    rng = random.Random(seed)
    height = round(width * 54 / 85.6)
    img = _background(width, height, rng, (238, 236, 232))
    draw = ImageDraw.Draw(img)
    u = width / 100
    cx, cy, r = 14 * u, 0.25 * height, 8 * u
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(200, 40, 40), width=max(2, int(u / 2)))
    draw.regular_polygon((cx, cy, r * 0.45), 5, fill=(220, 170, 40))
    draw.text((30 * u, 0.12 * height), "中华人民共和国", font=_font(NOTO_SANS_BOLD, round(5 * u)), fill=INK)
    draw.text((30 * u, 0.32 * height), "居民身份证", font=_font(NOTO_SANS_BOLD, round(7 * u)), fill=INK)
    label, value = _font(NOTO_SANS, round(2.6 * u)), _font(NOTO_SERIF, round(3.0 * u))
    draw.text((18 * u, 0.70 * height), "签发机关", font=label, fill=LABEL)
    draw.text((33 * u, 0.695 * height), person.authority, font=value, fill=INK)
    draw.text((18 * u, 0.83 * height), "有效期限", font=label, fill=LABEL)
    draw.text((33 * u, 0.825 * height), validity or person.validity_text, font=value, fill=INK)
    return _to_bgr(img)


def render_passport_page(
    mrz: Sequence[str],
    *,
    viz: Sequence[tuple[str, str]] = (),
    photo: Bgr | None = None,
    width: int = 1280,
    seed: int = 0,
) -> Bgr:
    """A passport data page: visual zone (label/value pairs) and the MRZ lines in OCR-B at the bottom."""
    rng = random.Random(seed)
    height = round(width * 88 / 125)
    img = _background(width, height, rng, (232, 236, 242))
    draw = ImageDraw.Draw(img)
    u = width / 100
    draw.text((4 * u, 2 * u), "PASSPORT  护照", font=_font(NOTO_SANS_BOLD, round(3.2 * u)), fill=(60, 60, 110))
    _paste_photo(img, photo, (int(4 * u), int(0.14 * height), int(30 * u), int(0.62 * height)))
    small, value = _font(NOTO_SANS, round(1.6 * u)), _font(NOTO_SANS, round(2.4 * u))
    for i, (lab, val) in enumerate(viz):
        y = 0.14 * height + i * 0.085 * height
        draw.text((35 * u, y), lab, font=small, fill=LABEL)
        draw.text((35 * u, y + 1.8 * u), val, font=value, fill=INK)
    n = max(len(line) for line in mrz)
    mono = _font(OCR_B, round(92 * u / n / 0.62))
    pitch = 92 * u / n
    for i, line in enumerate(mrz):
        y = height - (len(mrz) - i) * 0.085 * height - 0.03 * height
        for j, ch in enumerate(line):
            draw.text((4 * u + j * pitch, y), ch, font=mono, fill=INK)
    return _to_bgr(img)


# ---- distortions -------------------------------------------------------------------------------------------


def perspective(img: Bgr, rng: random.Random, amount: float = 0.06) -> Bgr:
    """Photograph the document at a slant on a darker table, with a margin around it."""
    h, w = img.shape[:2]
    pad = int(amount * 1.5 * w)
    corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    jitter = [(rng.uniform(-amount, amount) * w, rng.uniform(-amount, amount) * h) for _ in range(4)]
    src = np.array(corners, np.float32)
    dst = np.array([[x + pad + dx, y + pad + dy] for (x, y), (dx, dy) in zip(corners, jitter, strict=True)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    table = (int(rng.uniform(60, 110)),) * 3
    out = cv2.warpPerspective(img, matrix, (w + 2 * pad, h + 2 * pad), borderValue=table)
    size = (w, int(h * w / (w + 2 * pad) * (h + 2 * pad) / h))
    return np.asarray(cv2.resize(out, size, interpolation=cv2.INTER_AREA), np.uint8)


def blur(img: Bgr, rng: random.Random) -> Bgr:
    k = rng.choice((3, 5))
    return np.asarray(cv2.GaussianBlur(img, (k, k), rng.uniform(0.8, 1.4)), np.uint8)


def low_quality_jpeg(img: Bgr, rng: random.Random) -> Bgr:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(18, 35)])
    assert ok
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)


def glare(img: Bgr, rng: random.Random) -> Bgr:
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    sx, sy = rng.uniform(0.08, 0.18) * w, rng.uniform(0.06, 0.14) * h
    mask = np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2)) * rng.uniform(0.35, 0.55)
    out = img.astype(np.float32) * (1 - mask[..., None]) + 255 * mask[..., None]
    return np.asarray(out, np.uint8)


def rotate(img: Bgr, quarter_turns: int) -> Bgr:
    codes = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return img if quarter_turns % 4 == 0 else np.asarray(cv2.rotate(img, codes[quarter_turns % 4]), np.uint8)


def random_distortion(img: Bgr, rng: random.Random) -> tuple[Bgr, str]:
    """Perspective plus one or two of blur, JPEG and glare; a quarter of the time also rotated 90 or 180."""
    out, names = perspective(img, rng), ["perspective"]
    for name, fn in rng.sample([("blur", blur), ("jpeg", low_quality_jpeg), ("glare", glare)], rng.choice((1, 2))):
        out = fn(out, rng)
        names.append(name)
    if rng.random() < 0.25:
        turns = rng.choice((1, 2))
        out = rotate(out, turns)
        names.append(f"rot{turns * 90}")
    return out, "+".join(names)
