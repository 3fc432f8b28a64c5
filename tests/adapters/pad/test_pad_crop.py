"""The upstream crop rule: scale about the centre, never larger than the image, shifted (not shrunk) inside."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.domain.errors import InvalidArgument
from idverify.ml.pad.crop import check_face_box, crop_patch, crop_window, to_input


def test_centred_box_is_scaled_about_its_centre() -> None:
    win = crop_window(640, 480, (300.0, 200.0, 40.0, 50.0), 2.7)
    assert (win.left, win.top, win.right, win.bottom) == (266, 157, 374, 292)


def test_box_near_the_left_top_corner_is_shifted_inside_keeping_its_size() -> None:
    win = crop_window(640, 480, (0.0, 0.0, 60.0, 80.0), 4.0)
    assert (win.left, win.top) == (0, 0)
    assert (win.right, win.bottom) == (240, 320)


def test_box_near_the_right_bottom_corner_ends_on_the_last_pixel() -> None:
    win = crop_window(640, 480, (600.0, 440.0, 40.0, 40.0), 2.7)
    assert (win.right, win.bottom) == (639, 479)
    assert (win.left, win.top) == (531, 371)


def test_scale_is_lowered_so_the_crop_fits_the_image() -> None:
    win = crop_window(480, 640, (100.0, 100.0, 300.0, 400.0), 4.0)
    assert win.left >= 0
    assert win.top >= 0
    assert win.right <= 479
    assert win.bottom <= 639
    assert win.bottom - win.top == 638  # (H-1)/h limits the scale


@given(x=st.floats(-100, 700), y=st.floats(-100, 500), w=st.floats(8, 900), h=st.floats(8, 900),
       scale=st.sampled_from([2.7, 4.0]))
def test_crop_window_always_lies_inside_the_image(x: float, y: float, w: float, h: float, scale: float) -> None:
    win = crop_window(640, 480, (x, y, w, h), scale)
    assert 0 <= win.left <= win.right <= 639
    assert 0 <= win.top <= win.bottom <= 479


def test_patch_is_80x80_bgr_and_input_is_unnormalised_nchw_float32() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    image[..., 0] = 200  # blue
    patch = crop_patch(image, (10.0, 10.0, 60.0, 60.0), 4.0, 80)
    batch = to_input([patch, patch])
    assert patch.shape == (80, 80, 3)
    assert batch.shape == (2, 3, 80, 80)
    assert batch.dtype == np.float32
    assert batch[0, 0].max() == 200.0
    assert batch[0, 2].max() == 0.0


def test_face_under_the_minimum_size_is_a_quality_failure_not_a_verdict() -> None:
    with pytest.raises(InvalidArgument) as err:
        check_face_box(640, 480, (100.0, 100.0, 20.0, 40.0))
    assert err.value.code == "pad_face_too_small"


@pytest.mark.parametrize("box", [(700.0, 100.0, 50.0, 50.0), (10.0, 10.0, 0.0, 50.0), (float("nan"), 1.0, 50.0, 50.0)])
def test_degenerate_or_outside_box_is_refused(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_face_box(640, 480, box)
    assert err.value.code == "pad_face_box_invalid"
