"""Face detectors on onnxruntime: YuNet (the shipped model) and SCRFD (operator-supplied, insightface family).

Both letterbox the image into the model's declared input (scale to fit, pad right/bottom with zeros, so mapping
back is a division), decode boxes and five landmarks from per-stride grids, and keep the best of overlapping
boxes (NMS). They return :class:`DetectedFace` values in upright image pixels, best score first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from idverify.domain.errors import FailedPrecondition
from idverify.domain.face import DetectedFace, FaceBox, Landmarks, Point
from idverify.ml.imaging import DecodedImage
from idverify.ml.model_registry import ModelRegistry, ModelSpec
from idverify.ml.onnx_sessions import SessionConfig
from idverify.ml.runner import ModelRunner, OrtRunner, RunnerFactory

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Letterbox:
    tensor: F32  # 1 x 3 x H x W, the model's colour order and normalisation
    scale: float


def letterbox(pixels: NDArray[np.uint8], spec: ModelSpec, out: F32 | None = None) -> Letterbox:
    """Shrink to fit the declared input if needed, pad right/bottom with zeros, convert to the declared tensor.

    ``out`` (NCHW models only): a 1 x 3 x H x W float32 array of the input's size to write the tensor into instead of
    a new one; every element is written."""
    height, width = pixels.shape[:2]
    # Never enlarge: YuNet's landmarks on an upscaled small image were measurably worse (pivot-pair margins in
    # docs/reports/face-calibration.md) than at native size, which is also what FaceDetectorYN does.
    scale = min(1.0, spec.input_width / width, spec.input_height / height)
    new_w = max(1, min(spec.input_width, round(width * scale)))
    new_h = max(1, min(spec.input_height, round(height * scale)))
    resized = pixels
    if scale != 1.0:
        resized = np.asarray(cv2.resize(pixels, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    if spec.layout == "NCHW":
        return Letterbox(_padded_planes(resized, spec, out), scale)
    canvas = np.zeros((spec.input_height, spec.input_width, 3), dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    return Letterbox(to_tensor(canvas[np.newaxis], spec), scale)


def _padded_planes(resized: NDArray[np.uint8], spec: ModelSpec, out: F32 | None = None) -> F32:
    """What :func:`to_tensor` gives for ``resized`` padded with zeros to the input size, NCHW, value for value,
    written plane by plane into one tensor (about 4x faster than pad, convert, transpose: no HWC float copy in
    between): a new zeroed one, or ``out`` with its padding zeroed."""
    height, width = resized.shape[:2]
    shape = (1, 3, spec.input_height, spec.input_width)
    if out is None:
        out = np.zeros(shape, dtype=np.float32)
    else:
        if out.shape != shape or out.dtype != np.float32:
            raise ValueError(f"the letterbox buffer must be float32 {shape}, not {out.dtype} {out.shape}")
        out[:, :, height:, :] = 0.0
        out[:, :, :height, width:] = 0.0
    planes = cv2.split(resized)  # B, G, R
    for channel, source in enumerate((2, 1, 0) if spec.colour == "RGB" else (0, 1, 2)):
        out[0, channel, :height, :width] = planes[source]
    if spec.mean != (0.0, 0.0, 0.0) or spec.std != (1.0, 1.0, 1.0):
        # As to_tensor: (x - mean) / std in float32 over the whole canvas, the zero padding included.
        mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(spec.std, dtype=np.float32).reshape(1, 3, 1, 1)
        np.subtract(out, mean, out=out, dtype=np.float32)
        np.divide(out, std, out=out, dtype=np.float32)
    return out


class _ThreadLetterbox:
    """:func:`letterbox` for one detector, writing into one input tensor per thread (NCHW models), reused by every
    detection on that thread.

    The tensor of a 640 x 640 detector is 4.9 MB, above the 1 MiB from which the server has glibc map each block on
    its own (idverify/ml/native_memory.py): a new one per detection cost a fresh mapping and ~1,200 page faults each
    time, 4-7% of a two-image CompareFaces on the real server (docs/reports/single-node-perf.md, section 4). A
    thread runs one detection at a time and the tensor is not kept past the model run, so the thread's buffer is
    free again when the next detection on it starts. Memory: one tensor per thread that has detected (the inference
    pool's)."""

    def __init__(self, spec: ModelSpec) -> None:
        self._spec = spec
        self._reuse = spec.layout == "NCHW"
        self._local = threading.local()

    def __call__(self, pixels: NDArray[np.uint8]) -> Letterbox:
        if not self._reuse:
            return letterbox(pixels, self._spec)
        buffer: F32 | None = getattr(self._local, "tensor", None)
        if buffer is None:
            buffer = np.empty((1, 3, self._spec.input_height, self._spec.input_width), dtype=np.float32)
            self._local.tensor = buffer
        return letterbox(pixels, self._spec, buffer)


def to_tensor(batch_bgr: NDArray[np.uint8], spec: ModelSpec) -> F32:
    """N x H x W x 3 BGR uint8 -> the model's layout, colour order, mean and std, float32."""
    x: F32 = (batch_bgr[..., ::-1] if spec.colour == "RGB" else batch_bgr).astype(np.float32)
    if spec.mean != (0.0, 0.0, 0.0) or spec.std != (1.0, 1.0, 1.0):
        # mean/std are declared in the model's own colour order.
        mean = np.asarray(spec.mean, dtype=np.float32)
        std = np.asarray(spec.std, dtype=np.float32)
        x = np.divide(np.subtract(x, mean, dtype=np.float32), std, dtype=np.float32)
    if spec.layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32)


def _faces(
    boxes: F32,
    scores: F32,
    kps: F32,
    *,
    scale: float,
    image: DecodedImage,
    score_threshold: float,
    nms_iou: float,
    model_id: str,
) -> list[DetectedFace]:
    """boxes: N x 4 (x1, y1, x2, y2) in letterbox pixels; kps: N x 10."""
    keep_mask = scores >= score_threshold
    boxes, scores, kps = boxes[keep_mask], scores[keep_mask], kps[keep_mask]
    if scores.size == 0:
        return []
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), score_threshold, nms_iou)
    order = sorted((int(i) for i in np.asarray(keep).reshape(-1)), key=lambda i: -float(scores[i]))
    out: list[DetectedFace] = []
    for i in order:
        x1, y1, x2, y2 = (float(v) / scale for v in boxes[i])
        x1, y1 = max(0.0, x1), max(0.0, y1)
        x2, y2 = min(float(image.width), x2), min(float(image.height), y2)
        if x2 <= x1 or y2 <= y1:
            continue
        pts = [Point(float(kps[i, 2 * k]) / scale, float(kps[i, 2 * k + 1]) / scale) for k in range(5)]
        out.append(DetectedFace(FaceBox(x1, y1, x2 - x1, y2 - y1, float(scores[i])), Landmarks(*pts), model_id))
    return out


def _grid(width: int, height: int, stride: int, per_cell: int) -> tuple[F32, F32]:
    cols, rows = width // stride, height // stride
    ys, xs = np.mgrid[0:rows, 0:cols]
    cx = np.repeat(xs.reshape(-1).astype(np.float32), per_cell)
    cy = np.repeat(ys.reshape(-1).astype(np.float32), per_cell)
    return cx, cy


class YuNetDetector:
    """YuNet 2023mar: per stride, class and objectness probabilities, box offsets and five landmarks."""

    STRIDES = (8, 16, 32)

    def __init__(self, spec: ModelSpec, model: bytes, config: SessionConfig, runner: ModelRunner | None = None) -> None:
        if spec.family != "yunet":
            raise FailedPrecondition("model_family_mismatch", f"model {spec.id!r} is not declared as yunet")
        self.spec = spec
        self._session: ModelRunner = runner or OrtRunner(model, config)
        self._score_threshold = spec.param_float("score_threshold", 0.6)
        self._nms_iou = spec.param_float("nms_iou", 0.3)
        self._grids = {s: _grid(spec.input_width, spec.input_height, s, 1) for s in self.STRIDES}
        self._outputs = [f"{kind}_{s}" for s in self.STRIDES for kind in ("cls", "obj", "bbox", "kps")]
        self._letterbox = _ThreadLetterbox(spec)

    @property
    def model_id(self) -> str:
        return self.spec.id

    def detect(self, image: DecodedImage) -> list[DetectedFace]:
        lb = self._letterbox(image.pixels)
        results = self._session.run(self._outputs, {self.spec.input_name: lb.tensor})
        all_boxes, all_scores, all_kps = [], [], []
        for n, stride in enumerate(self.STRIDES):
            cls, obj, bbox, kps = (np.asarray(r, dtype=np.float32)[0] for r in results[4 * n : 4 * n + 4])
            score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
            # Only cells over the threshold can become faces (_faces keeps no other): decode those alone, the same
            # arithmetic on fewer of the 8,400 cells.
            cells = np.flatnonzero(score >= self._score_threshold)
            score, bbox, kps = score[cells], bbox[cells], kps[cells]
            cx, cy = (grid[cells] for grid in self._grids[stride])
            ctr_x, ctr_y = (cx + bbox[:, 0]) * stride, (cy + bbox[:, 1]) * stride
            w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            all_boxes.append(np.stack([ctr_x - w / 2, ctr_y - h / 2, ctr_x + w / 2, ctr_y + h / 2], axis=1))
            pts = kps.reshape(-1, 5, 2)
            all_kps.append(
                np.stack(
                    [(pts[:, :, 0] + cx[:, None]) * stride, (pts[:, :, 1] + cy[:, None]) * stride], axis=2
                ).reshape(-1, 10)
            )
            all_scores.append(score)
        return _faces(
            np.concatenate(all_boxes),
            np.concatenate(all_scores),
            np.concatenate(all_kps),
            scale=lb.scale,
            image=image,
            score_threshold=self._score_threshold,
            nms_iou=self._nms_iou,
            model_id=self.spec.id,
        )


class ScrfdDetector:
    """SCRFD (insightface) with keypoints: per stride, scores, (l, t, r, b) distances and landmark offsets, all
    in stride units from anchor centres, ``anchors_per_cell`` anchors per cell. Output names come from the
    manifest (``params.score_outputs`` / ``bbox_outputs`` / ``kps_outputs``, comma-separated, stride order)."""

    def __init__(self, spec: ModelSpec, model: bytes, config: SessionConfig, runner: ModelRunner | None = None) -> None:
        if spec.family != "scrfd":
            raise FailedPrecondition("model_family_mismatch", f"model {spec.id!r} is not declared as scrfd")
        self.spec = spec
        self._session: ModelRunner = runner or OrtRunner(model, config)
        self._score_threshold = spec.param_float("score_threshold", 0.5)
        self._nms_iou = spec.param_float("nms_iou", 0.4)
        self._strides = tuple(int(s) for s in spec.param_str("strides", "8,16,32").split(","))
        self._per_cell = int(spec.param_float("anchors_per_cell", 2))
        names = [spec.param_str(k, "").split(",") for k in ("score_outputs", "bbox_outputs", "kps_outputs")]
        if any(len(n) != len(self._strides) or not all(n) for n in names):
            raise FailedPrecondition(
                "model_manifest_invalid", f"model {spec.id!r}: scrfd needs score/bbox/kps_outputs, one per stride"
            )
        self._names: Sequence[list[str]] = names
        self._grids = {s: _grid(spec.input_width, spec.input_height, s, self._per_cell) for s in self._strides}
        self._letterbox = _ThreadLetterbox(spec)

    @property
    def model_id(self) -> str:
        return self.spec.id

    def detect(self, image: DecodedImage) -> list[DetectedFace]:
        lb = self._letterbox(image.pixels)
        flat = [name.strip() for group in self._names for name in group]
        results = dict(zip(flat, self._session.run(flat, {self.spec.input_name: lb.tensor}), strict=True))
        all_boxes, all_scores, all_kps = [], [], []
        for n, stride in enumerate(self._strides):
            scores = np.asarray(results[self._names[0][n].strip()], dtype=np.float32).reshape(-1)
            dist = np.asarray(results[self._names[1][n].strip()], dtype=np.float32).reshape(-1, 4) * stride
            kps = np.asarray(results[self._names[2][n].strip()], dtype=np.float32).reshape(-1, 5, 2) * stride
            cx, cy = (g * stride for g in self._grids[stride])
            all_boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], 1))
            all_kps.append(np.stack([kps[:, :, 0] + cx[:, None], kps[:, :, 1] + cy[:, None]], 2).reshape(-1, 10))
            all_scores.append(scores)
        return _faces(
            np.concatenate(all_boxes),
            np.concatenate(all_scores),
            np.concatenate(all_kps),
            scale=lb.scale,
            image=image,
            score_threshold=self._score_threshold,
            nms_iou=self._nms_iou,
            model_id=self.spec.id,
        )


OnnxFaceDetector = YuNetDetector | ScrfdDetector


def load_detector(registry: ModelRegistry, model_id: str, config: SessionConfig,
                  runners: RunnerFactory | None = None) -> OnnxFaceDetector:
    """The detector adapter for a declared face_detector model, chosen by its declared family; ``runners`` builds
    what executes the model (in-process onnxruntime when None)."""
    spec = registry.spec(model_id)
    if spec.task != "face_detector":
        raise FailedPrecondition("model_task_mismatch", f"model {model_id!r} is declared as {spec.task}")
    model = registry.model_bytes(model_id)
    runner = runners(spec, model) if runners is not None else None
    if spec.family == "yunet":
        return YuNetDetector(spec, model, config, runner)
    return ScrfdDetector(spec, model, config, runner)
