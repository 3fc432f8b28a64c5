"""Face-embedding throughput through the KServe V2 adapter against the raw network on the same device.

    python bench/gpu_kserve.py --device cuda [--dtype bf16] [--batches 1,32,256,1024] [--rounds 5] [--seconds 3]
    python bench/gpu_kserve.py --device cpu --batches 1,8 --rounds 3 --seconds 2      # the CPU figure beside it

What it runs, in one process, interleaved round by round:
- raw: an IResNet-50 (the ArcFace R50 layout: 112 x 112 in, 512-d out, random weights: throughput does not depend
  on the weights) called directly with torch on ``--device`` (numpy in, numpy out, as an adapter would need);
- adapter: the same module behind a V2 model server written for this benchmark (a grpc servicer of the protocol's
  ModelInfer on loopback, one request per batch, no server-side queueing), called through
  ``idverify.kserve.runner.KServeRunner``, i.e. what the service does with IDVERIFY_INFERENCE_BACKEND=kserve.
The ratio adapter/raw is the protocol's cost (serialisation, copies, loopback gRPC); the issue's target is within
1.5x at batch 256 and more. Detection (YuNet) is an ONNX graph and GPU machines here have a CPU-only onnxruntime,
so only the embedder is measured on the GPU. Reports medians of rounds and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.kserve.breaker import CircuitBreaker  # noqa: E402
from idverify.kserve.runner import KServeRunner, RemoteSettings  # noqa: E402
from idverify.kserve.v2 import grpc_predict_v2_pb2 as pb  # noqa: E402
from idverify.kserve.v2 import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402

MAX_MESSAGE = 1024 * 1024 * 1024


class Block(nn.Module):
    """The IResNet basic block: BN, conv3x3, BN, PReLU, conv3x3 (stride), BN, plus the (downsampled) input."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.down is None else self.down(x))


def iresnet50() -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)]
    cin = 64
    for cout, count in ((64, 3), (128, 4), (256, 14), (512, 3)):
        for i in range(count):
            layers.append(Block(cin, cout, 2 if i == 0 else 1))
            cin = cout
    layers += [nn.BatchNorm2d(512), nn.Flatten(), nn.Dropout(0.0), nn.Linear(512 * 7 * 7, 512),
               nn.BatchNorm1d(512)]
    return nn.Sequential(*layers).eval()


class Raw:
    def __init__(self, model: nn.Module, device: str, dtype: torch.dtype) -> None:
        self.model, self.device, self.dtype = model, device, dtype

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(x).to(self.device, non_blocking=True).to(self.dtype)
        if self.device == "cuda":
            t = t.contiguous(memory_format=torch.channels_last)
        return self.model(t).float().cpu().numpy()


class V2Servicer(pb_grpc.GRPCInferenceServiceServicer):
    """A minimal V2 server for this benchmark only: one model, FP32 raw contents in and out."""

    def __init__(self, raw: Raw) -> None:
        self.raw = raw

    def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=True)

    def ModelInfer(self, request, context):
        tensor = request.inputs[0]
        x = np.frombuffer(request.raw_input_contents[0], dtype="<f4").reshape(tuple(tensor.shape)).copy()
        y = np.ascontiguousarray(self.raw(x), dtype="<f4")
        resp = pb.ModelInferResponse(model_name=request.model_name)
        resp.outputs.add(name="embedding", datatype="FP32", shape=list(y.shape))
        resp.raw_output_contents.append(y.tobytes())
        return resp


def timed(fn, x: np.ndarray, seconds: float) -> float:
    """Faces per second of ``fn`` on batch ``x`` over about ``seconds`` (after one warm-up call)."""
    fn(x)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(x)
        count += x.shape[0]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batches", default="1,32,256,1024")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency-calls", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model = iresnet50().to(args.device).to(dtype)
    if args.device == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    raw = Raw(model, args.device, dtype)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_send_message_length", MAX_MESSAGE),
                                  ("grpc.max_receive_message_length", MAX_MESSAGE)])
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(V2Servicer(raw), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    settings = RemoteSettings(target=f"127.0.0.1:{port}", timeout_s=120.0, max_message_bytes=MAX_MESSAGE)
    channel = grpc.insecure_channel(settings.target, options=[("grpc.max_send_message_length", MAX_MESSAGE),
                                                              ("grpc.max_receive_message_length", MAX_MESSAGE)])
    runner = KServeRunner(pb_grpc.GRPCInferenceServiceStub(channel), name="iresnet50", version="", batched=True,
                          output_names=["embedding"], settings=settings,
                          breaker=CircuitBreaker(threshold=5, cool_down_s=5.0, monotonic=time.monotonic))

    def adapter(x: np.ndarray) -> np.ndarray:
        return runner.run(None, {"input": x})[0]

    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    load_before = os.getloadavg()
    print(f"device: {device_name}; torch {torch.__version__}; dtype {args.dtype}; rounds {args.rounds} x "
          f"{args.seconds}s per side, interleaved; load average before {load_before[0]:.2f}")
    print("| batch | raw faces/s (median) | adapter faces/s (median) | adapter / raw time |\n|---|---|---|---|")
    rng = np.random.default_rng(0)
    for batch in (int(b) for b in args.batches.split(",")):
        x = rng.uniform(-1, 1, (batch, 3, 112, 112)).astype(np.float32)
        raws, adapters = [], []
        for _ in range(args.rounds):
            raws.append(timed(raw, x, args.seconds))
            adapters.append(timed(adapter, x, args.seconds))
        r, a = statistics.median(raws), statistics.median(adapters)
        print(f"| {batch} | {r:.0f} | {a:.0f} | {r / a:.2f}x |")
    one = rng.uniform(-1, 1, (1, 3, 112, 112)).astype(np.float32)
    lat_raw, lat_adapter = [], []
    for _ in range(args.latency_calls):
        t0 = time.perf_counter()
        raw(one)
        lat_raw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        adapter(one)
        lat_adapter.append(time.perf_counter() - t0)
    print(f"\nbatch-1 latency p50: raw {statistics.median(lat_raw) * 1e3:.2f} ms, adapter "
          f"{statistics.median(lat_adapter) * 1e3:.2f} ms; load average after {os.getloadavg()[0]:.2f}")
    channel.close()
    server.stop(0)


if __name__ == "__main__":
    main()
