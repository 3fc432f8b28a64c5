"""``idverify models list|verify|add`` and ``idverify calibrate``: hook :func:`register` into the main parser.

Each command sets ``func`` on its namespace; the main CLI calls ``args.func(args)`` and exits with its return.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from idverify.domain.errors import IdVerifyError
from idverify.kserve.export import export_serving
from idverify.ml.model_registry import MANIFEST, TASKS, ModelRegistry, sha256_hex

DEFAULT_MODELS_DIR = "models"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``models`` and ``calibrate`` commands to the CLI's subparsers."""
    models = subparsers.add_parser("models", help="list, verify and add declared models")
    sub = models.add_subparsers(dest="models_command", required=True)
    for name, func, text in (
        ("list", _list, "list declared models"),
        ("verify", _verify, "check every declared file's sha256 and folding"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--models-dir", default=DEFAULT_MODELS_DIR)
        cmd.set_defaults(func=func)
    add = sub.add_parser("add", help="copy an ONNX file into the models folder and declare it")
    add.add_argument("file", type=Path)
    add.add_argument("--models-dir", default=DEFAULT_MODELS_DIR)
    add.add_argument("--id", required=True)
    add.add_argument("--task", required=True, choices=sorted(TASKS))
    add.add_argument("--family", required=True)
    add.add_argument("--licence", required=True)
    add.add_argument("--source", required=True, help="where the file came from (URL, package, version, path)")
    add.add_argument("--input-name", required=True)
    add.add_argument("--input-size", required=True, help="WIDTHxHEIGHT, e.g. 112x112")
    add.add_argument("--layout", default="NCHW", choices=["NCHW", "NHWC"])
    add.add_argument("--colour", required=True, choices=["BGR", "RGB"])
    add.add_argument("--mean", default="0,0,0")
    add.add_argument("--std", default="1,1,1")
    add.add_argument("--output-meaning", required=True)
    add.add_argument("--threshold-provenance", required=True)
    add.add_argument("--param", action="append", default=[], help="family parameter KEY=VALUE (repeatable)")
    add.set_defaults(func=_add)
    export = sub.add_parser("export-serving", help="write the face models as a KServe V2 model repository "
                            "(MLServer and Triton layouts) for IDVERIFY_INFERENCE_BACKEND=kserve")
    export.add_argument("out", type=Path)
    export.add_argument("--models-dir", default=DEFAULT_MODELS_DIR)
    export.set_defaults(func=_export_serving)

    cal = subparsers.add_parser("calibrate", help="face-match ROC and thresholds over labelled pairs")
    cal.add_argument("--pairs", type=Path, action="append", required=True, help="pairs CSV (repeatable)")
    cal.add_argument("--images", type=Path, required=True)
    cal.add_argument("--target-fmr", type=float, default=0.001)
    cal.add_argument("--threshold", type=float, default=None, help="also report this configured threshold")
    cal.add_argument("--out", type=Path, required=True)
    cal.add_argument("--models-dir", default=DEFAULT_MODELS_DIR)
    cal.add_argument("--threads", type=int, default=2)
    cal.set_defaults(func=_calibrate)


def _export_serving(args: argparse.Namespace) -> int:
    try:
        exported = export_serving(Path(args.models_dir), args.out)
    except IdVerifyError as exc:
        return _fail(exc)
    for m in exported:
        print(f"{m.model_id}: version {m.version}, batch {'dynamic' if m.batched else 'fixed'}")
    print(f"MLServer: mlserver start {args.out / 'mlserver'} (add a settings.json with host and ports); "
          f"Triton: --model-repository {args.out / 'triton'}")
    return 0


def _fail(exc: IdVerifyError) -> int:
    print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
    return 2


def _list(args: argparse.Namespace) -> int:
    try:
        registry = ModelRegistry.load(args.models_dir)
    except IdVerifyError as exc:
        return _fail(exc)
    for model_id in registry.ids():
        s = registry.spec(model_id)
        print(f"{s.id}\t{s.task}\t{s.family}\t{s.file}\t{s.licence}\t{s.input_width}x{s.input_height} {s.colour}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        digests = ModelRegistry.load(args.models_dir).verify()
    except IdVerifyError as exc:
        return _fail(exc)
    for model_id, digest in digests.items():
        print(f"ok\t{model_id}\t{digest}")
    return 0


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _triple(text: str) -> str:
    values = [float(v) for v in text.split(",")]
    if len(values) != 3:
        raise ValueError("mean and std take three comma-separated numbers")
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _param(text: str) -> str:
    key, _, value = text.partition("=")
    if not key.isidentifier():
        raise ValueError(f"bad parameter {text!r}")
    try:
        return f"{key} = {float(value)!r}"
    except ValueError:
        return f"{key} = {_toml_str(value)}"


def _add(args: argparse.Namespace) -> int:
    """Copy the file in and append its manifest entry; then load the registry again so a bad entry is caught."""
    root = Path(args.models_dir)
    source: Path = args.file
    data = source.read_bytes()
    width, _, height = args.input_size.partition("x")
    target = root / source.name
    if target.exists():
        print(f"error: {target} already exists", file=sys.stderr)
        return 2
    manifest = root / MANIFEST
    original = manifest.read_text(encoding="utf-8")
    entry = [
        "",
        "[[model]]",
        f"id = {_toml_str(args.id)}",
        f"task = {_toml_str(args.task)}",
        f"family = {_toml_str(args.family)}",
        f"file = {_toml_str(source.name)}",
        f'sha256 = "{sha256_hex(data)}"',
        f"size = {len(data)}",
        'fold = "none"',
        f"licence = {_toml_str(args.licence)}",
        f"source = {_toml_str(args.source)}",
        f"input_name = {_toml_str(args.input_name)}",
        f"input_width = {int(width)}",
        f"input_height = {int(height)}",
        f"layout = {_toml_str(args.layout)}",
        f"colour = {_toml_str(args.colour)}",
        f"mean = {_triple(args.mean)}",
        f"std = {_triple(args.std)}",
        f"output_meaning = {_toml_str(args.output_meaning)}",
        f"threshold_provenance = {_toml_str(args.threshold_provenance)}",
    ]
    if args.param:
        entry += ["", "[model.params]", *(_param(p) for p in args.param)]
    shutil.copyfile(source, target)
    manifest.write_text(original.rstrip("\n") + "\n" + "\n".join(entry) + "\n", encoding="utf-8")
    try:
        ModelRegistry.load(root).file_bytes(args.id)
    except IdVerifyError as exc:
        manifest.write_text(original, encoding="utf-8")
        target.unlink()
        return _fail(exc)
    print(f"added {args.id} ({source.name}, sha256 {sha256_hex(data)})")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from idverify.ml.calibrate import calibrate
    from idverify.ml.pipeline import FacePipeline

    pipeline = FacePipeline.from_models_dir(args.models_dir, threads=args.threads, allow_gpu=False)
    report = calibrate(pipeline, args.pairs, args.images, args.target_fmr, args.threshold)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0
