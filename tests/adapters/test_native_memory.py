"""Capping glibc's malloc arenas, as `idverify serve` does before it starts any thread."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from idverify.ml.native_memory import limit_malloc_arenas


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_the_arena_cap() -> None:
    # In a child process: the cap lasts for the life of the process that sets it.
    code = "from idverify.ml.native_memory import limit_malloc_arenas as f; raise SystemExit(0 if f(2) else 1)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_cap_below_one_arena_is_refused() -> None:
    with pytest.raises(ValueError, match="arenas"):
        limit_malloc_arenas(0)
