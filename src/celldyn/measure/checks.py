"""Plausibility checks on a run's counts: what a user should look at before trusting them.

Each check returns one short sentence that names what was seen and what to try, or
nothing. They read only the objects table and the links, so they run on any result.
The thresholds are deliberately loose (neighbouring frames whose object counts differ
three-fold, :func:`celldyn.segment.sanity.count_jumps`; more than one division per ten
objects per frame): they flag what no cell population does, not what is merely unusual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..segment.sanity import count_jumps  # the one definition of a count jump

__all__ = ["run_notes"]

DIVISION_RATE = 0.1   # divisions per object per frame: a cycle under 10 frames
FRAGMENTED = 3.0      # tracks per object in the most crowded frame


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
    >>> obj = pd.DataFrame({"t": np.repeat([0, 1, 2], [2, 12, 2]), "label": range(16),
    ...                     "area": 50.0})
    >>> run_notes(obj, np.zeros((0, 2), int), 3)[0].split(":")[0]
    'object count jumps several-fold between neighbouring frames (2 -> 12 from frame 0 to 1; frames 0, 1, 2)'
    """
    notes = []
    per_frame = objects.groupby("t").size().reindex(range(n_frames), fill_value=0).to_numpy()
    jumps = count_jumps(per_frame) if jumps else []
    if jumps:
        t, a, b = jumps[0]
        frames = sorted({j[0] for j in jumps} | {j[0] + 1 for j in jumps})
        shown = ", ".join(map(str, frames[:6])) + (", ..." if len(frames) > 6 else "")
        notes.append(
            f"object count jumps several-fold between neighbouring frames ({a} -> {b} "
            f"from frame {t} to {t + 1}; frames {shown}): the segmentation is unstable "
            "there; look at those frames and try another --param threshold_method "
            "(otsu, li, triangle) or --method"
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
