"""insightface-format model packs (SCRFD detection, ArcFace recognition), declared into a models folder.

insightface is not a dependency (docs/insightface.md). A lender who holds a licence for one of its model packs
(a folder such as ``buffalo_l/`` with ``det_10g.onnx`` and ``w600k_r50.onnx``) points :func:`declare_pack` at it:
each known file of the pack is copied into the models folder and declared in ``manifest.toml`` with its sha256,
the licence and source the lender states, and the input contract written in :data:`PACKS`. The existing
adapters then run them (:class:`idverify.ml.detector.ScrfdDetector`, the ``arcface`` embedder family).

What a file is comes from the pack's published layout (the pack name and file name), never from tensor shapes,
unlike insightface's own ``model_zoo``, which guesses the model class from them. Output *names* are read from
the graph in its output order, which the pack's export fixes: for SCRFD with keypoints, the three score
outputs (strides 8, 16, 32), then the three box outputs, then the three keypoint outputs; for ArcFace, one
embedding output. A graph with another number of outputs is refused.

Errors are ``FailedPrecondition``: ``model_pack_unknown``, ``model_file_missing``, ``model_manifest_invalid``
(and whatever the registry refuses when it re-reads the manifest; the folder is then left as it was).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from idverify.domain.errors import FailedPrecondition
from idverify.ml.model_registry import MANIFEST, ModelRegistry, sha256_hex


@dataclass(frozen=True, slots=True)
class PackModel:
    """The input contract of one file of a pack, as insightface's own code feeds it."""

    task: str
    family: str
    size: int
    mean: float
    std: float
    output_meaning: str
    outputs: int
    params: Mapping[str, str | float] = field(default_factory=dict)


SCRFD = PackModel(
    task="face_detector", family="scrfd", size=640, mean=127.5, std=128.0, outputs=9,
    output_meaning="SCRFD with keypoints, per stride 8/16/32 and 2 anchors per cell: score, (l, t, r, b) box "
                   "distances and 5 landmark offsets, in stride units from the anchor centre",
    params={"strides": "8,16,32", "anchors_per_cell": 2.0, "score_threshold": 0.5, "nms_iou": 0.4})
ARCFACE = PackModel(
    task="face_embedder", family="arcface", size=112, mean=127.5, std=127.5, outputs=1,
    output_meaning="ArcFace embedding of a 112x112 face aligned to the ArcFace 5-point template, not normalised; "
                   "the adapter L2-normalises it and compares by cosine",
    params={"alignment": "arcface112"})

#: The published packs and their detection and recognition files (the other files of a pack, such as landmark
#: and gender/age models, are not used by idverify).
PACKS: Mapping[str, Mapping[str, PackModel]] = {
    "buffalo_l": {"det_10g.onnx": SCRFD, "w600k_r50.onnx": ARCFACE},
    "buffalo_m": {"det_2.5g.onnx": SCRFD, "w600k_r50.onnx": ARCFACE},
    "buffalo_s": {"det_500m.onnx": SCRFD, "w600k_mbf.onnx": ARCFACE},
    "buffalo_sc": {"det_500m.onnx": SCRFD, "w600k_mbf.onnx": ARCFACE},
    "antelopev2": {"scrfd_10g_bnkps.onnx": SCRFD, "glintr100.onnx": ARCFACE},
}


def _toml(value: str | float) -> str:
    if isinstance(value, float):
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_names(path: Path) -> tuple[str, list[str]]:
    """(the graph's one real input, its output names in order). Raises FailedPrecondition(model_manifest_invalid)."""
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except (OSError, onnx.onnx_cpp2py_export.checker.ValidationError, ValueError) as exc:  # type: ignore[attr-defined]
        raise FailedPrecondition("model_manifest_invalid", f"{path.name} is not an ONNX model ({exc})") from None
    constants = {init.name for init in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise FailedPrecondition("model_manifest_invalid", f"{path.name}: expected one input, found {len(inputs)}")
    return inputs[0], [o.name for o in graph.output]


@dataclass(frozen=True, slots=True)
class Declared:
    """One model declared from a pack."""

    model_id: str
    file: str
    task: str
    sha256: str


def _entry(model_id: str, file: str, spec: PackModel, data: bytes, *, input_name: str, outputs: Sequence[str],
           licence: str, source: str) -> list[str]:
    params = dict(spec.params)
    if spec.family == "scrfd":
        params.update(score_outputs=",".join(outputs[0:3]), bbox_outputs=",".join(outputs[3:6]),
                      kps_outputs=",".join(outputs[6:9]))
    else:
        params["output_name"] = outputs[0]
    lines = ["", "[[model]]", f"id = {_toml(model_id)}", f"task = {_toml(spec.task)}",
             f"family = {_toml(spec.family)}", f"file = {_toml(file)}", f'sha256 = "{sha256_hex(data)}"',
             f"size = {len(data)}", 'fold = "none"', f"licence = {_toml(licence)}", f"source = {_toml(source)}",
             f"input_name = {_toml(input_name)}", f"input_width = {spec.size}", f"input_height = {spec.size}",
             'layout = "NCHW"', 'colour = "RGB"', f"mean = [{spec.mean!r}, {spec.mean!r}, {spec.mean!r}]",
             f"std = [{spec.std!r}, {spec.std!r}, {spec.std!r}]", f"output_meaning = {_toml(spec.output_meaning)}",
             'threshold_provenance = "none: calibrate on your own pairs (idverify models calibrate) before use"',
             "", "[model.params]"]
    return lines + [f"{key} = {_toml(value)}" for key, value in params.items()]


def declare_pack(pack_dir: Path, models_dir: Path, *, licence: str, source: str, pack: str | None = None,
                 id_prefix: str | None = None) -> list[Declared]:
    """Copy the pack's detection and recognition files into ``models_dir`` and declare them in its manifest.

    ``pack`` names the layout (default: the folder's name); ``licence`` and ``source`` are the lender's statement
    of its right to use the pack and where it came from (both required). Model ids are ``<prefix>-<file stem>``
    (prefix: the pack name). Nothing is changed when anything is refused.
    """
    name = pack or pack_dir.name
    layout = PACKS.get(name)
    if layout is None:
        raise FailedPrecondition("model_pack_unknown", f"unknown pack {name!r}; known: {', '.join(sorted(PACKS))}")
    if not licence.strip() or not source.strip():
        raise FailedPrecondition("model_manifest_invalid", "state the pack's licence and source")
    prefix = id_prefix or name.replace("_", "-")
    entries: list[str] = []
    declared: list[Declared] = []
    for file, spec in layout.items():
        path = pack_dir / file
        if not path.is_file():
            raise FailedPrecondition("model_file_missing", f"{file} is not in {pack_dir}")
        if (models_dir / file).exists():
            raise FailedPrecondition("model_manifest_invalid", f"{models_dir / file} already exists")
        input_name, outputs = graph_names(path)
        if len(outputs) != spec.outputs:
            raise FailedPrecondition("model_manifest_invalid",
                                     f"{file}: {name} declares {spec.outputs} outputs, the graph has {len(outputs)}")
        data = path.read_bytes()
        model_id = f"{prefix}-{Path(file).stem}".lower().replace("_", "-").replace(".", "-")
        entries += _entry(model_id, file, spec, data, input_name=input_name, outputs=outputs, licence=licence,
                          source=source)
        declared.append(Declared(model_id, file, spec.task, sha256_hex(data)))
    manifest = models_dir / MANIFEST
    original = manifest.read_text(encoding="utf-8")
    copied: list[Path] = []
    try:
        for item in declared:
            shutil.copyfile(pack_dir / item.file, models_dir / item.file)
            copied.append(models_dir / item.file)
        manifest.write_text(original.rstrip("\n") + "\n" + "\n".join(entries) + "\n", encoding="utf-8")
        registry = ModelRegistry.load(models_dir)
        for item in declared:
            registry.file_bytes(item.model_id)
    except BaseException:
        manifest.write_text(original, encoding="utf-8")
        for path in copied:
            path.unlink(missing_ok=True)
        raise
    return declared
