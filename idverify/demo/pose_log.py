"""Head-pose figures of real liveness attempts, for calibrating the head-turn threshold (development only).

With the applicant's consent (a separate tick box on the capture page), the demo backend measures every relayed
frame with idverify's own detector and head-pose estimate and appends one JSON line per attempt:
the asked poses, whether the preview was mirrored, the service's outcome and reason codes, and per frame the
capture time relative to the first frame, the number of faces, and yaw and pitch (image space, the units of
``IDVERIFY_LIVENESS_TURN_YAW``). No image, embedding, landmark set, identifier or token is written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from idverify.domain.errors import IdVerifyError
from idverify.factors.head_pose import estimate_head_pose
from idverify.ml.pipeline import FacePipeline


class PoseRecorder:
    """Appends one line per consented attempt to ``path``."""

    def __init__(self, pipeline: FacePipeline, path: Path) -> None:
        self._pipeline = pipeline
        self._path = path
        self._lock = threading.Lock()

    def measure(self, image: bytes) -> dict[str, Any]:
        try:
            faces = self._pipeline.detect(self._pipeline.decode(image))
        except IdVerifyError as exc:
            return {"faces": 0, "error": exc.code}
        if len(faces) != 1:
            return {"faces": len(faces)}
        try:
            pose = estimate_head_pose(faces[0].landmarks)
        except IdVerifyError as exc:
            return {"faces": 1, "error": exc.code}
        return {"faces": 1, "yaw": round(pose.yaw, 4), "pitch": round(pose.pitch, 4)}

    def __call__(self, asked: Sequence[str], mirrored: bool, frames: Sequence[tuple[int, bytes]],
                 result: dict[str, Any]) -> None:
        start = frames[0][0] if frames else 0
        record = {
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "asked": list(asked), "mirrored": mirrored, "outcome": result.get("outcome"),
            "reason_codes": result.get("reason_codes", []),
            "frames": [{"t_ms": at - start, **self.measure(image)} for at, image in frames],
        }
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as fh:
                fh.write(line)
