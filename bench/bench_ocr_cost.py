"""Where the CPU of one ID-card read goes, before and after the single-node changes, interleaved card by card.

    .venv/bin/python bench/bench_ocr_cost.py [--cards 8] [--rounds 2] [--threads 2]

Two readers in one process over the same synthetic 1280 x 807 PRC ID-card fronts (tests/docgen):
- ``rapidocr defaults``: rapidocr's own onnxruntime sessions (spinning threads, no arena) and its detector
  resize rule (shorter side up to 736, so a 1280 x 807 card is detected at 1280 x 800), as the reader was before;
- ``idverify``: :class:`RapidOcrDocumentReader` as shipped (sessions from ``idverify.ml.onnx_sessions``, detection
  at ``DET_SIDE`` on the longer side).
Per card and side: wall time, process CPU time (all threads; the honest figure on a shared host), and the CPU time
of each model's ``run`` (detection, direction classifier, recognition). Medians over cards and rounds, with the
load average. Needs the CJK fonts (scripts/install-fonts.sh); a deepface photograph as portrait when present.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idverify.ml.ocr import DET_SIDE, RapidOcrDocumentReader, packaged_model_dir  # noqa: E402
from tests.docgen.identities import cn_identity  # noqa: E402
from tests.docgen.render import render_cn_front  # noqa: E402

STAGES = ("det", "cls", "rec")


class TimedSession:
    """Wraps an onnxruntime session and adds the process CPU time of each ``run`` to ``spent[stage]``."""

    def __init__(self, session: Any, stage: str, spent: dict[str, float]) -> None:
        self._session, self._stage, self._spent = session, stage, spent

    def run(self, names: Sequence[str] | None, feed: Mapping[str, Any]) -> Any:
        start = time.process_time()
        try:
            return self._session.run(names, feed)
        finally:
            self._spent[self._stage] += time.process_time() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class RapidOcrDefaults(RapidOcrDocumentReader):
    """The reader as it was: rapidocr creates its own sessions and keeps its detector resize rule."""

    def _create(self) -> Any:
        from rapidocr import RapidOCR

        folder = packaged_model_dir()
        return RapidOCR(params={
            "Global.log_level": "error", "Global.max_side_len": 1600,
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "Det.model_path": str(folder / "PP-OCRv6_det_small.onnx"),
            "Rec.model_path": str(folder / "PP-OCRv6_rec_small.onnx"),
            "Cls.model_path": str(folder / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        })


def instrument(reader: RapidOcrDocumentReader, spent: dict[str, float]) -> None:
    engine = reader._ocr()
    for stage, model in zip(STAGES, (engine._load_det_model(), engine._load_cls_model(), engine._load_rec_model()),
                            strict=True):
        model.session.session = TimedSession(model.session.session, stage, spent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    faces = Path(os.environ.get("IDVERIFY_SHARED_DATA", ROOT.parent / "shared" / "data")) / "faces" / "deepface-unit"
    read = cv2.imread(str(faces / "img37.jpg"))
    photo = None if read is None else np.asarray(read, np.uint8)
    rng = random.Random(5)
    people = [cn_identity(rng, date(2026, 11, 1)) for _ in range(args.cards)]
    cards = [np.asarray(render_cn_front(p, photo=photo, seed=i), np.uint8) for i, p in enumerate(people)]
    sides: dict[str, RapidOcrDocumentReader] = {
        "rapidocr defaults": RapidOcrDefaults(threads=args.threads),
        "idverify": RapidOcrDocumentReader(threads=args.threads),
    }
    spent = {name: dict.fromkeys(STAGES, 0.0) for name in sides}
    rows: dict[str, list[tuple[float, float, dict[str, float]]]] = {name: [] for name in sides}
    exact = dict.fromkeys(sides, 0)
    for name, reader in sides.items():
        reader.warm_up()
        instrument(reader, spent[name])
        reader.read_cn_id_front(cards[0])
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for person, card in zip(people, cards, strict=True):
            for name, reader in sides.items():
                before = dict(spent[name])
                wall, cpu = time.perf_counter(), time.process_time()
                text = reader.read_cn_id_front(card)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                rows[name].append((wall, cpu, {s: spent[name][s] - before[s] for s in STAGES}))
                exact[name] += text.id_number == person.number
    load_after = os.getloadavg()[0]

    def med(name: str, pick: Any) -> float:
        return float(statistics.median(pick(r) for r in rows[name])) * 1000

    lines = [
        "# CPU of one PRC ID-card front read (1280 x 807), before and after, interleaved",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load average {load_before:.2f} "
        f"before, {load_after:.2f} after; {args.cards} cards x {args.rounds} rounds; {args.threads} threads; "
        f"idverify detects text at {DET_SIDE} px on the longer side",
        f"- command: `.venv/bin/python bench/bench_ocr_cost.py --cards {args.cards} --rounds {args.rounds} "
        f"--threads {args.threads}`",
        "",
        "| median per card (ms) | " + " | ".join(sides) + " |",
        "|---|" + "---:|" * len(sides),
        "| wall | " + " | ".join(f"{med(n, lambda r: r[0]):.0f}" for n in sides) + " |",
        "| process CPU, all threads | " + " | ".join(f"{med(n, lambda r: r[1]):.0f}" for n in sides) + " |",
        *[f"| CPU in {s} runs | " + " | ".join(f"{med(n, lambda r, s=s: r[2][s]):.0f}" for n in sides) + " |"
          for s in STAGES],
        "| ID number read exactly | " + " | ".join(f"{exact[n]}/{len(rows[n])}" for n in sides) + " |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
