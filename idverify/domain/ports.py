"""What the domain needs from the world, as structural Protocols.

Adapters are named after their technology (``SqlSessionStore``, ``OutboxSmsSender``) and satisfy these without
inheriting from them. Factor-specific ports live beside their factor module when only that factor uses them.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """The only source of the current time. ``now()`` is timezone-aware UTC."""

    def now(self) -> datetime: ...


class Random(Protocol):
    """The only source of randomness for codes, ids, nonces and challenges."""

    def token_bytes(self, n: int) -> bytes: ...

    def randbelow(self, n: int) -> int: ...


class SystemClock:
    """Production clock: ``datetime.now(UTC)``."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemRandom:
    """Production randomness: the ``secrets`` CSPRNG."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)
