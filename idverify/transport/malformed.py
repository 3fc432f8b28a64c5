"""Requests whose bytes do not decode answer INVALID_ARGUMENT ``request_malformed``, never INTERNAL.

gRPC Python deserializes a request before any interceptor or servicer runs, and a message that does not parse (bytes
that are not a message, a truncated varint, a string field holding invalid UTF-8) becomes INTERNAL "Exception
deserializing request!" there. The interceptor therefore registers each handler with a tolerant deserializer: a
payload that does not decode becomes :data:`MALFORMED`, which the interceptor turns into the error after it has
authenticated the caller, through the same error table as every other refusal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from idverify.domain.errors import InvalidArgument


class Malformed:
    """Stands for a request whose bytes did not decode."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED = Malformed()


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` that returns :data:`MALFORMED` instead of raising."""
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # noqa: BLE001 - any failure to decode is the same answer: request_malformed
            return MALFORMED

    return decode


def refuse(request: Any) -> None:
    """Raise ``InvalidArgument("request_malformed")`` for a request that did not decode."""
    if request is MALFORMED:
        raise InvalidArgument("request_malformed", "the request is not a valid message of this RPC")


def checked(requests: Iterator[Any]) -> Iterator[Any]:
    """A client stream whose first message is judged now (before the servicer looks at anything else) and the
    rest as they are read, so a bad message anywhere ends the call with ``request_malformed``."""
    first = next(requests, MALFORMED_END)
    if first is MALFORMED_END:
        return iter(())
    refuse(first)
    return itertools.chain((first,), _rest(requests))


MALFORMED_END = object()


def _rest(requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        refuse(request)
        yield request
