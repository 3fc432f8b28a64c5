"""Write the declared models as a model repository that a V2 model server can serve.

Two layouts from the same verified, folded bytes that idverify itself would run:
- ``mlserver/<id>/``: ``model.onnx``, ``model-settings.json`` and the onnxruntime runtime for MLServer (tested);
- ``triton/<id>/``: ``config.pbtxt`` and ``1/model.onnx`` for Triton's onnxruntime backend, with dynamic batching
  where the model's batch dimension is free (written, not tested here: no Triton server runs on this machine).
The version that MLServer reports is the first 12 hex digits of the folded model's sha256.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig, create_session

RUNTIME_MODULE = "idverify_onnx_runtime"


@dataclass(frozen=True, slots=True)
class ExportedModel:
    model_id: str
    version: str
    batched: bool


def _tensors(items: list[object]) -> list[dict[str, object]]:
    out = []
    for t in items:
        shape = [d if isinstance(d, int) else -1 for d in t.shape]  # type: ignore[attr-defined]
        out.append({"name": t.name, "datatype": "FP32", "shape": shape})  # type: ignore[attr-defined]
    return out


def export_serving(models_dir: Path, out_dir: Path, model_ids: list[str] | None = None) -> list[ExportedModel]:
    """Export the face models (or ``model_ids``) into ``out_dir``; returns what was written."""
    registry = ModelRegistry.load(models_dir)
    ids = model_ids or [i for i in registry.ids() if registry.spec(i).task in ("face_detector", "face_embedder")]
    exported = []
    runtime_src = Path(__file__).with_name("mlserver_runtime.py")
    for model_id in ids:
        model = registry.model_bytes(model_id)
        version = hashlib.sha256(model).hexdigest()[:12]
        session = create_session(model, SessionConfig(intra_op_threads=1, allow_gpu=False))
        inputs, outputs = _tensors(list(session.get_inputs())), _tensors(list(session.get_outputs()))
        batched = inputs[0]["shape"][0] == -1  # type: ignore[index]
        ml_dir = out_dir / "mlserver" / model_id
        ml_dir.mkdir(parents=True, exist_ok=True)
        (ml_dir / "model.onnx").write_bytes(model)
        shutil.copyfile(runtime_src, ml_dir / f"{RUNTIME_MODULE}.py")
        settings = {"name": model_id, "implementation": f"{RUNTIME_MODULE}.OnnxRuntimeModel",
                    "inputs": inputs, "outputs": outputs,
                    "parameters": {"uri": "./model.onnx", "version": version}}
        (ml_dir / "model-settings.json").write_text(json.dumps(settings, indent=2) + "\n")
        tr_dir = out_dir / "triton" / model_id
        (tr_dir / "1").mkdir(parents=True, exist_ok=True)
        (tr_dir / "1" / "model.onnx").write_bytes(model)
        (tr_dir / "config.pbtxt").write_text(_triton_config(model_id, inputs, outputs, batched))
        exported.append(ExportedModel(model_id, version, bool(batched)))
    return exported


def _triton_config(name: str, inputs: list[dict[str, object]], outputs: list[dict[str, object]],
                   batched: bool) -> str:
    def block(kind: str, tensors: list[dict[str, object]]) -> str:
        rows = []
        for t in tensors:
            dims = list(t["shape"])[1:] if batched else list(t["shape"])  # type: ignore[call-overload]
            rows.append(f'  {{ name: "{t["name"]}" data_type: TYPE_FP32 dims: {dims} }}')
        return f"{kind} [\n" + ",\n".join(rows) + "\n]\n"

    head = f'name: "{name}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: {256 if batched else 0}\n'
    tail = "dynamic_batching { max_queue_delay_microseconds: 2000 }\n" if batched else ""
    return head + block("input", inputs) + block("output", outputs) + tail
