"""Batched face-embedding throughput on a GPU (not run on the 2-core CI host; no GPU figure is claimed).

    python bench/gpu_embed.py [--models-dir models] [--batches 1,32,256,1024] [--seconds 5]

Uses onnxruntime's CUDAExecutionProvider (needs the onnxruntime-gpu build, e.g. onnxruntime-gpu==1.31.1) and
exits otherwise (the shipped SFace graph has a dynamic batch); prints faces/s per batch size as markdown. Inputs are
random 112 x 112 crops: throughput does not depend on content.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.ml.model_registry import ModelRegistry  # noqa: E402
from idverify.ml.onnx_sessions import CUDA, SessionConfig, create_session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--model-id", default="sface-2021dec")
    parser.add_argument("--batches", default="1,32,256,1024")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    registry = ModelRegistry.load(args.models_dir)
    spec = registry.spec(args.model_id)
    session = create_session(registry.model_bytes(args.model_id), SessionConfig(intra_op_threads=4, allow_gpu=True))
    providers = session.get_providers()
    if CUDA not in providers:
        print(f"CUDAExecutionProvider not available (providers: {providers}); install onnxruntime-gpu", file=sys.stderr)
        sys.exit(2)
    print(f"| batch | faces/s ({args.model_id}, {providers[0]}) |\n|---|---|")
    rng = np.random.default_rng(0)
    for batch in (int(b) for b in args.batches.split(",")):
        x = rng.uniform(0, 255, (batch, 3, spec.input_height, spec.input_width)).astype(np.float32)
        session.run(None, {spec.input_name: x})
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            session.run(None, {spec.input_name: x})
            count += batch
        print(f"| {batch} | {count / (time.perf_counter() - start):.0f} |")


if __name__ == "__main__":
    main()
