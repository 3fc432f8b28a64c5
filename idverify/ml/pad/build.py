"""Build the MiniFASNet ONNX graphs from the published PyTorch weights (the only code that uses torch).

``python -m idverify.ml.pad.build --weights-dir DIR [--out DIR]`` or ``idverify build-pad``. For each
``minifasnet`` entry of ``models/pad.toml`` it checks the weights file against the pinned size and sha256, loads
it strictly into the architecture written in :mod:`idverify.ml.pad.minifasnet_torch`, exports ONNX (opset 17,
dynamic batch), checks onnxruntime against torch and writes ``pad-build.json``. Needs ``torch==2.13.0`` (the
``pad-build`` extra); the service never does, and importing this module (to register the CLI command) does not
import torch: only running the build does.

"Strict" means: after removing the DataParallel ``module.`` prefix, every key of the inference network is in the
file with the declared shape, and the file has no other key except upstream's training-only Fourier-spectrum
auxiliary branch (``FTGenerator.*`` of MultiFTNet), which is dropped and listed in the record. The two published
files carry no such key, so for them the dropped set is empty (the tests assert exactly that).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from idverify.domain.errors import FailedPrecondition
from idverify.ml.pad.artefacts import (
    RECORD_NAME,
    BuildRecord,
    BuiltModel,
    PadModelSpec,
    default_cache_dir,
    load_manifest,
    sha256_file,
)

if TYPE_CHECKING:
    import torch

    from idverify.ml.pad.minifasnet_torch import MiniFASNet, MiniFASNetSpec


OPSET = 17
TOLERANCE = 1e-4
DATAPARALLEL_PREFIX = "module."
TRAINING_ONLY_PREFIXES = ("FTGenerator.",)
DEFAULT_MANIFEST = Path(__file__).resolve().parents[3] / "models" / "pad.toml"
WHERE_FROM = (
    "The weights are the published MiniFASNet state dicts of the Silent-Face-Anti-Spoofing project by "
    "minivision-ai (Apache-2.0), resources/anti_spoof_models/ at commit "
    "b6d5f04ad78778917853b25c778acef6d5626d15; see ../shared/data/pad/silent-face/SOURCE.md. "
    "Without them the service runs without passive PAD (the liveness factor then relies on its other checks).")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise FailedPrecondition("pad_build_needs_torch", "the PAD build needs torch==2.13.0 (the pad-build "
                                 "extra; scripts/build-pad.sh installs it); the service itself does not") from None
    return torch


def architecture(name: str) -> MiniFASNetSpec:
    """The declared architecture for a manifest ``architecture`` name (KeyError for an unknown one)."""
    _torch()
    from idverify.ml.pad import minifasnet_torch as nets

    return {"MiniFASNetV2": nets.MINIFASNET_V2, "MiniFASNetV1SE": nets.MINIFASNET_V1SE}[name]


def _weights_error(message: str) -> FailedPrecondition:
    return FailedPrecondition("pad_weights_invalid", message)


@dataclass(frozen=True, slots=True)
class LoadedNetwork:
    model: MiniFASNet
    dropped_keys: tuple[str, ...]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth`` state dict, read with ``weights_only=True``. Raises pad_weights_invalid."""
    torch = _torch()
    try:
        raw: Any = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FailedPrecondition("pad_weights_missing", f"{path} not found. {WHERE_FROM}") from None
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _weights_error(f"{path.name} is not a readable PyTorch state dict (truncated or corrupt?): "
                             f"{type(exc).__name__}") from None
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise _weights_error(f"{path.name} does not hold a flat mapping of tensors")
    return {str(k): v for k, v in raw.items()}


def load_minifasnet(path: Path, spec: MiniFASNetSpec, *, decomposed_prelu: bool = False) -> LoadedNetwork:
    """The network of ``spec`` with every weight from ``path``. Raises pad_weights_invalid naming the first
    missing, unexpected or wrongly shaped keys."""
    from idverify.ml.pad.minifasnet_torch import MiniFASNet

    state = read_state_dict(path)
    prefixed = [k.startswith(DATAPARALLEL_PREFIX) for k in state]
    if any(prefixed):
        if not all(prefixed):
            raise _weights_error(f"{path.name}: only some keys carry the {DATAPARALLEL_PREFIX!r} prefix")
        state = {k[len(DATAPARALLEL_PREFIX):]: v for k, v in state.items()}
    dropped = tuple(sorted(k for k in state if k.startswith(TRAINING_ONLY_PREFIXES)))
    state = {k: v for k, v in state.items() if k not in dropped}
    model = MiniFASNet(spec, decomposed_prelu=decomposed_prelu)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
                   for k, v in expected.items() if k in state and state[k].shape != v.shape)
    if missing or unexpected or wrong:
        parts = [f"{label} ({len(keys)}): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                 if keys]
        raise _weights_error(f"{path.name} does not fit {spec.name}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    model.eval()
    return LoadedNetwork(model, dropped)


def export_onnx(model: MiniFASNet, path: Path, input_name: str, size: int) -> None:
    """Write ``model`` as ONNX (opset 17, dynamic batch) to ``path`` atomically."""
    torch = _torch()
    tmp = path.with_suffix(".onnx.tmp")
    example = torch.zeros(1, 3, size, size)
    # The TorchScript exporter (deprecated in favour of torch.export, hence the silenced warning): it folds
    # BatchNorm into the convolutions, gives byte-identical output run after run, and needs no onnxscript.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (example,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=[input_name], output_names=["logits"], do_constant_folding=True,
                          dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}})
    os.replace(tmp, path)


def check_inputs(weights_dir: Path, size: int) -> NDArray[np.float32]:
    """Inputs for the torch/onnxruntime comparison: every ``image_*.jpg`` beside the weights (upstream's
    samples, whole frame resized to the input) and seeded uniform noise over 0..255."""
    patches = []
    for image_path in sorted(weights_dir.glob("image_*.jpg")):
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is not None:
            patches.append(cv2.resize(image, (size, size)).astype(np.float32).transpose(2, 0, 1))
    noise = np.random.default_rng(20240601).uniform(0, 255, (4, 3, size, size)).astype(np.float32)
    return np.ascontiguousarray(np.concatenate([np.stack(patches), noise]) if patches else noise)


def max_logit_diff(reference: MiniFASNet, onnx_path: Path, input_name: str, x: NDArray[np.float32]) -> float:
    torch = _torch()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, {input_name: x})[0])
    return float(np.max(np.abs(got - expected)))


def _build_one(spec: PadModelSpec, weights_dir: Path, out_dir: Path, decomposed_prelu: bool) -> BuiltModel:
    # Both are guaranteed for minifasnet entries by the manifest parser.
    assert spec.weights_file is not None
    assert spec.architecture is not None
    weights = weights_dir / spec.weights_file
    if not weights.is_file():
        raise FailedPrecondition("pad_weights_missing", f"{weights} not found. {WHERE_FROM}")
    digest = sha256_file(weights)
    if digest != spec.weights_sha256 or weights.stat().st_size != spec.weights_size:
        raise FailedPrecondition("model_hash_mismatch", f"{spec.weights_file} has sha256 {digest}, "
                                 f"models/pad.toml pins {spec.weights_sha256}")
    arch = architecture(spec.architecture)
    exported = load_minifasnet(weights, arch, decomposed_prelu=decomposed_prelu)
    reference = load_minifasnet(weights, arch)
    onnx_path = out_dir / spec.file
    export_onnx(exported.model, onnx_path, spec.input_name, spec.input_size)
    diff = max_logit_diff(reference.model, onnx_path, spec.input_name, check_inputs(weights_dir, spec.input_size))
    if not diff <= TOLERANCE:
        onnx_path.unlink()
        raise FailedPrecondition("pad_export_mismatch",
                                 f"{spec.id}: onnxruntime differs from torch by {diff:.2e} (> {TOLERANCE})")
    return BuiltModel(spec.file, sha256_file(onnx_path), spec.weights_file, digest, exported.dropped_keys, diff)


def build_pad_models(weights_dir: Path, out_dir: Path, *, manifest_path: Path = DEFAULT_MANIFEST,
                     decomposed_prelu: bool = True) -> BuildRecord:
    """Export every MiniFASNet of the manifest into ``out_dir`` and write its ``pad-build.json``.

    Raises FailedPrecondition: ``pad_weights_missing`` (with where the weights come from),
    ``pad_weights_invalid``, ``model_hash_mismatch`` (weights differ from the pin), ``pad_export_mismatch``.
    """
    torch = _torch()
    manifest = load_manifest(manifest_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {spec.id: _build_one(spec, weights_dir, out_dir, decomposed_prelu)
             for spec in manifest.family("minifasnet")}
    record = BuildRecord(torch.__version__, OPSET, "decomposed" if decomposed_prelu else "prelu", built)
    tmp = out_dir / (RECORD_NAME + ".tmp")
    tmp.write_text(record.to_json(), encoding="utf-8")
    os.replace(tmp, out_dir / RECORD_NAME)
    return record


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights-dir", type=Path, required=True,
                        help="folder holding the published .pth files (and optionally image_*.jpg samples)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default $IDVERIFY_MODEL_CACHE/pad or ~/.cache/idverify/models/pad)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="PAD manifest (models/pad.toml)")
    parser.add_argument("--keep-prelu", action="store_true",
                        help="export PRelu nodes as they are instead of Relu(x) + slope * Min(x, 0)")


def run(args: argparse.Namespace) -> int:
    """Run the build for parsed arguments; prints a summary, returns the exit status."""
    out = args.out if args.out is not None else default_cache_dir(os.environ)
    try:
        record = build_pad_models(args.weights_dir, out, manifest_path=args.manifest,
                                  decomposed_prelu=not args.keep_prelu)
    except FailedPrecondition as exc:
        print(f"build-pad failed [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    for model_id, model in sorted(record.models.items()):
        print(f"{model_id}: {out / model.file} sha256={model.sha256} max|dlogit|={model.max_abs_logit_diff:.1e}"
              f" dropped_keys={len(model.dropped_keys)}")
    print(f"record: {out / RECORD_NAME}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``build-pad`` to an argparse sub-command group (the CLI hooks it under ``models``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build-pad", help="export the MiniFASNet PAD models to ONNX from the published weights (needs torch)")
    _add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m idverify.ml.pad.build", description=__doc__.split("\n")[0])
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
