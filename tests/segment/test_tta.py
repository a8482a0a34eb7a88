"""Test-time augmentation of the deep segmenter (``tta``: maps averaged over symmetries
of the square)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from celldyn.errors import ConfigError  # noqa: E402
from celldyn.segment.deep import load_segmenter  # noqa: E402
from celldyn.segment.deep.inference import (  # noqa: E402
    SYMMETRIES,
    apply_symmetry,
    predict_maps,
    predict_maps_tta,
    segment_image,
    undo_symmetry,
)


@pytest.fixture(scope="module")
def frame():
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=1, shape=(96, 128), n_objects=8, radius=(6, 9), rng=3)
    return np.asarray(sim.movie.data[0], np.float32)


@pytest.fixture(scope="module")
def seg():
    return load_segmenter("generalist2d")


def test_symmetries_are_undone():
    a = np.arange(12.0).reshape(3, 4)
    assert len(set(SYMMETRIES)) == 8 and SYMMETRIES[0] == (0, False)
    for k, flip in SYMMETRIES:
        turned = apply_symmetry(k, flip, a)
        assert np.array_equal(undo_symmetry(k, flip, turned), a)
    # the four rotations first: tta=4 never flips
    assert not any(f for _, f in SYMMETRIES[:4])


def test_tta_maps_are_the_maps_of_each_turned_frame(seg, frame):
    probs, dists = predict_maps_tta(seg.net, frame, n=3)
    assert probs.shape == (3, 3, *frame.shape) and dists.shape == (3, *frame.shape)
    assert np.allclose(probs[0], predict_maps(seg.net, frame)[0], atol=1e-5)
    from celldyn.segment.classical import normalize_frame

    k, flip = SYMMETRIES[2]
    p, _ = predict_maps(seg.net, np.ascontiguousarray(apply_symmetry(k, flip, normalize_frame(
        frame))), normalized=True)
    assert np.allclose(probs[2], undo_symmetry(k, flip, p), atol=1e-5)
    # a constant frame is background under every symmetry
    probs, _ = predict_maps_tta(seg.net, np.ones((64, 64), np.float32), n=4)
    assert probs.shape[0] == 4 and np.all(probs[:, 0] == 1)


def test_tta_one_is_the_plain_segmentation(seg, frame):
    plain = seg.segment(frame, diameter=15.0)
    assert np.array_equal(seg.segment(frame, diameter=15.0, tta=1), plain)
    assert seg.config.get("tta", 1) == 1     # the shipped default: no augmentation
    four = seg.segment(frame, diameter=15.0, tta=4)
    assert four.shape == plain.shape and four.max() > 0
    # the same as averaging the maps by hand
    z = seg.zoom_for(15.0)
    probs, dists = predict_maps_tta(seg.net, frame, n=4, zoom=z)
    from celldyn.segment.deep.heads.postprocess import instances_from_maps
    from celldyn.segment.deep.inference import _post_kwargs

    by_hand = instances_from_maps(probs.mean(axis=0), dists.mean(axis=0),
                                  **_post_kwargs(seg.thresholds, z))
    assert np.array_equal(four, by_hand)
    assert np.array_equal(segment_image(seg.net, frame, seg.thresholds, zoom=z, tta=4), four)


def test_tta_through_segment_movie(frame):
    from celldyn.segment import segment_movie

    movie = np.stack([frame, frame[::-1]])
    out = segment_movie(movie, segmenter="deep", model="generalist2d",
                        params={"tta": 2, "diameter": 15.0})
    assert out.shape == movie.shape and out.max() > 0


@pytest.mark.parametrize("bad", [0, 9, 2.5, True, "4"])
def test_bad_tta_is_a_one_line_error(bad):
    from celldyn.config import RunConfig

    with pytest.raises(ConfigError, match="tta must be a whole number from 1 to 8"):
        RunConfig(segmenter="deep", method_params={"tta": bad})


def test_tta_on_a_3d_model_warns_and_is_ignored():
    from celldyn.segment import segment_movie
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=3, n_frames=1, shape=(8, 32, 32), n_objects=2, rng=0)
    with pytest.warns(UserWarning, match="tta=2 is ignored: .* nuclei3d is 3D"):
        segment_movie(sim.movie, segmenter="deep", model="nuclei3d", params={"tta": 2})
