"""The PAD adapter's answer. Standard library only, so the liveness factor can use it without numpy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PadScore:
    """Passive-liveness evidence for one face.

    ``live`` is the fused live probability in [0, 1]: the mean of ``per_model``, each model's own live
    probability (for MiniFASNet, the softmax probability of its "real face" class), in ``model_ids`` order.
    It is evidence for the liveness factor to weigh against a threshold, not a verdict.
    """

    live: float
    model_ids: tuple[str, ...]
    per_model: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.model_ids) != len(self.per_model) or not self.model_ids:
            raise ValueError("one score per model, at least one model")
        if not all(0.0 <= p <= 1.0 for p in (self.live, *self.per_model)):
            raise ValueError("PAD probabilities lie in [0, 1]")
