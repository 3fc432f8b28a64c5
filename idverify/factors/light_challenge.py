"""The light challenge: a server-chosen sequence of screen colours whose reflection must appear on the face.

Standard library only. The capture page shows each colour full-screen for its duration while the applicant looks at
the camera and tags each frame with the colour on screen; the adapter measures, per frame, the mean colour of the
face skin and of the background (:class:`LightSample`); this module draws the sequence and decides.

Signal and decision rule (docs/liveness.md, section 6): per step, the median face and background colour; per
channel, the face's log change relative to the white step net of the background's; brightness removed by
subtracting the mean over channels. The expected pattern is the screen colour's own log-chroma relative to white.
Pass when their Pearson correlation is at least ``min_correlation``, the face's mean chroma response is at least
``min_response``, and in at least ``min_step_agreement`` of the coloured steps the face's shift points closest (by
cosine) to the colour shown among the whole palette (so a capture made under another sequence that happens to
correlate, yellow where red was asked, still fails). Thresholds were set on synthetic sequences (real
photographs with a simulated reflection); see docs/reports/liveness-attacks.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from idverify.domain.ports import Random

WHITE = 0xFFFFFF
#: Saturated colours a phone screen shows brightly; no two neighbours in a sequence are the same.
PALETTE: tuple[int, ...] = (0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0xFF00FF, 0x00FFFF)


@dataclass(frozen=True, slots=True)
class LightStep:
    rgb: int
    duration_ms: int

    @property
    def channels(self) -> tuple[float, float, float]:
        return ((self.rgb >> 16 & 0xFF) / 255, (self.rgb >> 8 & 0xFF) / 255, (self.rgb & 0xFF) / 255)


@dataclass(frozen=True, slots=True)
class LightConfig:
    min_colours: int = 4
    max_colours: int = 6
    min_duration_ms: int = 300
    max_duration_ms: int = 600
    min_frames_per_step: int = 2
    min_correlation: float = 0.6
    min_response: float = 0.01
    #: Share of the coloured steps whose face response is closest to the colour shown (of the whole palette).
    min_step_agreement: float = 0.75

    def __post_init__(self) -> None:
        if not 2 <= self.min_colours <= self.max_colours <= 12:
            raise ValueError("light challenge: need 2 <= min_colours <= max_colours <= 12")
        if not 100 <= self.min_duration_ms <= self.max_duration_ms <= 3_000 or self.min_frames_per_step < 1:
            raise ValueError("light challenge: durations must lie in [100, 3000] ms, frames per step >= 1")


@dataclass(frozen=True, slots=True)
class LightSample:
    """Mean colour (R, G, B in 0..255) of the face skin and of the background in one frame, and its step."""

    light_step: int
    face_rgb: tuple[float, float, float]
    background_rgb: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class LightVerdict:
    passed: bool
    correlation: float | None
    response: float | None
    reason: str | None  # "too_few_frames", "no_response", "wrong_pattern", "wrong_colours"


def draw_sequence(random: Random, config: LightConfig) -> tuple[LightStep, ...]:
    """White first (the reference), then random colours with no immediate repeat and random durations."""
    count = config.min_colours + random.randbelow(config.max_colours - config.min_colours + 1)
    span = config.max_duration_ms - config.min_duration_ms + 1

    def duration() -> int:
        return config.min_duration_ms + random.randbelow(span)

    steps = [LightStep(WHITE, duration())]
    for _ in range(count):
        options = [c for c in PALETTE if c != steps[-1].rgb]
        steps.append(LightStep(options[random.randbelow(len(options))], duration()))
    return tuple(steps)


def _log(v: float) -> float:
    return math.log(max(v, 1.0))


def _chroma(rgb: Sequence[float]) -> list[float]:
    logs = [_log(v) for v in rgb]
    mean = sum(logs) / 3
    return [v - mean for v in logs]


def _expected(step: LightStep) -> list[float]:
    logs = [math.log(0.05 + c) for c in step.channels]
    mean = sum(logs) / 3
    return [v - mean for v in logs]


def _median_rgb(values: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values),
            statistics.median(v[2] for v in values))


def evaluate_light(steps: Sequence[LightStep], samples: Sequence[LightSample], config: LightConfig) -> LightVerdict:
    """Decide whether the face followed the colour sequence (see the module docstring)."""
    per_step: dict[int, list[LightSample]] = {}
    for sample in samples:
        if 1 <= sample.light_step <= len(steps):
            per_step.setdefault(sample.light_step, []).append(sample)
    if any(len(per_step.get(i, ())) < config.min_frames_per_step for i in range(1, len(steps) + 1)):
        return LightVerdict(False, None, None, "too_few_frames")
    medians: list[tuple[tuple[float, float, float], tuple[float, float, float]]] = []
    for i in range(1, len(steps) + 1):
        group = per_step[i][1:] if len(per_step[i]) >= 3 else per_step[i]  # the first may straddle the change
        medians.append((_median_rgb([s.face_rgb for s in group]), _median_rgb([s.background_rgb for s in group])))
    face_ref, bg_ref = _chroma(medians[0][0]), _chroma(medians[0][1])
    observed: list[float] = []
    expected: list[float] = []
    reference = _expected(steps[0])
    agreeing = 0
    for step, (face, background) in zip(steps[1:], medians[1:], strict=True):
        f, b, e = _chroma(face), _chroma(background), _expected(step)
        seen = [(f[c] - face_ref[c]) - (b[c] - bg_ref[c]) for c in range(3)]
        observed.extend(seen)
        expected.extend(e[c] - reference[c] for c in range(3))
        agreeing += _closest_colour(seen) == step.rgb
    response = math.fsum(abs(v) for v in observed) / len(observed)
    correlation = _pearson(observed, expected)
    if response < config.min_response:
        return LightVerdict(False, correlation, response, "no_response")
    if correlation is None or correlation < config.min_correlation:
        return LightVerdict(False, correlation, response, "wrong_pattern")
    if agreeing < config.min_step_agreement * (len(steps) - 1):
        return LightVerdict(False, correlation, response, "wrong_colours")
    return LightVerdict(True, correlation, response, None)


def _closest_colour(seen: Sequence[float]) -> int:
    """The palette colour whose expected chroma shift points most nearly the way the face's did (cosine)."""
    def cosine(rgb: int) -> float:
        e = _expected(LightStep(rgb, 0))
        norm = math.sqrt(math.fsum(v * v for v in e) * math.fsum(v * v for v in seen))
        return math.fsum(a * b for a, b in zip(e, seen, strict=True)) / norm if norm > 0 else -1.0

    return max(PALETTE, key=cosine)


def _pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 2:
        return None
    ma, mb = math.fsum(a) / len(a), math.fsum(b) / len(b)
    cov = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = math.fsum((x - ma) ** 2 for x in a)
    vb = math.fsum((y - mb) ** 2 for y in b)
    if va <= 0 or vb <= 0:
        return None
    return cov / math.sqrt(va * vb)
