"""The deep post-processing's floor on object width (slivers): a 3 px wide strip cut off
a cell goes, a round cell and a 5 px wide rod stay; generalist2d ships the floor
(4 image pixels, chosen on the validation parts) and ``min_width_px`` 0 turns it off."""

from __future__ import annotations

import numpy as np

from celldyn.segment.deep.heads.postprocess import instances_from_maps, object_widths
from celldyn.segment.deep.inference import _post_kwargs


def _maps():
    """Probability and distance maps of a disc (radius 10), a 5 px wide rod and a 3 px
    wide strip, each its own marker."""
    shape = (64, 128)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    disc = (yy - 20) ** 2 + (xx - 20) ** 2 < 100
    rod = (yy >= 40) & (yy < 45) & (xx >= 10) & (xx < 60)
    strip = (yy >= 10) & (yy < 13) & (xx >= 40) & (xx < 120)   # 240 px: over min_size
    fg = disc | rod | strip
    prob = np.zeros((3, *shape), np.float32)
    prob[0] = np.where(fg, 0.0, 1.0)
    prob[1] = 1.0 - prob[0]
    dist = np.where(fg, 1.0, 0.0).astype(np.float32)
    return prob, dist, disc, rod, strip


def test_widths_measure_the_narrowest_part_not_the_length():
    _, _, disc, rod, strip = _maps()
    lab = np.zeros(disc.shape, np.int32)
    lab[disc], lab[rod], lab[strip] = 1, 2, 3
    w = object_widths(lab)
    assert w[3] == 3.0 and w[2] == 5.0      # 80 and 50 px long: the length does not count
    assert w[1] >= 17.0


def test_floor_drops_the_strip_only():
    prob, dist, disc, rod, strip = _maps()
    kept = instances_from_maps(prob, dist, fg_threshold=0.5, marker_threshold=0.5,
                               min_size=16, min_width=4)
    assert kept.max() == 2
    assert (kept[disc] > 0).all() and (kept[rod] > 0).all() and not kept[strip].any()
    every = instances_from_maps(prob, dist, fg_threshold=0.5, marker_threshold=0.5,
                                min_size=16)
    assert every.max() == 3                 # no floor by default


def test_floor_is_in_image_pixels_whatever_the_zoom():
    for zoom in (0.5, 1.0, 2.5):
        kw = _post_kwargs({"min_size": 150, "min_width_px": 4}, zoom)
        assert kw["min_width"] == 4.0
    assert _post_kwargs({"min_size": 150}, 2.0)["min_width"] == 0.0


def test_generalist_ships_the_floor_and_a_user_can_lift_it(monkeypatch):
    """Through the shipped model's own thresholds (the network's maps replaced by the
    three shapes above, at zoom 1)."""
    from celldyn.segment.deep import inference, load_segmenter

    seg = load_segmenter("generalist2d")
    assert seg.thresholds["min_width_px"] == 4
    prob, dist, disc, rod, strip = _maps()
    monkeypatch.setattr(inference, "predict_maps", lambda *a, **k: (prob, dist))
    shipped = seg.segment(np.zeros(disc.shape, np.float32), diameter=seg.target_diameter)
    lifted = seg.segment(np.zeros(disc.shape, np.float32), diameter=seg.target_diameter,
                         thresholds={"min_width_px": 0})
    assert shipped.max() == 2 and not shipped[strip].any()
    assert lifted.max() == 3 and (lifted[strip] > 0).all()


def test_erosion_agrees_with_the_distance_transform():
    """narrow_ids (one erosion, what the post-processing runs) drops exactly the
    objects object_widths (a distance transform) finds narrower, in 2D and 3D."""
    from skimage.segmentation import watershed

    from celldyn.segment.deep.heads.postprocess import narrow_ids

    rng = np.random.default_rng(0)
    for shape in ((96, 128), (24, 40, 40)):
        seeds = np.zeros(shape, np.int32)
        pts = tuple(rng.integers(0, s, 60) for s in shape)
        seeds[pts] = np.arange(1, 61)
        fg = rng.random(shape) < 0.8
        lab = watershed(np.zeros(shape), seeds, mask=fg)   # ragged, touching objects
        w = object_widths(lab)
        for floor in (2, 3, 4, 5, 6.5, 9):
            expect = np.flatnonzero((w < floor) & (w > 0))
            assert narrow_ids(lab, floor).tolist() == expect.tolist(), (shape, floor)


def test_a_mistyped_or_negative_level_is_a_one_line_error():
    import pytest

    from celldyn.errors import ConfigError
    from celldyn.segment.api import _check_deep_params

    _check_deep_params({"thresholds": {"min_width_px": 0, "marker_h": 0.25}})
    with pytest.raises(ConfigError, match="unknown name 'min_width'"):
        _check_deep_params({"thresholds": {"min_width": 0}})
    with pytest.raises(ConfigError, match="0 or more"):
        _check_deep_params({"thresholds": {"marker_h": -1}})
