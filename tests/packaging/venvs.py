"""Wheels and fresh virtual environments for the packaging tests.

Wheels are built with this environment's pip; a fresh environment is made without pip (so its size is only what we
install) and filled by this environment's pip through ``--python``. Downloads come from PyPI or pip's cache.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIENT_PROJECT = REPO / "clients" / "python"


def pip(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"pip {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def build_wheel(project: Path, out: Path) -> Path:
    """The wheel of one project (no dependencies), built as `pip wheel` would for any user.

    setuptools builds in the tree's build/ folder and never empties it: a module deleted from the source would ship
    from a stale copy, so the folder (ignored, output only) goes first.
    """
    shutil.rmtree(project / "build", ignore_errors=True)
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(project), timeout=300)
    name = "idverify_client" if project == CLIENT_PROJECT else "idverify"
    (wheel,) = out.glob(f"{name}-*.whl")
    return wheel


def fresh_venv(path: Path) -> Path:
    """An empty virtual environment (no pip, no setuptools); returns its python."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


def install(python: Path, *requirements: str, constraints: bool = True) -> None:
    extra = ["-c", str(REPO / "constraints.txt")] if constraints else []
    pip("--python", str(python), "install", "--quiet", *extra, *requirements)


def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
