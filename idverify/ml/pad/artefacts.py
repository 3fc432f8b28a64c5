"""The PAD manifest (``models/pad.toml``) and the build record beside the exported ONNX files.

The MiniFASNet ONNX graphs are build artefacts: ``idverify build-pad`` makes them from the published
PyTorch weights into a cache folder outside git and writes ``pad-build.json`` there. The manifest pins the
*source weights* (file name, size, sha256); the record pins each *exported graph* (sha256) and the weights sha256
it was made from. Loading checks both links of that chain. Operator-supplied ``live_probability`` models are
ordinary files pinned by sha256 in the manifest itself.

Errors are ``FailedPrecondition`` with the registry's codes: ``model_manifest_invalid``, ``model_file_missing``,
``model_hash_mismatch``. Messages name files and ids, never model contents.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from idverify.domain.errors import FailedPrecondition

RECORD_NAME = "pad-build.json"
RECORD_FORMAT = 1
CACHE_ENV = "IDVERIFY_MODEL_CACHE"
FAMILIES = frozenset({"minifasnet", "live_probability"})
ARCHITECTURES = frozenset({"MiniFASNetV2", "MiniFASNetV1SE"})
BUILD_HINT = "run `idverify build-pad` (scripts/build-pad.sh) to build it"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """Where built PAD graphs live: ``$IDVERIFY_MODEL_CACHE/pad`` or ``~/.cache/idverify/models/pad``."""
    root = env.get(CACHE_ENV) or str(Path.home() / ".cache" / "idverify" / "models")
    return Path(root) / "pad"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _invalid(message: str) -> FailedPrecondition:
    return FailedPrecondition("model_manifest_invalid", message)


@dataclass(frozen=True, slots=True)
class PadModelSpec:
    """One declared PAD model. ``file`` is the built graph's name in the cache (minifasnet) or a path to the
    operator's file, relative to the manifest's folder (live_probability)."""

    id: str
    family: str
    file: str
    input_name: str
    input_size: int
    colour: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_meaning: str
    licence: str
    source: str
    architecture: str | None = None
    crop_scale: float | None = None
    live_index: int = 1
    weights_file: str | None = None
    weights_sha256: str | None = None
    weights_size: int | None = None
    sha256: str | None = None
    alignment: str | None = None


@dataclass(frozen=True, slots=True)
class PadManifest:
    path: Path
    live_threshold: float
    threshold_provenance: str
    models: tuple[PadModelSpec, ...]

    def family(self, family: str) -> list[PadModelSpec]:
        return [m for m in self.models if m.family == family]


def _hex64(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value.lower()):
        raise _invalid(f"{what} must be 64 hex digits")
    return value.lower()


def _parse_model(entry: Mapping[str, Any]) -> PadModelSpec:
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise _invalid("a PAD model entry has no id")

    def text(key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise _invalid(f"PAD model {model_id!r}: {key} must be a non-empty string")
        return value

    def triple(key: str) -> tuple[float, float, float]:
        value = entry.get(key)
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int | float) for v in value)):
            raise _invalid(f"PAD model {model_id!r}: {key} must be a list of 3 numbers")
        return (float(value[0]), float(value[1]), float(value[2]))

    family = text("family")
    if entry.get("task") != "pad" or family not in FAMILIES:
        raise _invalid(f"PAD model {model_id!r}: task must be 'pad' and family one of {sorted(FAMILIES)}")
    size = entry.get("input_width")
    if not isinstance(size, int) or size != entry.get("input_height") or size <= 0 or entry.get("layout") != "NCHW":
        raise _invalid(f"PAD model {model_id!r}: input must be square NCHW (input_width == input_height)")
    colour = text("colour")
    if colour not in {"BGR", "RGB"}:
        raise _invalid(f"PAD model {model_id!r}: colour must be BGR or RGB")
    common: dict[str, Any] = {
        "id": model_id, "family": family, "file": text("file"), "input_name": text("input_name"),
        "input_size": size, "colour": colour, "mean": triple("mean"), "std": triple("std"),
        "output_meaning": text("output_meaning"), "licence": text("licence"), "source": text("source")}
    if family == "minifasnet":
        arch = text("architecture")
        scale = entry.get("crop_scale")
        weights_size = entry.get("weights_size")
        live_index = entry.get("live_index")
        if arch not in ARCHITECTURES or not isinstance(scale, int | float) or scale < 1:
            raise _invalid(f"PAD model {model_id!r}: architecture in {sorted(ARCHITECTURES)} and crop_scale >= 1")
        if not isinstance(weights_size, int) or not isinstance(live_index, int):
            raise _invalid(f"PAD model {model_id!r}: weights_size and live_index must be integers")
        if Path(common["file"]).name != common["file"]:
            raise _invalid(f"PAD model {model_id!r}: file must be a bare name in the build folder")
        return PadModelSpec(**common, architecture=arch, crop_scale=float(scale), live_index=live_index,
                            weights_file=text("weights_file"), weights_size=weights_size,
                            weights_sha256=_hex64(entry.get("weights_sha256"), f"{model_id}: weights_sha256"))
    # The insightface-style liveness contract: aligned 80x80 RGB scaled to 0..1, one live probability out.
    if colour != "RGB" or common["mean"] != (0.0, 0.0, 0.0) or common["std"] != (255.0, 255.0, 255.0):
        raise _invalid(f"PAD model {model_id!r}: live_probability models take RGB/255 (mean 0, std 255)")
    if entry.get("alignment") != "arcface5":
        raise _invalid(f"PAD model {model_id!r}: live_probability models need alignment = 'arcface5'")
    return PadModelSpec(**common, alignment="arcface5", sha256=_hex64(entry.get("sha256"), f"{model_id}: sha256"))


def load_manifest(path: Path) -> PadManifest:
    """Read and validate a PAD manifest. Raises FailedPrecondition(model_manifest_invalid)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _invalid(f"PAD manifest {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(f"{path} is not valid TOML: {exc}") from None
    fusion = raw.get("fusion")
    if raw.get("schema") != 1 or not isinstance(fusion, dict):
        raise _invalid(f"{path}: schema must be 1 and a [fusion] table is required")
    threshold = fusion.get("live_threshold")
    provenance = fusion.get("threshold_provenance")
    if not isinstance(threshold, float) or not 0.0 < threshold < 1.0 or not isinstance(provenance, str):
        raise _invalid(f"{path}: fusion.live_threshold must be in (0, 1), with threshold_provenance")
    entries = raw.get("model", [])
    models = tuple(_parse_model(e) for e in entries) if isinstance(entries, list) else ()
    if not models or len({m.id for m in models}) != len(models):
        raise _invalid(f"{path}: declare at least one [[model]], each id once")
    return PadManifest(path, threshold, provenance, models)


@dataclass(frozen=True, slots=True)
class BuiltModel:
    """One exported graph in the record."""

    file: str
    sha256: str
    weights_file: str
    weights_sha256: str
    dropped_keys: tuple[str, ...]
    max_abs_logit_diff: float


@dataclass(frozen=True, slots=True)
class BuildRecord:
    torch_version: str
    opset: int
    prelu: str
    models: Mapping[str, BuiltModel]

    def to_json(self) -> str:
        body = {"format": RECORD_FORMAT, "builder": "idverify.ml.pad.build", "torch": self.torch_version,
                "opset": self.opset, "prelu": self.prelu,
                "models": {k: asdict(v) for k, v in sorted(self.models.items())}}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, folder: Path) -> BuildRecord:
        """The record in ``folder``. Raises FailedPrecondition(model_file_missing / model_manifest_invalid)."""
        path = folder / RECORD_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw["format"] != RECORD_FORMAT:
                raise ValueError("unknown record format")
            models = {k: BuiltModel(v["file"], v["sha256"], v["weights_file"], v["weights_sha256"],
                                    tuple(v["dropped_keys"]), float(v["max_abs_logit_diff"]))
                      for k, v in raw["models"].items()}
            return cls(str(raw["torch"]), int(raw["opset"]), str(raw["prelu"]), models)
        except FileNotFoundError:
            raise FailedPrecondition("model_file_missing", f"no PAD build record {path}; {BUILD_HINT}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _invalid(f"PAD build record {path} is malformed ({type(exc).__name__})") from None
