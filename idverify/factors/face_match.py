"""Face-match rules: thresholds per kind of comparison, the decision, reason codes and applicant hints.

Standard library only. Scores are cosine similarities of L2-normalised embeddings from one declared embedder;
thresholds belong to that embedder (``model_id``) and come from configuration, with defaults from the
calibration in docs/reports/face-calibration.md. A comparison below threshold is an outcome (``face_mismatch``),
not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.face import Embedding, MatchResult


class Comparison(StrEnum):
    SELFIE_VS_DOCUMENT = "selfie_vs_document"
    SELFIE_VS_ENROLLED = "selfie_vs_enrolled"
    LIVENESS_SAME_PERSON = "liveness_same_person"


FACE_MATCH = "face_match"
FACE_MISMATCH = "face_mismatch"


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """Cosine thresholds for one embedder. ``matched`` means score >= threshold."""

    model_id: str
    selfie_vs_document: float
    selfie_vs_enrolled: float
    liveness_same_person: float

    def __post_init__(self) -> None:
        for name in ("selfie_vs_document", "selfie_vs_enrolled", "liveness_same_person"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} threshold must be a cosine in [-1, 1], got {value}")

    def for_comparison(self, comparison: Comparison) -> float:
        return float(getattr(self, comparison.value))

    @classmethod
    def from_mapping(cls, model_id: str, values: Mapping[str, float]) -> MatchThresholds:
        """From configuration (keys are the comparison names); missing keys take the calibrated defaults."""
        base = DEFAULT_THRESHOLDS.get(model_id)
        unknown = set(values) - {c.value for c in Comparison}
        if unknown:
            raise ValueError(f"unknown comparison types: {', '.join(sorted(unknown))}")
        if base is None and len(values) != len(Comparison):
            raise ValueError(f"no calibrated defaults for model {model_id!r}: set every comparison threshold")

        def pick(c: Comparison) -> float:
            if c.value in values:
                return float(values[c.value])
            assert base is not None
            return base.for_comparison(c)

        return cls(model_id, *(pick(c) for c in Comparison))


#: Calibrated on deepface-unit (docs/reports/face-calibration.md): with the shipped pipeline every genuine pair
#: scored >= 0.485 and every impostor pair of the identity groups (1,690) <= 0.441; 0.46 sits in that gap.
#: Same-session liveness frames (same camera, seconds apart) are held to a stricter bar.
DEFAULT_THRESHOLDS: Mapping[str, MatchThresholds] = {
    "sface-2021dec": MatchThresholds(
        "sface-2021dec", selfie_vs_document=0.46, selfie_vs_enrolled=0.46, liveness_same_person=0.55
    ),
}


def decide(score: float, comparison: Comparison, thresholds: MatchThresholds) -> MatchResult:
    """The match outcome for a cosine ``score`` under the threshold for ``comparison``."""
    threshold = thresholds.for_comparison(comparison)
    return MatchResult(
        score=score,
        threshold=threshold,
        model_id=thresholds.model_id,
        matched=score >= threshold,
        comparison=comparison.value,
    )


def compare(probe: Embedding, reference: Embedding, comparison: Comparison, thresholds: MatchThresholds) -> MatchResult:
    """Compare two embeddings. Raises FailedPrecondition ``embedding_model_mismatch`` when either comes from
    another embedder than the thresholds'."""
    if probe.model_id != thresholds.model_id or reference.model_id != thresholds.model_id:
        raise FailedPrecondition(
            "embedding_model_mismatch", "the stored face template was made by a different face model; re-enrol"
        )
    return decide(probe.cosine(reference), comparison, thresholds)


def reason_code(result: MatchResult) -> str:
    return FACE_MATCH if result.matched else FACE_MISMATCH


#: What the app shows the applicant for each face reason code, in zh-CN and en.
HINTS: Mapping[str, Mapping[str, str]] = {
    "face_not_found": {
        "en": "We could not find a face. Face the camera in good light.",
        "zh-CN": "未检测到人脸，请在光线充足处正对摄像头。",
    },
    "face_ambiguous": {
        "en": "More than one face is visible. Make sure only you are in the picture.",
        "zh-CN": "画面中有多张人脸，请确保只有您本人入镜。",
    },
    "face_too_small": {"en": "Move closer so your face fills the frame.", "zh-CN": "请靠近一些，让面部充满取景框。"},
    "face_blurry": {
        "en": "The picture is blurred. Hold still and clean the camera lens.",
        "zh-CN": "照片模糊，请保持稳定并擦拭镜头。",
    },
    "face_underexposed": {
        "en": "The picture is too dark. Move to a brighter place.",
        "zh-CN": "照片过暗，请到光线更明亮的地方。",
    },
    "face_overexposed": {
        "en": "The picture is too bright. Avoid direct light on your face.",
        "zh-CN": "照片过亮，请避免强光直射面部。",
    },
    "face_pose_not_frontal": {
        "en": "Look straight at the camera and keep your head level.",
        "zh-CN": "请正视摄像头，保持头部端正。",
    },
    "eyes_not_visible": {
        "en": "Your eyes must be visible. Remove sunglasses and keep hair off your eyes.",
        "zh-CN": "请露出双眼，摘下墨镜并整理遮挡眼睛的头发。",
    },
    FACE_MISMATCH: {"en": "The face does not match our records.", "zh-CN": "人脸与记录不一致。"},
    FACE_MATCH: {"en": "Face verified.", "zh-CN": "人脸核验通过。"},
}
LOCALES = ("zh-CN", "en")


def hint(code: str, locale: str = "zh-CN") -> str:
    """The applicant-facing hint for a reason code. Raises InvalidArgument for an unknown locale or code."""
    if locale not in LOCALES:
        raise InvalidArgument("locale_unsupported", f"supported locales: {', '.join(LOCALES)}")
    try:
        return HINTS[code][locale]
    except KeyError:
        raise InvalidArgument("reason_code_unknown", f"no hint for reason code {code!r}") from None
