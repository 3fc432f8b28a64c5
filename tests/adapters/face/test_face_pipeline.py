"""The whole face pipeline on the committed models and real photographs (deepface-unit)."""

from __future__ import annotations

import csv
import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from idverify.domain.errors import InvalidArgument
from idverify.factors.face_match import Comparison
from idverify.ml import pipeline as pipeline_module
from idverify.ml.alignment import align_face
from idverify.ml.calibrate import read_pairs
from idverify.ml.fold import fold_model
from idverify.ml.imaging import from_pixels
from idverify.ml.matcher import FaceMatcher
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig, create_session
from idverify.ml.pipeline import FacePipeline
from idverify.ml.runner import ort_runners
from tests.adapters.face.conftest import MODELS_DIR

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def embeddings(pipeline: FacePipeline, faces_dir: Path) -> dict[str, np.ndarray]:
    """One embedding per photograph named in master.csv (largest confident face)."""
    names = {n for p in read_pairs(faces_dir / "master.csv") for n in (p.a, p.b)}
    out = {}
    for name in sorted(names):
        analysis = pipeline.analyse(pipeline.decode((faces_dir / name).read_bytes()), select="largest")
        out[name] = np.asarray(analysis.embedding.values)
    return out


@pytest.mark.slow
def test_master_pairs_same_people_match_and_different_people_do_not_at_the_configured_threshold(
    embeddings: dict[str, np.ndarray], matcher: FaceMatcher, faces_dir: Path
) -> None:
    threshold = matcher.thresholds.selfie_vs_enrolled
    pairs = read_pairs(faces_dir / "master.csv")
    genuine = [float(embeddings[p.a] @ embeddings[p.b]) for p in pairs if p.same]
    impostor = [float(embeddings[p.a] @ embeddings[p.b]) for p in pairs if not p.same]
    assert (len(genuine), len(impostor)) == (38, 262)
    assert sum(s < threshold for s in genuine) == 0
    assert sum(s >= threshold for s in impostor) == 0


def test_matcher_compares_two_images_and_records_score_threshold_and_model(
    matcher: FaceMatcher, faces_dir: Path
) -> None:
    same = matcher.compare_images(
        (faces_dir / "img1.jpg").read_bytes(), (faces_dir / "img2.jpg").read_bytes(), Comparison.SELFIE_VS_ENROLLED
    )
    assert same.matched
    assert same.model_id == "sface-2021dec"
    assert same.threshold == matcher.thresholds.selfie_vs_enrolled
    other = matcher.compare_images(
        (faces_dir / "img1.jpg").read_bytes(), (faces_dir / "img3.jpg").read_bytes(), Comparison.SELFIE_VS_DOCUMENT
    )
    assert not other.matched
    assert other.score < other.threshold


def test_matcher_compares_an_image_with_a_stored_embedding(matcher: FaceMatcher, faces_dir: Path) -> None:
    enrolled = matcher.selfie_embedding((faces_dir / "img1.jpg").read_bytes())
    assert matcher.compare_with_embedding((faces_dir / "img2.jpg").read_bytes(), enrolled).matched
    assert not matcher.compare_with_embedding((faces_dir / "img3.jpg").read_bytes(), enrolled).matched


@pytest.mark.parametrize("name", ["couple.jpg", "selfie-many-people.jpg"])
def test_a_selfie_with_several_similar_faces_is_ambiguous(matcher: FaceMatcher, faces_dir: Path, name: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        matcher.selfie_embedding((faces_dir / name).read_bytes())
    assert err.value.code == "face_ambiguous"


def test_document_mode_takes_the_largest_face_of_a_group_photo(
    matcher: FaceMatcher, pipeline: FacePipeline, faces_dir: Path
) -> None:
    image = pipeline.decode((faces_dir / "couple.jpg").read_bytes())
    analysis = pipeline.analyse(image, select="largest")
    assert analysis.faces_found == 2
    assert analysis.face.box.area == max(f.box.area for f in pipeline.detect(image))


def test_all_faces_of_a_group_photo_are_embedded_in_one_batch(pipeline: FacePipeline, faces_dir: Path) -> None:
    analyses = pipeline.analyse_all(pipeline.decode((faces_dir / "selfie-many-people.jpg").read_bytes()))
    assert len(analyses) == 6
    work, _ = pipeline.working_image(pipeline.decode((faces_dir / "selfie-many-people.jpg").read_bytes()))
    faces = pipeline.detector.detect(work)
    singles = [pipeline.embedder.embed_crops([align_face(work.pixels, f)])[0] for f in faces]
    for analysis, single in zip(analyses, singles, strict=True):
        assert analysis.embedding.cosine(single) == pytest.approx(1.0, abs=1e-5)


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None
    return np.asarray(image, dtype=np.uint8)


def _encode(pixels: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", pixels)[1].tobytes()


@pytest.mark.parametrize(
    "pixels",
    [np.full((480, 640, 3), 128, np.uint8), np.zeros((480, 640, 3), np.uint8), np.zeros((1, 1, 3), np.uint8)],
    ids=["grey", "black", "1x1"],
)
def test_images_without_a_face_are_face_not_found(matcher: FaceMatcher, pixels: np.ndarray) -> None:
    with pytest.raises(InvalidArgument) as err:
        matcher.selfie_embedding(_encode(pixels))
    assert err.value.code == "face_not_found"


def test_a_cartoon_smiley_is_not_a_face(matcher: FaceMatcher) -> None:
    canvas = np.full((480, 640, 3), 255, np.uint8)
    cv2.circle(canvas, (320, 240), 150, (0, 220, 255), -1)
    cv2.circle(canvas, (265, 200), 20, (0, 0, 0), -1)
    cv2.circle(canvas, (375, 200), 20, (0, 0, 0), -1)
    cv2.ellipse(canvas, (320, 290), (70, 40), 0, 0, 180, (0, 0, 0), 8)
    with pytest.raises(InvalidArgument) as err:
        matcher.selfie_embedding(_encode(canvas))
    assert err.value.code == "face_not_found"


def test_corrupt_bytes_are_refused_before_any_model_runs(matcher: FaceMatcher, faces_dir: Path) -> None:
    data = (faces_dir / "img1.jpg").read_bytes()
    with pytest.raises(InvalidArgument) as err:
        matcher.selfie_embedding(data[: len(data) // 3])
    assert err.value.code == "image_corrupt"


def test_a_heavily_blurred_selfie_fails_the_blur_gate(matcher: FaceMatcher, faces_dir: Path) -> None:
    image = _read(faces_dir / "img17.jpg")
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=12)
    with pytest.raises(InvalidArgument) as err:
        matcher.selfie_embedding(_encode(blurred))
    assert err.value.code == "face_blurry"


def test_a_dark_selfie_fails_the_exposure_gate(pipeline: FacePipeline, faces_dir: Path) -> None:
    image = _read(faces_dir / "img1.jpg")
    analysis = pipeline.analyse(from_pixels(np.asarray(image * 0.12, dtype=np.uint8)))
    assert "face_underexposed" in analysis.quality.reasons


def test_a_small_face_fails_the_size_gate(pipeline: FacePipeline, faces_dir: Path) -> None:
    image = _read(faces_dir / "img1.jpg")
    small = cv2.resize(image, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[100 : 100 + small.shape[0], 100 : 100 + small.shape[1]] = small
    analysis = pipeline.analyse(from_pixels(canvas))
    assert "face_too_small" in analysis.quality.reasons


def test_aligned_crops_match_opencv_face_recognizer_sf_align_crop(
    pipeline: FacePipeline, registry: ModelRegistry, faces_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "sface.onnx"
    model.write_bytes(fold_model(registry.file_bytes("sface-2021dec"), rewrite_prelu=False))
    reference = cv2.FaceRecognizerSF.create(str(model), "")
    for name in ("img1.jpg", "img11.jpg", "img27.jpg", "img59.jpg"):
        work, _ = pipeline.working_image(pipeline.decode((faces_dir / name).read_bytes()))
        face = pipeline.detector.detect(work)[0]
        row = [face.box.x, face.box.y, face.box.w, face.box.h]
        row += [c for p in face.landmarks.as_tuple() for c in (p.x, p.y)] + [face.box.score]
        theirs = reference.alignCrop(work.pixels, np.asarray(row, np.float32))
        ours = align_face(work.pixels, face)
        assert np.abs(theirs.astype(int) - ours.astype(int)).max() <= 1, name
        ours_vec = pipeline.embedder.raw_vectors(ours[None])[0]
        theirs_vec = reference.feature(theirs).reshape(-1)
        assert float(ours_vec @ (theirs_vec / np.linalg.norm(theirs_vec))) > 0.999, name


def test_the_prelu_rewrite_keeps_sface_outputs(registry: ModelRegistry, session_config: SessionConfig) -> None:
    data = registry.file_bytes("sface-2021dec")
    plain = create_session(fold_model(data, rewrite_prelu=False), session_config)
    rewritten = create_session(fold_model(data, rewrite_prelu=True), session_config)
    x = np.random.default_rng(3).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    a, b = plain.run(None, {"data": x})[0], rewritten.run(None, {"data": x})[0]
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_pivot_pairs_have_no_error_at_the_configured_threshold(
    embeddings: dict[str, np.ndarray], matcher: FaceMatcher, faces_dir: Path, pipeline: FacePipeline
) -> None:
    with (faces_dir / "face-recognition-pivot.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    names = {Path(r[k]).name for r in rows for k in ("file_x", "file_y")}
    vectors = dict(embeddings)
    for name in sorted(names - set(vectors)):
        image = pipeline.decode((faces_dir / name).read_bytes())
        vectors[name] = np.asarray(pipeline.analyse(image, select="largest").embedding.values)
    threshold = matcher.thresholds.selfie_vs_enrolled
    errors = sum(
        (float(vectors[Path(r["file_x"]).name] @ vectors[Path(r["file_y"]).name]) >= threshold)
        != (r["decision"] == "Yes")
        for r in rows
    )
    assert (len(rows), errors) == (280, 0)


ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_selfies_at_the_size_docs_face_md_asks_for_keep_every_labelled_decision(
    pipeline: FacePipeline, matcher: FaceMatcher, faces_dir: Path
) -> None:
    """docs/face.md asks apps for selfies at a given longer side and JPEG quality; re-encoded so, the photographs of
    both pair files give no wrong decision and no face or quality finding the stored photographs do not."""
    wanted = re.search(r"\*\*JPEG, longer side (\d+) px, quality (\d+)\*\*", (ROOT / "docs" / "face.md").read_text())
    assert wanted is not None, "docs/face.md no longer states the selfie size"
    side, quality = int(wanted.group(1)), int(wanted.group(2))
    pairs = [p for name in ("master.csv", "face-recognition-pivot.csv") for p in read_pairs(faces_dir / name)]
    vectors: dict[str, np.ndarray] = {}
    for name in sorted({n for p in pairs for n in (p.a, p.b)}):
        stored = pipeline.decode((faces_dir / name).read_bytes(), reduced=False).pixels
        factor = side / max(stored.shape[:2])
        sized = cv2.resize(stored, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else stored
        data = cv2.imencode(".jpg", sized, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
        analysis = pipeline.analyse(pipeline.decode(data), select="largest")
        assert analysis.quality.passed, (name, analysis.quality.reasons)
        vectors[name] = np.asarray(analysis.embedding.values)
    threshold = matcher.thresholds.selfie_vs_enrolled
    wrong = sum((float(vectors[p.a] @ vectors[p.b]) >= threshold) != p.same for p in pairs)
    assert (len(pairs), wrong) == (580, 0)


def _jpeg_of(pixels: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def test_a_comparison_examines_both_images_at_once_with_the_pair_detector_and_scores_as_one_by_one(
    matcher: FaceMatcher, pipeline: FacePipeline, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = (faces_dir / "img1.jpg").read_bytes(), (faces_dir / "img2.jpg").read_bytes()
    # Each decode waits here for the other: run one after the other, the first would break the barrier.
    both = threading.Barrier(2, timeout=10)
    decoded_on: dict[int, str] = {}
    inline = pipeline_module.decode_image

    def meeting(data: bytes, **kwargs: int) -> object:
        decoded_on[len(data)] = threading.current_thread().name
        both.wait()
        return inline(data, **kwargs)

    detections: list[object] = []
    pair_detect = pipeline.pair_detector.detect

    def counted(image: object) -> object:
        detections.append(image)
        return pair_detect(image)  # type: ignore[arg-type]

    assert pipeline.pair_detector is not pipeline.detector
    monkeypatch.setattr(pipeline_module, "decode_image", meeting)
    monkeypatch.setattr(pipeline.pair_detector, "detect", counted)
    together = matcher.compare_images(one, two, Comparison.SELFIE_VS_ENROLLED)
    assert decoded_on[len(one)] == threading.current_thread().name
    assert decoded_on[len(two)].startswith("face-pair")
    assert len(detections) == 2
    monkeypatch.undo()
    apart = [pipeline.analyse(pipeline.decode(data)) for data in (one, two)]  # one by one, the full detector
    assert together.score == pytest.approx(apart[0].embedding.cosine(apart[1].embedding), abs=1e-5)
    assert together.matched


@pytest.mark.parametrize(("threads", "pair_threads"), [(2, 1), (4, 2), (1, None)])
def test_from_models_dir_gives_comparisons_a_detector_on_half_the_threads(
    monkeypatch: pytest.MonkeyPatch, threads: int, pair_threads: int | None
) -> None:
    made: list[int] = []
    real = pipeline_module.load_detector

    def recorded(registry: ModelRegistry, model_id: str, config: SessionConfig, runners: object = None) -> object:
        made.append(config.intra_op_threads)
        return real(registry, model_id, config, runners)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_module, "load_detector", recorded)
    built = FacePipeline.from_models_dir(MODELS_DIR, threads=threads, allow_gpu=False)
    if pair_threads is None:  # one thread: nothing to halve, comparisons use the detector itself
        assert built.pair_detector is built.detector and made == [threads]
    else:
        assert built.pair_detector is not built.detector and sorted(made) == [pair_threads, threads]
    made.clear()
    # Runners from elsewhere (a model server) take the two detections as two requests: no second detector.
    served = FacePipeline.from_models_dir(MODELS_DIR, threads=threads, allow_gpu=False,
                                          runners=ort_runners(SessionConfig(intra_op_threads=threads, allow_gpu=False)))
    assert served.pair_detector is served.detector and made == [threads]


def test_a_comparison_returns_only_once_every_image_is_finished_even_when_one_fails(
    matcher: FaceMatcher, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = (faces_dir / "img1.jpg").read_bytes(), (faces_dir / "img2.jpg").read_bytes()
    finished: list[int] = []
    inline = pipeline_module.decode_image

    def failing_first(data: bytes, **kwargs: int) -> object:
        if data is one:
            raise RuntimeError("the model host went away")
        time.sleep(0.3)
        decoded = inline(data, **kwargs)
        finished.append(len(data))
        return decoded

    monkeypatch.setattr(pipeline_module, "decode_image", failing_first)
    with pytest.raises(RuntimeError):
        matcher.compare_images(one, two, Comparison.SELFIE_VS_ENROLLED)
    assert finished == [len(two)]


@pytest.mark.parametrize(
    ("probe", "reference", "code"),
    [("grey", "corrupt", "image_corrupt"), ("corrupt", "couple.jpg", "image_corrupt"),
     ("grey", "couple.jpg", "face_not_found"), ("couple.jpg", "grey", "face_ambiguous"),
     ("img1.jpg", "grey", "face_not_found"), ("grey", "img1.jpg", "face_not_found")],
)
def test_a_comparison_refuses_as_if_both_images_were_decoded_before_either_was_searched(
    matcher: FaceMatcher, faces_dir: Path, probe: str, reference: str, code: str
) -> None:
    photo = (faces_dir / "img1.jpg").read_bytes()
    special = {"grey": _jpeg_of(np.full((960, 1280, 3), 128, np.uint8)), "corrupt": photo[: len(photo) // 3]}

    def data(name: str) -> bytes:
        return special.get(name) or (faces_dir / name).read_bytes()

    with pytest.raises(InvalidArgument) as err:
        matcher.compare_images(data(probe), data(reference), Comparison.SELFIE_VS_ENROLLED)
    assert err.value.code == code


@pytest.mark.parametrize("name", ["img1.jpg", "img40.jpg"])
def test_a_reduced_decode_measures_the_face_in_stored_pixels(
    pipeline: FacePipeline, faces_dir: Path, name: str
) -> None:
    data = (faces_dir / name).read_bytes()
    full, reduced = pipeline.decode(data, reduced=False), pipeline.decode(data)
    assert full.scale == 1.0 and reduced.scale < 1.0
    assert max(reduced.width, reduced.height) >= pipeline.work_side
    sizes = [dict(pipeline.analyse(image, select="largest").quality.metrics)["face_px"] for image in (full, reduced)]
    assert sizes[1] == pytest.approx(sizes[0], rel=0.03)
    same = pipeline.analyse(full, select="largest").embedding.cosine(pipeline.analyse(reduced,
                                                                                     select="largest").embedding)
    assert same > 0.94  # about what re-encoding the photograph at JPEG quality 95 changes (up to 0.055)


@pytest.mark.parametrize(("shrink", "too_small"), [(0.08, True), (0.15, False)])
def test_the_size_gate_judges_a_reduced_photograph_in_its_stored_pixels(
    pipeline: FacePipeline, faces_dir: Path, shrink: float, too_small: bool
) -> None:
    face = cv2.resize(_read(faces_dir / "img1.jpg"), None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    canvas = np.full((1000, 1400, 3), 90, np.uint8)  # decoded at half size
    canvas[300 : 300 + face.shape[0], 500 : 500 + face.shape[1]] = face
    image = pipeline.decode(_jpeg_of(canvas))
    assert image.scale == 0.5
    analysis = pipeline.analyse(image)
    face_px = dict(analysis.quality.metrics)["face_px"]
    assert (face_px < pipeline.limits.min_face_px) is too_small
    assert ("face_too_small" in analysis.quality.reasons) is too_small
