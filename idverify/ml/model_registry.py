"""Declared models: ``models/manifest.toml`` read, checked and served as verified bytes.

Every model the service runs is listed in the manifest with its task, family, file, sha256, licence, source and
input contract. The registry refuses: a manifest entry with an unknown task or family, a listed file that is
missing or whose sha256 differs, and any ``.onnx`` file in the folder that the manifest does not list. The type
of a model comes from its declared ``task`` and ``family`` only, never from tensor shapes.

Errors are ``FailedPrecondition`` with codes ``model_manifest_invalid``, ``model_file_missing``,
``model_hash_mismatch``, ``model_unlisted``, ``model_folded_hash_mismatch``; an unknown id is ``NotFound``
(``model_unknown``). Messages name files and ids, never model contents.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idverify.domain.errors import FailedPrecondition, NotFound
from idverify.ml.fold import fold_model

MANIFEST = "manifest.toml"
TASKS: Mapping[str, frozenset[str]] = {
    "face_detector": frozenset({"yunet", "scrfd"}),
    "face_embedder": frozenset({"sface", "arcface"}),
    "pad": frozenset({"minifasnet"}),
}
#: ``fold`` is "none" or "dequantize" followed by optional "+prelu" (PRelu rewrite) and "+batch" (dynamic batch).
FOLDS = frozenset({"none", "dequantize", "dequantize+prelu", "dequantize+batch", "dequantize+prelu+batch"})
LAYOUTS = frozenset({"NCHW", "NHWC"})
COLOURS = frozenset({"BGR", "RGB"})
ParamValue = float | int | str | bool


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One declared model, exactly as the manifest states it."""

    id: str
    task: str
    family: str
    file: str
    sha256: str
    size: int
    licence: str
    source: str
    input_name: str
    input_width: int
    input_height: int
    layout: str
    colour: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_meaning: str
    threshold_provenance: str
    fold: str = "none"
    folded_sha256: str | None = None
    licence_file: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def param_float(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(f"model {self.id!r}: params.{name} must be a number")
        return float(value)

    def param_str(self, name: str, default: str) -> str:
        value = self.params.get(name, default)
        if not isinstance(value, str):
            raise _invalid(f"model {self.id!r}: params.{name} must be a string")
        return value


def _invalid(message: str) -> FailedPrecondition:
    return FailedPrecondition("model_manifest_invalid", message)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _triple(entry: Mapping[str, Any], key: str, model_id: str) -> tuple[float, float, float]:
    value = entry.get(key)
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int | float) for v in value)):
        raise _invalid(f"model {model_id!r}: {key} must be a list of 3 numbers")
    return (float(value[0]), float(value[1]), float(value[2]))


def parse_entry(entry: Mapping[str, Any]) -> ModelSpec:
    """Validate one ``[[model]]`` table. Raises FailedPrecondition(model_manifest_invalid)."""
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise _invalid("a model entry has no id")

    def text(key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise _invalid(f"model {model_id!r}: {key} must be a non-empty string")
        return value

    def integer(key: str) -> int:
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _invalid(f"model {model_id!r}: {key} must be a positive integer")
        return value

    task, family = text("task"), text("family")
    if task not in TASKS:
        raise _invalid(f"model {model_id!r}: unknown task {task!r} (known: {', '.join(sorted(TASKS))})")
    if family not in TASKS[task]:
        raise _invalid(f"model {model_id!r}: family {family!r} is not supported for task {task!r}")
    file = text("file")
    if Path(file).name != file:
        raise _invalid(f"model {model_id!r}: file must be a bare file name in the models folder")
    sha = text("sha256").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise _invalid(f"model {model_id!r}: sha256 must be 64 hex digits")
    fold = entry.get("fold", "none")
    if fold not in FOLDS:
        raise _invalid(f"model {model_id!r}: fold must be one of {sorted(FOLDS)}")
    folded = entry.get("folded_sha256")
    if folded is not None and not isinstance(folded, str):
        raise _invalid(f"model {model_id!r}: folded_sha256 must be a string")
    layout, colour = text("layout"), text("colour")
    if layout not in LAYOUTS or colour not in COLOURS:
        raise _invalid(f"model {model_id!r}: layout must be NCHW/NHWC and colour BGR/RGB")
    params = entry.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(v, ParamValue) for v in params.values()):
        raise _invalid(f"model {model_id!r}: params must be a table of scalars")
    licence_file = entry.get("licence_file")
    return ModelSpec(
        id=model_id,
        task=task,
        family=family,
        file=file,
        sha256=sha,
        size=integer("size"),
        licence=text("licence"),
        source=text("source"),
        input_name=text("input_name"),
        input_width=integer("input_width"),
        input_height=integer("input_height"),
        layout=layout,
        colour=colour,
        mean=_triple(entry, "mean", model_id),
        std=_triple(entry, "std", model_id),
        output_meaning=text("output_meaning"),
        threshold_provenance=text("threshold_provenance"),
        fold=fold,
        folded_sha256=folded.lower() if folded else None,
        licence_file=licence_file if isinstance(licence_file, str) else None,
        params=dict(params),
    )


class ModelRegistry:
    """The checked manifest of one models folder. Build it with :meth:`load`; it reads files only when asked."""

    def __init__(self, models_dir: Path, specs: Mapping[str, ModelSpec], cache_dir: Path | None = None) -> None:
        self.models_dir = models_dir
        self._specs = dict(specs)
        #: Where folded graphs are kept between starts, named by their pinned sha256 (folding SFace takes most of
        #: a second); None folds at every start.
        self.cache_dir = cache_dir

    @classmethod
    def load(cls, models_dir: str | Path, *, cache_dir: Path | None = None) -> ModelRegistry:
        """Read ``models_dir/manifest.toml``, validate every entry and refuse unlisted ``.onnx`` files.

        Hashes are checked by :meth:`verify` (all files) or :meth:`model_bytes` (one file, before use).
        """
        root = Path(models_dir)
        path = root / MANIFEST
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FailedPrecondition("model_manifest_invalid", f"no {MANIFEST} in {root}") from None
        except tomllib.TOMLDecodeError as exc:
            raise _invalid(f"{path} is not valid TOML: {exc}") from None
        if raw.get("schema") != 1:
            raise _invalid(f"{path}: schema must be 1")
        entries = raw.get("model", [])
        if not isinstance(entries, list):
            raise _invalid(f"{path}: [[model]] must be an array of tables")
        specs: dict[str, ModelSpec] = {}
        for entry in entries:
            spec = parse_entry(entry)
            if spec.id in specs:
                raise _invalid(f"model id {spec.id!r} is declared twice")
            specs[spec.id] = spec
        listed = {spec.file for spec in specs.values()}
        unlisted = sorted(p.name for p in root.glob("*.onnx") if p.name not in listed)
        if unlisted:
            raise FailedPrecondition(
                "model_unlisted",
                f"model files not declared in {MANIFEST}: {', '.join(unlisted)}"
                " (declare them with `idverify models add` or remove them)",
            )
        return cls(root, specs, cache_dir)

    def ids(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise NotFound("model_unknown", f"model {model_id!r} is not declared in the manifest") from None

    def for_task(self, task: str) -> list[ModelSpec]:
        return [s for s in self._specs.values() if s.task == task]

    def file_bytes(self, model_id: str) -> bytes:
        """The committed file, after checking its size and sha256 against the manifest."""
        spec = self.spec(model_id)
        path = self.models_dir / spec.file
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FailedPrecondition("model_file_missing", f"model {model_id!r}: {spec.file} is missing") from None
        digest = sha256_hex(data)
        if len(data) != spec.size or digest != spec.sha256:
            raise FailedPrecondition(
                "model_hash_mismatch",
                f"model {model_id!r}: {spec.file} has sha256 {digest} ({len(data)} bytes), "
                f"manifest says {spec.sha256} ({spec.size} bytes)",
            )
        return data

    def model_bytes(self, model_id: str) -> bytes:
        """The bytes to hand to onnxruntime: the verified file, folded as declared, checked again when the
        manifest pins a ``folded_sha256``."""
        spec = self.spec(model_id)
        data = self.file_bytes(model_id)
        if spec.fold == "none":
            return data
        cached = self._cached(spec.folded_sha256)
        if cached is not None:
            return cached
        steps = set(spec.fold.split("+"))
        folded = fold_model(data, rewrite_prelu="prelu" in steps, dynamic_batch="batch" in steps)
        if spec.folded_sha256 is not None and sha256_hex(folded) != spec.folded_sha256:
            raise FailedPrecondition(
                "model_folded_hash_mismatch",
                f"model {model_id!r}: folded graph has sha256 {sha256_hex(folded)}, manifest says "
                f"{spec.folded_sha256} (a different onnx version may serialise differently)",
            )
        self._keep(spec.folded_sha256, folded)
        return folded

    def _cached(self, folded_sha256: str | None) -> bytes | None:
        """The folded graph kept by an earlier start, if its bytes still hash to the pinned sha256."""
        if self.cache_dir is None or folded_sha256 is None:
            return None
        try:
            data = (self.cache_dir / f"{folded_sha256}.onnx").read_bytes()
        except OSError:
            return None
        return data if sha256_hex(data) == folded_sha256 else None

    def _keep(self, folded_sha256: str | None, folded: bytes) -> None:
        if self.cache_dir is None or folded_sha256 is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".{folded_sha256}.{os.getpid()}.tmp"
            tmp.write_bytes(folded)
            tmp.replace(self.cache_dir / f"{folded_sha256}.onnx")  # atomic: a reader never sees half a file
        except OSError:
            pass  # a read-only cache only costs the fold at the next start

    def verify(self) -> dict[str, str]:
        """Check every declared file (and folded result); returns id -> sha256. Raises on the first failure."""
        return {model_id: sha256_hex(self.model_bytes(model_id)) for model_id in self.ids()}
