"""Plausibility checks on a run's counts: what a user should look at before trusting them.

Each check returns one short sentence that names what was seen and what to try, or
nothing. They read only the objects table and the links, so they run on any result.
The thresholds are deliberately loose (a frame with twice or half as many objects as
both its neighbours; more than one division per ten objects per frame): they flag what
no cell population does, not what is merely unusual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["count_jumps", "run_notes"]

JUMP_FACTOR = 2.0     # a frame with >= 2x (or <= 1/2) the objects of both neighbours
JUMP_MIN_OBJECTS = 3  # ... and at least this many objects more (or fewer)
DIVISION_RATE = 0.1   # divisions per object per frame: a cycle under 10 frames
FRAGMENTED = 3.0      # tracks per object in the most crowded frame


def count_jumps(per_frame: np.ndarray) -> list[int]:
    """Frames whose object count is several-fold off from both neighbours.

    Examples
    --------
    >>> count_jumps(np.array([20, 21, 60, 22, 23, 5, 24]))
    [2, 5]
    >>> count_jumps(np.array([2, 4, 8, 16]))  # steady growth is not a jump
    []
    """
    n = np.asarray(per_frame, dtype=float)
    out = []
    for t in range(len(n)):
        nb = [n[i] for i in (t - 1, t + 1) if 0 <= i < len(n)]
        if len(nb) < 2:  # the first and last frames have one neighbour: too weak a test
            continue
        hi, lo = max(nb), min(nb)
        if n[t] >= JUMP_FACTOR * hi and n[t] - hi >= JUMP_MIN_OBJECTS:
            out.append(t)
        elif JUMP_FACTOR * n[t] <= lo and lo - n[t] >= JUMP_MIN_OBJECTS:
            out.append(t)
    return out


def run_notes(objects: pd.DataFrame, edges: np.ndarray, n_frames: int,
              n_tracks: int | None = None, *, jumps: bool = True) -> list[str]:
    """One line per thing that makes the counts of a run doubtful.

    Parameters
    ----------
    objects : DataFrame
        One row per (t, label), as in ``RunResult.objects``.
    edges : (E, 2) int array
        Links as rows of `objects` (parent, child).
    n_frames : int
        Frames in the movie.
    n_tracks : int, optional
        Tracks in the result.
    jumps : bool
        Note count jumps (off where the segmentation's own checks,
        :func:`celldyn.segment.sanity.check_segmentation`, already warned).

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 1, 1, 1, 1, 1, 2], "label": range(8),
    ...                     "area": 50.0})
    >>> run_notes(obj, np.zeros((0, 2), int), 3)[0].split(":")[0]
    'object count jumps several-fold at frame 1 (1 -> 6 -> 1)'
    """
    notes = []
    per_frame = objects.groupby("t").size().reindex(range(n_frames), fill_value=0).to_numpy()
    jumps = count_jumps(per_frame) if jumps else []
    if jumps:
        t = jumps[0]
        shown = ", ".join(map(str, jumps[:5])) + (", ..." if len(jumps) > 5 else "")
        notes.append(
            f"object count jumps several-fold at frame{'s' if len(jumps) > 1 else ''} "
            f"{shown} ({per_frame[t - 1]} -> {per_frame[t]} -> {per_frame[t + 1]}): the "
            "segmentation is unstable there; look at those frames and try another "
            "--param threshold_method (otsu, li, triangle) or --method"
        )
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    n = len(objects)
    divisions = int(np.count_nonzero(np.bincount(edges[:, 0], minlength=n) == 2)) if n else 0
    at_risk = int(per_frame[:-1].sum())
    if divisions and at_risk and divisions / at_risk > DIVISION_RATE:
        notes.append(
            f"{divisions} divisions, {divisions / at_risk:.2f} per object per frame: more "
            "than cells divide; split objects look like divisions: check the "
            "segmentation (a larger --param min_size), or pass --no-divisions if the "
            "cells do not divide"
        )
    if n_tracks and per_frame.max(initial=0) > 0:
        if n_tracks > FRAGMENTED * per_frame.max() and n_tracks > 10:
            notes.append(
                f"{n_tracks} tracks for at most {per_frame.max()} objects per frame: "
                "tracks are broken into pieces; small fragments come and go (try a larger "
                "--param min_size), objects are missed in some frames (a larger --max-gap) "
                "or move farther than --max-distance between frames"
            )
    if "solidity" in objects and objects["solidity"].isna().any():
        k = int(objects["solidity"].isna().sum())
        notes.append(
            f"{k} of {n} objects are flat (one z-slice or one pixel thick), so their "
            "solidity is left empty; in 3D, a coarse z-step makes small objects flat"
        )
    return notes
