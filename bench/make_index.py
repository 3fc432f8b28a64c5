"""Regenerate docs/benchmarks.md from the committed results of the benchmark scripts.

    .venv/bin/python bench/make_index.py [--check]

``--check`` writes nothing and exits 1 when docs/benchmarks.md differs from what the result files give, or when a
row's pattern finds nothing in a result file that exists (a bench whose wording changed);
tests/e2e/test_benchmarks_index.py runs it.

Each row names a result file written by a script in bench/ (or a report in docs/reports/ written by one), a pattern
that finds the figure in it, and the target. A figure the file does not contain is printed as "not measured": the
index never carries a number that its result file does not. Run the scripts first (their commands are at the top of
each result file), then this.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (what, result file, regex whose first group is the figure, target)
ROWS: list[tuple[str, str, str, str]] = [
    ("Face per image (detect + align + embed) vs OpenCV's own pipeline, same models and threads",
     "bench/results/face.md", r"median of rounds: \*\*([0-9.]+x)\*\*", "<= 0.9x"),
    ("Face embedding per crop, idverify vs OpenCV (ms)",
     "bench/results/face.md", r"\| embed \| ([0-9.]+) \| ([0-9.]+) \|", "faster than OpenCV"),
    ("Two-image CompareFaces over gRPC vs the sum of its model runs one at a time (real server), full-size "
     "photographs", "bench/results/compare-faces.md", r"full-size photos \*\*([0-9.]+x)\*\*", "<= 1.15x"),
    ("The same with app-sized selfies (640 px, JPEG q90, as docs/face.md asks apps to send)",
     "bench/results/compare-faces.md", r"app-sized selfies \*\*([0-9.]+x)\*\*", "<= 1.15x"),
    ("The same with selfies at 1280 px (what docs/face.md asked for until 2026-11-30)",
     "bench/results/compare-faces.md", r"selfies at 1280 px \*\*([0-9.]+x)\*\*", "<= 1.15x"),
    ("Selfies at 640 px vs as stored: match decisions changed, every pair of the 61 labelled photographs (1,830)",
     "bench/results/selfie-size.md", r"\| 640 px \| all pairs of the identity groups \(\d+\) \| \d+ \| \d+ \| (\d+) \|",
     "0"),
    ("Token verify vs raw Ed25519 verify (p50s of alternating calls, median of rounds)",
     "bench/results/tokens.md", r"Our verify / raw Ed25519 verify.*?\*\*([0-9.]+x)\*\*", "<= 1.3x"),
    ("Token issue vs raw Ed25519 sign (p50s of alternating calls, median of rounds)",
     "bench/results/tokens.md", r"Our issue / raw Ed25519 sign.*?\*\*([0-9.]+x)\*\*", "<= 1.3x"),
    ("Authenticated trivial RPC vs a bare gRPC server's trivial unary",
     "bench/results/rpc.md", r"the authenticated trivial RPC \*\*([0-9.]+x)\*\*", ">= 0.8x"),
    ("GetJwks throughput, RPC executor (concurrency 2) vs the plain thread pool it replaced",
     "bench/results/rpc-threads.md", r"against the plain thread pool, per round: median \*\*([0-9.]+x)\*\*",
     "measured"),
    ("RedeemToken vs bare gRPC trivial unary, SQLite",
     "bench/results/rpc.md", r"RedeemToken SQLite \*\*([0-9.]+x)\*\*", ">= 0.5x"),
    ("RedeemToken vs bare gRPC trivial unary, PostgreSQL",
     "bench/results/rpc.md", r"PostgreSQL \*\*([0-9.]+x)\*\* \(target >= 0.5", ">= 0.5x"),
    ("Redemption floor vs bare gRPC (a bare server doing only a raw Ed25519 verify and the raw single-use UPDATE and "
     "audit INSERT, committed), SQLite / PostgreSQL",
     "bench/results/rpc.md", r"against the bare server: SQLite \*\*([0-9.]+x)\*\*, PostgreSQL \*\*([0-9.]+x)\*\*",
     "measured: what any Python redemption reaches here"),
    ("RedeemToken vs that floor, SQLite / PostgreSQL",
     "bench/results/rpc.md", r"The service's RedeemToken against that floor: SQLite ([0-9.]+x), PostgreSQL ([0-9.]+x)",
     "measured"),
    ("RedeemToken PostgreSQL / SQLite, service settings",
     "bench/results/rpc.md", r"both as the service configures them: median \*\*([0-9.]+)\*\*", ">= 1.0"),
    ("`idverify serve` start to SERVING, every factor on (median of starts)",
     "bench/results/serve.md", r"\| start to SERVING, prepared folder, median of \d+ \| ([0-9.]+ s) \|", "<= 3 s"),
    ("`idverify serve` peak RSS through OTP, documents and liveness (VmHWM)",
     "bench/results/serve.md", r"\| peak RSS over the run \(VmHWM\) \| ([0-9]+ MB) \|", "<= 600 MB"),
    ("SubmitDocument p50, 1280 px ID card front, real server",
     "bench/results/serve.md", r"\| SubmitDocument p50 of the other \d+ \| ([0-9.]+ s) \|", "<= 0.6 s"),
    ("Health check latency while documents are read (worst)",
     "bench/results/serve.md", r"\| worst health-check latency during the documents \| ([0-9.]+ ms) \|", "measured"),
    ("Hostile SubmitLivenessFrames (20 PNGs declaring 8000x5000): added peak RSS (MB, median), one stream / six",
     "bench/results/decode-budget.md",
     r"\| hostile x1 [^|]*\| ([0-9.]+) \|.*?\| hostile x6 at once \| ([0-9.]+) \|", "< 200 MB / < 600 MB"),
    ("OCR: ID number read exactly, synthetic fronts (clean / distorted)",
     "docs/reports/ocr-accuracy.md", r"\| id_number read exactly \| (\d+/\d+) [^|]*\| (\d+/\d+)",
     ">= 95% / >= 85%"),
    ("Liveness on synthetic captures (BPCER, APCER per attack)",
     "docs/reports/liveness-attacks.md", r"(BPCER[^|\n]*)", "report with counts"),
    ("Face match accuracy, pivot pairs (140 genuine / 140 impostor)",
     "docs/reports/face-calibration.md", r"(AUC [0-9.]+)", "AUC 1.0, no error at one threshold"),
    ("Passive PAD on the three published samples (T1 / F1 / F2 live score)",
     "docs/reports/pad-evaluation.md",
     r"image_T1\.jpg(?: \|[^|]*){3} \| ([0-9.]+) .*?image_F1\.jpg(?: \|[^|]*){3} \| ([0-9.]+) .*?"
     r"image_F2\.jpg(?: \|[^|]*){3} \| ([0-9.]+) ", "T1 above, F1 and F2 below 0.5"),
    ("Staff console, case page with 10,000 cases and 1,000,000 audit entries (median / p95 / max ms; SQLite, "
     "then PostgreSQL)", "bench/results/console.md",
     r"\| case page [^|]*\| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|.*?\| case page [^|]*\| ([0-9.]+) \| ([0-9.]+) \| "
     r"([0-9.]+) \|", "< 300 ms"),
]


def figure(path: Path, pattern: str) -> str:
    if not path.exists():
        return "not measured"
    match = re.search(pattern, path.read_text(encoding="utf-8"), re.S)
    return " / ".join(g.strip() for g in match.groups()) if match else "not measured"


def dated(path: Path) -> str:
    if not path.exists():
        return ""
    match = re.search(r"date: ([0-9-]+(?: [0-9:]+)?)", path.read_text(encoding="utf-8"))
    return match.group(1) if match else ""


def render() -> str:
    """docs/benchmarks.md as the committed result files give it."""
    lines = [
        "# Benchmarks and measured figures",
        "",
        "Generated by `bench/make_index.py` from the result files the benchmark scripts write; each result file",
        "names its command, date, machine and load average, and the scripts interleave both sides of every",
        "comparison within one run and report medians of rounds. A figure that is not in its result file is",
        "shown as \"not measured\". Machines of this kind are shared and noisy: compare ratios, not absolute times.",
        "Identical server processes can differ by up to 1.5x in throughput for as long as they live, so",
        "`bench/bench_rpc.py` runs each side of its trivial-RPC comparison on three processes. Ratios of the",
        "service's Python work to a C or bare baseline also move with the host's state, by up to 0.3x between runs",
        "of the same code on the same day (docs/reports/single-node-perf.md, section 12).",
        "",
        "| What | Result | Target | Source (date) |",
        "|---|---|---|---|",
    ]
    for what, source, pattern, target in ROWS:
        path = ROOT / source
        when = dated(path)
        lines.append(f"| {what} | {figure(path, pattern)} | {target} | {source}{f' ({when})' if when else ''} |")
    lines += [
        "",
        "Not measured here: any GPU figure (`bench/gpu_embed.py` and `bench/gpu_kserve.py` are ready for a GPU",
        "machine; none was lent to this work), a real head turn or screen reflection (docs/liveness.md), and",
        "accuracy beyond the labelled sets named in the reports. Scaling across replicas: docs/scaling.md;",
        "capacity per million verifications a day: docs/capacity.md.",
    ]
    return "\n".join(lines) + "\n"


def unmatched() -> list[str]:
    """Rows whose result file exists but does not contain their figure."""
    return [f"{what} ({source})" for what, source, pattern, _ in ROWS
            if (ROOT / source).exists() and figure(ROOT / source, pattern) == "not measured"]


def main(argv: list[str]) -> int:
    out = ROOT / "docs" / "benchmarks.md"
    text = render()
    if "--check" in argv:
        problems = [f"no figure found: {row}" for row in unmatched()]
        if out.read_text(encoding="utf-8") != text:
            problems.append("docs/benchmarks.md is not what the result files give: run bench/make_index.py")
        print("\n".join(problems) or "docs/benchmarks.md matches the result files")
        return 1 if problems else 0
    out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
