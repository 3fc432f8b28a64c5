"""FaceService: compare two images outside a verification (operators: calibration checks, manual review)."""

from __future__ import annotations

import grpc

from idverify.api.v1 import face_pb2 as pb
from idverify.api.v1 import face_pb2_grpc
from idverify.domain.errors import InvalidArgument, Unimplemented
from idverify.factors.face_match import Comparison
from idverify.ml.matcher import FaceMatcher
from idverify.ml.pool import InferencePool

_COMPARISONS = {
    pb.COMPARISON_SELFIE_VS_DOCUMENT: Comparison.SELFIE_VS_DOCUMENT,
    pb.COMPARISON_SELFIE_VS_ENROLLED: Comparison.SELFIE_VS_ENROLLED,
}


class FaceServicer(face_pb2_grpc.FaceServiceServicer):
    def __init__(self, matcher: FaceMatcher | None, pool: InferencePool) -> None:
        self._matcher = matcher
        self._pool = pool

    def CompareFaces(self, request: pb.CompareFacesRequest, context: grpc.ServicerContext) -> pb.CompareFacesResponse:
        if self._matcher is None:
            raise Unimplemented("factor_not_available", "face models are not loaded on this deployment")
        comparison = _COMPARISONS.get(request.comparison)
        if comparison is None:
            raise InvalidArgument("comparison_invalid", "name the comparison type")
        result = self._pool.run(self._matcher.compare_images, request.image_a, request.image_b, comparison)
        return pb.CompareFacesResponse(matched=result.matched, score=result.score, threshold=result.threshold,
                                       model_id=result.model_id)
