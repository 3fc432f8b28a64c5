"""rapidocr against generated documents: packaged models, fields read exactly, orientation, bad input reasons."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import numpy as np
import pytest

from idverify.domain.errors import InvalidArgument
from idverify.factors.document import DocumentFields, DocumentType, Outcome, evaluate_document, parse_mrz
from tests.docgen.identities import cn_identity, td3_mrz
from tests.docgen.render import render_cn_back, render_cn_front, render_passport_page, rotate

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fonts")]
TODAY = date(2026, 11, 1)


def test_models_ship_in_the_wheel_and_nothing_is_downloaded(reader: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rapidocr.utils import download_file

    from idverify.ml.ocr import packaged_model_dir

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rapidocr tried to download a file")

    monkeypatch.setattr(download_file.DownloadFile, "run", staticmethod(refuse))
    assert sorted(p.name for p in packaged_model_dir().glob("*.onnx")) == [
        "PP-OCRv6_det_small.onnx",
        "PP-OCRv6_rec_small.onnx",
        "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    ]
    reader.warm_up()


@pytest.mark.shared_data
def test_clean_front_is_read_exactly_and_passes(reader: Any, face: np.ndarray) -> None:
    person = cn_identity(random.Random(11), TODAY)
    text = reader.read_cn_id_front(render_cn_front(person, photo=face))
    assert (text.name, text.sex, text.birth_date, text.id_number) == (
        person.name,
        person.sex,
        person.birth_text,
        person.number,
    )
    assert text.address == person.address
    back = reader.read_cn_id_back(render_cn_back(person))
    assert (back.issuing_authority, back.validity) == (person.authority, person.validity_text)
    decision = evaluate_document(
        DocumentFields(DocumentType.CN_ID_CARD, cn_id=text.merged(back)), application_date=TODAY
    )
    assert decision.outcome is Outcome.PASS, decision.reason_codes


def test_upside_down_front_is_turned_and_read(reader: Any) -> None:
    person = cn_identity(random.Random(12), TODAY)
    assert reader.read_cn_id_front(rotate(render_cn_front(person), 2)).id_number == person.number


def test_printed_number_with_wrong_check_character_is_read_as_printed_and_fails(reader: Any) -> None:
    person = cn_identity(random.Random(13), TODAY)
    wrong = person.number[:17] + ("1" if person.number[17] != "1" else "2")
    text = reader.read_cn_id_front(render_cn_front(person, number=wrong))
    assert text.id_number == wrong
    decision = evaluate_document(DocumentFields(DocumentType.CN_ID_CARD, cn_id=text), application_date=TODAY)
    assert decision.outcome is Outcome.FAIL
    assert "id_number_checksum" in decision.reason_codes


def test_passport_mrz_is_read_and_verifies(reader: Any) -> None:
    lines = td3_mrz(
        surname="WANG", given="XIAO MING", number="EB0718235", birth=date(1988, 7, 9), expiry=date(2032, 2, 3), sex="M"
    )
    read = reader.read_mrz(render_passport_page(lines, viz=[("Surname", "WANG")]), today=TODAY)
    assert read == lines
    assert parse_mrz(read, today=TODAY).secondary_identifier == "XIAO MING"


def test_blank_image_has_no_text(reader: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        reader.read_cn_id_front(np.full((400, 640, 3), 235, np.uint8))
    assert info.value.code == "document_no_text"


def test_page_that_is_not_an_id_card_is_unreadable(reader: Any) -> None:
    lines = td3_mrz(surname="WANG", given="LEI", number="E1", birth=date(1988, 7, 9), expiry=date(2032, 2, 3))
    with pytest.raises(InvalidArgument) as info:
        reader.read_cn_id_front(render_passport_page(lines, width=640))
    assert info.value.code == "document_unreadable"


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((400, 640), np.uint8),
        np.zeros((400, 640, 3), np.float32),
        np.zeros((20, 20, 3), np.uint8),
        "not an image",
    ],
)
def test_malformed_image_is_refused_before_ocr(reader: Any, image: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        reader.read_cn_id_front(image)
    assert info.value.code == "image_invalid"
