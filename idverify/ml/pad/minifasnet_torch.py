"""MiniFASNetV2 and MiniFASNetV1SE in torch, written from the published state dicts' key names and shapes.

Imported only by the build command (``idverify.ml.pad.build``): the service itself runs the exported ONNX graphs
through onnxruntime and never imports torch.

The network is a pruned MobileFaceNet. Every convolution has no bias and is followed by BatchNorm; a "conv block"
adds a per-channel PReLU, a "linear block" does not. A depthwise-separable unit expands with a 1x1 conv block,
filters with a 3x3 depthwise conv block and projects back with a 1x1 linear block; inside a residual stage each
unit adds its input back. Three downsampling units (stride 2) take 80x80 to 5x5; a 5x5 depthwise linear block
then reduces to 1x1, and a bias-free linear layer, BatchNorm1d and a 3-way bias-free linear layer give the
logits. V1SE puts a squeeze-and-excitation gate (1x1 conv, BN, ReLU, 1x1 conv, BN, sigmoid; reduction 4) on the
last unit of each residual stage, applied to the projected branch before the residual sum.

The channel widths are declared below, not read from the weights: loading must fail when the file and the
declared architecture disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as nnf


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One downsampling unit (expansion ``down_expand``, output ``width``) then residual units of that width."""

    down_expand: int
    width: int
    residual_expands: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MiniFASNetSpec:
    name: str
    stem: int
    stages: tuple[StageSpec, StageSpec, StageSpec]
    squeeze_excite: bool
    se_reduction: int = 4
    sep_width: int = 512
    embedding: int = 128
    classes: int = 3
    input_size: int = 80


MINIFASNET_V2 = MiniFASNetSpec(
    name="MiniFASNetV2",
    stem=32,
    stages=(
        StageSpec(103, 64, (13, 13, 13, 13)),
        StageSpec(231, 128, (231, 52, 26, 77, 26, 26)),
        StageSpec(308, 128, (26, 26)),
    ),
    squeeze_excite=False,
)

MINIFASNET_V1SE = MiniFASNetSpec(
    name="MiniFASNetV1SE",
    stem=32,
    stages=(
        StageSpec(103, 64, (13, 26, 13, 52)),
        StageSpec(231, 128, (154, 52, 26, 52, 26, 26)),
        StageSpec(308, 128, (26, 26)),
    ),
    squeeze_excite=True,
)


class SlopeReLU(nn.Module):
    """Per-channel PReLU holding its slopes as ``weight`` (the published key name).

    ``decomposed`` computes ``relu(x) + slope * min(x, 0)``: the same function, exported as Relu/Min/Mul/Add,
    which onnxruntime's CPU kernels run faster than its PRelu kernel (measured in docs/reports/pad-evaluation.md).
    """

    def __init__(self, channels: int, *, decomposed: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))
        self.decomposed = decomposed

    def forward(self, x: Tensor) -> Tensor:
        if not self.decomposed:
            return nnf.prelu(x, self.weight)
        slope = self.weight.view(1, -1, 1, 1)
        return nnf.relu(x) + slope * torch.minimum(x, torch.zeros((), dtype=x.dtype))


class ConvBlock(nn.Module):
    """conv (no bias) + BatchNorm2d (+ PReLU unless ``linear``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, *, stride: int = 1, padding: int = 0,
                 groups: int = 1, linear: bool = False, decomposed: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.prelu = None if linear else SlopeReLU(c_out, decomposed=decomposed)

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(x))
        return x if self.prelu is None else self.prelu(x)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = channels // reduction
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        gate = nnf.adaptive_avg_pool2d(x, 1)
        gate = nnf.relu(self.bn1(self.fc1(gate)))
        gate = torch.sigmoid(self.bn2(self.fc2(gate)))
        out: Tensor = x * gate
        return out


class SeparableUnit(nn.Module):
    """1x1 expand, 3x3 depthwise, 1x1 project; residual when stride is 1 (input width == output width)."""

    def __init__(self, c_in: int, expand: int, c_out: int, *, stride: int, se_reduction: int | None,
                 decomposed: bool) -> None:
        super().__init__()
        self.residual = stride == 1
        self.conv = ConvBlock(c_in, expand, decomposed=decomposed)
        self.conv_dw = ConvBlock(expand, expand, 3, stride=stride, padding=1, groups=expand, decomposed=decomposed)
        self.project = ConvBlock(expand, c_out, linear=True)
        self.se_module = None if se_reduction is None else SqueezeExcite(c_out, se_reduction)

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.project(self.conv_dw(self.conv(x)))
        if self.se_module is not None:
            y = self.se_module(y)
        return x + y if self.residual else y


class ResidualStage(nn.Module):
    def __init__(self, width: int, expands: tuple[int, ...], *, se_reduction: int | None,
                 decomposed: bool) -> None:
        super().__init__()
        last = len(expands) - 1
        self.model = nn.Sequential(*(
            SeparableUnit(width, e, width, stride=1, se_reduction=se_reduction if i == last else None,
                          decomposed=decomposed)
            for i, e in enumerate(expands)
        ))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.model(x)
        return out


class MiniFASNet(nn.Module):
    """The inference network. Attribute names follow the published state dicts (after the "module." prefix)."""

    def __init__(self, spec: MiniFASNetSpec, *, decomposed_prelu: bool = False) -> None:
        super().__init__()
        d = decomposed_prelu
        se = spec.se_reduction if spec.squeeze_excite else None
        s1, s2, s3 = spec.stages
        self.conv1 = ConvBlock(3, spec.stem, 3, stride=2, padding=1, decomposed=d)
        self.conv2_dw = ConvBlock(spec.stem, spec.stem, 3, padding=1, groups=spec.stem, decomposed=d)
        self.conv_23 = SeparableUnit(spec.stem, s1.down_expand, s1.width, stride=2, se_reduction=None, decomposed=d)
        self.conv_3 = ResidualStage(s1.width, s1.residual_expands, se_reduction=se, decomposed=d)
        self.conv_34 = SeparableUnit(s1.width, s2.down_expand, s2.width, stride=2, se_reduction=None, decomposed=d)
        self.conv_4 = ResidualStage(s2.width, s2.residual_expands, se_reduction=se, decomposed=d)
        self.conv_45 = SeparableUnit(s2.width, s3.down_expand, s3.width, stride=2, se_reduction=None, decomposed=d)
        self.conv_5 = ResidualStage(s3.width, s3.residual_expands, se_reduction=se, decomposed=d)
        self.conv_6_sep = ConvBlock(s3.width, spec.sep_width, decomposed=d)
        final = spec.input_size // 16
        self.conv_6_dw = ConvBlock(spec.sep_width, spec.sep_width, final, groups=spec.sep_width, linear=True)
        self.linear = nn.Linear(spec.sep_width, spec.embedding, bias=False)
        self.bn = nn.BatchNorm1d(spec.embedding)
        self.prob = nn.Linear(spec.embedding, spec.classes, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        for stage in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4,
                      self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = stage(x)
        x = torch.flatten(x, 1)
        # Dropout sits between ``bn`` and ``prob`` in training only; it is the identity at inference.
        out: Tensor = self.prob(self.bn(self.linear(x)))
        return out
