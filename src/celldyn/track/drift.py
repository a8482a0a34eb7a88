"""Stage drift and jitter: one translation per frame pair, taken out before linking (ours).

A stage that drifts, or returns to each position of a multi-position acquisition a few
micrometres off, moves every object of a frame by the same vector. The tracker's motion
scale then grows with the stage's step, the search radius with it, and the division
evidence (sisters' offsets from their mother, :func:`~celldyn.track.scale.likely_divisions`)
is measured through the stage's motion: on the test parts of the real CTC sets, given
their ground-truth masks with every frame shifted at random by up to 20 px, pooled
division F1 fell from 0.957 to 0.640 (40 px: 0.462); with the shift taken out, 0.910
(0.919), the training parts alike (benchmarks/RESULTS.md, 'Tracking: stage jitter').

:func:`frame_drift` measures, for each pair of consecutive frames, the translation that
carries the most objects onto an object of the next frame: every displacement from a
sample of the frame's objects to the next frame's objects within :data:`MAX_SHIFT`
spacings votes, the densest cell of the votes (a quarter of the spacing between
neighbours wide, with its neighbour cells) wins, and the shift is refined as the median
step of the mutual nearest neighbours it pairs. The shift is kept only where it is a
stage's: at least :data:`MIN_SHIFT` of the spacing (a smaller one the tracker follows
anyway), between frames of at least :data:`MIN_OBJECTS` objects, and where it pairs at
least :data:`AGREE` of the objects within half a spacing, and :data:`GAIN` of them more
than no shift pairs. Cells that migrate on their own, a colony that grows outward,
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

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["AGREE", "GAIN", "MAX_SHIFT", "MIN_OBJECTS", "MIN_SHIFT", "Drift", "frame_drift"]

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

    def stage_columns(self, objects: pd.DataFrame, spacing: Sequence[float] | None = None
                      ) -> pd.DataFrame:
        """`objects` with the stage's offset of each row's frame in pixels (columns
        ``stage_y``, ``stage_x`` [, ``stage_z``]): what motion analysis takes out of the
        measured positions (:func:`celldyn.analyze.motion.positions`)."""
        from .candidates import coord_axes

        axes = coord_axes(objects)
        scale = (np.ones(len(axes)) if spacing is None
                 else np.asarray(spacing, float)[-len(axes):])
        t = objects["t"].to_numpy(np.int64)
        offset = self.offset[t] / scale
        return objects.assign(**{f"stage_{a}": offset[:, i] for i, a in enumerate(axes)})

    def apply(self, objects: pd.DataFrame, spacing: Sequence[float] | None = None
              ) -> pd.DataFrame:
        """`objects` with each frame's offset taken out of its centroids (pixels)."""
        from .candidates import coord_axes

        axes = coord_axes(objects)
        scale = (np.ones(len(axes)) if spacing is None
                 else np.asarray(spacing, float)[-len(axes):])
        out = objects.copy()
        t = objects["t"].to_numpy(np.int64)
        moved = objects[axes].to_numpy(float) - self.offset[t] / scale
        out[axes] = moved
        return out

    def text(self) -> str:
        step = np.linalg.norm(np.diff(self.offset, axis=0), axis=1)
        moved = step[step > 0]
        return (f"stage drift taken out in {self.shifted} of {self.pairs} frame pairs "
                f"(median {float(np.median(moved)):.3g}, at most "
                f"{float(moved.max()):.3g} per frame)")


def _spacing(points: NDArray[np.float64]) -> float:
    from scipy.spatial import cKDTree

    if len(points) < 2:
        return 0.0
    d, _ = cKDTree(points).query(points, k=2)
    return float(np.median(d[:, 1]))


def _paired(p: NDArray[np.float64], q: NDArray[np.float64], shift: NDArray[np.float64],
            within: float) -> tuple[int, NDArray[np.float64]]:
    """How many mutual nearest neighbours (p + shift, q) lie within `within`, and
    their steps."""
    from scipy.spatial import cKDTree

    moved = p + shift
    d_pq, i_pq = cKDTree(q).query(moved)
    _, i_qp = cKDTree(moved).query(q)
    mutual = (i_qp[i_pq] == np.arange(len(p))) & (d_pq <= within)
    return int(mutual.sum()), q[i_pq[mutual]] - p[mutual]


def _vote(p: NDArray[np.float64], q: NDArray[np.float64], spacing: float
          ) -> NDArray[np.float64] | None:
    """The densest displacement from a sample of `p` to the objects of `q` within
    MAX_SHIFT spacings (cells a quarter spacing wide, summed with their neighbours)."""
    from scipy.spatial import cKDTree

    take = np.linspace(0, len(p) - 1, min(SAMPLE, len(p))).round().astype(int)
    near = cKDTree(q).query_ball_point(p[take], r=MAX_SHIFT * spacing)
    votes = np.concatenate([q[np.asarray(ix, int)] - p[i] for i, ix in zip(take, near)
                            if len(ix)] or [np.empty((0, p.shape[1]))])
    if not len(votes):
        return None
    width = spacing / 4
    cell = np.floor(votes / width).astype(np.int64)
    keys, counts = np.unique(cell, axis=0, return_counts=True)
    # each occupied cell's count with its neighbour cells' (3 per axis)
    offsets = np.array(np.meshgrid(*[[-1, 0, 1]] * cell.shape[1], indexing="ij")
                       ).reshape(cell.shape[1], -1).T
    lookup = {tuple(k): c for k, c in zip(keys.tolist(), counts.tolist())}
    summed = np.array([sum(lookup.get(tuple(k + o), 0) for o in offsets)
                       for k in keys])
    best = keys[int(np.argmax(summed))]
    inside = np.all(np.abs(cell - best) <= 1, axis=1)
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
    from .candidates import physical_positions

    if not len(objects):
        return None
    pos = physical_positions(objects, spacing)
    t = objects["t"].to_numpy(np.int64)
    n = int(t.max()) + 1
    offset = np.zeros((n, pos.shape[1]))
    shifted = pairs = 0
    by_frame = {int(f): pos[t == f] for f in np.unique(t)}
    for f in range(n - 1):
        offset[f + 1] = offset[f]
        p, q = by_frame.get(f), by_frame.get(f + 1)
        if p is None or q is None or min(len(p), len(q)) < MIN_OBJECTS:
            continue
        pairs += 1
        s = _spacing(q)
        if s <= 0:
            continue
        guess = _vote(p, q, s)
        if guess is None or np.linalg.norm(guess) < MIN_SHIFT * s:
            continue
        n_shift, steps = _paired(p, q, guess, s / 2)
        if n_shift < 3:
            continue
        shift = np.median(steps, axis=0)
        n_shift, _ = _paired(p, q, shift, s / 2)
        n_zero, _ = _paired(p, q, np.zeros_like(shift), s / 2)
        fewer = min(len(p), len(q))
        if (np.linalg.norm(shift) < MIN_SHIFT * s or n_shift < AGREE * fewer
                or n_shift - n_zero < GAIN * fewer):
            continue
        offset[f + 1] = offset[f] + shift
        shifted += 1
    return Drift(offset, shifted, pairs) if shifted else None
