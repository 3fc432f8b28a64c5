"""Hand-written fakes for the domain's ports. A few lines each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self._now += timedelta(seconds=seconds, **kwargs)


class SeededRandom:
    """Deterministic stand-in for the CSPRNG (never use outside tests)."""

    def __init__(self, seed: int = 7) -> None:
        import random

        self._rng = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return bytes(self._rng.getrandbits(8) for _ in range(n))

    def randbelow(self, n: int) -> int:
        return self._rng.randrange(n)
