"""Threshold calibration: scores of labelled pairs -> ROC, AUC, FMR/FNMR per threshold, a markdown report.

Pairs come from CSV files with columns ``file_x, file_y`` and ``decision``/``Decision`` (Yes = same person).
Identity groups are the connected components of the same-person pairs; every pair of images from two different
groups is then an impostor pair too ("all pairs"), which gives far more impostor comparisons than the files list.
That inference assumes the groups are complete (two groups are never the same person): the report says so.

Rates are reported with their counts. With N impostor comparisons and no false match, the 95 % upper bound of the
false-match rate is about 3 / N (rule of three): a smaller FMR cannot be claimed from the data.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idverify.domain.errors import IdVerifyError
from idverify.ml.pipeline import FacePipeline

DEEPFACE_MODELS = ("Facenet", "VGG-Face", "OpenFace", "DeepFace")


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    same: bool
    extra: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Roc:
    genuine: int
    impostor: int
    auc: float
    min_genuine: float
    max_impostor: float

    @property
    def separable(self) -> bool:
        return self.min_genuine > self.max_impostor


def read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pairs = []
    for row in rows:
        decision = (row.get("decision") or row.get("Decision") or "").strip().lower()
        if decision not in {"yes", "no"}:
            raise ValueError(f"{path.name}: decision must be Yes or No")
        pairs.append(Pair(Path(row["file_x"]).name, Path(row["file_y"]).name, decision == "yes", row))
    return pairs


def identity_groups(pairs: Iterable[Pair]) -> list[set[str]]:
    """Connected components of the same-person pairs (every image in a pair belongs to some group)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        find(pair.a), find(pair.b)
        if pair.same:
            parent[find(pair.a)] = find(pair.b)
    groups: dict[str, set[str]] = {}
    for item in parent:
        groups.setdefault(find(item), set()).add(item)
    return sorted(groups.values(), key=lambda g: sorted(g)[0])


def all_pairs(groups: Sequence[set[str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(genuine, impostor) pairs over every image of every group."""
    label = {img: n for n, group in enumerate(groups) for img in group}
    images = sorted(label)
    genuine: list[tuple[str, str]] = []
    impostor: list[tuple[str, str]] = []
    for i, a in enumerate(images):
        for b in images[i + 1 :]:
            (genuine if label[a] == label[b] else impostor).append((a, b))
    return genuine, impostor


def roc(genuine: Sequence[float], impostor: Sequence[float]) -> Roc:
    """AUC as the Mann-Whitney probability that a genuine score beats an impostor one (ties count half)."""
    g, i = np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64)
    wins = (g[:, None] > i[None, :]).sum() + 0.5 * (g[:, None] == i[None, :]).sum()
    return Roc(len(g), len(i), float(wins / (len(g) * len(i))), float(g.min()), float(i.max()))


def rates(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> tuple[int, int]:
    """(false matches, false non-matches) at ``threshold`` (match when score >= threshold)."""
    return (sum(1 for s in impostor if s >= threshold), sum(1 for s in genuine if s < threshold))


def threshold_for_fmr(genuine: Sequence[float], impostor: Sequence[float], target_fmr: float) -> float:
    """The lowest threshold whose measured FMR is at most ``target_fmr`` (just above the highest impostor
    score it must reject)."""
    ranked = sorted(impostor, reverse=True)
    allowed = math.floor(target_fmr * len(ranked))
    if allowed >= len(ranked):
        return min(*genuine, *impostor)
    return float(np.nextafter(ranked[allowed], np.inf))


def embed_images(
    pipeline: FacePipeline, images_dir: Path, names: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Embedding per image (largest confident face, quality not enforced) and the failures by code."""
    vectors: dict[str, np.ndarray] = {}
    failures: dict[str, str] = {}
    for name in sorted(set(names)):
        try:
            analysis = pipeline.analyse(pipeline.decode((images_dir / name).read_bytes()), select="largest")
        except IdVerifyError as exc:
            failures[name] = exc.code
            continue
        vectors[name] = np.asarray(analysis.embedding.values, dtype=np.float64)
        if not analysis.quality.passed:
            failures[name] = "quality:" + ",".join(analysis.quality.reasons)
    return vectors, failures


def _score(vectors: Mapping[str, np.ndarray], a: str, b: str) -> float:
    return float(vectors[a] @ vectors[b])


def _fmt_roc(name: str, r: Roc) -> str:
    return (
        f"| {name} | {r.genuine} | {r.impostor} | {r.auc:.4f} | {r.min_genuine:.3f} | {r.max_impostor:.3f} |"
        f" {'yes' if r.separable else 'no'} |"
    )


def calibrate(
    pipeline: FacePipeline,
    pair_files: Sequence[Path],
    images_dir: Path,
    target_fmr: float,
    chosen_threshold: float | None = None,
) -> str:
    """Run the calibration and return the markdown report."""
    sets = {p.name: read_pairs(p) for p in pair_files}
    everything = [pair for pairs in sets.values() for pair in pairs]
    groups = identity_groups(everything)
    vectors, failures = embed_images(pipeline, images_dir, [x for p in everything for x in (p.a, p.b)])
    lines = [
        f"# Face-match calibration ({pipeline.detector.model_id} + {pipeline.embedder_id})",
        "",
        f"Images: {len(vectors)} embedded, {len([f for f in failures if not failures[f].startswith('quality')])}"
        " without a usable face. Score: cosine of L2-normalised embeddings; match when score >= threshold.",
        "",
        "| pairs | genuine | impostor | AUC | lowest genuine | highest impostor | separable |",
        "|---|---|---|---|---|---|---|",
    ]
    scored: dict[str, tuple[list[float], list[float]]] = {}
    for name, pairs in sets.items():
        usable = [p for p in pairs if p.a in vectors and p.b in vectors]
        gen = [_score(vectors, p.a, p.b) for p in usable if p.same]
        imp = [_score(vectors, p.a, p.b) for p in usable if not p.same]
        scored[name] = (gen, imp)
        lines.append(_fmt_roc(name, roc(gen, imp)))
    gen_pairs, imp_pairs = all_pairs(groups)
    gen_all = [_score(vectors, a, b) for a, b in gen_pairs if a in vectors and b in vectors]
    imp_all = [_score(vectors, a, b) for a, b in imp_pairs if a in vectors and b in vectors]
    scored["all pairs of the identity groups"] = (gen_all, imp_all)
    lines.append(_fmt_roc("all pairs of the identity groups", roc(gen_all, imp_all)))
    lines += [
        "",
        f"Identity groups: {len(groups)} (sizes {sorted((len(g) for g in groups), reverse=True)}), "
        "the connected components of the same-person pairs of all files; every cross-group pair is "
        "counted as an impostor pair, which assumes no person appears in two groups.",
        "",
    ]
    lines += _threshold_table(scored, target_fmr, chosen_threshold)
    if failures:
        lines += [
            "",
            "Images with findings (embedded anyway unless no face): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(failures.items())),
        ]
    pivot = next((pairs for pairs in sets.values() if pairs and "Facenet_cosine" in pairs[0].extra), None)
    if pivot is not None:
        lines += ["", *deepface_section(pivot, vectors)]
    return "\n".join(lines) + "\n"


def _threshold_table(
    scored: Mapping[str, tuple[list[float], list[float]]], target_fmr: float, chosen: float | None
) -> list[str]:
    out = [
        "| pairs | threshold | why | false matches | FMR | false non-matches | FNMR | FMR claimable (3/N) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, (gen, imp) in scored.items():
        candidates = [(f"target FMR {target_fmr:g}", threshold_for_fmr(gen, imp, target_fmr))]
        if chosen is not None:
            candidates.append(("configured", chosen))
        for why, t in candidates:
            fm, fnm = rates(gen, imp, t)
            out.append(
                f"| {name} | {t:.3f} | {why} | {fm} / {len(imp)} | {fm / len(imp):.4f} | {fnm} / {len(gen)}"
                f" | {fnm / len(gen):.4f} | >= {3 / len(imp):.4f} |"
            )
    return out


def deepface_section(pivot: Sequence[Pair], vectors: Mapping[str, np.ndarray]) -> list[str]:
    """deepface's own models on the same pivot pairs (their cosine distances, lower = same person)."""
    out = [
        "## Beside deepface's models on the pivot pairs",
        "",
        "deepface's distances come from the csv (cosine distance; lower means same person).",
        "",
        "| model | genuine | impostor | AUC | errors at the best single threshold |",
        "|---|---|---|---|---|",
    ]
    usable = [p for p in pivot if p.a in vectors and p.b in vectors]
    ours = [(_score(vectors, p.a, p.b), p.same) for p in usable]
    out.append(_best_row("this pipeline (cosine similarity)", ours))
    for model in DEEPFACE_MODELS:
        scores = [(-float(p.extra[f"{model}_cosine"]), p.same) for p in pivot]
        out.append(_best_row(f"deepface {model} (cosine distance)", scores))
    return out


def _best_row(name: str, scored: Sequence[tuple[float, bool]]) -> str:
    gen = [s for s, same in scored if same]
    imp = [s for s, same in scored if not same]
    r = roc(gen, imp)
    best = min(sum(rates(gen, imp, t)) for t in sorted({s for s, _ in scored}))
    return f"| {name} | {len(gen)} | {len(imp)} | {r.auc:.4f} | {best} / {len(gen) + len(imp)} |"
