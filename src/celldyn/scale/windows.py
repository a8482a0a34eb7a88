"""Tracking a long movie in overlapping time windows, joined into one graph (ours).

Each window of `window` frames is tracked together with `overlap` frames of context
on either side; a link belongs to the window whose own frames hold its child (the
later object), so every link is decided once, with context before and after it, and
the windows join without seams or duplicates. Where linking is local in time (frame
to frame assignment without gap closing, as with ``max_gap=0``) the joined graph is
the whole-movie graph exactly; with gaps and divisions it differs only for links
whose context reaches beyond `overlap` frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..track import track_objects
from ..track.tracks import Tracks

__all__ = ["track_windows"]


def track_windows(
    objects: pd.DataFrame,
    *,
    window: int,
    overlap: int,
    max_distance: float,
    min_daughter_frames: int = 0,
    labels: Any = None,
    movie: Any = None,
    map_windows: Callable[..., Any] | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> Tracks:
    """Track `objects` window by window and join the windows into one :class:`Tracks`.

    Parameters
    ----------
    objects : DataFrame
        Detections (``t``, ``label``, centroid, ...), as for
        :func:`~celldyn.track.track_objects`.
    window : int
        Frames whose incoming links a window decides.
    overlap : int
        Frames of context before and after each window (at least ``max_gap + 1``).
    max_distance : float
        Search radius, the same for every window (estimate it once on the whole
        table, e.g. with :func:`~celldyn.track.api.default_search`, whose division
        reach goes in `kwargs` as ``division_reach``).
    min_daughter_frames : int
        Applied once, to the joined graph.
    labels : array, optional
        The label movie, for the IoU cost (frame-indexable; windows read their frames).
    movie : array, optional
        The intensities (the learned tracker's features), read as `labels`.
    map_windows : callable, optional
        ``map_windows(func, items) -> results`` to run the windows elsewhere (e.g. a
        dask client's ``map`` + ``gather``); default one after another here.
    progress : bool
        A progress bar over windows (run here).
    **kwargs
        Passed to :func:`~celldyn.track.track_objects` (tracker, max_gap, divisions,
        spacing, ...).

    Returns
    -------
    Tracks
        As :func:`~celldyn.track.track_objects` on the whole table.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 2, 3], "label": [1, 1, 1, 1],
    ...                         "y": [0.0, 1.0, 2.0, 3.0], "x": [0.0] * 4})
    >>> track_windows(objects, window=2, overlap=1, max_distance=2.0,
    ...               max_gap=0).edges.tolist()
    [[0, 1], [1, 2], [2, 3]]
    """
    if window < 1 or overlap < 0:
        raise InputError(f"window must be >= 1 and overlap >= 0; got {window}, {overlap}")
    t = objects["t"].to_numpy(np.int64)
    n_frames = int(t.max()) + 1 if len(t) else 0
    items = []
    for start in range(0, n_frames, window):
        lo, hi = max(start - overlap, 0), min(start + window + overlap, n_frames)
        rows = np.flatnonzero((t >= lo) & (t < hi))
        items.append((rows, start, min(start + window, n_frames)))

    def one(item: tuple[np.ndarray, int, int]) -> np.ndarray:
        rows, start, stop = item
        sub = objects.iloc[rows].reset_index(drop=True)
        sub_labels = sub_movie = None
        if labels is not None or movie is not None:  # frames lo.. of the movies, as 0..
            lo = int(sub["t"].min()) if len(sub) else 0
            sub = sub.assign(t=sub["t"] - lo)
            sub_labels = None if labels is None else _Frames(labels, lo)
            sub_movie = None if movie is None else _Frames(movie, lo)
        else:
            lo = 0
        tracks = track_objects(sub, labels=sub_labels, movie=sub_movie,
                               max_distance=max_distance, min_daughter_frames=0, **kwargs)
        pairs = tracks.rows[tracks.edges].reshape(-1, 2)  # rows of `sub`
        child_t = sub["t"].to_numpy(np.int64)[pairs[:, 1]] + lo
        keep = (child_t >= start) & (child_t < stop)
        return rows[pairs[keep]].reshape(-1, 2)

    if map_windows is not None:
        results = map_windows(one, items)
    else:
        loop: Any = items
        if progress:
            from tqdm.auto import tqdm

            loop = tqdm(items, desc=f"track (windows of {window} frames)", unit="window")
        results = [one(item) for item in loop]
    edges = (np.concatenate(list(results)) if items else np.zeros((0, 2), np.int64))
    return Tracks.from_links(objects, edges, min_daughter_frames=min_daughter_frames,
                             max_distance=max_distance)


class _Frames:
    """Frames ``lo..`` of a frame-indexable label movie, indexed from 0."""

    def __init__(self, labels: Any, lo: int) -> None:
        self.labels, self.lo = labels, lo
        self.shape = (int(labels.shape[0]) - lo, *labels.shape[1:])
        self.ndim, self.dtype = labels.ndim, labels.dtype

    def __getitem__(self, t: Any) -> Any:
        return self.labels[int(t) + self.lo]
