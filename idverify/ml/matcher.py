"""FaceMatcher: two images, or an image and a stored template, compared under the rules of face_match.

Images are decoded, embedded and dropped inside each call; only embeddings and scores leave. A document
photograph is searched for its largest face (ID cards carry a small ghost portrait too); a selfie must show
exactly one dominant face.
"""

from __future__ import annotations

from dataclasses import dataclass

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import Embedding, MatchResult
from idverify.factors.face_match import Comparison, MatchThresholds, compare, hint
from idverify.ml.imaging import DecodedImage
from idverify.ml.pipeline import FaceAnalysis, FacePipeline, Selection
from idverify.ml.quality import QualityLimits

#: Document portraits are small and printed: looser size and sharpness limits than a live selfie.
DOCUMENT_LIMITS = QualityLimits(min_face_px=40.0, min_sharpness=15.0)


@dataclass(frozen=True, slots=True)
class FaceMatcher:
    """Face comparison with quality enforcement. Raises InvalidArgument with a face reason code
    (``face_not_found``, ``face_ambiguous``, a quality code) when an image cannot be judged."""

    pipeline: FacePipeline
    thresholds: MatchThresholds
    enforce_quality: bool = True
    document_limits: QualityLimits = DOCUMENT_LIMITS

    def analyse(
        self, image: bytes | DecodedImage, *, select: Selection = "single", limits: QualityLimits | None = None
    ) -> FaceAnalysis:
        analysis = self.pipeline.analyse(self._decoded(image), select=select, limits=limits)
        self._enforce(analysis)
        return analysis

    def _decoded(self, image: bytes | DecodedImage) -> DecodedImage:
        return image if isinstance(image, DecodedImage) else self.pipeline.decode(image)

    def _enforce(self, analysis: FaceAnalysis) -> None:
        if self.enforce_quality and not analysis.quality.passed:
            code = analysis.quality.reasons[0]
            raise InvalidArgument(code, hint(code, "en"))

    def selfie_embedding(self, image: bytes | DecodedImage) -> Embedding:
        """The embedding of the one face in a selfie (for enrolment)."""
        return self.analyse(image).embedding

    def document_embedding(self, image: bytes | DecodedImage) -> Embedding:
        """The embedding of the largest face on a document photograph. The portrait is never kept."""
        return self.analyse(image, select="largest", limits=self.document_limits).embedding

    def compare_images(
        self, probe: bytes | DecodedImage, reference: bytes | DecodedImage, comparison: Comparison
    ) -> MatchResult:
        """Compare a selfie ``probe`` with a ``reference`` image (a document when the comparison says so)."""
        document = comparison is Comparison.SELFIE_VS_DOCUMENT
        reference_select: Selection = "largest" if document else "single"
        pair = self.pipeline.analyse_many([  # both examined side by side, then embedded as one batch
            (probe, "single", None),
            (reference, reference_select, self.document_limits if document else None),
        ])
        for analysis in pair:  # the two faces were embedded as one batch; quality is enforced as one by one
            self._enforce(analysis)
        return compare(pair[0].embedding, pair[1].embedding, comparison, self.thresholds)

    def compare_with_embedding(
        self, probe: bytes | DecodedImage, stored: Embedding, comparison: Comparison = Comparison.SELFIE_VS_ENROLLED
    ) -> MatchResult:
        """Compare a selfie with a stored template. Raises FailedPrecondition ``embedding_model_mismatch``."""
        return compare(self.selfie_embedding(probe), stored, comparison, self.thresholds)
