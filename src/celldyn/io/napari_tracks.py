"""Export tracks as a napari tracks CSV.

One row per object: ``track_id, t, [z,] y, x`` in pixels (the data of napari's Tracks
layer) and ``parent_track_id`` (-1 for none). In napari::

    df = pandas.read_csv("tracks.napari.csv")
    graph = {k: [p] for k, p in df.groupby("track_id")["parent_track_id"].first().items()
             if p >= 0}
    viewer.add_tracks(df.drop(columns="parent_track_id"), graph=graph)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ._atomic import atomic_path
from .trackmate import _check, _unpack

__all__ = ["napari_tracks", "write_napari_tracks"]


def napari_tracks(objects: Any, tracks: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, dict[int, list[int]]]:
    """The data and graph of a napari Tracks layer, from objects and a CTC track table.

    Returns
    -------
    table : DataFrame
        ``track_id, t, [z,] y, x, parent_track_id`` (pixels; -1: no parent), sorted by
        track and time: the first columns are the layer's data.
    graph : dict of int -> list of int
        Track id -> its parent track ids (the divisions), napari's ``graph``.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 2, 2], "label": [1, 1, 2, 3], "y": 1.0, "x": 2.0})
    >>> trk = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 2, 2], "end": [1, 2, 2],
    ...                     "parent": [0, 1, 1]})
    >>> napari_tracks(obj, trk)[1]
    {2: [1], 3: [1]}
    """
    objects, tracks, _, _ = _unpack(objects, tracks, None, None)
    _check(objects, tracks)
    axes = [a for a in ("z", "y", "x") if a in objects.columns]
    parent = dict(zip(tracks["label"].astype(int), tracks["parent"].astype(int)))
    df = objects[["label", "t", *axes]].rename(columns={"label": "track_id"})
    df = df.sort_values(["track_id", "t"], kind="stable").reset_index(drop=True)
    df["parent_track_id"] = [parent.get(int(v), 0) or -1 for v in df["track_id"]]
    present = set(df["track_id"].tolist())
    graph = {k: [p] for k, p in sorted(parent.items()) if p > 0 and k in present}
    return df, graph


def write_napari_tracks(path: str | Path, objects: Any,
                        tracks: pd.DataFrame | None = None) -> Path:
    """Write a napari tracks CSV: ``track_id, t, [z,] y, x, parent_track_id``.

    Coordinates are pixels (napari's data space; give the layer ``scale`` for µm).
    ``parent_track_id`` is -1 for tracks without a parent.

    Examples
    --------
    >>> import tempfile
    >>> obj = pd.DataFrame({"t": [0, 1, 2, 2], "label": [1, 1, 2, 3], "y": 1.0, "x": 2.0})
    >>> trk = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 2, 2], "end": [1, 2, 2],
    ...                     "parent": [0, 1, 1]})
    >>> p = write_napari_tracks(Path(tempfile.mkdtemp()) / "tracks.csv", obj, trk)
    >>> print(p.read_text().splitlines()[-1])
    3,2,1.0,2.0,1
    """
    df, _ = napari_tracks(objects, tracks)
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path
