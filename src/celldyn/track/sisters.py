"""Rod-shaped sisters lie end to end: re-pair the daughters of neighbouring rods that
divided in the same frame.

A rod-shaped bacterium divides at mid-cell, so its two daughters are collinear and
meet pole to pole. In a dense colony filmed at a low frame rate, two neighbouring
mothers often divide between the same two frames; the daughters have grown and the
colony has moved, and the links the tracker chose one at a time can give each mother
one of her own daughters and one of her neighbour's (a "sister swap"). On the training
frames of the phase-contrast E. coli colony (benchmarks/RESULTS.md, 'Tracking: rod
sisters'), every 4th frame, GT detections, 5 of the 7 false divisions were such swaps
(two or three mothers exchanging daughters); the true sisters were collinear within a
few degrees and their centroids as far apart as half their lengths summed, less a few
pixels, while the swapped pairs were not.

:func:`pair_rod_sisters` takes the divisions after linking, and for every two of them
in the same frame whose mothers lie within reach of each other (the mothers' lengths
summed: rods that could touch) and whose four daughters are all rods (long axis at
least :data:`ROD_RATIO` x the short one), re-pairs the four daughters where another
pairing is better sisters by :func:`sister_cost` (summed over the two pairs, by at
least :data:`MARGIN`), unless a pair as linked already looks like sisters (cost below
:data:`LOCK`); the two pairs then go to the mothers so that each pair's midpoint lies
nearest its mother (the sum of the two distances). Passes repeat until nothing changes
(three mothers that swapped in a cycle are undone in two steps). Divisions of round
objects (nuclei), of 3D objects and of tables without the axis columns (markers) are
left as they are.

Hand-written (our contribution). The rod ratio is the usual definition of a rod and the
sister cost is geometry; the two levels were set on the training frames of the
tracking split, where only the E. coli colony has rods: with no lock, re-pairing broke
true divisions of celldyn's own segmentation (a good pair taken apart to mend a false
division beside it: every 4th frame, division TP / FP 14 / 10 -> 12 / 12), so a pair
whose cost is below 0.5 (true sisters there cost 0.07-0.22) is kept. With the lock,
every 4th frame on GT detections 20 / 7 -> 25 / 2, own segmentation unchanged, at
margins 0.3 to 1.0 and locks 0.3 to 0.5 alike (0.8 kept two of the swaps). Re-pairing
among false divisions of celldyn's own segmentation costs some TRA with the division
counts unchanged (training frames, every 4th: 0.868 -> 0.860); asking both new pairs to
look like sisters removed that cost but kept only 2 of the 5 fixes on GT detections (and
gained one true division on own segmentation), so the summed division F1 chose the form
above. No other set's divisions changed (benchmarks/RESULTS.md, 'Tracking: rod
sisters', with the held-out test parts). One set with rods and tracking GT is all the
evidence there is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .candidates import frame_groups
from .costs import AXIS_COLUMNS

__all__ = ["LOCK", "MARGIN", "ROD_RATIO", "pair_rod_sisters", "sister_cost"]

ROD_RATIO = 2.0
"""A rod's long axis is at least this many times its short axis."""
PAIR_ROD_SISTERS = True
"""Whether :func:`celldyn.track.api.track_objects` re-pairs rod sisters after the LAP
tracker (a switch for the benchmark). Not after the global solver: on the training
frames it re-paired the same E. coli divisions there and lost TRA (every 4th frame,
0.954 -> 0.947) with no division gained; the learned tracker was trained on those
frames, so they cannot judge it, and it is left as it links."""
LOCK = 0.5
"""A pair as linked whose :func:`sister_cost` is below this is kept as it is."""
MARGIN = 0.5
"""How much better (summed :func:`sister_cost` of the two pairs) another pairing must be
before the daughters are re-paired: the tracker's links carry more than geometry, so a
near tie stays as linked."""
_PASSES = 5
_PAIRINGS = (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2)))   # the first: as linked


def sister_cost(objects: pd.DataFrame, a: NDArray[np.int64], b: NDArray[np.int64]
                ) -> NDArray[np.float64]:
    """How far objects `a` and `b` (rows of `objects`, 2D, pixel units) are from two
    sisters just parted pole to pole: ``|gap| / half the lengths summed + (1 - |cos|)``
    for each, where ``gap`` is their centroids' distance less half their lengths summed
    and ``cos`` the cosine between the line joining them and each one's long axis.
    0 for two collinear rods that touch end to end.

    Examples
    --------
    >>> objects = pd.DataFrame({"y": [0.0, 0.0, 10.0], "x": [0.0, 20.0, 0.0],
    ...                         "orientation": [np.pi / 2] * 3,
    ...                         "axis_major_length": [20.0] * 3,
    ...                         "axis_minor_length": [5.0] * 3})
    >>> sister_cost(objects, np.array([0, 0]), np.array([1, 2])).round(2).tolist()
    [0.0, 2.5]
    """
    return _sister_cost(_geometry(objects), a, b)


def _geometry(objects: pd.DataFrame) -> tuple[NDArray[np.float64], ...]:
    """Centroids (y, x), orientation and long axis of every row, read once."""
    return (objects[["y", "x"]].to_numpy(float), objects["orientation"].to_numpy(float),
            objects["axis_major_length"].to_numpy(float))


def _sister_cost(geometry: tuple[NDArray[np.float64], ...], a: NDArray[np.int64],
                 b: NDArray[np.int64]) -> NDArray[np.float64]:
    pos, o, length = geometry
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    v = pos[b] - pos[a]
    dist = np.linalg.norm(v, axis=1)
    u = v / np.maximum(dist, 1e-9)[:, None]
    half = (length[a] + length[b]) / 2
    cos_a = np.abs(u[:, 0] * np.cos(o[a]) + u[:, 1] * np.sin(o[a]))
    cos_b = np.abs(u[:, 0] * np.cos(o[b]) + u[:, 1] * np.sin(o[b]))
    return np.abs(dist - half) / np.maximum(half, 1e-9) + (1 - cos_a) + (1 - cos_b)


def pair_rod_sisters(objects: pd.DataFrame, edges: NDArray[np.int64]
                     ) -> tuple[NDArray[np.int64], int]:
    """`edges` (row pairs of `objects`) with the daughters of neighbouring rods that
    divided in the same frame re-paired as sisters (module docstring), and how many
    re-pairings were made. `edges` as given where nothing applies.

    Examples
    --------
    Two vertical rods side by side each split in two; the links gave each mother one
    daughter of each:

    >>> objects = pd.DataFrame({
    ...     "t": [0, 0, 1, 1, 1, 1],
    ...     "y": [0.0, 0.0, -10.0, 10.0, -10.0, 10.0],
    ...     "x": [0.0, 8.0, 0.0, 0.0, 8.0, 8.0],
    ...     "orientation": [0.0] * 6,
    ...     "axis_major_length": [40.0, 40.0, 20.0, 20.0, 20.0, 20.0],
    ...     "axis_minor_length": [6.0] * 6})
    >>> new, n = pair_rod_sisters(objects, np.array([[0, 2], [0, 4], [1, 3], [1, 5]]))
    >>> n, sorted(map(tuple, new.tolist()))
    (1, [(0, 2), (0, 3), (1, 4), (1, 5)])
    """
    edges = np.asarray(edges, np.int64).reshape(-1, 2)
    if (not PAIR_ROD_SISTERS or len(edges) < 4 or "z" in objects
            or not all(c in objects for c in (*AXIS_COLUMNS, "y", "x"))):
        return edges, 0
    t = objects["t"].to_numpy(np.int64)
    out_deg = np.bincount(edges[:, 0], minlength=len(objects))
    div = np.isin(edges[:, 0], np.flatnonzero(out_deg == 2))
    order = np.argsort(edges[div, 0], kind="stable")
    pairs = edges[div][order].reshape(-1, 2, 2)      # (mother, daughter) x 2 per division
    mothers, kids = pairs[:, 0, 0], pairs[:, :, 1].copy()
    one_frame = (t[kids] == t[mothers][:, None] + 1).all(axis=1)
    length = objects["axis_major_length"].to_numpy(float)
    width = objects["axis_minor_length"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        rod = length >= ROD_RATIO * width
    keep = one_frame & rod[kids].all(axis=1)
    if keep.sum() < 2:
        return edges, 0
    geometry = _geometry(objects)
    pos = geometry[0]
    idx = np.flatnonzero(keep)
    close: list[tuple[int, int]] = []
    for rows in frame_groups(t[mothers[idx]]).values():
        if len(rows) < 2:
            continue
        ds = idx[rows]
        tree = cKDTree(pos[mothers[ds]])
        reach = float(2 * np.nanmax(length[mothers[ds]]))
        for i, j in sorted(tree.query_pairs(reach)):
            m1, m2 = mothers[ds[i]], mothers[ds[j]]
            if np.linalg.norm(pos[m1] - pos[m2]) <= length[m1] + length[m2]:
                close.append((int(ds[i]), int(ds[j])))
    made = 0
    for _ in range(_PASSES):
        changed = False
        for i, j in close:
            four = np.concatenate([kids[i], kids[j]])
            pair_costs = [_sister_cost(geometry, four[[p[0], q[0]]], four[[p[1], q[1]]])
                          for p, q in _PAIRINGS]
            if pair_costs[0].min() < LOCK:
                continue                      # a pair that already looks like sisters
            cost = [float(c.sum()) for c in pair_costs]
            best = int(np.argmin(cost))
            if cost[best] > cost[0] - MARGIN:
                continue
            p, q = (four[list(s)] for s in _PAIRINGS[best])
            m1, m2 = mothers[i], mothers[j]
            if _far(pos, m1, p) + _far(pos, m2, q) > _far(pos, m1, q) + _far(pos, m2, p):
                p, q = q, p
            kids[i], kids[j] = p, q
            made += 1
            changed = True
        if not changed:
            break
    if not made:
        return edges, 0
    new = np.stack([np.repeat(mothers, 2), kids.ravel()], axis=1)
    return np.concatenate([edges[~div], new]), made


def _far(pos: NDArray[np.float64], mother: int, pair: NDArray[np.int64]) -> float:
    """Distance from a mother to the midpoint of a pair of daughters."""
    return float(np.linalg.norm(pos[pair].mean(axis=0) - pos[mother]))
