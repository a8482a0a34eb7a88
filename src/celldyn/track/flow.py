"""Local flow: where a cell's neighbours went predicts where it went (ours).

In a growing colony (bacteria pushed outward by their neighbours' growth, an expanding
epithelium) every cell moves with the tissue: at a low frame rate the displacement
between frames can exceed the spacing between cells, so a nearest-position link goes to
the neighbour that now sits where the cell was. Measuring each candidate's distance
from where the *local flow* carries its source (the median displacement of the first
pass's links out of its nearest neighbours) removes that shared motion.

Most movies have no such flow (nuclei and cells that migrate independently): the
neighbours' median step then predicts a cell's own step no better than zero motion,
and measuring from it only adds noise (on the training parts it cost divisions in DIC
HeLa and PSC). So the flow is used only when the movie shows it:
:func:`flow_coherence` is ``1 - median |d_i - f_i| / median |d_i|`` over the first
pass's one-frame links ``d_i``, with ``f_i`` the median step of the ``FLOW_NEIGHBOURS``
nearest *other* sources of the same frame. It is about 0 or below for independent
motion and positive where neighbours move alike; :data:`FLOW_COHERENCE` is the level
above which :func:`celldyn.track.track_objects` relinks with the flow (set by
reasoning, between 0, the independent-motion value, and the values of a growing
colony: benchmarks/RESULTS.md, 'Tracking: local flow').

Written here: the flow and its coherence. Nearest neighbours come from
:class:`scipy.spatial.cKDTree`; the assignment is :func:`~celldyn.track.lap.lap_links`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["FLOW_COHERENCE", "FLOW_NEIGHBOURS", "FLOW_MIN_NEIGHBOURS", "flow_coherence",
           "neighbour_flow", "flow_candidates", "flow_gate", "relink_with_flow"]

FLOW_NEIGHBOURS = 8
"""Neighbours whose first-pass steps make a cell's local flow."""
FLOW_MIN_NEIGHBOURS = 3
"""A cell with fewer linked neighbours within the search radius gets no flow (0)."""
FLOW_COHERENCE = 0.1
"""Relink with the local flow when :func:`flow_coherence` is at least this: the
neighbours' median step explains at least a tenth of a cell's typical step."""


def _one_frame_steps(objects: pd.DataFrame, edges: NDArray[np.int64],
                     spacing: Sequence[float] | None
                     ) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                NDArray[np.int64], NDArray[np.float64]]:
    """Positions, frames, the one-frame links and their steps (physical units)."""
    from .candidates import physical_positions

    pos = physical_positions(objects, spacing)
    t = objects["t"].to_numpy(np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    one = edges[t[edges[:, 1]] - t[edges[:, 0]] == 1]
    return pos, t, one, pos[one[:, 1]] - pos[one[:, 0]]


def flow_coherence(objects: pd.DataFrame, edges: NDArray[np.int64], *,
                   spacing: Sequence[float] | None = None,
                   k: int = FLOW_NEIGHBOURS) -> float:
    """How much of a cell's step its neighbours' median step explains (see the module
    docstring); 0.0 when there are too few links or no motion to judge.

    Examples
    --------
    >>> ys, xs = np.mgrid[0:5, 0:5]
    >>> grid = np.c_[ys.ravel(), xs.ravel()] * 10.0
    >>> rows = [(t, i, *(grid[i] * (1 + 0.1 * t))) for t in range(3) for i in range(25)]
    >>> objects = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    >>> edges = np.array([[t * 25 + i, (t + 1) * 25 + i] for t in range(2)
    ...                   for i in range(25)])
    >>> flow_coherence(objects, edges) > 0.5      # an expanding sheet
    True
    """
    from scipy.spatial import cKDTree

    pos, t, one, step = _one_frame_steps(objects, edges, spacing)
    res: list[NDArray[np.float64]] = []
    mag: list[NDArray[np.float64]] = []
    src_t = t[one[:, 0]]
    for f in np.unique(src_t):
        sel = np.flatnonzero(src_t == f)
        if len(sel) <= k:
            continue
        _, idx = cKDTree(pos[one[sel, 0]]).query(pos[one[sel, 0]], k=k + 1)
        flow = np.median(step[sel][idx[:, 1:]], axis=1)  # the other k, not itself
        res.append(np.linalg.norm(step[sel] - flow, axis=1))
        mag.append(np.linalg.norm(step[sel], axis=1))
    if not res:
        return 0.0
    typical = float(np.median(np.concatenate(mag)))
    if typical <= 0:
        return 0.0
    return float(1.0 - np.median(np.concatenate(res)) / typical)


def neighbour_flow(objects: pd.DataFrame, edges: NDArray[np.int64], *, radius: float,
                   spacing: Sequence[float] | None = None,
                   k: int = FLOW_NEIGHBOURS,
                   min_neighbours: int = FLOW_MIN_NEIGHBOURS) -> NDArray[np.float64]:
    """Per detection, the median one-frame step of the first pass's links out of its
    `k` nearest linked sources of the same frame within `radius` (itself included when
    it has a link); zero with fewer than `min_neighbours` of them."""
    from scipy.spatial import cKDTree

    pos, t, one, step = _one_frame_steps(objects, edges, spacing)
    flow = np.zeros_like(pos)
    src_t = t[one[:, 0]]
    for f in np.unique(src_t):
        sel = np.flatnonzero(src_t == f)
        rows = np.flatnonzero(t == f)
        kk = min(k, len(sel))
        dist, idx = cKDTree(pos[one[sel, 0]]).query(pos[rows], k=kk,
                                                     distance_upper_bound=radius)
        dist = np.reshape(dist, (len(rows), kk))
        idx = np.reshape(idx, (len(rows), kk))
        ok = np.isfinite(dist)
        enough = ok.sum(axis=1) >= min_neighbours
        if not enough.any():
            continue
        near = np.where(ok[..., None], step[sel][np.minimum(idx, len(sel) - 1)], np.nan)
        flow[rows[enough]] = np.nanmedian(near[enough], axis=1)
    return flow


def flow_candidates(objects: pd.DataFrame, edges: NDArray[np.int64], *, max_distance: float,
                    max_gap: int, spacing: Sequence[float] | None = None) -> pd.DataFrame:
    """The candidate links within `max_distance` with each distance measured from where
    the local flow (:func:`neighbour_flow` of the first pass's `edges`) carries the
    source, for a second assignment."""
    from .candidates import candidate_links, physical_positions

    flow = neighbour_flow(objects, edges, radius=max_distance, spacing=spacing)
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    pos = physical_positions(objects, spacing)
    s, g = cands["source"].to_numpy(np.int64), cands["target"].to_numpy(np.int64)
    dt = cands["dt"].to_numpy(np.int64)
    cands["distance"] = np.linalg.norm(pos[g] - pos[s] - dt[:, None] * flow[s], axis=1)
    return cands


def flow_gate(objects: pd.DataFrame, edges: NDArray[np.int64], *,
              spacing: Sequence[float] | None = None, flow: bool | None = None
              ) -> tuple[bool, str]:
    """Whether to relink with the local flow (`flow` True or False forces it; None:
    :func:`flow_coherence` of the first pass's `edges` at least :data:`FLOW_COHERENCE`)
    and a clause for the run summary ("" when `flow` is False)."""
    if flow is False:
        return False, ""
    coherence = flow_coherence(objects, edges, spacing=spacing)
    on = bool(flow) or coherence >= FLOW_COHERENCE
    why = ("forced" if coherence < FLOW_COHERENCE else f">= {FLOW_COHERENCE}") if on else (
        f"< {FLOW_COHERENCE}")
    return on, (f"local flow {'on' if on else 'off'} (neighbours' motion coherence "
                f"{coherence:.2f} {why})")


def relink_with_flow(objects: pd.DataFrame, edges: NDArray[np.int64],
                     relink: Callable[[pd.DataFrame], NDArray[np.int64]], *,
                     max_distance: float, max_gap: int,
                     spacing: Sequence[float] | None = None, flow: bool | None = None,
                     ) -> tuple[NDArray[np.int64], str]:
    """The links again with flow-corrected candidates (`relink(candidates)`) when
    :func:`flow_gate` says so; else `edges`. Returns the links and the gate's clause."""
    on, clause = flow_gate(objects, edges, spacing=spacing, flow=flow)
    if not on:
        return edges, clause
    cands = flow_candidates(objects, edges, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    return relink(cands), clause
