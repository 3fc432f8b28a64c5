"""A circuit breaker for a remote dependency: after ``threshold`` consecutive failures it opens for ``cool_down_s``
and calls fail at once; then one trial call is let through (half open) and its outcome closes or re-opens it."""

from __future__ import annotations

import threading
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, *, threshold: int, cool_down_s: float, monotonic: Callable[[], float]) -> None:
        if threshold < 1 or cool_down_s <= 0:
            raise ValueError("threshold must be >= 1 and cool_down_s > 0")
        self._threshold = threshold
        self._cool_down_s = cool_down_s
        self._now = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._now() - self._opened_at >= self._cool_down_s else "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open state, only one trial at a time)."""
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self._threshold:
                self._opened_at = self._now()
            self._trial_running = False
