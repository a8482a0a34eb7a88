"""The tracks graph and its CTC view.

The graph is a :class:`networkx.DiGraph`: one node per object per frame, edges forward
in time. Node ids are ints; node attributes use geff's vocabulary:

``t``
    frame index (int)
``seg_id``
    the object's label in the label movie at frame ``t`` (int)
``z``, ``y``, ``x``
    centroid in pixels (``z`` only for 3D)
``tracklet``
    track id (set by :func:`assign_tracklets`), the label the object has in the
    tracked label movie and in the CTC export

Out-degree 2 is a division, in-degree 2 a merge, an edge spanning k > 1 frames a gap.

The CTC view is a table with columns ``label, begin, end, parent`` (the rows of
``man_track.txt`` / ``res_track.txt``). A tracklet is a maximal chain of nodes joined
by one-to-one edges across consecutive frames. CTC cannot encode merges, so a merged
child's tracklet gets parent 0 there (the merge stays in the graph and in GEFF); a gap
(an edge over k > 1 frames) starts a new tracklet whose parent is the one before it,
as the CTC ground truth itself encodes re-appearing objects.

This module is ours: the conversions are a few dozen lines over networkx.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "CTC_COLUMNS",
    "assign_tracklets",
    "ctc_table_from_graph",
    "graph_from_ctc",
    "relabel_by_tracklet",
    "check_ctc_table",
    "prune_short_branches",
]

CTC_COLUMNS = ["label", "begin", "end", "parent"]


def _sorted_nodes(graph: nx.DiGraph) -> list[Any]:
    return sorted(graph.nodes, key=lambda n: (graph.nodes[n]["t"], graph.nodes[n]["seg_id"]))


def assign_tracklets(graph: nx.DiGraph) -> dict[Any, int]:
    """Give each node a track id (``tracklet`` attribute), deterministically.

    Track ids start at 1 and follow the order of each tracklet's first node by
    (t, seg_id). The graph is modified in place and the mapping node -> id returned.
    """
    mapping: dict[Any, int] = {}
    next_id = 1
    for node in _sorted_nodes(graph):
        preds = list(graph.predecessors(node))
        if len(preds) == 1:
            p = preds[0]
            if (
                graph.out_degree(p) == 1
                and graph.nodes[node]["t"] - graph.nodes[p]["t"] == 1
                and p in mapping
            ):
                mapping[node] = mapping[p]
                continue
        mapping[node] = next_id
        next_id += 1
    nx.set_node_attributes(graph, mapping, "tracklet")
    return mapping


def ctc_table_from_graph(graph: nx.DiGraph) -> pd.DataFrame:
    """CTC track table (label, begin, end, parent) of a graph with ``tracklet`` set."""
    rows: dict[int, list[int]] = {}
    for node, data in graph.nodes(data=True):
        tid = int(data["tracklet"])
        t = int(data["t"])
        if tid not in rows:
            rows[tid] = [tid, t, t, 0]
        else:
            rows[tid][1] = min(rows[tid][1], t)
            rows[tid][2] = max(rows[tid][2], t)
    for node, data in graph.nodes(data=True):
        preds = list(graph.predecessors(node))
        tid = int(data["tracklet"])
        if len(preds) == 1 and int(graph.nodes[preds[0]]["tracklet"]) != tid:
            rows[tid][3] = int(graph.nodes[preds[0]]["tracklet"])
    table = pd.DataFrame(sorted(rows.values()), columns=CTC_COLUMNS, dtype=np.int64)
    return table


def relabel_by_tracklet(labels: Any, graph: nx.DiGraph, *, out: Any = None) -> Any:
    """Return a copy of `labels` where each object carries its ``tracklet`` id.

    Objects that are not nodes of the graph become background. `labels` may be any
    array-like indexable by frame (numpy, zarr, dask); frames are read one at a time.
    `out`, if given (e.g. a zarr array on disk, for movies larger than memory), must
    start all zero; it is filled frame by frame and returned.
    """
    if out is None:
        out = np.zeros(labels.shape, dtype=np.int32)
    by_t: dict[int, list[tuple[int, int]]] = {}
    for _, d in graph.nodes(data=True):
        by_t.setdefault(int(d["t"]), []).append((int(d["seg_id"]), int(d["tracklet"])))
    for t, pairs in by_t.items():
        frame = np.asarray(labels[t])
        lut = np.zeros(int(frame.max()) + 1, dtype=np.int32)
        for seg, tid in pairs:
            if seg < lut.size:
                lut[seg] = tid
        out[t] = lut[frame]
    return out


def check_ctc_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a CTC track table; return it with int64 columns.

    Raises
    ------
    InputError
        On missing columns, duplicate labels, begin > end, unknown parents, a parent
        that does not end before its child begins, or cycles.
    """
    missing = [c for c in CTC_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"track table lacks columns {missing}; expected {CTC_COLUMNS}")
    table = table[CTC_COLUMNS].astype(np.int64).reset_index(drop=True)
    problems = []
    if (table["label"] <= 0).any():
        problems.append("labels must be positive")
    if table["label"].duplicated().any():
        dup = table.loc[table["label"].duplicated(), "label"].tolist()[:5]
        problems.append(f"duplicate track labels {dup}")
    if (table["begin"] > table["end"]).any() or (table["begin"] < 0).any():
        problems.append("begin must be >= 0 and <= end")
    known = set(table["label"]) | {0}
    orphans = sorted(set(table["parent"]) - known)
    if orphans:
        problems.append(f"parents {orphans[:5]} are not tracks")
    if (table["parent"] == table["label"]).any():
        problems.append("a track is its own parent")
    end = dict(zip(table["label"], table["end"]))
    late = [
        int(r.label) for r in table.itertuples() if r.parent and end.get(r.parent, -1) >= r.begin
    ]
    if late:
        problems.append(f"tracks {late[:5]} begin before their parent ends")
    if problems:
        raise InputError("invalid track table: " + "; ".join(problems))
    return table


def graph_from_ctc(labels: np.ndarray, table: pd.DataFrame) -> nx.DiGraph:
    """Build the tracks graph from a CTC label movie and its track table.

    Parameters
    ----------
    labels : (T, [Z,] Y, X) int array
        Tracked label movie (the id of an object is its track label).
    table : DataFrame
        Columns ``label, begin, end, parent``.

    Returns
    -------
    graph : networkx.DiGraph
        Nodes are sequential ints in (t, label) order, with ``t``, ``seg_id``,
        ``tracklet`` and centroid attributes; consecutive appearances of a label are
        linked (across gaps too) and each track's first node to its parent's last.
    """
    from ..measure.features import centroids  # local: measure is a sibling stage

    table = check_ctc_table(table)
    graph = nx.DiGraph()
    cents = centroids(labels)
    axes = ["z", "y", "x"][-(labels.ndim - 1) :]
    nodes_of: dict[int, list[tuple[int, int]]] = {}
    for i, row in enumerate(cents.itertuples(index=False)):
        t, lab = int(row.t), int(row.label)
        attrs = {"t": t, "seg_id": lab, "tracklet": lab}
        attrs.update({a: float(getattr(row, a)) for a in axes})
        graph.add_node(i, **attrs)
        nodes_of.setdefault(lab, []).append((t, i))
    for lab, seq in nodes_of.items():
        seq.sort()
        for (_, a), (_, b) in zip(seq[:-1], seq[1:]):
            graph.add_edge(a, b)
    for row in table.itertuples(index=False):
        if row.parent and row.parent in nodes_of and row.label in nodes_of:
            graph.add_edge(max(nodes_of[row.parent])[1], min(nodes_of[row.label])[1])
    return graph


def prune_short_branches(graph: nx.DiGraph, *, min_length: int = 3) -> int:
    """Undo divisions whose daughter branch vanishes within `min_length` frames.

    Over-segmentation (a nucleus cut in two for a frame or two) looks like a division
    followed by one daughter disappearing. A daughter branch that ends, without
    dividing again and before the last frame of the movie, after fewer than
    `min_length` nodes is detached from its mother: it stays in the graph as a short
    track of its own, and the mother continues through her other daughter. Removing
    short spurious branches is a common clean-up in lineage tools; ours is this small
    rule. Modifies `graph` in place and returns the number of divisions undone.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> for n, t in enumerate([0, 1, 1, 2, 3]):
    ...     g.add_node(n, t=t, seg_id=n + 1)
    >>> g.add_edges_from([(0, 1), (0, 2), (1, 3), (3, 4)])  # node 2 is a 1-frame branch
    >>> prune_short_branches(g, min_length=2), sorted(g.edges)
    (1, [(0, 1), (1, 3), (3, 4)])
    """
    if min_length <= 1 or graph.number_of_nodes() == 0:
        return 0
    last = max(int(d["t"]) for _, d in graph.nodes(data=True))
    undone = 0
    for mother in [n for n in graph if graph.out_degree(n) == 2]:
        branches = []
        for child in sorted(graph.successors(mother)):
            length, node, ends_early = 1, child, True
            while True:
                succ = list(graph.successors(node))
                if len(succ) != 1 or length >= min_length:
                    ends_early = not succ and int(graph.nodes[node]["t"]) < last
                    break
                node = succ[0]
                length += 1
            branches.append((length, child, ends_early and length < min_length))
        short = [b for b in branches if b[2]]
        if len(short) == 1:  # exactly one spurious daughter: keep the other
            graph.remove_edge(mother, short[0][1])
            undone += 1
    return undone
