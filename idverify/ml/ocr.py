"""Reading identity documents with rapidocr (PaddleOCR models on onnxruntime).

``rapidocr==3.10.0`` ships its three ONNX models in the wheel (PP-OCRv6 small detector and recogniser, the PP-OCR
mobile 0/180 direction classifier; Apache-2.0, see the wheel's MODEL_LICENSES.md). Each model path is given
explicitly, so rapidocr never takes its download branch (which it uses only when no path is configured).

The engine is created on first use and runs in the caller's thread: the service puts calls in its worker pool. One
reader may serve several threads (rapidocr guards model loading with locks and onnxruntime sessions are
thread-safe). The three onnxruntime sessions are made by :mod:`idverify.ml.onnx_sessions` and handed to rapidocr
(its ``session`` option), so threads, spinning and memory options are the project's, not rapidocr's defaults
(which spin and, measured in docs/reports/single-node-perf.md, cost a third more CPU per card on a shared host).

Text detection runs on the page shrunk so its longer side is at most ``det_side`` pixels; rapidocr's default
scales the *shorter* side up to 736, so a 1280 x 807 card ran at full size and a 64 x 256 warm-up strip at
736 x 2944. Text lines are still cut from the page at full resolution for recognition, so only the detector sees
the smaller image.

Orientation: one pass at 0 degrees; if the expected labels are missing or lie the wrong way, the image is turned
(90/270 when the text boxes stand upright, else 180) and read again, at most three more times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import InvalidArgument, Unavailable
from idverify.factors.document.fields import CnIdCardText
from idverify.ml.ocr_fields import (
    BACK_LABELS,
    FRONT_LABELS,
    TextBox,
    anchors_found,
    extract_cn_back,
    extract_cn_front,
    mrz_candidates,
    read_mrz_lines,
    upright,
)
from idverify.ml.onnx_sessions import SessionConfig, create_session

_MODEL_FILES: Final = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
#: Longer side of the image the text detector sees (docs/reports/single-node-perf.md: accuracy unchanged on the
#: synthetic cards, ID number 30/30 clean and distorted as at 1280 px; about 40% less CPU per card).
DET_SIDE: Final = 736
_ROTATE: Final = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_MIN_SIDE: Final = 64
_MAX_SIDE: Final = 4096

ImageBgr = NDArray[np.uint8]
Acceptable = Callable[[Sequence[TextBox]], bool | None]


def packaged_model_dir() -> Path:
    """Folder of the models inside the installed rapidocr wheel (imports rapidocr)."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


class RapidOcrDocumentReader:
    """Reads PRC ID card fronts and backs and MRZ lines. Images are decoded BGR ``uint8`` arrays (H, W, 3).

    Raises ``InvalidArgument("image_invalid")`` for a wrong array, ``InvalidArgument("document_no_text")`` when
    nothing is written on the image, ``InvalidArgument("document_unreadable")`` when text is found but not the
    expected document in any orientation, and ``Unavailable("ocr_model_missing")`` when the models are absent.
    """

    def __init__(self, *, threads: int = 1, model_dir: Path | None = None, max_side: int = 1600,
                 det_side: int = DET_SIDE, session_config: SessionConfig | None = None) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        if det_side < 32:
            raise ValueError("det_side must be >= 32")
        self._threads = threads
        self._model_dir = model_dir
        self._max_side = max_side
        self._det_side = det_side
        # No memory pattern: text boxes give the detector and recogniser a new input shape on almost every page,
        # so a per-shape plan is rarely reused, and each plan is one more block in the arena (~30 MB measured).
        self._session_config = session_config or SessionConfig(intra_op_threads=threads, allow_gpu=False,
                                                               memory_pattern=False)
        self._engine: Any = None
        self._lock = threading.Lock()

    def _ocr(self) -> Any:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._create()
        return self._engine

    def _create(self) -> Any:
        from omegaconf import flag_override
        from rapidocr import RapidOCR

        folder = self._model_dir or packaged_model_dir()
        self.check_files()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.max_side_len": self._max_side,
            "Det.limit_type": "max",
            "Det.limit_side_len": self._det_side,
            **{f"{section}.model_path": str(folder / name) for section, name in _MODEL_FILES.items()},
        }
        engine = RapidOCR(params=params)
        # rapidocr's documented hook for a caller-made session (its config holds it as a plain object).
        with flag_override(engine.cfg, "allow_objects", True):
            for section, name in _MODEL_FILES.items():
                engine.cfg[section].session = create_session((folder / name).read_bytes(), self._session_config)
        return engine

    def warm_up(self) -> None:
        """Load and run all three models now (start-up), instead of on the first request: one read of a small
        printed strip (rapidocr loads the classifier and recogniser only when the detector finds text)."""
        strip = np.full((64, 320, 3), 255, np.uint8)
        cv2.putText(strip, "ID 1234567890", (8, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
        self._boxes(strip)

    def check_files(self) -> None:
        """Raise ``Unavailable("ocr_model_missing")`` now if a model file is absent (cheap: no model is loaded)."""
        folder = self._model_dir or packaged_model_dir()
        for name in _MODEL_FILES.values():
            if not (folder / name).is_file():
                raise Unavailable("ocr_model_missing", "an OCR model file is missing",
                                  internal_reason=str(folder / name))

    def warm_up_in_background(self) -> threading.Thread:
        """Load and warm the models on a thread of their own, so start-up does not wait for them (about 2 s of
        imports and 1 s of a first run on an idle 2-core host). A document request that arrives first waits for
        the engine (the same lock) and is then answered as usual."""
        self.check_files()

        def run() -> None:
            try:
                self.warm_up()
            except Exception:  # reported; a request then fails with the engine's own error
                logging.getLogger("idverify.ocr").exception("ocr_warm_up_failed")

        # Not a daemon: a process that stops while onnxruntime is still warming up waits for it (seconds at most)
        # instead of tearing the runtime's threads down mid-run, which aborts the process.
        thread = threading.Thread(target=run, name="ocr-warm-up", daemon=False)
        thread.start()
        return thread

    # ---- public reads --------------------------------------------------------------------------------------

    def read_cn_id_front(self, image: ImageBgr) -> CnIdCardText:
        boxes = self._oriented(image, lambda b: _labels_ok(b, FRONT_LABELS, "姓名", "公民身份号码"))
        return extract_cn_front(boxes)

    def read_cn_id_back(self, image: ImageBgr) -> CnIdCardText:
        boxes = self._oriented(image, lambda b: _labels_ok(b, BACK_LABELS, "签发机关", "有效期限"))
        return extract_cn_back(boxes)

    def read_mrz(self, image: ImageBgr, *, today: date) -> tuple[str, ...]:
        """MRZ lines of a passport or ID card data page, repaired only when the repair verifies."""
        boxes = self._oriented(image, _mrz_ok)
        return read_mrz_lines(boxes, today=today)

    # ---- internals -----------------------------------------------------------------------------------------

    def _oriented(self, image: ImageBgr, acceptable: Acceptable) -> list[TextBox]:
        _check_image(image)
        boxes = self._boxes(image)
        if not boxes:
            raise InvalidArgument("document_no_text", "no text was found on the image")
        verdict = acceptable(boxes)
        if verdict:
            return boxes
        for angle in _rotation_order(boxes):
            turned = self._boxes(np.asarray(cv2.rotate(image, _ROTATE[angle]), np.uint8))
            if acceptable(turned):
                return turned
        raise InvalidArgument("document_unreadable", "the document could not be read in any orientation")

    def _boxes(self, image: ImageBgr) -> list[TextBox]:
        result = self._ocr()(image, use_cls=True)
        if result.boxes is None or result.txts is None:
            return []
        out = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            out.append(TextBox(str(text), float(score), min(xs), min(ys), max(xs), max(ys)))
        return out


def _labels_ok(boxes: Sequence[TextBox], labels: Sequence[str], top: str, bottom: str) -> bool | None:
    if len(anchors_found(boxes, labels)) < 2:
        return False
    flat = upright(boxes, top, bottom)
    return True if flat is None else flat


def _mrz_ok(boxes: Sequence[TextBox]) -> bool:
    return len(mrz_candidates(boxes)) >= 2


def _rotation_order(boxes: Sequence[TextBox]) -> tuple[int, ...]:
    """Most likely turns first: upright boxes mean the page lies on its side."""
    standing = sum(1 for b in boxes if b.height > 1.5 * b.width)
    return (90, 270, 180) if standing * 2 > len(boxes) else (180, 90, 270)


def _check_image(image: object) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgument("image_invalid", "expected a decoded BGR image")
    h, w = image.shape[:2]
    if min(h, w) < _MIN_SIDE or max(h, w) > _MAX_SIDE:
        raise InvalidArgument("image_invalid", "the image is too small or too large")
