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


def test_flowed_iou_moves_the_source_mask_by_its_step():
    """Two touching 10 px squares shift right by one cell width between frames: laid
    where they lay, cell 1's mask covers cell 2's old place only partly and its own new
    mask not at all; moved by its step (10 px, given in physical units with a 0.5
    spacing: 5), it covers its own new mask exactly. Pixels moved out of the frame
    overlap nothing; a zero step is the raw IoU."""
    from celldyn.track.candidates import candidate_links
    from celldyn.track.costs import LabelOverlaps, iou_of_candidates

    labels = np.zeros((2, 20, 40), np.int32)
    labels[0, 5:15, 0:10], labels[0, 5:15, 10:20] = 1, 2
    labels[1, 5:15, 10:20], labels[1, 5:15, 20:30] = 1, 2
    objects = measure_objects(labels)
    cands = candidate_links(objects, max_distance=20.0, max_gap=1, spacing=(0.5, 0.5))
    pair = {(int(objects.label[s]), int(objects.label[t])): i for i, (s, t) in
            enumerate(zip(cands.source, cands.target))}
    raw = iou_of_candidates(labels, objects, cands)
    assert raw[pair[1, 1]] == 0.0 and raw[pair[2, 1]] == 1.0   # the neighbour wins
    step = np.where(objects.t.to_numpy()[:, None] == 0, [[0.0, 5.0]], 0.0)
    flowed = iou_of_candidates(labels, objects, cands, step=step)
    assert flowed[pair[1, 1]] == 1.0 and flowed[pair[2, 2]] == 1.0
    assert flowed[pair[2, 1]] == 0.0
    still = iou_of_candidates(labels, objects, cands, step=np.zeros_like(step))
    assert np.array_equal(still, raw)
    # cell 2 moved 15 px to the right: 5 of its 10 columns leave the 40 px frame and
    # the other 5 lie on its own new mask
    codes, counts, m = LabelOverlaps(labels).pair(0, 1, np.array([[0, 0], [0, 0], [0, 15]]))
    assert codes.tolist() == [2 * m + 2] and counts.tolist() == [50]


def test_flowed_iou_keeps_a_dense_colonys_divisions_at_a_low_frame_rate():
    """A simulated colony's crowded last frames at every 2nd frame (GT masks), where the
    image flow runs: with the IoU measured where the flow carries each cell (the
    default) the tracker finds clearly more of the true divisions than with the masks
    where they lie (the default before)."""
    from celldyn.track.graph import subsample_ctc
    from celldyn.training import crop_ctc

    sim = simulate_colony(n_frames=36, shape=(320, 320), rng=7)
    labels, table = crop_ctc(np.asarray(sim.labels), sim.table, 24, 35)
    labels, table = subsample_ctc(labels, table, 2)
    movie = np.asarray(sim.movie.data)[24:36:2]
    obj = measure_objects(labels, movie)
    f1 = {}
    for flowed in (False, True):
        tracks = track_objects(obj, labels=labels, movie=movie,
                               costs=LinkCosts(iou_flow=flowed))
        assert "image flow on" in tracks.note
        s = tracking_scores(labels, table, tracks.relabel(labels), tracks.to_ctc())
        f1[flowed] = s["div_F1"]
    assert s["gt_divisions"] >= 20
    assert f1[True] >= f1[False] + 0.1, f1


@pytest.mark.parametrize("bad", ["no", 1, None])
def test_iou_flow_is_a_bool(bad):
    from celldyn.errors import ConfigError

    with pytest.raises(ConfigError, match="iou_flow must be True or False"):
        LinkCosts(iou_flow=bad)
    assert LinkCosts(iou_flow=False).iou_flow is False
