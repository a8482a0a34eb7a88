"""Tests of celldyn.simulate: shapes, determinism, divisions, merges, no overlap, 3D."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from celldyn.errors import InputError
from celldyn.simulate import SimulatedMovie, simulate_movie
from celldyn.track.graph import assign_tracklets, check_ctc_table, ctc_table_from_graph


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_shapes_dtypes_and_metadata(ndim):
    sim = simulate_movie(ndim=ndim, n_frames=4, rng=0)
    assert isinstance(sim, SimulatedMovie)
    shape = (4, 64, 64) if ndim == 2 else (4, 16, 64, 64)
    assert sim.movie.data.shape == shape and sim.movie.data.dtype == np.uint16
    assert sim.labels.shape == shape and sim.labels.dtype == np.int32
    assert sim.movie.axes == ("TYX" if ndim == 2 else "TZYX")
    assert sim.movie.spacing == (1.0,) * ndim and sim.movie.frame_interval == 1.0
    # no events: the 8 objects live through the whole movie, ids 1..8
    assert sim.table.values.tolist() == [[i, 0, 3, 0] for i in range(1, 9)]
    for frame in sim.labels:
        assert sorted(np.unique(frame)) == list(range(9))
    assert sim.graph.number_of_nodes() == 32 and sim.graph.number_of_edges() == 24


def test_objects_brighter_than_background():
    sim = simulate_movie(rng=1, photons=200, background=100)
    img, lab = sim.movie.data.astype(float), sim.labels
    assert img[lab > 0].mean() > img[lab == 0].mean() + 60
    clean = simulate_movie(rng=1, noise=False, blur=0)
    # noise-free, unblurred: the background is exactly the offset
    assert np.all(clean.movie.data[clean.labels == 0] == 100)


def test_deterministic():
    kw = dict(n_frames=8, division_rate=0.2, merge_rate=0.2, appear_rate=0.5)
    a, b = simulate_movie(rng=7, **kw), simulate_movie(rng=7, **kw)
    assert np.array_equal(a.movie.data, b.movie.data)
    assert np.array_equal(a.labels, b.labels)
    assert a.table.equals(b.table)
    c = simulate_movie(rng=np.random.default_rng(7), **kw)
    assert np.array_equal(a.labels, c.labels)
    d = simulate_movie(rng=8, **kw)
    assert not np.array_equal(a.labels, d.labels)


def _check_truth(sim):
    table = check_ctc_table(sim.table)
    # every track is present exactly on frames begin..end, as one connected object
    for row in table.itertuples():
        present = [(f == row.label).any() for f in sim.labels]
        assert [t for t, p in enumerate(present) if p] == list(range(row.begin, row.end + 1))
    for frame in sim.labels:
        for lab in np.unique(frame)[1:]:
            assert ndi.label(frame == lab)[1] == 1
    return table


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_divisions(ndim):
    sim = simulate_movie(ndim=ndim, n_frames=12, division_rate=0.15, rng=3)
    table = _check_truth(sim)
    children = table[table.parent > 0]
    assert len(children) >= 4
    end = dict(zip(table.label, table.end))
    for parent, kids in children.groupby("parent"):
        assert len(kids) == 2  # a division has two daughters
        assert (kids.begin == end[parent] + 1).all()
    # daughters have about half the parent's size
    for parent, kids in children.groupby("parent"):
        t = end[parent]
        size_p = (sim.labels[t] == parent).sum()
        sizes = [(sim.labels[t + 1] == k).sum() for k in kids.label]
        assert 0.3 * size_p < np.mean(sizes) < 0.75 * size_p
    g = sim.graph
    n_div = sum(1 for n in g if g.out_degree(n) == 2)
    assert n_div == children.parent.nunique()
    # the graph gives back the table
    g2 = g.copy()
    assign_tracklets(g2)
    assert len(ctc_table_from_graph(g2)) == len(table)


def test_merges_and_borders():
    sim = simulate_movie(
        n_frames=20, merge_rate=0.5, appear_rate=0.5, boundary="leave",
        drift=(0.5, 1.0), rng=4,
    )  # fmt: skip
    table = _check_truth(sim)
    assert len(sim.merges) >= 2
    g = sim.graph
    assert sum(1 for n in g if g.in_degree(n) == 2) == sim.merges.label.nunique()
    merged = table.set_index("label").loc[sim.merges.label.unique()]
    assert (merged.parent == 0).all()  # CTC cannot encode merges
    # objects leave (tracks end early) and enter (tracks begin late, no parent)
    assert (table.end < 19).any()
    assert ((table.begin > 0) & (table.parent == 0)).any()


def test_no_overlap_and_gaps_in_crowded_scene():
    sim = simulate_movie(n_objects=12, n_frames=10, speed=3.0, min_gap=2.0, rng=5)
    _check_truth(sim)
    for frame in sim.labels:
        # objects are apart: dilating each by one pixel never touches another
        grown = ndi.grey_dilation(frame, size=3)
        assert np.all((grown == frame) | (frame == 0) | (grown == 0))


def test_anisotropic_3d():
    sim = simulate_movie(ndim=3, n_frames=2, spacing=(2.0, 0.5, 0.5), radius=(5, 5),
                         n_objects=3, rng=6)  # fmt: skip
    assert sim.movie.spacing == (2.0, 0.5, 0.5)
    obj = sim.labels[0] == 1
    zs, ys, _ = np.nonzero(obj)
    # round in space: 4x fewer slices than rows
    assert 2.5 < np.ptp(ys) / max(np.ptp(zs), 1) < 6


def test_invalid_parameters():
    with pytest.raises(InputError, match="ndim"):
        simulate_movie(ndim=4)
    with pytest.raises(InputError, match="could not place"):
        simulate_movie(n_objects=200, rng=0)
    with pytest.raises(InputError, match="division_rate"):
        simulate_movie(division_rate=2)


def test_colony_grows_divides_and_is_deterministic():
    from celldyn.simulate import simulate_colony

    sim = simulate_colony(n_frames=14, shape=(160, 160), rng=5)
    table = _check_truth(sim)
    again = simulate_colony(n_frames=14, shape=(160, 160), rng=5)
    assert np.array_equal(sim.labels, again.labels)
    assert np.array_equal(np.asarray(sim.movie.data), np.asarray(again.movie.data))
    counts = [len(np.unique(f)) - 1 for f in sim.labels]
    assert counts[0] == 2 and counts[-1] >= 4 * counts[0]  # ~2 doublings in 12 frames
    children = table[table.parent > 0]
    end = dict(zip(table.label, table.end))
    for parent, kids in children.groupby("parent"):
        assert len(kids) == 2 and (kids.begin == end[parent] + 1).all()
        # rods split across their middle: the sisters' midpoint is near the mother
        t = end[parent]
        ym, xm = np.argwhere(sim.labels[t] == parent).mean(axis=0)
        mids = [np.argwhere(sim.labels[t + 1] == k).mean(axis=0) for k in kids.label]
        assert np.hypot(*(np.mean(mids, axis=0) - (ym, xm))) < 8.0
    # rods are elongated: a cell's length exceeds its width
    lab = sim.labels[-1]
    from skimage.measure import regionprops

    ratios = [p.axis_major_length / max(p.axis_minor_length, 1) for p in regionprops(lab)
              if p.area > 100]
    assert np.median(ratios) > 1.8


def test_colony_invalid_parameters():
    from celldyn.simulate import simulate_colony

    with pytest.raises(InputError):
        simulate_colony(shape=(8, 8))
    with pytest.raises(InputError):
        simulate_colony(doubling=1)
    with pytest.raises(InputError):
        simulate_colony(substeps=0)
