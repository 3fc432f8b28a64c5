"""glibc malloc settings, as `idverify serve` applies them before it starts any thread."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from idverify.ml.native_memory import limit_malloc_arenas, set_mmap_threshold

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc only")
@pytest.mark.parametrize("call", ["limit_malloc_arenas(2)", "set_mmap_threshold(1 << 20)"])
def test_glibc_accepts_the_setting(call: str) -> None:
    # In a child process: a setting lasts for the life of the process that makes it.
    code = f"from idverify.ml.native_memory import *; raise SystemExit(0 if {call} else 1)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_cap_below_one_arena_is_refused() -> None:
    with pytest.raises(ValueError, match="arenas"):
        limit_malloc_arenas(0)


@pytest.mark.parametrize("size", [1024, 64 << 20])
def test_an_mmap_threshold_glibc_would_not_take_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="threshold"):
        set_mmap_threshold(size)
