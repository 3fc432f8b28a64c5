"""The OCR reader runs rapidocr on sessions made by idverify.ml.onnx_sessions, detects text on a shrunk page,
and its warm-up loads every model."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pytest

from tests.docgen.identities import cn_identity
from tests.docgen.render import render_cn_front

pytestmark = pytest.mark.usefixtures("fonts")


class ShapeRecorder:
    """Stands in for an onnxruntime session and records the shape of every input it is given."""

    def __init__(self, session: Any) -> None:
        self.session, self.shapes = session, list[tuple[int, ...]]()

    def run(self, names: Sequence[str] | None, feed: Mapping[str, np.ndarray]) -> Any:
        self.shapes += [tuple(v.shape) for v in feed.values()]
        return self.session.run(names, feed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture(scope="module")
def warmed() -> Any:
    pytest.importorskip("rapidocr", reason="rapidocr is the optional 'ocr' extra")
    from idverify.ml.ocr import RapidOcrDocumentReader

    reader = RapidOcrDocumentReader(threads=2, det_side=640)
    reader.warm_up()
    return reader


def test_warm_up_loads_the_detector_classifier_and_recogniser_on_non_spinning_sessions(warmed: Any) -> None:
    engine = warmed._ocr()
    models = [engine.text_det, engine.text_cls, engine.text_rec]
    assert all(m is not None for m in models)
    for model in models:
        options = model.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 2


def test_the_detector_sees_the_page_shrunk_to_det_side_and_the_card_is_still_read(warmed: Any) -> None:
    person = cn_identity(random.Random(11), date(2026, 11, 1))
    card = render_cn_front(person, seed=3)
    assert max(card.shape[:2]) == 1280
    det = warmed._ocr().text_det.session
    recorder = ShapeRecorder(det.session)
    det.session = recorder
    try:
        text = warmed.read_cn_id_front(card)
    finally:
        det.session = recorder.session
    assert recorder.shapes and all(max(shape[2:]) <= 640 for shape in recorder.shapes)
    assert text.id_number == person.number


def test_a_detector_side_below_one_block_is_refused() -> None:
    pytest.importorskip("rapidocr", reason="rapidocr is the optional 'ocr' extra")
    from idverify.ml.ocr import RapidOcrDocumentReader

    with pytest.raises(ValueError, match="det_side"):
        RapidOcrDocumentReader(det_side=16)
