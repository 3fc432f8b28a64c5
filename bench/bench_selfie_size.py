"""What the size an app sends a selfie at changes: match decisions, scores, quality findings, bytes and decoding.

    .venv/bin/python bench/bench_selfie_size.py [--rounds 5] [--sides 1280,640] [--quality 90]
        [--out bench/results/selfie-size.md]

The face pipeline never looks at more than a 640 px working image (docs/face.md), so an app could send a selfie at
640 px instead of 1280 px. This bench measures whether that changes anything but the bytes and the decoding. Every
photograph of ../shared/data/faces/deepface-unit is made into three inputs: as stored; re-encoded as an app would
(upright pixels, longer side 1280 px, shrunk with INTER_AREA, JPEG quality 90); and the same at 640 px. Each is
analysed as the calibration does (``idverify.ml.calibrate.embed_images``: largest confident face, quality
reported, not enforced). For the two labelled pair files (master.csv, face-recognition-pivot.csv) and for every
pair of images of the identity groups, at the shipped threshold (0.46, sface-2021dec): wrong decisions, decisions
that differ from the stored photographs', the largest score change against them, the lowest genuine and highest
impostor score, and the photographs whose quality findings differ from the stored photographs'. Decoding is timed
as the service decodes (reduced where allowed, on one thread), the three sizes interleaved photograph by photograph
in each round; medians over photographs, then over rounds, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_compare_faces import APP_QUALITY, SHARED, app_sized  # noqa: E402 - the one re-encoding as an app would

from idverify.domain.errors import IdVerifyError  # noqa: E402
from idverify.factors.face_match import DEFAULT_THRESHOLDS  # noqa: E402
from idverify.ml.calibrate import all_pairs, identity_groups, read_pairs  # noqa: E402
from idverify.ml.pipeline import FacePipeline  # noqa: E402

FACES = SHARED / "faces" / "deepface-unit"
SIDES = (1280, 640)


def analyse(pipeline: FacePipeline, data: bytes) -> tuple[np.ndarray | None, str]:
    """(embedding, findings): findings is a refusal code, the quality reasons, or '' when it passed."""
    try:
        analysis = pipeline.analyse(pipeline.decode(data), select="largest")
    except IdVerifyError as exc:
        return None, exc.code
    return np.asarray(analysis.embedding.values, dtype=np.float64), ",".join(analysis.quality.reasons)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sides", default=",".join(str(side) for side in SIDES), help="longer sides to re-encode at")
    parser.add_argument("--quality", type=int, default=APP_QUALITY, help="JPEG quality of the re-encoded inputs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "selfie-size.md"))
    opts = parser.parse_args()
    if not FACES.is_dir():
        print(f"skipped: {FACES} is not here", file=sys.stderr)
        return 2
    pair_files = {name: read_pairs(FACES / name) for name in ("master.csv", "face-recognition-pivot.csv")}
    groups = identity_groups([p for pairs in pair_files.values() for p in pairs])
    genuine_all, impostor_all = all_pairs(groups)
    names = sorted({img for group in groups for img in group})
    stored = {name: (FACES / name).read_bytes() for name in names}
    sides = [int(side) for side in opts.sides.split(",")]
    variants = {"as stored": stored, **{f"{side} px": {n: app_sized(d, side, opts.quality) for n, d in stored.items()}
                                        for side in sides}}
    pipeline = FacePipeline.from_models_dir(ROOT / "models", threads=2, allow_gpu=False)
    threshold = DEFAULT_THRESHOLDS[pipeline.embedder_id].selfie_vs_enrolled
    results = {v: {n: analyse(pipeline, d) for n, d in inputs.items()} for v, inputs in variants.items()}

    def score(variant: str, a: str, b: str) -> float | None:
        ea, eb = results[variant][a][0], results[variant][b][0]
        return None if ea is None or eb is None else float(ea @ eb)

    decode_ms: dict[str, list[float]] = {v: [] for v in variants}
    loads = []
    for _ in range(opts.rounds):
        per_round: dict[str, list[float]] = {v: [] for v in variants}
        for name in names:
            for variant, inputs in variants.items():
                t0 = time.perf_counter()
                pipeline.decode(inputs[name])
                per_round[variant].append(time.perf_counter() - t0)
        for variant, times in per_round.items():
            decode_ms[variant].append(statistics.median(times) * 1e3)
        loads.append(os.getloadavg()[0])

    sets = {**{name: [(p.a, p.b, p.same) for p in pairs] for name, pairs in pair_files.items()},
            "all pairs of the identity groups": [(a, b, True) for a, b in genuine_all]
            + [(a, b, False) for a, b in impostor_all]}
    header = ("| input | pairs | unscored | wrong decisions | decisions unlike stored | largest score change vs "
              "stored | lowest genuine / highest impostor |")
    table = [header, "|---|---|---:|---:|---:|---:|---|"]
    for variant in variants:
        for set_name, pairs in sets.items():
            scored = [(a, b, same, score(variant, a, b), score("as stored", a, b)) for a, b, same in pairs]
            usable = [row for row in scored if row[3] is not None]
            wrong = sum((s >= threshold) != same for _, _, same, s, _ in usable)
            changed = sum(ref is not None and (s >= threshold) != (ref >= threshold) for *_, s, ref in usable)
            shift = max((abs(s - ref) for *_, s, ref in usable if ref is not None), default=0.0)
            gen = [s for _, _, same, s, _ in usable if same]
            imp = [s for _, _, same, s, _ in usable if not same]
            table.append(f"| {variant} | {set_name} ({len(pairs)}) | {len(scored) - len(usable)} | {wrong} | "
                         f"{changed if variant != 'as stored' else '-'} | "
                         f"{f'{shift:.3f}' if variant != 'as stored' else '-'} | "
                         f"{min(gen):.3f} / {max(imp):.3f} |")
    findings = ["| input | photographs | no face | quality findings | findings unlike stored | median bytes | "
                "decode, median ms (rounds) |", "|---|---:|---:|---:|---:|---:|---|"]
    for variant, inputs in variants.items():
        got = results[variant]
        unlike = [n for n in names if got[n][1] != results["as stored"][n][1]]
        differs = "-" if variant == "as stored" else f"{len(unlike)}" + (f" ({', '.join(unlike)})" if unlike else "")
        findings.append(
            f"| {variant} | {len(names)} | {sum(e is None for e, _ in got.values())} | "
            f"{sum(bool(f) and e is not None for e, f in got.values())} | {differs} | "
            f"{statistics.median(len(d) for d in inputs.values()) / 1e3:.0f} kB | "
            f"{statistics.median(decode_ms[variant]):.2f} ({', '.join(f'{x:.2f}' for x in decode_ms[variant])}) |")
    detail = [f"- {variant}: " + "; ".join(f"{n} {f}" for n in names if (f := results[variant][n][1]))
              for variant in variants]
    lines = [
        f"# Selfie size: what re-encoding at {' and '.join(f'{side} px' for side in sides)} changes",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; load {min(loads):.2f}-"
        f"{max(loads):.2f}; in process, the shipped models (2 threads)",
        f"- command: `.venv/bin/python bench/bench_selfie_size.py --rounds {opts.rounds} --sides {opts.sides} "
        f"--quality {opts.quality}`",
        f"- photographs: {len(names)} of ../shared/data/faces/deepface-unit (every image of the two pair files); "
        f"threshold {threshold} ({pipeline.embedder_id}); inputs re-encoded from the upright pixels with INTER_AREA "
        f"at JPEG quality {opts.quality}",
        "",
        *table,
        "",
        *findings,
        "",
        "Quality findings and refusals per input (largest face, quality reported, not enforced):",
        "",
        *detail,
        "",
    ]
    Path(opts.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
