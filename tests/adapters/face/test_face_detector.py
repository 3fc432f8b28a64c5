"""YuNet on onnxruntime with our own pre/post-processing, checked against OpenCV's FaceDetectorYN."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from idverify.ml.detector import YuNetDetector, letterbox, load_detector, to_tensor
from idverify.ml.imaging import decode_image
from idverify.ml.model_registry import ModelRegistry
from idverify.ml.onnx_sessions import SessionConfig

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def detector(registry: ModelRegistry, session_config: SessionConfig) -> YuNetDetector:
    det = load_detector(registry, "yunet-2023mar", session_config)
    assert isinstance(det, YuNetDetector)
    return det


def test_detections_match_opencv_face_detector_yn_on_the_same_folded_model(
    detector: YuNetDetector, registry: ModelRegistry, faces_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "yunet.onnx"
    model.write_bytes(registry.model_bytes("yunet-2023mar"))
    reference = cv2.FaceDetectorYN.create(str(model), "", (640, 640), 0.6, 0.3, 5000)
    compared = 0
    for name in ("img1.jpg", "img12.jpg", "img27.jpg", "couple.jpg", "selfie-many-people.jpg"):
        image = decode_image((faces_dir / name).read_bytes())
        ours = detector.detect(image)
        lb = letterbox(image.pixels, detector.spec)
        canvas = np.ascontiguousarray(lb.tensor[0].transpose(1, 2, 0).astype(np.uint8))
        _, theirs = reference.detect(canvas)
        assert theirs is not None, name
        assert len(ours) == len(theirs), name
        for face, row in zip(ours, theirs, strict=True):
            mine = [face.box.x, face.box.y, face.box.w, face.box.h]
            mine += [c for p in face.landmarks.as_tuple() for c in (p.x, p.y)]
            ref = row[:14] / lb.scale
            # Ours clips boxes to the image; FaceDetectorYN does not.
            x1, y1 = max(0.0, ref[0]), max(0.0, ref[1])
            x2, y2 = min(image.width, ref[0] + ref[2]), min(image.height, ref[1] + ref[3])
            ref[:4] = [x1, y1, x2 - x1, y2 - y1]
            np.testing.assert_allclose(mine, ref, atol=0.05)
            assert face.box.score == pytest.approx(float(row[14]), abs=1e-3)
            compared += 1
    assert compared >= 10


def test_one_face_with_image_left_eye_left_of_image_right_eye_and_nose_between(
    detector: YuNetDetector, faces_dir: Path
) -> None:
    faces = detector.detect(decode_image((faces_dir / "img1.jpg").read_bytes()))
    assert len(faces) == 1
    lm = faces[0].landmarks
    assert lm.eye_image_left.x < lm.nose_tip.x < lm.eye_image_right.x
    assert lm.mouth_image_left.x < lm.mouth_image_right.x
    assert max(lm.eye_image_left.y, lm.eye_image_right.y) < lm.nose_tip.y < lm.mouth_image_left.y
    box = faces[0].box
    assert box.x <= lm.nose_tip.x <= box.x + box.w
    assert faces[0].detector_id == "yunet-2023mar"


def test_a_plain_grey_image_has_no_face(detector: YuNetDetector) -> None:
    from idverify.ml.imaging import from_pixels

    assert detector.detect(from_pixels(np.full((480, 640, 3), 128, dtype=np.uint8))) == []


@pytest.mark.parametrize(
    ("colour", "mean", "std", "size"),
    [("BGR", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (480, 640)), ("RGB", (127.5, 120.0, 110.0), (128.0, 64.0, 32.0),
                                                             (640, 427)),
     ("RGB", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (900, 1300))],
)
def test_the_letterbox_tensor_is_the_padded_canvas_converted_value_for_value(
    registry: ModelRegistry, colour: str, mean: tuple[float, float, float], std: tuple[float, float, float],
    size: tuple[int, int],
) -> None:
    spec = replace(registry.spec("yunet-2023mar"), colour=colour, mean=mean, std=std)
    pixels = np.random.default_rng(5).integers(0, 256, (*size, 3), dtype=np.uint8)
    lb = letterbox(pixels, spec)
    resized = pixels if lb.scale == 1.0 else cv2.resize(
        pixels, (round(size[1] * lb.scale), round(size[0] * lb.scale)), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((spec.input_height, spec.input_width, 3), dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    expected = to_tensor(canvas[np.newaxis], spec)
    assert lb.tensor.dtype == np.float32 and lb.tensor.flags.c_contiguous
    assert np.array_equal(lb.tensor, expected)


@pytest.mark.parametrize(("mean", "std"), [((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
                                           ((127.5, 120.0, 110.0), (128.0, 64.0, 32.0))])
def test_a_reused_letterbox_buffer_holds_exactly_the_fresh_tensor_of_each_image_in_turn(
    registry: ModelRegistry, mean: tuple[float, float, float], std: tuple[float, float, float]
) -> None:
    spec = replace(registry.spec("yunet-2023mar"), colour="RGB", mean=mean, std=std)
    rng = np.random.default_rng(11)
    buffer = np.full((1, 3, spec.input_height, spec.input_width), 7.0, dtype=np.float32)  # stale values everywhere
    # Large, then narrower, then shorter: each time, what the previous image left past the new one's edges must go.
    for size in ((640, 640), (640, 300), (200, 640), (900, 1300), (37, 51)):
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        reused = letterbox(pixels, spec, buffer)
        fresh = letterbox(pixels, spec)
        assert reused.tensor is buffer
        assert reused.scale == fresh.scale
        assert np.array_equal(reused.tensor, fresh.tensor), size


def test_a_letterbox_buffer_of_the_wrong_shape_or_type_is_refused(registry: ModelRegistry) -> None:
    spec = registry.spec("yunet-2023mar")
    pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    for wrong in (np.zeros((1, 3, 320, 320), dtype=np.float32),
                  np.zeros((1, 3, spec.input_height, spec.input_width), dtype=np.float64)):
        with pytest.raises(ValueError, match="letterbox buffer"):
            letterbox(pixels, spec, wrong)  # type: ignore[arg-type]


def test_detections_on_threads_reusing_their_buffers_equal_one_at_a_time_detections(
    detector: YuNetDetector, faces_dir: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images = [decode_image((faces_dir / name).read_bytes())
              for name in ("img1.jpg", "couple.jpg", "img12.jpg", "selfie-many-people.jpg")]
    expected = {n: detector.detect(image) for n, image in enumerate(images)}
    with ThreadPoolExecutor(max_workers=3) as pool:
        got = list(pool.map(lambda n: (n % len(images), detector.detect(images[n % len(images)])), range(24)))
    assert all(faces == expected[n] for n, faces in got)
    assert sum(len(faces) for faces in expected.values()) >= 4
