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

Each rule is written once over plain arrays (node ``t``, ``seg_id``, ``tracklet`` and
an ``(E, 2)`` array of edges between node rows): the pipeline keeps long movies in that
columnar form, a few dozen bytes per object instead of the kilobyte a networkx node
costs. The networkx functions convert and call them.

This module is ours: the conversions are a few dozen lines over numpy and networkx.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._tables import CTC_COLUMNS, check_ctc_table
from ..errors import InputError

__all__ = [
    "CTC_COLUMNS",
    "assign_tracklets",
    "tracklet_ids",
    "ctc_table",
    "prune_short_branch_edges",
    "graph_arrays",
    "ctc_table_from_graph",
    "graph_from_ctc",
    "relabel_by_tracklet",
    "check_ctc_table",
    "prune_short_branches",
]



def graph_arrays(graph: nx.DiGraph) -> tuple[list[Any], dict[str, np.ndarray], np.ndarray]:
    """The columnar form of a tracks graph.

    Returns the node ids (in graph order), a dict of node attribute arrays (``t``,
    ``seg_id`` and ``tracklet`` where every node has them) and the ``(E, 2)`` int64
    array of edges as row indices into the node list.
    """
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    attrs: dict[str, np.ndarray] = {}
    for name in ("t", "seg_id", "tracklet"):
        values = [graph.nodes[n].get(name) for n in nodes]
        if all(v is not None for v in values):
            attrs[name] = np.asarray(values, dtype=np.int64).reshape(-1)
    edges = np.asarray([(index[u], index[v]) for u, v in graph.edges], dtype=np.int64)
    return nodes, attrs, edges.reshape(-1, 2)


def _degrees(n: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In-degree, out-degree and the predecessor of each node (-1 unless in-degree 1)."""
    in_deg = np.bincount(edges[:, 1], minlength=n)
    out_deg = np.bincount(edges[:, 0], minlength=n)
    pred = np.full(n, -1, dtype=np.int64)
    single = in_deg[edges[:, 1]] == 1
    pred[edges[single, 1]] = edges[single, 0]
    return in_deg, out_deg, pred


def tracklet_ids(t: np.ndarray, seg_id: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Track id of every node (1, 2, ...), deterministically.

    A node continues its predecessor's tracklet when it has exactly one predecessor,
    that predecessor has exactly one successor, and they are one frame apart. New ids
    follow the order of each tracklet's first node by (t, seg_id).

    Examples
    --------
    >>> t = np.array([0, 1, 1, 2]); seg = np.array([1, 1, 2, 1])
    >>> tracklet_ids(t, seg, np.array([[0, 1], [0, 2], [1, 3]])).tolist()
    [1, 2, 3, 2]
    """
    t = np.asarray(t, dtype=np.int64)
    n = t.size
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    _, out_deg, pred = _degrees(n, edges)
    has = pred >= 0
    cont = np.zeros(n, dtype=bool)
    cont[has] = (out_deg[pred[has]] == 1) & (t[has] - t[pred[has]] == 1)
    order = np.lexsort((np.asarray(seg_id, dtype=np.int64), t))
    ids = np.zeros(n, dtype=np.int64)
    starts = order[~cont[order]]
    ids[starts] = np.arange(1, starts.size + 1)
    ids_l, pred_l = ids.tolist(), pred.tolist()
    for v in order[cont[order]].tolist():  # in time order: the predecessor is done
        ids_l[v] = ids_l[pred_l[v]]
    return np.asarray(ids_l, dtype=np.int64)


def ctc_table(t: np.ndarray, tracklet: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    """CTC track table (label, begin, end, parent) from node arrays and edges."""
    t = np.asarray(t, dtype=np.int64)
    tracklet = np.asarray(tracklet, dtype=np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if t.size == 0:
        return pd.DataFrame({c: np.zeros(0, np.int64) for c in CTC_COLUMNS})
    labels, inv = np.unique(tracklet, return_inverse=True)
    begin = np.full(labels.size, np.iinfo(np.int64).max)
    end = np.full(labels.size, np.iinfo(np.int64).min)
    np.minimum.at(begin, inv, t)
    np.maximum.at(end, inv, t)
    parent = np.zeros(labels.size, dtype=np.int64)
    _, _, pred = _degrees(t.size, edges)
    has = np.flatnonzero(pred >= 0)
    other = has[tracklet[pred[has]] != tracklet[has]]
    parent[inv[other]] = tracklet[pred[other]]
    return pd.DataFrame(
        {"label": labels, "begin": begin, "end": end, "parent": parent}, dtype=np.int64
    )


def assign_tracklets(graph: nx.DiGraph) -> dict[Any, int]:
    """Give each node a track id (``tracklet`` attribute), deterministically.

    Track ids start at 1 and follow the order of each tracklet's first node by
    (t, seg_id) (:func:`tracklet_ids`). The graph is modified in place and the mapping
    node -> id returned.
    """
    nodes, attrs, edges = graph_arrays(graph)
    if not nodes:
        return {}
    ids = tracklet_ids(attrs["t"], attrs["seg_id"], edges)
    mapping = dict(zip(nodes, ids.tolist()))
    nx.set_node_attributes(graph, mapping, "tracklet")
    return mapping


def ctc_table_from_graph(graph: nx.DiGraph) -> pd.DataFrame:
    """CTC track table (label, begin, end, parent) of a graph with ``tracklet`` set."""
    _, attrs, edges = graph_arrays(graph)
    if graph.number_of_nodes() and "tracklet" not in attrs:
        raise InputError("every node needs a 'tracklet' (call assign_tracklets first)")
    return ctc_table(attrs.get("t", np.zeros(0)), attrs.get("tracklet", np.zeros(0)), edges)


def relabel_by_tracklet(
    labels: Any, graph: nx.DiGraph | None = None, *, out: Any = None,
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Any:
    """Return a copy of `labels` where each object carries its ``tracklet`` id.

    Objects that are not nodes of the graph become background. `labels` may be any
    array-like indexable by frame (numpy, zarr, dask); frames are read one at a time.
    `out`, if given (e.g. a zarr array on disk, for movies larger than memory), must
    start all zero; it is filled frame by frame and returned. Instead of a graph,
    `nodes` may give the arrays ``(t, seg_id, tracklet)``.
    """
    if nodes is None:
        if graph is None:
            raise TypeError("relabel_by_tracklet needs a graph or nodes=(t, seg_id, tracklet)")
        _, attrs, _ = graph_arrays(graph)
        n = graph.number_of_nodes()
        nodes = tuple(attrs.get(k, np.zeros(n, np.int64)) for k in ("t", "seg_id", "tracklet"))
    t, seg, tid = (np.asarray(a, dtype=np.int64) for a in nodes)
    if out is None:
        out = np.zeros(labels.shape, dtype=np.int32)
    order = np.argsort(t, kind="stable")
    frames, first = np.unique(t[order], return_index=True)
    for frame_t, group in zip(frames.tolist(), np.split(order, first[1:])):
        frame = np.asarray(labels[frame_t])
        lut = np.zeros(int(frame.max()) + 1, dtype=np.int32)
        keep = seg[group] < lut.size
        lut[seg[group][keep]] = tid[group][keep]
        out[frame_t] = lut[frame]
    return out


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
    nodes, attrs, edges = graph_arrays(graph)
    if not nodes:
        return 0
    kept, undone = prune_short_branch_edges(attrs["t"], edges, min_length=min_length)
    if undone:
        drop = set(map(tuple, edges.tolist())) - set(map(tuple, kept.tolist()))
        graph.remove_edges_from((nodes[u], nodes[v]) for u, v in sorted(drop))
    return undone


def prune_short_branch_edges(
    t: np.ndarray, edges: np.ndarray, *, min_length: int = 3
) -> tuple[np.ndarray, int]:
    """:func:`prune_short_branches` on arrays: the edges kept and the number undone.

    Mothers are visited in node order; `edges` holds row indices of `t`.
    """
    t = np.asarray(t, dtype=np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if min_length <= 1 or t.size == 0 or edges.size == 0:
        return edges, 0
    last = int(t.max())
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    starts = np.searchsorted(edges[order, 0], np.arange(t.size + 1))
    targets = edges[order, 1].tolist()
    starts_l = starts.tolist()
    removed: set[tuple[int, int]] = set()

    def successors(node: int) -> list[int]:
        kids = targets[starts_l[node]:starts_l[node + 1]]
        return [c for c in kids if (node, c) not in removed] if removed else kids

    t_l = t.tolist()
    out_deg = np.diff(starts)
    for mother in np.flatnonzero(out_deg == 2).tolist():
        branches = []
        for child in successors(mother):
            length, node, ends_early = 1, child, True
            while True:
                succ = successors(node)
                if len(succ) != 1 or length >= min_length:
                    ends_early = not succ and t_l[node] < last
                    break
                node = succ[0]
                length += 1
            branches.append((length, child, ends_early and length < min_length))
        short = [b for b in branches if b[2]]
        if len(short) == 1:  # exactly one spurious daughter: keep the other
            removed.add((mother, short[0][1]))
    if not removed:
        return edges, 0
    keep = np.array([(int(u), int(v)) not in removed for u, v in edges.tolist()], dtype=bool)
    return edges[keep], len(removed)


def subsample_ctc(
    labels: NDArray, table: pd.DataFrame, step: int
) -> tuple[NDArray, pd.DataFrame]:
    """Keep every `step`-th frame (0, step, 2 step, ...) of a CTC label movie and
    rebuild its track table, consistently: the one CTC subsampling of celldyn (training
    examples, benchmarks).

    A track keeps the kept frames of its ``begin..end`` (cut at the movie's last frame:
    `labels` may be the first frames of the movie `table` describes); a track with none
    left is dropped (its pixels too) and its daughters hang from its nearest kept
    ancestor, so divisions and gaps survive.

    Returns
    -------
    labels : (ceil(T / step), ...) array
    table : DataFrame ``label, begin, end, parent`` in the new frame indices
    """
    step = int(step)
    if step < 1:
        raise InputError(f"step must be a positive integer; got {step!r}")
    sub = np.asarray(labels)[::step]
    rows = {}
    parent_of = {}
    for r in table.itertuples(index=False):
        parent_of[int(r.label)] = int(r.parent)
        b = -(-int(r.begin) // step)
        e = min(int(r.end) // step, len(sub) - 1)
        if b <= e:
            rows[int(r.label)] = [int(r.label), b, e, 0]
    for lab, row in rows.items():
        p = parent_of.get(lab, 0)
        while p and p not in rows:
            p = parent_of.get(p, 0)
        if p and rows[p][2] < row[1]:
            row[3] = p
    out = pd.DataFrame(sorted(rows.values()), columns=["label", "begin", "end", "parent"])
    keep = np.isin(sub, out["label"].to_numpy())
    sub = np.where(keep, sub, 0).astype(sub.dtype)
    return sub, out.astype(np.int64)


