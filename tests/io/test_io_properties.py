"""Property tests: read(write(x)) == x for random label movies, tables and graphs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from celldyn.io import (
    read_ctc_result,
    read_geff,
    read_labels_ome_zarr,
    read_parquet,
    write_ctc_result,
    write_geff,
    write_labels_ome_zarr,
    write_parquet,
)
from celldyn.track import assign_tracklets, ctc_table_from_graph

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def label_movies(draw):
    """Small random (T, [Z,] Y, X) label movies; ids up to beyond uint16."""
    ndim = draw(st.sampled_from([2, 3]))
    shape = (draw(st.integers(1, 4)),) + tuple(
        draw(st.integers(1, 9)) for _ in range(ndim)
    )
    big = draw(st.booleans())
    ids = st.integers(0, 70000 if big else 50)
    return draw(hnp.arrays(np.int32, shape, elements=ids))


@st.composite
def track_graphs(draw):
    """Random forests of tracks with divisions and gaps (no merges)."""
    g = nx.DiGraph()
    n_frames = draw(st.integers(1, 6))
    frontier: list[int] = []
    next_id = 0
    for t in range(n_frames):
        new_frontier = []
        for parent in frontier:
            n_children = draw(st.sampled_from([0, 1, 1, 1, 2]))
            for _ in range(n_children):
                g.add_node(next_id, t=t, seg_id=next_id + 1, y=float(draw(st.integers(0, 50))),
                           x=float(draw(st.integers(0, 50))))
                g.add_edge(parent, next_id)
                new_frontier.append(next_id)
                next_id += 1
        for _ in range(draw(st.integers(0, 2))):  # newcomers
            g.add_node(next_id, t=t, seg_id=next_id + 1, y=1.0, x=2.0)
            new_frontier.append(next_id)
            next_id += 1
        frontier = new_frontier
    return g


def _labels_from_graph(g: nx.DiGraph) -> np.ndarray:
    """One pixel per node, at a distinct place in its frame."""
    n_frames = 1 + max((d["t"] for _, d in g.nodes(data=True)), default=0)
    per_t: dict[int, int] = {}
    labels = np.zeros((n_frames, 4, 16), np.int32)
    for n, d in sorted(g.nodes(data=True)):
        k = per_t.get(d["t"], 0)
        per_t[d["t"]] = k + 1
        labels[d["t"], k // 16, k % 16] = d["seg_id"]
    return labels


@SETTINGS
@given(label_movies())
def test_ome_zarr_round_trip(labels):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.ome.zarr"
        write_labels_ome_zarr(path, labels)
        np.testing.assert_array_equal(read_labels_ome_zarr(path), labels)


@SETTINGS
@given(track_graphs())
def test_ctc_round_trip(graph):
    if graph.number_of_nodes() == 0:
        return
    assign_tracklets(graph)
    table = ctc_table_from_graph(graph)
    from celldyn.track import relabel_by_tracklet

    labels = relabel_by_tracklet(_labels_from_graph(graph), graph)
    with tempfile.TemporaryDirectory() as tmp:
        write_ctc_result(Path(tmp) / "ctc", labels, table)
        labels2, table2 = read_ctc_result(Path(tmp) / "ctc")
    np.testing.assert_array_equal(labels2, labels)
    pd.testing.assert_frame_equal(
        table2.sort_values("label").reset_index(drop=True),
        table.sort_values("label").reset_index(drop=True),
        check_dtype=False,
    )


@SETTINGS
@given(track_graphs())
def test_geff_round_trip(graph):
    if graph.number_of_nodes() == 0:
        return
    assign_tracklets(graph)
    with tempfile.TemporaryDirectory() as tmp:
        write_geff(Path(tmp) / "g.geff", graph, axis_names=["y", "x"])
        back = read_geff(Path(tmp) / "g.geff")
    assert sorted(back.edges) == sorted(graph.edges)
    for n, d in graph.nodes(data=True):
        for key in ("t", "seg_id", "y", "x", "tracklet"):
            assert back.nodes[n][key] == d[key]


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.integers(1, 2**31 - 1),
                  st.floats(allow_nan=False, allow_infinity=False, width=32)),
        min_size=0, max_size=30,
    )
)
def test_parquet_round_trip(rows):
    df = pd.DataFrame(rows, columns=["t", "label", "area"]).astype(
        {"t": np.int64, "label": np.int64, "area": np.float32}
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_parquet(Path(tmp) / "o.parquet", df)
        back = read_parquet(Path(tmp) / "o.parquet")
    pd.testing.assert_frame_equal(back, df)
