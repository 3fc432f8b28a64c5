"""Fixtures for the OCR adapter tests: one lazily created reader, fonts, a face photograph."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from tests.docgen.render import fonts_available
from tests.shared_data import shared_path


@pytest.fixture(scope="module")
def reader() -> object:
    pytest.importorskip("rapidocr", reason="rapidocr is the optional 'ocr' extra")
    from idverify.ml.ocr import RapidOcrDocumentReader

    return RapidOcrDocumentReader(threads=2)


@pytest.fixture(scope="session")
def fonts() -> None:
    if not fonts_available():
        reason = "CJK fonts missing: run scripts/install-fonts.sh"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def face() -> np.ndarray:
    path = shared_path("faces", "deepface-unit", "img2.jpg")
    image = cv2.imread(str(path))
    assert image is not None
    assert image.ndim == 3
    return image
