"""Rod sisters re-paired after linking (celldyn.track.sisters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import celldyn.track.sisters as sisters
from celldyn.track.sisters import pair_rod_sisters, sister_cost


def _rods(mothers, daughters, *, length=(40.0, 20.0), width=6.0, orientation=0.0):
    """Vertical rods (orientation 0: long axis along y): mothers at t 0, daughters t 1."""
    ys = [p[0] for p in mothers] + [p[0] for p in daughters]
    xs = [p[1] for p in mothers] + [p[1] for p in daughters]
    n_m = len(mothers)
    return pd.DataFrame({
        "t": [0] * n_m + [1] * len(daughters), "label": np.arange(1, len(ys) + 1),
        "y": np.asarray(ys, float), "x": np.asarray(xs, float),
        "orientation": [orientation] * len(ys),
        "axis_major_length": [length[0]] * n_m + [length[1]] * len(daughters),
        "axis_minor_length": [width] * len(ys)})


def _divisions(edges):
    out = {}
    for a, b in np.asarray(edges).tolist():
        out.setdefault(a, set()).add(b)
    return {m: frozenset(k) for m, k in out.items() if len(k) == 2}


def test_sister_cost_is_zero_end_to_end_and_grows_off_axis():
    obj = _rods([], [(-10, 0), (10, 0), (-10, 8), (30, 0)])
    c = sister_cost(obj, np.array([0, 0, 0]), np.array([1, 2, 3]))
    assert c[0] == pytest.approx(0.0, abs=1e-9)      # collinear, touching pole to pole
    assert c[1] > 1.0                                 # side by side: across the axis
    assert c[2] == pytest.approx(1.0)                 # collinear, a length apart


def test_swapped_daughters_of_two_rods_are_paired_again():
    # two vertical rods side by side (x 0 and 8) each split into a top and a bottom half
    obj = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)])
    swapped = np.array([[0, 2], [0, 4], [1, 3], [1, 5]])
    new, n = pair_rod_sisters(obj, swapped)
    assert n == 1
    assert _divisions(new) == {0: frozenset({2, 3}), 1: frozenset({4, 5})}
    # right already: nothing changes
    right = np.array([[0, 2], [0, 3], [1, 4], [1, 5]])
    same, n0 = pair_rod_sisters(obj, right)
    assert n0 == 0 and np.array_equal(same, right)


def test_a_pair_that_looks_like_sisters_is_kept(monkeypatch):
    # the swapped pairs cost about 2.6 each: kept where the lock is above that
    obj = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)])
    swapped = np.array([[0, 2], [0, 4], [1, 3], [1, 5]])
    assert sister_cost(obj, np.array([2, 3]), np.array([4, 5])).min() > 2
    monkeypatch.setattr(sisters, "LOCK", 3.0)
    assert pair_rod_sisters(obj, swapped)[1] == 0
    monkeypatch.setattr(sisters, "LOCK", 2.0)
    assert pair_rod_sisters(obj, swapped)[1] == 1


def test_three_mothers_in_a_cycle_are_undone():
    obj = _rods([(0, 0), (0, 20), (0, 40)],
                [(-10, 0), (10, 0), (-10, 20), (10, 20), (-10, 40), (10, 40)])
    # each mother took one daughter of her own and one of the next rod's (a cycle)
    cyc = np.array([[0, 3], [0, 5], [1, 6], [1, 7], [2, 8], [2, 4]])
    new, n = pair_rod_sisters(obj, cyc)
    assert n >= 2
    assert _divisions(new) == {0: frozenset({3, 4}), 1: frozenset({5, 6}),
                               2: frozenset({7, 8})}
    assert len(new) == len(cyc)                    # the plain links are kept as they are


def test_round_objects_markers_3d_and_far_mothers_are_left_alone():
    swapped = np.array([[0, 2], [0, 4], [1, 3], [1, 5]])
    # round daughters (nuclei): not rods
    obj = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)], length=(40, 8))
    assert pair_rod_sisters(obj, swapped)[1] == 0
    # no axis columns (markers, a table without shape)
    rods = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)])
    assert pair_rod_sisters(rods.drop(columns="orientation"), swapped)[1] == 0
    # 3D objects
    assert pair_rod_sisters(rods.assign(z=0.0), swapped)[1] == 0
    # mothers farther apart than their lengths summed: not neighbours
    far = _rods([(0, 0), (0, 200)], [(-10, 0), (10, 0), (-10, 200), (10, 200)])
    assert pair_rod_sisters(far, swapped)[1] == 0


def test_switch_turns_it_off(monkeypatch):
    obj = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)])
    swapped = np.array([[0, 2], [0, 4], [1, 3], [1, 5]])
    monkeypatch.setattr(sisters, "PAIR_ROD_SISTERS", False)
    assert pair_rod_sisters(obj, swapped)[1] == 0


def test_track_objects_re_pairs_after_the_lap_only(monkeypatch):
    import celldyn.track.api as api

    calls = []

    def spy(objects, edges):
        calls.append(len(edges))
        return edges, 0

    monkeypatch.setattr(api, "pair_rod_sisters", spy)
    obj = _rods([(0, 0), (0, 8)], [(-10, 0), (10, 0), (-10, 8), (10, 8)])
    obj["area"] = 100.0
    api.track_objects(obj, tracker="lap")
    assert len(calls) == 1
    api.track_objects(obj, tracker="global")
    assert len(calls) == 1
