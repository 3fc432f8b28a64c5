"""Running a use case in one unit of work, including refusals that must leave a trace.

Most refusals change nothing: they raise and the unit of work rolls back. Some must commit what they wrote before
the caller learns of them (a session failed because its identity is frozen, a wrong guess that was counted, an SMS
send that failed but still counts against the pumping guards). Such code raises :class:`KeepAndRaise` inside
:func:`unit`; the unit of work then commits and the wrapped error is raised after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from idverify.domain.errors import IdVerifyError
from idverify.domain.repositories import UnitOfWork

U = TypeVar("U", bound=UnitOfWork)


class KeepAndRaise(Exception):
    """Commit what this unit of work wrote, then raise ``error``."""

    def __init__(self, error: IdVerifyError) -> None:
        super().__init__(error.code)
        self.error = error


@contextmanager
def unit(factory: Callable[[], U]) -> Iterator[U]:
    """``with unit(self._uow) as uow:`` one transaction; commits on success and on :class:`KeepAndRaise`."""
    kept: IdVerifyError | None = None
    uow = factory()
    with uow:  # __enter__ returns the unit of work itself
        try:
            yield uow
        except KeepAndRaise as keep:
            kept = keep.error
    if kept is not None:
        raise kept
