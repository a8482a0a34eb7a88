"""The segmentation split table, the split-part loader and the sanity checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from celldyn.segment.sanity import check_segmentation

ROOT = Path(__file__).resolve().parents[2]


def _splits():
    spec = importlib.util.spec_from_file_location("_test_splits", ROOT / "benchmarks" /
                                                  "splits.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _rect(unit, shape):
    from celldyn.segment.deep.datasets import _units

    _, _, ys, xs = _units("x", unit)[0]
    y = range(*ys.indices(shape[0]))
    x = range(*xs.indices(shape[1]))
    return y, x


def test_segmentation_parts_are_disjoint():
    mod = _splits()
    assert len(mod.SEGMENTATION) >= 14
    for name, sp in mod.SEGMENTATION.items():
        assert sp.set == name and sp.unit in ("movie", "frame", "image", "region")
        parts = [sp.train, sp.validation, sp.test]
        assert any(parts), name
        for i in range(3):
            for j in range(i + 1, 3):
                assert not set(parts[i]) & set(parts[j]), (name, i, j)
        if sp.unit == "region":                 # rectangles of one image never overlap
            for a_part in range(3):
                for b_part in range(a_part + 1, 3):
                    for a in parts[a_part]:
                        for b in parts[b_part]:
                            if a.split("[")[0] != b.split("[")[0]:
                                continue
                            ya, xa = _rect(a, (2000, 2000))
                            yb, xb = _rect(b, (2000, 2000))
                            overlap = (min(ya.stop, yb.stop) > max(ya.start, yb.start)
                                       and min(xa.stop, xb.stop) > max(xa.start, xb.start))
                            assert not overlap, (name, a, b)
    # the embedded demo's crop is the E. coli colony's test part
    eco = mod.SEGMENTATION["PhC-C2DL-EcoliColony-vanVliet-01"]
    assert eco.test == ("t000-039[590:910,330:650]",)


def test_demo_frames_are_the_test_part():
    """The demo movie's pixels are exactly the test part: no demo pixel is trained on."""
    mod = _splits()
    data = mod.SHARED_DATA
    if not (data / "PhC-C2DL-EcoliColony-vanVliet-01").is_dir():
        pytest.skip("shared data not present")
    pytest.importorskip("tifffile")
    from celldyn.io import read_movie
    from celldyn.segment.deep.datasets import load_part

    items = load_part(mod.SEGMENTATION["PhC-C2DL-EcoliColony-vanVliet-01"], "test", data)
    demo = read_movie(ROOT / "src" / "celldyn" / "data" / "ecoli_demo" / "movie.ome.tif")
    assert len(items) == demo.n_frames == 40
    for t, it in enumerate(items):
        assert np.array_equal(it.image, np.asarray(demo.data[t]))
    train = load_part(mod.SEGMENTATION["PhC-C2DL-EcoliColony-vanVliet-01"], "train", data)
    assert train and all(it.image.shape[0] in (590, 394) for it in train)


def test_sanity_clean_movie_has_no_findings():
    lab = np.zeros((4, 64, 64), dtype=np.int32)
    for t in range(4):
        for k in range(5 + t):
            lab[t, 4 + 6 * k: 8 + 6 * k, 10:16] = k + 1
    assert check_segmentation(lab) == []


def test_sanity_finds_each_pathology():
    lab = np.zeros((6, 100, 100), dtype=np.int32)
    lab[0, 10:20, 10:20] = 1                       # fine
    lab[1, :, :80] = 1                             # one object covers 80%
    # frame 2 empty
    grid = (np.arange(100)[:, None] // 2) * 50 + np.arange(100)[None, :] // 2
    lab[3] = grid + 1                              # 2500 objects of 4 px: fragments
    lab[4, 10:20, 10:20] = 1
    for k in range(12):                            # 1 -> 12 objects: a jump
        lab[5, 5 + 7 * k: 10 + 7 * k, 50:55] = k + 1
    found = {f.kind: f for f in check_segmentation(lab)}
    assert found["covering"].frames == (1,)
    assert found["empty"].frames == (2,)
    assert found["fragments"].frames == (3,)
    assert 4 in found["jumps"].frames and 5 in found["jumps"].frames
    for f in found.values():
        assert "\n" not in f.message and "try" in f.message
        assert "--plane" not in f.message                 # a 2D movie


def test_an_empty_frame_is_its_own_finding_not_a_count_jump():
    """A blank frame (a shutter that failed) between frames of 12 objects is reported
    as empty; the jumps to and from it are not reported again as instability."""
    lab = np.zeros((3, 100, 100), dtype=np.int32)
    for t in (0, 2):
        for k in range(12):
            lab[t, 5 + 7 * k: 10 + 7 * k, 50:55] = k + 1
    found = {f.kind: f for f in check_segmentation(lab)}
    assert found["empty"].frames == (1,) and "jumps" not in found
    lab[2, :, :] = 0
    lab[2, 10:20, 10:20] = 1                       # 12 -> 0 -> 1: still no jump
    assert "jumps" not in {f.kind for f in check_segmentation(lab)}
    lab[1] = lab[0]                                # 12 -> 12 -> 1: a real jump
    assert {f.kind: f for f in check_segmentation(lab)}["jumps"].frames == (1, 2)


def test_sanity_suggests_one_plane_for_a_thin_stack_only():
    thin = np.zeros((2, 5, 60, 60), dtype=np.int32)    # TZYX: 5 focal planes
    thin[0, :, 5:10, 5:10] = 1
    for k in range(12):                                # 1 -> 12 objects: a jump
        thin[1, :, 4 * k:4 * k + 3, 30:33] = k + 1
    jumps = {f.kind: f for f in check_segmentation(thin)}["jumps"]
    assert "--plane middle" in jumps.message
    deep = np.zeros((2, 20, 60, 60), dtype=np.int32)   # a volume of 20 planes
    deep[:, :] = thin[:, :1]
    assert "--plane" not in {f.kind: f for f in check_segmentation(deep)}["jumps"].message


@pytest.mark.parametrize("spacing", [None, (0.3, 0.7)])
def test_sanity_from_the_objects_table_equals_reading_the_frames(spacing):
    """check_segmentation(labels, objects=...) takes its numbers from the measured
    objects (no second pass over the frames) and finds what reading the frames finds."""
    from celldyn.measure import measure_objects
    from celldyn.segment.sanity import frame_stats

    lab = np.zeros((7, 100, 100), dtype=np.int32)
    lab[0, 10:20, 10:20] = 1
    lab[1, :, :80] = 1
    grid = (np.arange(100)[:, None] // 2) * 50 + np.arange(100)[None, :] // 2
    lab[3] = grid + 1
    lab[4, 10:20, 10:20] = 1
    for k in range(12):
        lab[5, 5 + 7 * k: 10 + 7 * k, 50:55 + k % 3] = k + 1
    lab[6, 3:9, 3:12] = 4
    objects = measure_objects(lab, spacing=spacing)

    class ShapeOnly:  # the frames cannot be read: only the shape is used
        shape = lab.shape

        def __getitem__(self, t):
            raise AssertionError("a frame was read")

    got = frame_stats(ShapeOnly(), objects=objects, spacing=spacing)
    for a, b in zip(got, frame_stats(lab)):
        np.testing.assert_allclose(a, b)
    assert check_segmentation(ShapeOnly(), objects=objects, spacing=spacing) == \
        check_segmentation(lab)


def test_sanity_all_empty_and_bad_shape():
    found = check_segmentation(np.zeros((3, 8, 8), dtype=np.int32))
    assert [f.kind for f in found] == ["empty"] and "any frame" in found[0].message
    with pytest.raises(ValueError):
        check_segmentation(np.zeros((8, 8), dtype=np.int32))
