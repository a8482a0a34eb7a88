"""Property tests: graph invariants of both trackers, CTC round trip, global <= LAP."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from track_strategies import detections, track_graphs

import celldyn.track.lap as lap_module
from celldyn.track import (
    LinkCosts,
    assign_tracklets,
    candidate_links,
    check_ctc_table,
    ctc_table_from_graph,
    graph_from_ctc,
    link_costs,
    relabel_by_tracklet,
    total_cost,
    track_global,
    track_lap,
)

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PLAIN = LinkCosts(motion="none")


def _check_invariants(graph, objects, max_gap, divisions, merges, max_distance):
    assert sorted(graph.nodes) == list(range(len(objects)))
    t = objects["t"].to_numpy()
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap)
    allowed = set(zip(cands["source"].tolist(), cands["target"].tolist()))
    for u, v in graph.edges:
        assert 1 <= t[v] - t[u] <= max_gap + 1
        assert (u, v) in allowed
    for n in graph:
        assert graph.out_degree(n) <= (2 if divisions else 1)
        assert graph.in_degree(n) <= (2 if merges else 1)
    for n in graph:  # two children of one parent, two parents of one child: distinct
        assert len(set(graph.successors(n))) == graph.out_degree(n)


@SETTINGS
@given(
    objects=detections(),
    max_gap=st.integers(0, 2),
    divisions=st.booleans(),
    merges=st.booleans(),
    tracker=st.sampled_from([track_lap, track_global]),
    motion=st.sampled_from(["none", "constant_velocity", "kalman"]),
)
def test_tracker_output_is_a_valid_tracks_graph(
    objects, max_gap, divisions, merges, tracker, motion
):
    graph = tracker(
        objects, max_distance=6.0, max_gap=max_gap, divisions=divisions, merges=merges,
        costs=LinkCosts(motion=motion),
    )
    _check_invariants(graph, objects, max_gap, divisions, merges, 6.0)


@SETTINGS
@given(objects=detections(max_frames=7, max_per_frame=6), max_gap=st.integers(0, 2),
       merges=st.booleans())
def test_global_is_never_worse_than_lap(objects, max_gap, merges):
    """Steps 1-2 of LAP against the global solver, on the objective both minimise
    (divisions across a gap, step 4, are added after either and are not part of it)."""
    cands = candidate_links(objects, max_distance=7.0, max_gap=max_gap)
    cost = link_costs(objects, cands, costs=PLAIN)
    kw = dict(max_distance=7.0, max_gap=max_gap, merges=merges, costs=PLAIN)
    with mock.patch.object(lap_module, "GAP_DIVISIONS", False):
        lap = track_lap(objects, **kw)
        glob = track_global(objects, window=100, **kw)
    c_lap = total_cost(lap, objects, cands, cost, PLAIN)
    c_glob = total_cost(glob, objects, cands, cost, PLAIN)
    assert c_glob <= c_lap + 1e-7


def test_global_never_worse_on_seeded_simulations():
    """Seeded simulated instances (divisions, fast motion): global <= LAP each time."""
    rng = np.random.default_rng(0)
    from celldyn.simulate import simulate_movie
    from celldyn.measure import measure_objects

    for seed in range(6):
        sim = simulate_movie(
            n_frames=12, n_objects=14, shape=(96, 96), division_rate=0.05, speed=3.0,
            rng=int(rng.integers(1 << 30)),
        )
        objects = measure_objects(sim.labels)
        cands = candidate_links(objects, max_distance=10.0, max_gap=2)
        cost = link_costs(objects, cands, costs=PLAIN)
        with mock.patch.object(lap_module, "GAP_DIVISIONS", False):   # as above
            lap = track_lap(objects, max_distance=10.0, costs=PLAIN, candidates=cands)
            glob = track_global(objects, max_distance=10.0, costs=PLAIN, window=12)
        c_lap = total_cost(lap, objects, cands, cost, PLAIN)
        c_glob = total_cost(glob, objects, cands, cost, PLAIN)
        assert c_glob <= c_lap + 1e-7


def test_global_beats_lap_where_frame_by_frame_is_myopic():
    """a->b is cheaper than p->b at t=0, but only a can bridge the gap to q.

    Costs by construction (appear = disappear = 1, no divisions; inf forbids):
    LAP   a->b (0.5); p and q stay alone: 0.5 + 3 appear + 3 disappear = 6.5
    exact p->b (0.6) + a->q (0.1) + 2 appear + 2 disappear = 4.7
    """
    import pandas as pd

    objects = pd.DataFrame(
        {"t": [0, 0, 1, 3], "label": [1, 2, 1, 1], "y": [0.0, 1.0, 0.0, 1.0],
         "x": [0.0] * 4}
    )  # rows: a, p, b, q
    cands = candidate_links(objects, max_distance=5.0, max_gap=2)
    pairs = list(zip(cands["source"], cands["target"]))
    assert pairs == [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    edge_costs = np.array([0.5, 0.1, 0.6, np.inf, np.inf])
    kw = dict(max_distance=5.0, max_gap=2, divisions=False, edge_costs=edge_costs,
              candidates=cands)
    lap = track_lap(objects, **kw)
    glob = track_global(objects, **kw)
    assert sorted(lap.edges) == [(0, 2)]
    assert sorted(glob.edges) == [(0, 3), (1, 2)]
    assert total_cost(lap, objects, cands, edge_costs) == pytest.approx(6.5)
    assert total_cost(glob, objects, cands, edge_costs) == pytest.approx(4.7)


def _round_trip(graph, labels):
    assign_tracklets(graph)
    table = check_ctc_table(ctc_table_from_graph(graph))
    movie = relabel_by_tracklet(labels, graph)
    back = graph_from_ctc(movie, table)
    return table, back


@settings(max_examples=80, deadline=None)
@given(track_graphs())
def test_ctc_export_then_import_gives_the_same_graph(case):
    graph, labels = case
    _, back = _round_trip(graph, labels)
    assert back.number_of_nodes() == graph.number_of_nodes()
    node_of = {(d["t"], d["seg_id"]): n for n, d in back.nodes(data=True)}
    to_back = {n: node_of[(d["t"], d["tracklet"])] for n, d in graph.nodes(data=True)}
    assert len(set(to_back.values())) == len(to_back)
    mapped = {(to_back[u], to_back[v]) for u, v in graph.edges}
    assert mapped == set(back.edges)


def test_merges_stay_in_the_graph_but_not_in_ctc():
    import networkx as nx

    g = nx.DiGraph()
    for n, (t, seg) in enumerate([(0, 1), (0, 2), (1, 1)]):
        g.add_node(n, t=t, seg_id=seg)
    g.add_edges_from([(0, 2), (1, 2)])
    labels = np.zeros((2, 3, 8), np.int32)
    labels[0, 1, 1], labels[0, 1, 4], labels[1, 1, 2] = 1, 2, 1
    table, back = _round_trip(g, labels)
    assert g.in_degree(2) == 2  # unchanged
    child = g.nodes[2]["tracklet"]
    assert table.set_index("label").loc[child, "parent"] == 0
    assert back.number_of_edges() == 0


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_empty_and_single_frame_inputs(tracker):
    import pandas as pd

    empty = pd.DataFrame({"t": [], "label": [], "y": [], "x": []}).astype(
        {"t": np.int64, "label": np.int64}
    )
    assert tracker(empty, max_distance=3).number_of_nodes() == 0
    one = pd.DataFrame({"t": [0, 0], "label": [1, 2], "y": [0.0, 1.0], "x": [0.0, 0.0]})
    g = tracker(one, max_distance=3)
    assert g.number_of_nodes() == 2 and g.number_of_edges() == 0
