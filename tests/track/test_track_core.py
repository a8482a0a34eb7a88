"""Candidates, costs, motion and both solvers on cases known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.errors import InputError
from celldyn.evaluate import evaluate_ctc
from celldyn.measure import measure_objects
from celldyn.simulate import simulate_movie
from celldyn.track import (
    LinkCosts,
    candidate_links,
    iou_of_candidates,
    link_costs,
    track_global,
    track_lap,
    track_objects,
    track_velocities,
)


def _points(rows):
    return pd.DataFrame(rows, columns=["t", "label", "y", "x"])


def test_candidates_dt_radius_spacing_and_velocity():
    obj = _points([(0, 1, 0.0, 0.0), (1, 1, 0.0, 3.0), (2, 1, 0.0, 5.0), (3, 1, 0.0, 9.0)])
    c = candidate_links(obj, max_distance=4, max_gap=1)
    # dt=2 reaches 4*sqrt(2) = 5.66: 0->2 (5) yes; 1->3 (6) no
    assert c[["source", "target", "dt"]].values.tolist() == [
        [0, 1, 1], [0, 2, 2], [1, 2, 1], [2, 3, 1]
    ]
    assert c["distance"].tolist() == pytest.approx([3, 5, 2, 4])
    # spacing: x pixels of 2 µm double the distances; only 1->2 (4 µm) stays
    cs = candidate_links(obj, max_distance=4, spacing=(1, 2))
    assert cs[["source", "target"]].values.tolist() == [[1, 2]]
    # a velocity of +3 px/frame in x predicts frame t+1 at x+3
    v = np.tile([0.0, 3.0], (4, 1))
    cv = candidate_links(obj, max_distance=4, velocities=v)
    assert cv["distance"].tolist() == pytest.approx([0, 1, 1])
    with pytest.raises(InputError, match="max_gap"):
        candidate_links(obj, max_distance=4, max_gap=-1)


def test_iou_and_each_cost_term_switch():
    labels = np.zeros((2, 10, 10), np.int32)
    labels[0, 0:4, 0:4] = 1  # 16 px
    labels[1, 0:4, 2:6] = 1  # overlaps 8 px: IoU 8 / 24
    obj = measure_objects(labels)
    cands = candidate_links(obj, max_distance=4)
    assert iou_of_candidates(labels, obj, cands).tolist() == pytest.approx([1 / 3])
    off = LinkCosts(position=0, iou=0, area=0, gap=0)
    assert link_costs(obj, cands, costs=off, labels=labels).tolist() == [0.0]
    only_iou = LinkCosts(position=0, iou=1, area=0)
    assert link_costs(obj, cands, costs=only_iou, labels=labels)[0] == pytest.approx(2 / 3)
    only_pos = LinkCosts(position=1, area=0)
    assert link_costs(obj, cands, costs=only_pos)[0] == pytest.approx((2 / 4) ** 2)
    obj2 = obj.assign(area=[10.0, 20.0])
    only_area = LinkCosts(position=0, area=1)
    assert link_costs(obj2, cands, costs=only_area)[0] == pytest.approx(np.log(2))


def test_motion_models_predict_a_straight_track():
    pos = np.array([[0.0, 0.0], [0.0, 2.0], [0.0, 4.0], [0.0, 6.0], [0.0, 8.0]])
    t = np.arange(5)
    parent = np.array([-1, 0, 1, 2, 3])
    cv = track_velocities(pos, t, parent, "constant_velocity")
    assert cv[1:, 1].tolist() == pytest.approx([2.0] * 4)
    kf = track_velocities(pos, t, parent, "kalman", process_noise=0.01,
                          measurement_noise=0.01, initial_velocity_var=4.0)
    assert kf[-1, 1] == pytest.approx(2.0, abs=0.05)
    assert np.all(track_velocities(pos, t, parent, "none") == 0)


@pytest.mark.parametrize("tracker", ["lap", "global"])
def test_simulated_divisions_are_recovered(tracker):
    """Ground-truth masks of slow simulations with divisions: TRA and divisions."""
    for seed in (0, 1):
        sim = simulate_movie(
            n_frames=25, n_objects=10, shape=(96, 96), division_rate=0.05, speed=2.0,
            rng=seed,
        )
        obj = measure_objects(sim.labels, sim.movie.data)
        tracks = track_objects(obj, labels=sim.labels, tracker=tracker, max_distance=10)
        s = evaluate_ctc(sim.labels, sim.table, tracks.relabel(sim.labels), tracks.to_ctc())
        # the graph over the rows of `obj` (Tracks sorts its rows by time and track id)
        g = tracks.to_networkx()
        g = type(g)((int(tracks.rows[u]), int(tracks.rows[v])) for u, v in g.edges)
        assert s["TRA"] >= 0.995, s
        gt_div = {
            (sim.graph.nodes[n]["t"], sim.graph.nodes[n]["seg_id"])
            for n in sim.graph if sim.graph.out_degree(n) == 2
        }
        found = {
            (int(obj.t[n]), int(obj.label[n])) for n in g if g.out_degree(n) == 2
        }
        assert len(gt_div) >= 5
        assert len(found & gt_div) >= 0.85 * len(gt_div)
        assert len(found - gt_div) <= 1


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_objects_missing_for_one_or_two_frames_are_bridged(tracker):
    sim = simulate_movie(n_frames=12, n_objects=5, shape=(80, 80), speed=1.0, rng=4)
    obj = measure_objects(sim.labels)
    labs = sorted(obj.label.unique())[:2]
    drop = ((obj.label == labs[0]) & (obj.t == 4)) | (
        (obj.label == labs[1]) & obj.t.isin([6, 7])
    )
    obj = obj[~drop].reset_index(drop=True)
    for max_gap, n_gaps in ((2, 2), (0, 0)):
        g = tracker(obj, max_distance=8, max_gap=max_gap)
        gaps = sorted(int(obj.t[v] - obj.t[u]) for u, v in g.edges if obj.t[v] - obj.t[u] > 1)
        assert gaps == [2, 3][:n_gaps]
        # every link joins the same ground-truth object
        assert all(obj.label[u] == obj.label[v] for u, v in g.edges)


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_merges_only_when_allowed(tracker):
    sim = simulate_movie(n_frames=15, n_objects=10, merge_rate=0.3, shape=(80, 80), rng=1)
    obj = measure_objects(sim.labels)
    node = {(int(r.t), int(r.label)): i for i, r in enumerate(obj.itertuples())}
    gt = {
        node[(sim.graph.nodes[n]["t"], sim.graph.nodes[n]["seg_id"])]
        for n in sim.graph if sim.graph.in_degree(n) == 2
    }
    assert len(gt) >= 3
    off = tracker(obj, max_distance=10)
    assert max(d for _, d in off.in_degree()) <= 1
    on = tracker(obj, max_distance=10, merges=True)
    found = {n for n in on if on.in_degree(n) == 2}
    assert found and found <= gt


@pytest.mark.parametrize("tracker", ["lap", "global"])
def test_edge_costs_from_outside_drive_both_solvers(tracker):
    """Costs 0 on the true links and 3 elsewhere give back the truth exactly."""
    sim = simulate_movie(
        n_frames=10, n_objects=8, shape=(80, 80), division_rate=0.08, speed=3.0, rng=5
    )
    obj = measure_objects(sim.labels)
    node = {(int(r.t), int(r.label)): i for i, r in enumerate(obj.itertuples())}
    truth = {
        (node[(sim.graph.nodes[u]["t"], sim.graph.nodes[u]["seg_id"])],
         node[(sim.graph.nodes[v]["t"], sim.graph.nodes[v]["seg_id"])])
        for u, v in sim.graph.edges
    }
    cands = candidate_links(obj, max_distance=12, max_gap=1)
    is_true = np.array([(s, t) in truth for s, t in zip(cands.source, cands.target)])
    assert is_true.sum() == len(truth)
    edge_costs = np.where(is_true, 0.0, 3.0)
    tracks = track_objects(obj, tracker=tracker, max_distance=12, max_gap=1,
                           edge_costs=edge_costs, candidates=cands)
    assert {(int(tracks.rows[u]), int(tracks.rows[v])) for u, v in tracks.edges} == truth
    with pytest.raises(InputError, match="one value per candidate"):
        track_objects(obj, tracker=tracker, max_distance=12, edge_costs=edge_costs[:-1],
                      candidates=cands)


def test_windows_join_consistently():
    sim = simulate_movie(n_frames=20, n_objects=8, shape=(80, 80), division_rate=0.05,
                         rng=6)
    obj = measure_objects(sim.labels)
    full = track_global(obj, max_distance=10, window=100)
    windowed = track_global(obj, max_distance=10, window=8, overlap=3)
    assert set(windowed.edges) == set(full.edges)
    with pytest.raises(InputError, match="overlap"):
        track_global(obj, max_distance=10, window=8, overlap=2)


def test_bad_inputs():
    obj = _points([(0, 1, 0.0, 0.0)])
    with pytest.raises(InputError, match="tracker"):
        track_objects(obj, tracker="greedy", max_distance=3)
    with pytest.raises(InputError, match="positive"):
        track_lap(obj, max_distance=-1)
    with pytest.raises(InputError, match="columns"):
        track_global(pd.DataFrame({"t": [0]}), max_distance=3)


def test_columnar_rules_equal_the_graph_rules_on_a_tracked_movie():
    """tracklet_ids / ctc_table / prune_short_branch_edges (arrays) agree with the
    networkx functions, including a division whose daughter vanishes after 1 frame."""
    import copy

    import networkx as nx

    from celldyn.track.graph import (
        assign_tracklets, ctc_table, ctc_table_from_graph, graph_arrays,
        prune_short_branch_edges, prune_short_branches, tracklet_ids,
    )

    g = nx.DiGraph()
    # 0-1-2-3-4 long track; 1 divides into 2 and 5 (5 vanishes at t=2); 6 appears
    for n, (t, seg) in enumerate([(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (4, 2)]):
        g.add_node(n, t=t, seg_id=seg)
    g.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (6, 7)])
    nodes, attrs, edges = graph_arrays(g)
    kept, undone = prune_short_branch_edges(attrs["t"], edges, min_length=3)
    g2 = copy.deepcopy(g)
    assert undone == prune_short_branches(g2, min_length=3) == 1
    assert sorted(map(tuple, kept.tolist())) == sorted(g2.edges)
    ids = tracklet_ids(attrs["t"], attrs["seg_id"], kept)
    assert ids.tolist() == [assign_tracklets(g2)[n] for n in nodes]
    table = ctc_table(attrs["t"], ids, kept)
    assert table.equals(ctc_table_from_graph(g2))
    assert table.values.tolist() == [[1, 0, 4, 0], [2, 2, 2, 0], [3, 3, 4, 0]]
    # without pruning the mother's track ends at t=1 and both daughters name it
    ids = tracklet_ids(attrs["t"], attrs["seg_id"], edges)
    assert ctc_table(attrs["t"], ids, edges)["parent"].tolist() == [0, 1, 1, 0]


def _split_movie(area1: float, area2: float) -> pd.DataFrame:
    """A cell (area 100) for two frames, then two daughters for two frames."""
    rows = [(0, 1, 0.0, 100.0), (1, 1, 0.0, 100.0)]
    for t in (2, 3):
        rows += [(t, 1, -2.0, area1), (t, 2, 2.0, area2)]
    return pd.DataFrame(
        [(t, lab, y, 0.0, a) for t, lab, y, a in rows], columns=["t", "label", "y", "x", "area"]
    )


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_division_judged_on_daughters(tracker):
    kw = dict(max_distance=8.0, max_gap=0)
    # two equal halves: a division, even when a division costs as much as appearing
    for division in (0.25, 1.0):
        g = tracker(_split_movie(50, 50), costs=LinkCosts(division=division), **kw)
        assert sorted(g.successors(1)) == [2, 3]
    # a small fragment beside a large piece (over-segmentation): no division
    g = tracker(_split_movie(85, 15), **kw)
    assert g.out_degree(1) == 1
    # without evidence, a division at the appear cost is never worth it
    plain = LinkCosts(division=1.0, division_size=0.0, area=0.0)
    assert tracker(_split_movie(50, 50), costs=plain, **kw).out_degree(1) == 1


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_division_across_a_gap(tracker, monkeypatch):
    """The frame where the daughters first show is missing (a missed frame): the
    mother bridges the gap to one daughter and takes the other (step 4 of
    celldyn.track.lap), on the same evidence as a division one frame on."""
    import celldyn.track.lap as lap

    def gapped(area1, area2, drop=(2,)):
        movie = _split_movie(area1, area2)
        return movie[~movie.t.isin(drop)].reset_index(drop=True)

    kw = dict(max_distance=8.0, max_gap=2)
    g = tracker(gapped(50, 50), **kw)
    assert sorted(g.successors(1)) == [2, 3]
    # a small fragment beside a large piece is no division, across a gap or not
    assert tracker(gapped(85, 15), **kw).out_degree(1) == 1
    # the sisters first show in different frames: not this step's case
    late = gapped(50, 50)
    late = late[~((late.t == 3) & (late.label == 2))].reset_index(drop=True)
    late = pd.concat([late, pd.DataFrame([(4, 2, 2.0, 0.0, 50.0), (4, 1, -2.0, 0.0, 50.0)],
                                         columns=late.columns)], ignore_index=True)
    assert tracker(late, **kw).out_degree(1) == 1
    # switched off, the second daughter starts a track of her own
    monkeypatch.setattr(lap, "GAP_DIVISIONS", False)
    assert tracker(gapped(50, 50), **kw).out_degree(1) == 1


@pytest.mark.parametrize("tracker", ["lap", "global"])
def test_tracks_match_the_solver_and_are_one_type(tracker):
    """track_objects returns Tracks for every tracker: its links are the solver's
    (mapped to its sorted rows), its track table and relabelled movie agree, and the
    solver's links alone (lap_links / global_links) are those links."""
    from celldyn.measure import measure_objects
    from celldyn.simulate import simulate_movie
    from celldyn.track import Tracks, global_links, lap_links, track_objects

    sim = simulate_movie(n_frames=12, n_objects=6, division_rate=0.1, rng=4)
    objects = measure_objects(sim.labels)
    kw = dict(labels=sim.labels, tracker=tracker, max_distance=20)
    tracks = track_objects(objects, **kw)
    assert isinstance(tracks, Tracks)
    solver = track_lap if tracker == "lap" else track_global
    graph = solver(objects, labels=sim.labels, max_distance=20)
    mapped = {(int(tracks.rows[u]), int(tracks.rows[v])) for u, v in tracks.edges}
    assert mapped == set(graph.edges) and len(mapped) > 0
    links = lap_links if tracker == "lap" else global_links
    edges = links(objects, labels=sim.labels, max_distance=20)
    assert edges.dtype == np.int64 and set(map(tuple, edges.tolist())) == mapped
    # rows sorted by (t, track id); each row's label is its track id in the table
    t = tracks.objects["t"].to_numpy()
    assert (np.diff(t) >= 0).all()
    table = tracks.to_ctc().set_index("label")
    assert set(tracks.track_ids) == set(table.index)
    for tid, frames in tracks.objects.groupby("label")["t"]:
        assert (frames.min(), frames.max()) == (table.at[tid, "begin"], table.at[tid, "end"])
    relabelled = tracks.relabel(sim.labels)
    assert set(np.unique(relabelled)) - {0} == set(tracks.track_ids)
    nxg = tracks.to_networkx()
    assert nxg.number_of_nodes() == len(tracks.objects)
    assert sorted(nxg.edges) == sorted(map(tuple, tracks.edges.tolist()))


def _sisters(second: tuple[float, float]) -> pd.DataFrame:
    """A mother at the origin, one daughter 3 px above her and one at `second`."""
    rows = [(0, 1, 0.0, 0.0), (1, 1, 3.0, 0.0), (1, 2, *second)]
    return pd.DataFrame([(t, lab, y, x, a) for (t, lab, y, x), a in
                         zip(rows, (100.0, 50.0, 50.0))],
                        columns=["t", "label", "y", "x", "area"])


@pytest.mark.parametrize("tracker", [track_lap, track_global])
def test_division_midpoint_term(tracker):
    from celldyn.track.costs import division_evidence

    kw = dict(max_distance=8.0, max_gap=0)
    across = _sisters((-3.0, 0.0))  # sisters either side of the mother: midpoint 0
    aside = _sisters((0.0, 3.0))  # as far from her, but both on one side
    # the daughters' distance priced in full (daughter_position=1): the midpoint alone
    with_mid = LinkCosts(division=0.95, division_midpoint=2.0, daughter_position=1.0)
    without = LinkCosts(division=0.95, division_midpoint=0.0, daughter_position=1.0)
    # the term is division_midpoint * (|midpoint - mother| / R)**2
    e = [division_evidence(o, [0], [1], [2], costs=with_mid, max_distance=8.0)[0]
         - division_evidence(o, [0], [1], [2], costs=without, max_distance=8.0)[0]
         for o in (across, aside)]
    assert e[0] == pytest.approx(0.0)
    assert e[1] == pytest.approx(2.0 * (np.hypot(1.5, 1.5) / 8.0) ** 2)
    assert tracker(across, costs=with_mid, **kw).out_degree(0) == 2
    assert tracker(aside, costs=with_mid, **kw).out_degree(0) == 1
    assert tracker(aside, costs=without, **kw).out_degree(0) == 2


def test_link_costs_object_has_one_name_and_config_still_works():
    """The LinkCosts object is `costs` everywhere; the old `config=` keyword of
    link_costs / division_evidence / total_cost warns and gives the same numbers."""
    import warnings

    from celldyn.track import total_cost
    from celldyn.track.costs import division_evidence

    obj = _points([(0, 1, 0.0, 0.0), (1, 1, 0.0, 3.0), (1, 2, 0.0, -3.0)])
    obj["area"] = [10.0, 5.0, 5.0]
    cands = candidate_links(obj, max_distance=5.0)
    weights = LinkCosts(area=2.0, division=0.5)
    new = link_costs(obj, cands, costs=weights)
    with pytest.warns(DeprecationWarning, match="use costs="):
        old = link_costs(obj, cands, config=weights)
    assert new.tolist() == old.tolist() and new.tolist() != link_costs(obj, cands).tolist()
    with pytest.warns(DeprecationWarning):
        assert division_evidence(obj, [0], [1], [2], config=weights).tolist() == \
            division_evidence(obj, [0], [1], [2], costs=weights).tolist()
    graph = track_lap(obj, max_distance=5.0, costs=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling does not warn
        c = total_cost(graph, obj, cands, new, weights)
    with pytest.warns(DeprecationWarning):
        assert total_cost(graph, obj, cands, new, config=weights) == c
    with pytest.raises(InputError, match="costs= only"):
        link_costs(obj, cands, costs=weights, config=weights)


def test_one_frame_or_no_objects_has_nothing_to_link():
    """A still image (or an empty movie) gives one track per object and says why, with
    no motion scale, division or flow clauses measured on nothing."""
    import pandas as pd

    from celldyn.track import track_objects

    still = pd.DataFrame({"t": [0, 0, 0], "label": [1, 2, 3], "y": [0.0, 10, 20],
                          "x": [0.0, 0, 0], "area": [30.0, 30, 30]})
    for tracker in ("lap", "global"):
        tracks = track_objects(still, tracker=tracker)
        assert len(tracks.edges) == 0
        assert tracks.note == "one frame: nothing to link"
        assert sorted(tracks.to_ctc()["label"]) == [1, 2, 3]
    empty = still.iloc[:0]
    assert track_objects(empty).note == "no objects: nothing to link"
