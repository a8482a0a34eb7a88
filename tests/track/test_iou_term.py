"""The IoU link term and its union-judged divisions and merges (issue 16, item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.evaluate import tracking_scores
from celldyn.measure import measure_objects
from celldyn.simulate import simulate_colony, simulate_movie
from celldyn.track import LinkCosts, track_objects
from celldyn.track.costs import union_iou_term


def _objects(areas):
    return pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2], "y": 0.0, "x": 0.0,
                         "area": np.asarray(areas, float)})


def test_union_term_values():
    """Markers that never overlap: -1 (the event costs what it costs without the term);
    a clean split of a 100 px mother into two 50 px halves: -1 too (the union covers her);
    a cell that continues (IoU 1) beside a disjoint neighbour: dearer by 1/3."""
    m, a, b = np.array([0]), np.array([1]), np.array([2])
    markers = union_iou_term(_objects([13, 13, 13]), m, a, b, (np.zeros(1), np.zeros(1)))
    assert markers[0] == pytest.approx(-1.0)
    split = union_iou_term(_objects([100, 50, 50]), m, a, b,
                           (np.array([0.5]), np.array([0.5])))
    assert split[0] == pytest.approx(-1.0)
    false = union_iou_term(_objects([100, 100, 50]), m, a, b,
                           (np.array([1.0]), np.array([0.0])))
    assert false[0] == pytest.approx(-2 / 3)
    assert union_iou_term(_objects([100, 50, 50]), m, a, b,
                          (np.array([0.5]), np.array([0.5])), link_terms=False)[0] == 0.0


def _divisions(g, obj):
    return {(int(obj.t[n]), int(obj.label[n])) for n in g if g.out_degree(n) == 2}


def _markers(labels, radius=2):
    """Each object replaced by a disk of `radius` px at its centroid (ids kept)."""
    from scipy import ndimage as ndi

    out = np.zeros_like(labels)
    yy, xx = np.mgrid[: labels.shape[1], : labels.shape[2]]
    for t, frame in enumerate(labels):
        ids = [i for i in np.unique(frame) if i]
        for lab, (cy, cx) in zip(ids, ndi.center_of_mass(np.ones_like(frame), frame, ids)):
            out[t][(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = lab
    return out


def test_iou_term_does_not_switch_marker_divisions_off():
    """The same simulated movie as markers: with the IoU term (the default) the
    divisions are those found without it, give or take one."""
    sim = simulate_movie(n_frames=25, n_objects=10, shape=(96, 96), division_rate=0.05,
                         speed=2.0, rng=0)
    markers = _markers(sim.labels)
    obj = measure_objects(markers)
    found = {}
    for w in (0.0, 1.0):
        tracks = track_objects(obj, labels=markers, max_distance=10,
                               costs=LinkCosts(iou=w))
        g = tracks.to_networkx()
        g = type(g)((int(tracks.rows[u]), int(tracks.rows[v])) for u, v in g.edges)
        found[w] = _divisions(g, obj)
    assert len(found[0.0]) >= 5
    assert len(found[0.0] ^ found[1.0]) <= 1


def test_iou_term_helps_a_dense_colony_of_masks():
    """Full masks of a simulated growing colony at every 2nd frame (cells pushed further
    than their width): the default (IoU term on) finds at least as many divisions,
    and at least as precisely, as the same tracker without it."""
    sim = simulate_colony(n_frames=24, shape=(160, 160), rng=3, noise=False)
    from celldyn.track.graph import subsample_ctc

    labels, table = subsample_ctc(np.asarray(sim.labels), sim.table, 2)
    obj = measure_objects(labels)
    f1 = {}
    for w in (0.0, 1.0):
        tracks = track_objects(obj, labels=labels, costs=LinkCosts(iou=w))
        s = tracking_scores(labels, table, tracks.relabel(labels), tracks.to_ctc())
        f1[w] = s["div_F1"]
    assert f1[1.0] >= f1[0.0]
    assert f1[1.0] >= 0.95, f1  # measured: 0.857 without the term, 1.0 with it
