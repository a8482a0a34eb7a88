"""A division right after a neighbour's track ended beside the mother: a merge that
separated again, not a division.

A segmenter that draws two touching cells as one object for a few frames makes the
tracker see one cell absorb its neighbour (the neighbour's track ends beside it) and
later divide. :func:`celldyn.segment.temporal.split_merged` repairs such merges in the
label movie where the absorbed cell lay mostly inside the blob one frame before; where
it did not (the cells moved, the neighbour was missed for a frame), the false division
reaches the tracks. On the training frames of PhC-C2DL-PSC-01 with celldyn's own
segmentation, 59 of its 123 divisions (91 of them false) had a mother that covered two
ground-truth cells (benchmarks/RESULTS.md, 'Tracking: a merge that separates again').

:func:`undo_merge_splits` takes such a division apart after linking: where a track ended
within :data:`FRAMES` frames before the division, within :data:`REACH` x the median
object's diameter of the mother's track one frame after it ended, the daughter nearer
to where that track ended continues it (a link across the merge) instead of being a
daughter. The nearest such track is taken; each ended track continues once.

Hand-written (our contribution); the two levels were chosen on the training frames of
the tracking split, the best of three tried. There, with celldyn's own segmentation of
four real movies, it removed 34 of 274 false divisions and 4 of 236 true ones (division
F1 0.522 -> 0.536); held out, on their test parts, 19 of 159 and 3 of 153 (0.527 ->
0.537; 19 of 162 and 3 of 150 before rod sisters were re-paired, :mod:`.sisters`). It
changed divisions of the phase-contrast stem cells (PSC) and one of HeLa
(test, every 4th frame) only: where touching cells are drawn apart, it does nothing. On
ground-truth detections it removed one false division (GOWT1-01) and nothing else.
So the levels rest on one movie's segmentation: with PSC left out, the other sets choose
the rule on by that one GOWT1-01 division alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .candidates import frame_groups, physical_positions
from .flow import equivalent_diameter

__all__ = ["FRAMES", "REACH", "undo_merge_splits"]

FRAMES = 5
"""How many frames before a division a neighbour's track may have ended (0: off)."""
REACH = 1.0
"""How near the mother's track (x the median object's diameter) it must have ended."""


def undo_merge_splits(objects: pd.DataFrame, edges: NDArray[np.int64], *,
                      frames: int = FRAMES, reach: float = REACH,
                      spacing: Sequence[float] | None = None
                      ) -> tuple[NDArray[np.int64], int]:
    """`edges` (row pairs of `objects`) with each merge that separated again relinked
    (module docstring), and how many divisions were undone. Without ``area`` (no object
    size), with `frames` 0 or no division, `edges` as given.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1, 2, 2], "label": [1, 2, 1, 1, 2],
    ...                         "y": [0.0, 4, 2, 0, 4], "x": [0.0] * 5,
    ...                         "area": [12.0] * 5})
    >>> edges = np.array([[0, 2], [2, 3], [2, 4]])   # 1 absorbs 2, then "divides"
    >>> new, undone = undo_merge_splits(objects, edges)
    >>> undone, sorted(new.tolist())
    (1, [[0, 2], [1, 4], [2, 3]])
    """
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    if frames <= 0 or "area" not in objects or not len(edges):
        return edges, 0
    n = len(objects)
    out_deg = np.bincount(edges[:, 0], minlength=n)
    mothers = np.flatnonzero(out_deg == 2)
    if not mothers.size:
        return edges, 0
    diameter = equivalent_diameter(objects, spacing)
    if not np.isfinite(diameter) or diameter <= 0:
        return edges, 0
    t = objects["t"].to_numpy(np.int64)
    pos = physical_positions(objects, spacing)
    pred = np.full(n, -1, np.int64)
    single = np.bincount(edges[:, 1], minlength=n) == 1
    pred[edges[single[edges[:, 1]], 1]] = edges[single[edges[:, 1]], 0]
    ends = np.flatnonzero((out_deg == 0) & (t < t.max()))
    ends_at = frame_groups(t[ends])
    by_source = edges[np.argsort(edges[:, 0], kind="stable")]
    first_edge = np.searchsorted(by_source[:, 0], np.arange(n + 1))
    used = np.zeros(n, bool)
    drop, add = [], []
    for m in mothers.tolist():
        track, node = {int(t[m]): m}, m   # the mother's track, back `frames` frames
        while pred[node] >= 0 and t[node] > t[m] - frames:
            node = int(pred[node])
            track[int(t[node])] = node
        best, best_d = -1, np.inf
        for te in range(int(t[m]) - frames, int(t[m])):
            # two cells in frame te, the mother's and one whose track ends there; in
            # te + 1 only the mother's (a track that merely starts where another ended
            # is one cell's broken track, not a merge)
            before, after, rows = track.get(te), track.get(te + 1), ends_at.get(te)
            if before is None or after is None or rows is None:
                continue
            cand = ends[rows]
            cand = cand[~used[cand] & (cand != before)]
            if not cand.size:
                continue
            d = np.linalg.norm(pos[cand] - pos[after], axis=1)
            k = int(np.argmin(d))
            if d[k] <= reach * diameter and d[k] < best_d:
                best, best_d = int(cand[k]), float(d[k])
        if best < 0:
            continue
        daughters = by_source[first_edge[m]:first_edge[m + 1], 1]
        near = int(daughters[np.argmin(np.linalg.norm(pos[daughters] - pos[best], axis=1))])
        used[best] = True
        drop.append((m, near))
        add.append((best, near))
    if not drop:
        return edges, 0
    gone = np.asarray(drop, np.int64)
    keep = ~np.isin(edges[:, 0] * n + edges[:, 1], gone[:, 0] * n + gone[:, 1])
    return np.concatenate([edges[keep], np.asarray(add, np.int64)]), len(drop)
