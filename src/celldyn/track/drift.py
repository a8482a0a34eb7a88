"""Stage drift and jitter: one translation per frame pair, taken out before linking (ours).

A stage that drifts, or returns to each position of a multi-position acquisition a few
micrometres off, moves every object of a frame by the same vector. The tracker's motion
scale then grows with the stage's step, the search radius with it, and the division
evidence (sisters' offsets from their mother, :func:`~celldyn.track.scale.likely_divisions`)
is measured through the stage's motion: on the test parts of the real CTC sets, given
their ground-truth masks with every frame shifted at random by up to 20 px, pooled
division F1 fell from 0.957 to 0.640 (40 px: 0.462); with the shift taken out of the
positions and of the masks whose overlap the links score, 0.910 (0.929); on the training
parts 0.968 -> 0.730 (0.338) -> 0.965 (0.962) (benchmarks/RESULTS.md, 'Tracking: stage
jitter').

:func:`frame_drift` measures, for each pair of consecutive frames, the translation that
carries the most objects onto an object of the next frame: every displacement from a
sample of the frame's objects to the next frame's objects within :data:`MAX_SHIFT`
spacings votes, the densest cell of the votes (a quarter of the spacing between
neighbours wide, with its neighbour cells) wins, and the shift is refined as the median
step of the mutual nearest neighbours it pairs. The shift is kept only where it is a
stage's: at least :data:`MIN_SHIFT` of the spacing (a smaller one the tracker follows
anyway), between frames of at least :data:`MIN_OBJECTS` objects, and where it pairs at
least :data:`AGREE` of the objects (of the frame that has more) within half a spacing,
and :data:`GAIN` of them more than no shift pairs (on a simulated colony whose rods
divided at once, 16 -> 30 objects, a shift of half a cell length along their shared axis
paired every mother with one daughter: 16 of 30 objects, not a stage's shift). Cells
that migrate on their own, a colony that grows outward,
cells carried along a flow that varies across the frame: no single translation pairs
most of them, so nothing is taken out (on every real training set: 'Tracking: stage
jitter'). :meth:`Drift.apply` returns the objects with the cumulative shift taken out of
their centroids; the links found there are the movie's, its objects' positions stay as
measured, with the stage's offset beside them (:meth:`Drift.stage_columns`), which
speeds and mean squared displacements leave out. Where the tracker relinks with the images' optical flow (a colony of touching
cells, :mod:`celldyn.track.flow`), the stage is left in: the flow registers the frames
and follows it, and the masks it overlaps still hold it.

Written here: the vote (NumPy over :class:`scipy.spatial.cKDTree` neighbourhoods) and
the gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["AGREE", "GAIN", "MAX_SHIFT", "MIN_OBJECTS", "MIN_SHIFT", "Drift", "ShiftedLabels",
           "frame_drift"]

MAX_SHIFT = 8.0
"""The largest stage step looked for, in spacings between neighbouring objects."""
MIN_SHIFT = 0.25
"""A smaller stage step (in spacings) is left to the tracker."""
AGREE = 0.8
"""Share of a frame pair's objects the shift must pair (within half a spacing). A
stage's shift pairs nearly all (0.97-1.00 on the HeLa frames jittered by up to 15 or 30
px); chance shifts in a growing colony, where rods repeat, paired 0.41-0.76 of its
training frames' objects (benchmarks/RESULTS.md, 'Tracking: stage jitter')."""
GAIN = 0.2
"""...and it must pair at least this share of them more than no shift does."""
MIN_OBJECTS = 10
"""Frame pairs with fewer objects in either frame are left alone (a few cells agree on
a shift by chance: the first frames of a colony)."""
SAMPLE = 300
"""At most this many objects of a frame vote (evenly spread, so runs are repeatable)."""


@dataclass
class Drift:
    """The stage's cumulative offset per frame (physical units, ``(n_frames, ndim)``,
    indexed by frame number), and which frame pairs had a shift taken out."""

    offset: NDArray[np.float64]
    shifted: int
    pairs: int

    def pixels(self, ndim: int, spacing: Sequence[float] | None = None
               ) -> NDArray[np.float64]:
        """The offset per frame in pixels (``(n_frames, ndim)``)."""
        return self.offset / (np.ones(ndim) if spacing is None
                              else np.asarray(spacing, float)[-ndim:])

    def stage_columns(self, objects: pd.DataFrame, spacing: Sequence[float] | None = None
                      ) -> pd.DataFrame:
        """`objects` with the stage's offset of each row's frame in pixels (columns
        ``stage_y``, ``stage_x`` [, ``stage_z``]): what motion analysis takes out of the
        measured positions (:func:`celldyn.analyze.motion.positions`)."""
        from .candidates import coord_axes

        axes = coord_axes(objects)
        offset = self.pixels(len(axes), spacing)[objects["t"].to_numpy(np.int64)]
        return objects.assign(**{f"stage_{a}": offset[:, i] for i, a in enumerate(axes)})

    def apply(self, objects: pd.DataFrame, spacing: Sequence[float] | None = None
              ) -> pd.DataFrame:
        """`objects` with each frame's offset taken out of its centroids (pixels)."""
        from .candidates import coord_axes

        axes = coord_axes(objects)
        out = objects.copy()
        t = objects["t"].to_numpy(np.int64)
        out[axes] = objects[axes].to_numpy(float) - self.pixels(len(axes), spacing)[t]
        return out

    def text(self) -> str:
        step = np.linalg.norm(np.diff(self.offset, axis=0), axis=1)
        moved = step[step > 0]
        return (f"stage drift taken out in {self.shifted} of {self.pairs} frame pairs "
                f"(median {float(np.median(moved)):.3g}, at most "
                f"{float(moved.max()):.3g} per frame)")


class ShiftedLabels:
    """A label movie whose frame ``t`` is read moved by ``-offset[t]`` whole pixels (zero
    where nothing moved in), so that mask overlaps are measured where the positions
    were corrected (:meth:`Drift.pixels`, rounded); frames are shifted when read, never
    stored."""

    def __init__(self, labels: Any, offset: NDArray[np.int64]) -> None:
        self.labels, self.offset = labels, offset
        self.shape = tuple(labels.shape)
        self.ndim, self.dtype = len(self.shape), getattr(labels, "dtype", None)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: Any) -> Any:
        if not isinstance(t, (int, np.integer)):
            raise TypeError("ShiftedLabels reads one frame at a time")
        frame = np.asarray(self.labels[t])
        if int(t) >= len(self.offset) or not self.offset[int(t)].any():
            return frame   # a frame after the last object's, or one the stage left
        from scipy import ndimage as ndi

        move = np.zeros(frame.ndim)
        move[-self.offset.shape[1]:] = -self.offset[int(t)]
        return ndi.shift(frame, move, order=0, mode="constant", cval=0)


class _Frame:
    """One frame's positions and their k-d tree, built once (each frame is the second
    of one pair and the first of the next)."""

    def __init__(self, points: NDArray[np.float64]) -> None:
        from scipy.spatial import cKDTree

        self.points, self.tree = points, cKDTree(points)

    def spacing(self) -> float:
        """The median distance from an object to its nearest neighbour."""
        if len(self.points) < 2:
            return 0.0
        d, _ = self.tree.query(self.points, k=2)
        return float(np.median(d[:, 1]))


def _paired(a: _Frame, b: _Frame, shift: NDArray[np.float64],
            within: float) -> tuple[int, NDArray[np.float64]]:
    """How many mutual nearest neighbours (a + shift, b) lie within `within`, and
    their steps."""
    p, q = a.points, b.points
    d_pq, i_pq = b.tree.query(p + shift)
    _, i_qp = a.tree.query(q - shift)          # the same as a tree of p + shift
    mutual = (i_qp[i_pq] == np.arange(len(p))) & (d_pq <= within)
    return int(mutual.sum()), q[i_pq[mutual]] - p[mutual]


def _vote(a: _Frame, b: _Frame, spacing: float) -> NDArray[np.float64] | None:
    """The densest displacement from a sample of `a` to the objects of `b` within
    MAX_SHIFT spacings (cells a quarter spacing wide, summed with their neighbours)."""
    p, q = a.points, b.points
    take = np.linspace(0, len(p) - 1, min(SAMPLE, len(p))).round().astype(int)
    near = b.tree.query_ball_point(p[take], r=MAX_SHIFT * spacing)
    votes = np.concatenate([q[np.asarray(ix, int)] - p[i] for i, ix in zip(take, near)
                            if len(ix)] or [np.empty((0, p.shape[1]))])
    if not len(votes):
        return None
    width = spacing / 4
    cell = np.floor(votes / width).astype(np.int64)
    cell -= cell.min(axis=0) - 1                   # >= 1: a neighbour cell is >= 0
    base = int(cell.max()) + 2
    code = np.zeros(len(cell), np.int64)
    for axis in range(cell.shape[1]):               # one integer per cell
        code = code * base + cell[:, axis]
    keys, counts = np.unique(code, return_counts=True)
    # each occupied cell's count with its neighbour cells' (3 per axis), by lookup of
    # the neighbours' codes in the sorted keys
    steps = np.array(np.meshgrid(*[[-1, 0, 1]] * cell.shape[1], indexing="ij")
                     ).reshape(cell.shape[1], -1).T
    summed = np.zeros(len(keys), np.int64)
    for step in steps:
        delta = 0
        for axis in range(cell.shape[1]):
            delta = delta * base + int(step[axis])
        at = np.searchsorted(keys, keys + delta)
        hit = at < len(keys)
        hit[hit] = keys[at[hit]] == keys[hit] + delta
        summed[hit] += counts[at[hit]]
    best = keys[int(np.argmax(summed))]
    best_cell = cell[int(np.flatnonzero(code == best)[0])]
    inside = np.all(np.abs(cell - best_cell) <= 1, axis=1)
    return votes[inside].mean(axis=0)


def frame_drift(objects: pd.DataFrame, spacing: Sequence[float] | None = None
                ) -> Drift | None:
    """The stage's shift per frame pair (see the module docstring), or None where no
    frame pair has one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cells = rng.uniform(0, 400, (60, 2))
    >>> jitter = [(0, 0), (30, -20), (-25, 10)]
    >>> rows = [(t, i + 1, *(cells[i] + jitter[t] + rng.normal(0, 1, 2)))
    ...         for t in range(3) for i in range(60)]
    >>> objects = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    >>> drift = frame_drift(objects)
    >>> np.round(drift.offset[2]).tolist()
    [-25.0, 10.0]
    """
    from .candidates import frame_groups, physical_positions

    if not len(objects):
        return None
    pos = physical_positions(objects, spacing)
    t = objects["t"].to_numpy(np.int64)
    n = int(t.max()) + 1
    offset = np.zeros((n, pos.shape[1]))
    shifted = pairs = 0
    by_frame = {f: pos[rows] for f, rows in frame_groups(t).items()}  # one sort, not T scans
    held: tuple[int, _Frame] | None = None   # the last pair's second frame, reused
    for f in range(n - 1):
        offset[f + 1] = offset[f]
        p, q = by_frame.get(f), by_frame.get(f + 1)
        if p is None or q is None or min(len(p), len(q)) < MIN_OBJECTS:
            continue
        a = held[1] if held is not None and held[0] == f else _Frame(p)
        b = _Frame(q)
        held = (f + 1, b)
        pairs += 1
        s = b.spacing()
        if s <= 0:
            continue
        # shares of the frame with more objects: a stage's shift pairs nearly all of
        # both frames; where many cells divided at once, a daughter half a cell length
        # along an axis they share pairs each mother, but not her sister
        fewer, more = min(len(p), len(q)), max(len(p), len(q))
        n_zero, _ = _paired(a, b, np.zeros(p.shape[1]), s / 2)
        if n_zero > fewer - GAIN * more:   # no shift could pair GAIN more: no vote
            continue
        guess = _vote(a, b, s)
        if guess is None or np.linalg.norm(guess) < MIN_SHIFT * s:
            continue
        n_shift, steps = _paired(a, b, guess, s / 2)
        if n_shift < 3:
            continue
        shift = np.median(steps, axis=0)
        n_shift, _ = _paired(a, b, shift, s / 2)
        if (np.linalg.norm(shift) < MIN_SHIFT * s or n_shift < AGREE * more
                or n_shift - n_zero < GAIN * more):
            continue
        offset[f + 1] = offset[f] + shift
        shifted += 1
    return Drift(offset, shifted, pairs) if shifted else None
