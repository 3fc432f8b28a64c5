"""docs/benchmarks.md is what the committed result files give (bench/make_index.py --check), and the check fails
when the page or a result file drifts."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _make_index() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_index", ROOT / "bench" / "make_index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_index_matches_the_result_files() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "make_index.py"), "--check"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path]:
    """make_index pointed at a copy of the result files and the page."""
    module = _make_index()
    for folder in ("bench/results", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    assert module.main(["--check"]) == 0
    return module, tmp_path


def test_the_check_fails_on_an_edited_figure(copy: tuple[ModuleType, Path]) -> None:
    module, root = copy
    page = root / "docs" / "benchmarks.md"
    text = page.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if "Token verify vs raw Ed25519 verify" in line)
    page.write_text(text.replace(row, row.replace("| <= 1.3x |", "| <= 1.3x (met) |")), encoding="utf-8")
    assert module.main(["--check"]) == 1


def test_the_check_fails_when_a_result_file_no_longer_holds_its_figure(copy: tuple[ModuleType, Path]) -> None:
    module, root = copy
    result = root / "bench" / "results" / "tokens.md"
    result.write_text(result.read_text(encoding="utf-8").replace("Our verify / raw Ed25519 verify", "Verify"),
                      encoding="utf-8")
    module.main([])  # regenerated: the row now says "not measured"
    assert "not measured" in (root / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert module.unmatched() == ["Token verify vs raw Ed25519 verify (p50s of alternating calls, median of rounds) "
                                  "(bench/results/tokens.md)"]
    assert module.main(["--check"]) == 1
