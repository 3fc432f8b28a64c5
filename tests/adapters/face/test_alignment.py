"""The closed-form similarity of the five-point alignment against Umeyama's SVD route."""

from __future__ import annotations

import numpy as np
import pytest

from idverify.ml.alignment import ARCFACE_112, similarity_transform


def umeyama_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) by the singular value decomposition, rotation restricted to det +1."""
    n = src.shape[0]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.array([1.0, -1.0 if np.linalg.det(cov) < 0 else 1.0])
    rotation = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / n
    scale = (s * d).sum() / var_src if var_src > 0 else 1.0
    return np.hstack([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]])


@pytest.mark.parametrize("seed", range(40))
def test_the_closed_form_equals_the_svd_route(seed: int) -> None:
    rng = np.random.default_rng(seed)
    src = ARCFACE_112 * rng.uniform(0.5, 6.0) + rng.normal(0, 4.0, (5, 2)) + rng.uniform(0, 900, 2)
    if seed % 2:  # a mirrored face: the best fit still rotates, never reflects
        src[:, 0] = -src[:, 0]
    ours, theirs = similarity_transform(src, ARCFACE_112), umeyama_svd(src, ARCFACE_112)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    assert np.linalg.det(ours[:, :2]) > 0


def test_an_exact_similarity_is_recovered() -> None:
    angle, scale, shift = 0.3, 2.5, np.array([40.0, -7.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.random.default_rng(1).uniform(0, 200, (5, 2))
    dst = src @ (scale * rotation).T + shift
    matrix = similarity_transform(src, dst)
    np.testing.assert_allclose(src @ matrix[:, :2].T + matrix[:, 2], dst, atol=1e-9)


def test_points_all_in_one_place_give_a_translation() -> None:
    src = np.full((5, 2), 7.0)
    np.testing.assert_allclose(similarity_transform(src, ARCFACE_112), umeyama_svd(src, ARCFACE_112), atol=1e-12)
