"""Make the sandbox samples in samples/: synthetic ID cards, a passport MRZ page and head-turn frame sequences.

    .venv/bin/python scripts/make_samples.py [--out samples]

Everything is synthetic: identities from tests/docgen/identities.py (valid check digits, fictitious people),
documents rendered by tests/docgen/render.py, and a drawn face (tests/docgen/synthetic_face.py) as the portrait
and as the head in the frame sequences, turned as a rigid head by tests/adapters/liveness/synth.py. No photograph
of anyone is used, so the output may be committed. The same seeds give the same files on the same library
versions. Needs the CJK fonts (scripts/install-fonts.sh).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from idverify.ml.pipeline import FacePipeline  # noqa: E402
from tests.adapters.liveness import synth  # noqa: E402
from tests.docgen.identities import cn_identity, td3_mrz  # noqa: E402
from tests.docgen.render import fonts_available, render_cn_back, render_cn_front, render_passport_page  # noqa: E402
from tests.docgen.synthetic_face import draw_face  # noqa: E402

#: The day the identities are made valid on (the cards stay valid for years after it).
TODAY = date(2026, 11, 29)
#: Frame sequences: (folder, asked poses). Each starts with a frontal lead-in so it has at least 24 frames.
#: (Up and down are left out: the rigid render tilts the drawn head too little to read as up or down.)
SEQUENCES = (("left-centre", ("left", "centre")), ("right-centre", ("right", "centre")))
INTERVAL_MS = 80


def jpeg(pixels: np.ndarray, quality: int = 88) -> bytes:
    return bytes(cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())


def documents(out: Path, portrait: np.ndarray) -> dict[str, object]:
    """The CN card (front, back), a TD3 passport page, and the data printed on them."""
    out.mkdir(parents=True, exist_ok=True)
    person = cn_identity(random.Random(2026), TODAY)
    (out / "cn-id-front.jpg").write_bytes(jpeg(render_cn_front(person, photo=portrait, seed=1)))
    (out / "cn-id-back.jpg").write_bytes(jpeg(render_cn_back(person, seed=1)))
    mrz = td3_mrz(surname="SAMPLE", given="ALEX", number="E12345678", birth=date(1990, 5, 17),
                  expiry=date(2033, 5, 16), sex="F", state="UTO")
    viz = (("Surname / 姓", "SAMPLE"), ("Given names / 名", "ALEX"), ("Date of birth", "17 MAY 1990"),
           ("Date of expiry", "16 MAY 2033"))
    (out / "passport-td3.jpg").write_bytes(jpeg(render_passport_page(mrz, viz=viz, photo=portrait, seed=1)))
    return {
        "cn_id_card": {"full_name": person.name, "document_number": person.number,
                       "birth_date": person.birth_date.isoformat(), "sex": person.sex,
                       "expiry_date": person.valid_until.isoformat() if person.valid_until else "long_term"},
        "passport_td3": {"full_name": "SAMPLE ALEX", "document_number": "E12345678", "birth_date": "1990-05-17",
                         "sex": "F", "expiry_date": "2033-05-16", "issuing_state": "UTO", "mrz": list(mrz)},
    }


def sequences(out: Path, pixels: np.ndarray, face: synth.Face) -> None:
    """One folder per pose sequence: JPEG frames and frames.jsonl (file, t_ms, light_step)."""
    for name, poses in SEQUENCES:
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.jpg"):
            old.unlink()
        rng = np.random.default_rng(7)
        lead = [synth.Frame(synth.jitter(pixels, rng), n * INTERVAL_MS, 0) for n in range(8)]
        moves = synth.capture(pixels, face, light=(), poses=poses, t0_ms=8 * INTERVAL_MS, rng=rng,
                              interval_ms=INTERVAL_MS)
        rows = []
        for n, frame in enumerate([*lead, *moves]):
            file = f"{n:03d}.jpg"
            (folder / file).write_bytes(jpeg(frame.pixels))
            rows.append({"file": file, "t_ms": frame.t_ms, "light_step": frame.light_step})
        (folder / "frames.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "samples")
    args = parser.parse_args(argv)
    if not fonts_available():
        print("make_samples: the CJK fonts are missing; run scripts/install-fonts.sh", file=sys.stderr)
        return 2
    head = draw_face(seed=1)
    pipeline = FacePipeline.from_models_dir(REPO / "models", threads=2, allow_gpu=False)
    found = pipeline.detect(pipeline.decode(jpeg(head)))
    if len(found) != 1:
        print("make_samples: the detector does not find the drawn face", file=sys.stderr)
        return 1
    portrait = draw_face(360, 480, seed=2)
    data = documents(args.out / "documents", portrait)
    (args.out / "documents" / "printed-data.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                                                              encoding="utf-8")
    sequences(args.out / "frames", head, synth.Face.of(found[0]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
