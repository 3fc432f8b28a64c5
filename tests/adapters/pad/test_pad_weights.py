"""Strict loading of the published MiniFASNet weights into the architecture written in this project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idverify.domain.errors import FailedPrecondition
from tests.adapters.pad.conftest import PAD_MANIFEST, require_torch

pytestmark = pytest.mark.shared_data

V2 = "2.7_80x80_MiniFASNetV2.pth"
V1SE = "4_0_0_80x80_MiniFASNetV1SE.pth"


@pytest.fixture(scope="module")
def torch() -> Any:
    require_torch()
    import torch

    return torch


def _save_modified(torch: Any, source: Path, target: Path, change: Any) -> Path:
    state = dict(torch.load(source, map_location="cpu", weights_only=True))
    change(state)
    torch.save(state, target)
    return target


@pytest.mark.parametrize(("file", "arch", "tensors"), [(V2, "MiniFASNetV2", 334), (V1SE, "MiniFASNetV1SE", 370)])
def test_published_weights_fill_every_tensor_of_the_network_and_nothing_is_dropped(
        torch: Any, weights_dir: Path, file: str, arch: str, tensors: int) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    loaded = load_minifasnet(weights_dir / file, architecture(arch))
    file_keys = {k.removeprefix("module.") for k in torch.load(weights_dir / file, map_location="cpu",
                                                                 weights_only=True)}
    assert loaded.dropped_keys == ()
    assert set(loaded.model.state_dict()) == file_keys
    assert len(file_keys) == tensors


def test_weights_of_the_other_architecture_are_refused_with_the_differences(weights_dir: Path, torch: Any) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    with pytest.raises(FailedPrecondition) as err:
        load_minifasnet(weights_dir / V2, architecture("MiniFASNetV1SE"))
    assert err.value.code == "pad_weights_invalid"
    assert "missing (36)" in err.value.message
    assert "se_module" in err.value.message
    assert "wrong shape" in err.value.message


def test_a_missing_tensor_is_named(torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    path = _save_modified(torch, weights_dir / V2, tmp_path / V2,
                          lambda s: s.pop("module.conv_4.model.3.conv_dw.prelu.weight"))
    with pytest.raises(FailedPrecondition) as err:
        load_minifasnet(path, architecture("MiniFASNetV2"))
    assert "missing (1): conv_4.model.3.conv_dw.prelu.weight" in err.value.message


def test_an_extra_tensor_is_named(torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    path = _save_modified(torch, weights_dir / V2, tmp_path / V2,
                          lambda s: s.__setitem__("module.head.weight", torch.zeros(3)))
    with pytest.raises(FailedPrecondition) as err:
        load_minifasnet(path, architecture("MiniFASNetV2"))
    assert "unexpected (1): head.weight" in err.value.message


def test_a_wrongly_shaped_tensor_is_named(torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    path = _save_modified(torch, weights_dir / V2, tmp_path / V2,
                          lambda s: s.__setitem__("module.prob.weight", torch.zeros(4, 128)))
    with pytest.raises(FailedPrecondition) as err:
        load_minifasnet(path, architecture("MiniFASNetV2"))
    assert "wrong shape (1): prob.weight (4, 128) != (3, 128)" in err.value.message


def test_only_the_training_only_fourier_branch_is_dropped_and_listed(
        torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    def add_ft(state: dict[str, Any]) -> None:
        state["module.FTGenerator.ft.0.weight"] = torch.zeros(128, 128, 3, 3)
        state["module.FTGenerator.ft.1.weight"] = torch.zeros(128)

    path = _save_modified(torch, weights_dir / V1SE, tmp_path / V1SE, add_ft)
    loaded = load_minifasnet(path, architecture("MiniFASNetV1SE"))
    assert loaded.dropped_keys == ("FTGenerator.ft.0.weight", "FTGenerator.ft.1.weight")


def test_a_truncated_weights_file_is_refused_clearly(torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import architecture, load_minifasnet

    data = (weights_dir / V2).read_bytes()
    path = tmp_path / V2
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FailedPrecondition) as err:
        load_minifasnet(path, architecture("MiniFASNetV2"))
    assert err.value.code == "pad_weights_invalid"
    assert "truncated or corrupt" in err.value.message


def test_build_refuses_weights_that_differ_from_the_manifest_pin(
        torch: Any, weights_dir: Path, tmp_path: Path) -> None:
    from idverify.ml.pad.build import build_pad_models

    _save_modified(torch, weights_dir / V2, tmp_path / V2, lambda s: None)  # same tensors, different bytes
    (tmp_path / V1SE).symlink_to(weights_dir / V1SE)
    with pytest.raises(FailedPrecondition) as err:
        build_pad_models(tmp_path, tmp_path / "out", manifest_path=PAD_MANIFEST)
    assert err.value.code == "model_hash_mismatch"


def test_build_without_weights_exits_non_zero_and_says_where_they_come_from(
        torch: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from idverify.ml.pad.build import main

    assert main(["--weights-dir", str(tmp_path), "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert "pad_weights_missing" in err
    assert "minivision-ai" in err
    assert "Apache-2.0" in err
    assert "without passive PAD" in err
    assert not (tmp_path / "out" / "pad-build.json").exists()
