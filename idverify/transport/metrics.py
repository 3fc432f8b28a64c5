"""Prometheus series beyond per-RPC counts: each factor's outcome with its reason code, and each error's reason
code per RPC. Model latency is measured where the models run (``idverify.ml.pool``).

Labels are closed sets (RPC names, factor and outcome enum names, reason codes from the service's own catalogue),
never identifiers, phone numbers or anything a caller typed. In `serve --workers N` these live in
prometheus_client's multiprocess files and the parent's ``/metrics`` adds them up.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf.message import Message
from prometheus_client import Counter

from idverify.api.v1 import common_pb2

ERRORS = Counter("idverify_rpc_errors_total", "RPCs that ended in an error, by reason code", ["method", "reason"])
FACTOR_RESULTS = Counter("idverify_factor_results_total", "Factor results returned to callers",
                         ["factor", "outcome", "reason"])

_FACTOR_NAMES = common_pb2.Factor.Name
_OUTCOME_NAMES = common_pb2.FactorOutcome.Name


def record_error(method: str, reason: str) -> None:
    ERRORS.labels(method, reason or "unknown").inc()


def record_factor_results(response: Any) -> None:
    """Count the factor results a response carries at its top level (``result``, ``face_matches``): the answer
    to one submitted factor. Whole-session views (GetVerification) nest theirs and are not counted again."""
    if not isinstance(response, Message) or not _carries_results(response.DESCRIPTOR):
        return
    for descriptor, value in response.ListFields():
        if descriptor.message_type is not common_pb2.FactorResult.DESCRIPTOR:
            continue
        results: list[Any] = [value] if isinstance(value, Message) else list(value)
        for result in results:
            FACTOR_RESULTS.labels(_name(_FACTOR_NAMES, result.factor), _name(_OUTCOME_NAMES, result.outcome),
                                  result.reason_code or "none").inc()


@functools.cache
def _carries_results(descriptor: Any) -> bool:
    """Whether a response type has a top-level FactorResult field (asked once per type, not per response)."""
    return any(field.message_type is common_pb2.FactorResult.DESCRIPTOR for field in descriptor.fields)


def _name(names: Any, number: int) -> str:
    try:
        return str(names(number))
    except ValueError:
        return str(number)
