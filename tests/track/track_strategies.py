"""hypothesis strategies for the tracking tests: detections and track graphs.

(Named ``track_strategies`` rather than ``strategies`` so it cannot shadow another test
folder's helper module of that name on ``sys.path``.)
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import strategies as st


@st.composite
def detections(draw, max_frames: int = 6, max_per_frame: int = 5, extent: float = 20.0):
    """An objects table: random 2D points with an area, sorted by (t, label)."""
    n_frames = draw(st.integers(1, max_frames))
    coord = st.floats(0, extent, allow_nan=False, allow_infinity=False, width=32)
    rows = []
    for t in range(n_frames):
        k = draw(st.integers(0, max_per_frame))
        for lab in range(1, k + 1):
            area = draw(st.floats(10, 40, width=32))
            rows.append((t, lab, draw(coord), draw(coord), area))
    return pd.DataFrame(rows, columns=["t", "label", "y", "x", "area"]).astype(
        {"t": np.int64, "label": np.int64}
    )


@st.composite
def track_graphs(draw, max_frames: int = 7, max_per_frame: int = 4, max_gap: int = 2):
    """A tracks graph without merges and a label movie that draws its nodes.

    Each node gets at most one parent in the ``max_gap + 1`` frames before it, among
    nodes that have fewer than two children (so divisions and gaps occur). Node ids are
    ints, ``seg_id`` is 1.. within a frame; object ``seg_id`` of frame ``t`` is the
    2x2 block at columns ``3 * seg_id``.

    Returns
    -------
    (graph, labels)
    """
    n_frames = draw(st.integers(1, max_frames))
    graph = nx.DiGraph()
    by_frame: list[list[int]] = []
    node = 0
    for t in range(n_frames):
        k = draw(st.integers(0, max_per_frame))
        here = []
        for seg in range(1, k + 1):
            graph.add_node(node, t=t, seg_id=seg, y=1.5, x=3.0 * seg + 0.5)
            options = [
                p
                for dt in range(1, max_gap + 2)
                if t - dt >= 0
                for p in by_frame[t - dt]
                if graph.out_degree(p) < 2
            ]
            choice = draw(st.integers(-1, len(options) - 1)) if options else -1
            if choice >= 0:
                graph.add_edge(options[choice], node)
            here.append(node)
            node += 1
        by_frame.append(here)
    labels = np.zeros((n_frames, 3, 3 * (max_per_frame + 1) + 2), np.int32)
    for _, d in graph.nodes(data=True):
        c = 3 * d["seg_id"]
        labels[d["t"], 1:3, c : c + 2] = d["seg_id"]
    return graph, labels
