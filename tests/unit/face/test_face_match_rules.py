"""Face-match rules: thresholds per comparison, decisions, template compatibility and applicant hints."""

from __future__ import annotations

import pytest

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.face import Embedding, Landmarks, Point
from idverify.factors.face_match import (
    DEFAULT_THRESHOLDS,
    FACE_MATCH,
    FACE_MISMATCH,
    HINTS,
    Comparison,
    MatchThresholds,
    compare,
    decide,
    hint,
    reason_code,
)

THRESHOLDS = MatchThresholds("m1", selfie_vs_document=0.4, selfie_vs_enrolled=0.5, liveness_same_person=0.6)


def test_each_comparison_type_uses_its_own_threshold() -> None:
    assert decide(0.45, Comparison.SELFIE_VS_DOCUMENT, THRESHOLDS).matched
    assert not decide(0.45, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS).matched
    result = decide(0.55, Comparison.LIVENESS_SAME_PERSON, THRESHOLDS)
    assert (result.matched, result.threshold, result.model_id, result.comparison) == (
        False,
        0.6,
        "m1",
        "liveness_same_person",
    )


def test_a_score_equal_to_the_threshold_matches() -> None:
    assert decide(0.5, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS).matched


def test_reason_codes_follow_the_decision() -> None:
    assert reason_code(decide(0.9, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS)) == FACE_MATCH
    assert reason_code(decide(0.1, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS)) == FACE_MISMATCH


def test_identical_embeddings_match_and_orthogonal_ones_do_not() -> None:
    a, b = Embedding((1.0, 0.0, 0.0), "m1"), Embedding((0.0, 1.0, 0.0), "m1")
    assert compare(a, a, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS).score == pytest.approx(1.0)
    assert not compare(a, b, Comparison.SELFIE_VS_ENROLLED, THRESHOLDS).matched


def test_a_template_from_another_model_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as err:
        compare(Embedding((1.0,), "m1"), Embedding((1.0,), "m2"), Comparison.SELFIE_VS_ENROLLED, THRESHOLDS)
    assert err.value.code == "embedding_model_mismatch"


def test_embedding_bytes_round_trip_and_repr_hides_values() -> None:
    emb = Embedding((0.25, -0.5, 1.0), "m1")
    assert Embedding.from_bytes(emb.to_bytes(), "m1") == emb
    assert "0.25" not in repr(emb)


def test_thresholds_from_configuration_fill_gaps_with_calibrated_defaults() -> None:
    t = MatchThresholds.from_mapping("sface-2021dec", {"selfie_vs_document": 0.5})
    assert t.selfie_vs_document == 0.5
    assert t.selfie_vs_enrolled == DEFAULT_THRESHOLDS["sface-2021dec"].selfie_vs_enrolled


def test_thresholds_for_an_uncalibrated_model_must_all_be_configured() -> None:
    with pytest.raises(ValueError, match="no calibrated defaults"):
        MatchThresholds.from_mapping("arcface-r50", {"selfie_vs_document": 0.3})
    with pytest.raises(ValueError, match="unknown comparison"):
        MatchThresholds.from_mapping("sface-2021dec", {"selfie_vs_passport": 0.3})
    with pytest.raises(ValueError):
        MatchThresholds("m", 1.5, 0.5, 0.5)


def test_every_face_reason_code_has_a_hint_in_both_locales() -> None:
    codes = {
        "face_not_found",
        "face_ambiguous",
        "face_too_small",
        "face_blurry",
        "face_underexposed",
        "face_overexposed",
        "face_pose_not_frontal",
        "eyes_not_visible",
        FACE_MISMATCH,
        FACE_MATCH,
    }
    assert codes <= set(HINTS)
    for code in codes:
        assert hint(code, "zh-CN")
        assert hint(code, "en")
        assert hint(code, "zh-CN") != hint(code, "en")
    with pytest.raises(InvalidArgument):
        hint("face_blurry", "fr")


def test_landmarks_inter_ocular_distance() -> None:
    lm = Landmarks(Point(10, 10), Point(13, 14), Point(11, 12), Point(10, 16), Point(13, 16))
    assert lm.inter_ocular == pytest.approx(5.0)
