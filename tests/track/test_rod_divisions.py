"""Rods' division geometry (LinkCosts.division_axis_slack) and flow-consistent
division terms (celldyn.track.flow.flow_candidates records each object's step)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.draw import ellipse

from celldyn.measure.features import measure_objects
from celldyn.track.costs import LinkCosts, along_axis_slack, division_evidence
from celldyn.track.flow import flow_candidates
from celldyn.track.lap import lap_links


def _rod(t: int, label: int, y: float, x: float, length: float, width: float,
         angle: float) -> dict:
    """One object row with the columns measure_objects gives a 2D rod."""
    return {"t": t, "label": label, "y": y, "x": x, "area": np.pi / 4 * length * width,
            "orientation": angle, "axis_major_length": length, "axis_minor_length": width}


def test_measure_objects_gives_a_rod_its_axis_in_2d_only():
    lab = np.zeros((1, 60, 120), np.int32)
    rr, cc = ellipse(30, 60, 8, 40, shape=lab.shape[1:])   # long along x
    lab[0, rr, cc] = 1
    row = measure_objects(lab).iloc[0]
    assert row["axis_major_length"] == pytest.approx(80, rel=0.05)
    assert row["axis_minor_length"] == pytest.approx(16, rel=0.1)
    # scikit-image: the angle between the rows axis and the long axis, +-pi/2 along x
    assert abs(abs(row["orientation"]) - np.pi / 2) < 0.05
    three = measure_objects(np.zeros((1, 4, 8, 8), np.int32) + 1)
    assert "orientation" not in three and "axis_major_length" not in three


def test_slack_shortens_the_offset_along_the_axis_only():
    objects = pd.DataFrame([_rod(0, 1, 0.0, 0.0, 100.0, 20.0, np.pi / 2)])  # along x
    off = np.array([[6.0, 50.0], [6.0, -20.0]])
    out = along_axis_slack(objects, np.array([0, 0]), off, 0.5)   # slack 0.5 x 80 = 40
    np.testing.assert_allclose(out, [[6.0, 10.0], [6.0, 0.0]], atol=1e-9)
    # a round object (major = minor) keeps its whole offset
    disc = objects.assign(axis_major_length=20.0)
    np.testing.assert_allclose(along_axis_slack(disc, np.array([0]), off[:1], 0.5), off[:1])
    # no axis columns: unchanged
    np.testing.assert_allclose(along_axis_slack(objects[["t", "label", "y", "x"]],
                                                np.array([0]), off[:1], 0.5), off[:1])


def test_a_rods_daughters_sliding_along_her_axis_cost_less_with_the_slack():
    rows = [_rod(0, 1, 50.0, 50.0, 100.0, 20.0, np.pi / 2),
            _rod(1, 1, 50.0, 40.0, 60.0, 20.0, np.pi / 2),   # along the axis
            _rod(1, 2, 50.0, 110.0, 60.0, 20.0, np.pi / 2)]
    objects = pd.DataFrame(rows)
    args = dict(max_distance=40.0)
    plain = division_evidence(objects, [0], [1], [2], costs=LinkCosts(), **args)[0]
    rod = division_evidence(objects, [0], [1], [2],
                            costs=LinkCosts(division_axis_slack=0.5), **args)[0]
    assert rod < plain - 0.5
    # the same offsets across the axis are not excused
    across = objects.assign(orientation=0.0)
    assert division_evidence(across, [0], [1], [2],
                             costs=LinkCosts(division_axis_slack=0.5), **args)[0] == (
        pytest.approx(plain))


def _dividing_rod(sister_along: bool) -> pd.DataFrame:
    """A rod (100 x 20 px, along x) whose second daughter starts 70 px away, beyond a
    40 px radius: along her axis or across it; a neighbour rod 200 px off keeps the
    radius measured."""
    sister = (50.0, 120.0) if sister_along else (120.0, 50.0)
    rows = []
    for t in range(3):
        rows.append(_rod(t, 9, 300.0, 300.0 + 5 * t, 60.0, 20.0, np.pi / 2))
    rows += [_rod(0, 1, 50.0, 50.0, 100.0, 20.0, np.pi / 2),
             _rod(1, 1, 50.0, 50.0, 60.0, 20.0, np.pi / 2),
             _rod(1, 2, *sister, 60.0, 20.0, np.pi / 2),
             _rod(2, 1, 50.0, 52.0, 62.0, 20.0, np.pi / 2),
             _rod(2, 2, sister[0], sister[1] + 2.0, 62.0, 20.0, np.pi / 2)]
    return pd.DataFrame(rows).sort_values(["t", "label"]).reset_index(drop=True)


def _is_division(objects: pd.DataFrame, costs: LinkCosts) -> bool:
    edges = lap_links(objects, max_distance=40.0, max_gap=1, costs=costs)
    mother = int(np.flatnonzero((objects.t == 0) & (objects.label == 1))[0])
    return int((edges[:, 0] == mother).sum()) == 2


def test_lap_takes_a_far_second_daughter_along_a_rods_axis_only():
    along, across = _dividing_rod(True), _dividing_rod(False)
    assert not _is_division(along, LinkCosts())           # beyond the radius
    assert _is_division(along, LinkCosts(division_axis_slack=0.5))
    assert not _is_division(across, LinkCosts(division_axis_slack=0.5))


def test_flow_candidates_search_where_the_flow_carries_each_source():
    objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2], "y": [0.0, 0.0, 0.0],
                            "x": [0.0, 60.0, 10.0]})
    flow = np.array([[0.0, 58.0], [0.0, 0.0], [0.0, 0.0]])
    cands = flow_candidates(objects, np.zeros((0, 2), np.int64), max_distance=20.0,
                            max_gap=0, flow=flow)
    pairs = {(int(s), int(g)): d for s, g, d in
             zip(cands["source"], cands["target"], cands["distance"])}
    assert pairs[(0, 1)] == pytest.approx(2.0)   # 60 px raw, 2 px from the flowed place
    assert (0, 2) not in pairs                   # 10 px raw, 48 px from it
    assert cands.attrs["max_distance"] == 20.0
    np.testing.assert_allclose(cands.attrs["step"], flow)


def test_division_midpoint_is_measured_from_where_the_flow_carries_the_mother():
    objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2], "y": [0.0, -5.0, 5.0],
                            "x": [0.0, 30.0, 30.0], "area": [100.0, 50.0, 50.0]})
    only_midpoint = LinkCosts(daughter_position=1.0)   # no refund of the far daughter
    still = division_evidence(objects, [0], [1], [2], costs=only_midpoint,
                              max_distance=20.0)[0]
    step = np.array([[0.0, 30.0], [0.0, 0.0], [0.0, 0.0]])
    carried = division_evidence(objects, [0], [1], [2], costs=only_midpoint,
                                max_distance=20.0, step=step)[0]
    assert still - carried == pytest.approx((30.0 / 20.0) ** 2)   # the midpoint's term
