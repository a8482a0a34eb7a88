"""Frame-to-frame linking and the tracks graph / CTC table conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.errors import InputError
from celldyn.track import (
    assign_tracklets,
    check_ctc_table,
    ctc_table_from_graph,
    graph_from_ctc,
    link_objects,
    relabel_by_tracklet,
)


def _points(rows):
    return pd.DataFrame(rows, columns=["t", "label", "y", "x"])


def test_link_follows_nearest_not_label_order():
    # Two objects swap label ids between frames but not places.
    obj = _points([(0, 1, 0.0, 0.0), (0, 2, 20.0, 0.0), (1, 1, 21.0, 0.0), (1, 2, 1.0, 0.0)])
    g = link_objects(obj, max_distance=5)
    assert sorted(g.edges) == [(0, 3), (1, 2)]


def test_link_respects_max_distance_and_appear_disappear():
    obj = _points([(0, 1, 0.0, 0.0), (1, 1, 50.0, 50.0)])
    g = link_objects(obj, max_distance=10)
    assert g.number_of_edges() == 0
    assert g.number_of_nodes() == 2


def test_link_is_globally_optimal_not_greedy():
    # Greedy would link a->c (distance 1) and leave b unlinked (b->c 2, b->d 10 > max).
    # The optimum links a->d (3) and b->c (2): total 13 < 1 + 2*max^2 penalties.
    obj = _points([(0, 1, 0.0, 0.0), (0, 2, 3.0, 0.0), (1, 1, 1.0, 0.0), (1, 2, -3.0, 0.0)])
    g = link_objects(obj, max_distance=4)
    assert sorted(g.edges) == [(0, 3), (1, 2)]


def test_link_uses_spacing():
    obj = pd.DataFrame(
        {"t": [0, 1], "label": [1, 1], "z": [0.0, 2.0], "y": [0.0, 0.0], "x": [0.0, 0.0]}
    )
    # Two z-steps of 3 µm = 6 µm: linked with max 7 µm, not with max 5 µm.
    assert link_objects(obj, max_distance=7, spacing=(3, 0.5, 0.5)).number_of_edges() == 1
    assert link_objects(obj, max_distance=5, spacing=(3, 0.5, 0.5)).number_of_edges() == 0


def test_link_rejects_bad_input():
    with pytest.raises(InputError, match="columns"):
        link_objects(pd.DataFrame({"t": [0]}), max_distance=3)
    with pytest.raises(InputError, match="positive"):
        link_objects(_points([(0, 1, 0.0, 0.0)]), max_distance=0)


def test_noise_free_simulation_is_tracked_exactly(sim2d):
    """Linking the ground-truth masks of a slow simulated movie gives back its tracks."""
    from celldyn.measure import centroids

    obj = centroids(sim2d.labels)
    g = link_objects(obj, max_distance=6)
    mapping = assign_tracklets(g)
    # every GT edge between consecutive frames of the same track is recovered
    truth = {
        (r.t, r.label)
        for r in obj.itertuples()
    }
    node_of = {(int(r.t), int(r.label)): i for i, r in enumerate(obj.itertuples())}
    for (t, lab) in truth:
        if (t + 1, lab) in node_of:
            assert g.has_edge(node_of[(t, lab)], node_of[(t + 1, lab)])
    assert len(set(mapping.values())) >= sim2d.table["label"].nunique() - len(
        sim2d.table.query("parent > 0")
    )


def test_ctc_round_trip_with_division_and_gap():
    labels = np.zeros((5, 20, 20), np.int32)
    labels[0:2, 2:4, 2:4] = 1  # track 1, frames 0-1, divides
    labels[2:4, 1:3, 1:3] = 2  # child 2
    labels[2:3, 5:7, 5:7] = 3  # child 3, ends at 2
    labels[4, 5:7, 5:7] = 4  # track 4 re-appears after a gap, parent 3
    table = pd.DataFrame(
        [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 2, 1], [4, 4, 4, 3]],
        columns=["label", "begin", "end", "parent"],
    )
    g = graph_from_ctc(labels, table)
    assert sorted(g.out_degree(n) for n in g) == [0, 0, 1, 1, 1, 2]
    assign_tracklets(g)
    back = ctc_table_from_graph(g)
    relabelled = relabel_by_tracklet(labels, g)
    # ids may be renumbered, but the structure is the same
    ren = {int(a): int(b) for a, b in zip(labels.ravel(), relabelled.ravel()) if a}
    expect = table.copy()
    expect["label"] = expect["label"].map(ren)
    expect["parent"] = expect["parent"].map(lambda p: ren.get(p, 0))
    pd.testing.assert_frame_equal(
        back.sort_values("label").reset_index(drop=True),
        expect.sort_values("label").reset_index(drop=True),
    )


@pytest.mark.parametrize(
    "rows, match",
    [
        ([[1, 0, 2, 5]], "parents"),
        ([[1, 0, 2, 0], [1, 3, 4, 0]], "duplicate"),
        ([[1, 3, 2, 0]], "begin"),
        ([[1, 0, 2, 0], [2, 1, 3, 1]], "before their parent ends"),
    ],
    ids=["unknown-parent", "duplicate", "begin-after-end", "parent-overlap"],
)
def test_check_ctc_table_refuses_bad_tables(rows, match):
    with pytest.raises(InputError, match=match):
        check_ctc_table(pd.DataFrame(rows, columns=["label", "begin", "end", "parent"]))


def test_prune_short_branches_keeps_real_divisions():
    import networkx as nx

    from celldyn.track import prune_short_branches

    def chain(g, start, t0, n):
        nodes = list(range(start, start + n))
        for i, node in enumerate(nodes):
            g.add_node(node, t=t0 + i, seg_id=node + 1)
        g.add_edges_from(zip(nodes[:-1], nodes[1:]))
        return nodes

    g = nx.DiGraph()
    mother = chain(g, 0, 0, 3)  # frames 0-2
    a = chain(g, 10, 3, 6)  # frames 3-8, the movie's end
    b = chain(g, 20, 3, 2)  # frames 3-4, then vanishes: a fragment
    g.add_edges_from([(mother[-1], a[0]), (mother[-1], b[0])])
    assert prune_short_branches(g, min_length=3) == 1
    assert not g.has_edge(mother[-1], b[0]) and g.has_edge(mother[-1], a[0])

    g2 = nx.DiGraph()
    mother = chain(g2, 0, 0, 3)
    a = chain(g2, 10, 3, 2)  # both daughters reach the last frame (4): kept
    b = chain(g2, 20, 3, 2)
    g2.add_edges_from([(mother[-1], a[0]), (mother[-1], b[0])])
    assert prune_short_branches(g2, min_length=3) == 0
    assert g2.out_degree(mother[-1]) == 2
