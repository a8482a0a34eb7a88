"""Export tracks to TrackMate XML, a format users already have open in Fiji.

TrackMate (Fiji) reads its own XML (``File > Load a TrackMate file``): a ``Model`` with
every spot (position in physical units, frame, radius) and every link, grouped into
tracks, where a TrackMate track is a whole lineage (a connected component: divisions
stay inside it). The layout follows the files TrackMate 7 writes; the standard library's
``xml.etree`` writes it.

It takes the CTC view of a result: ``objects`` (one row per (t, label), ``label`` =
track id, centroids in pixels) and the CTC ``tracks`` table (label, begin, end, parent).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._atomic import atomic_path

__all__ = ["track_edges", "write_trackmate"]

TRACKMATE_VERSION = "7.13.2"  # the file layout written (what TrackMate 7 writes)

_SPOT_FEATURES = [
    ("QUALITY", "Quality", "QUALITY", "false"),
    ("POSITION_X", "X", "POSITION", "false"),
    ("POSITION_Y", "Y", "POSITION", "false"),
    ("POSITION_Z", "Z", "POSITION", "false"),
    ("POSITION_T", "T", "TIME", "false"),
    ("FRAME", "Frame", "NONE", "true"),
    ("RADIUS", "Radius", "LENGTH", "false"),
    ("VISIBILITY", "Visibility", "NONE", "true"),
    ("MEAN_INTENSITY_CH1", "Mean intensity ch1", "INTENSITY", "false"),
]
_EDGE_FEATURES = [
    ("SPOT_SOURCE_ID", "Source spot ID", "NONE", "true"),
    ("SPOT_TARGET_ID", "Target spot ID", "NONE", "true"),
    ("LINK_COST", "Edge cost", "COST", "false"),
]
_TRACK_FEATURES = [
    ("TRACK_INDEX", "Track index", "NONE", "true"),
    ("TRACK_ID", "Track ID", "NONE", "true"),
    ("NUMBER_SPOTS", "Number of spots in track", "NONE", "true"),
    ("NUMBER_SPLITS", "Number of split events", "NONE", "true"),
    ("NUMBER_GAPS", "Number of gaps", "NONE", "true"),
    ("TRACK_START", "Track start", "TIME", "false"),
    ("TRACK_STOP", "Track stop", "TIME", "false"),
    ("TRACK_DURATION", "Track duration", "TIME", "false"),
]


def _check(objects: pd.DataFrame, tracks: pd.DataFrame) -> None:
    missing = [c for c in ("t", "label", "y", "x") if c not in objects.columns]
    if missing:
        raise InputError(f"objects table lacks columns {missing}; pass RunResult.objects")
    missing = [c for c in ("label", "begin", "end", "parent") if c not in tracks.columns]
    if missing:
        raise InputError(f"tracks table lacks columns {missing}; pass a CTC track table")


def _unpack(objects: Any, tracks: Any, spacing: Any, frame_interval: Any) -> tuple:
    if hasattr(objects, "objects") and hasattr(objects, "movie"):  # a RunResult
        m = objects.movie
        tracks = objects.tracks if tracks is None else tracks
        spacing = m.spacing if spacing is None else spacing
        frame_interval = m.frame_interval if frame_interval is None else frame_interval
        objects = objects.objects
    if tracks is None:
        raise InputError("pass the CTC tracks table (RunResult.tracks) with the objects")
    return objects, tracks, spacing, frame_interval


def track_edges(objects: pd.DataFrame, tracks: pd.DataFrame) -> np.ndarray:
    """Links as (source row, target row) of `objects`: consecutive objects of a track,
    and a parent track's last object to each daughter's first.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 2, 2], "label": [1, 1, 2, 3], "y": 0.0, "x": 0.0})
    >>> trk = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 2, 2], "end": [1, 2, 2],
    ...                     "parent": [0, 1, 1]})
    >>> track_edges(obj, trk).tolist()
    [[0, 1], [1, 2], [1, 3]]
    """
    _check(objects, tracks)
    obj = objects.reset_index(drop=True)
    order = obj.sort_values(["label", "t"], kind="stable").index.to_numpy()
    labels = obj["label"].to_numpy()[order]
    same = labels[1:] == labels[:-1]
    edges = [np.stack([order[:-1][same], order[1:][same]], axis=1)]
    first = obj.loc[order].groupby("label").head(1)
    last = obj.loc[order].groupby("label").tail(1)
    first_row = dict(zip(first["label"], first.index))
    last_row = dict(zip(last["label"], last.index))
    div = [(last_row[p], first_row[c]) for c, p in zip(tracks["label"], tracks["parent"])
           if p and p in last_row and c in first_row]
    if div:
        edges.append(np.asarray(div, dtype=np.int64))
    out = np.concatenate(edges).astype(np.int64).reshape(-1, 2)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def _lineage_roots(tracks: pd.DataFrame) -> dict[int, int]:
    parent = dict(zip(tracks["label"].astype(int), tracks["parent"].astype(int)))
    root: dict[int, int] = {}
    for lab in parent:
        seen, cur = [], lab
        while parent.get(cur, 0) and cur not in root and cur not in seen:
            seen.append(cur)
            cur = parent[cur]
        r = root.get(cur, cur)
        for s in [*seen, lab]:
            root[s] = r
    return root


def write_trackmate(
    path: str | Path,
    objects: Any,
    tracks: pd.DataFrame | None = None,
    *,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    image_shape: Sequence[int] | None = None,
    source: str = "",
) -> Path:
    """Write a TrackMate XML file (opens in Fiji: Plugins > Tracking > Load a TrackMate
    file).

    Parameters
    ----------
    path : str or Path
        The ``.xml`` file to write (atomically).
    objects : DataFrame or RunResult
        One row per (t, label), ``label`` = track id, centroids ``[z,] y, x`` in pixels;
        ``area`` (µm² / µm³ with a pixel size) gives each spot's radius. A RunResult
        brings its tracks, pixel size and frame interval.
    tracks : DataFrame
        CTC track table (label, begin, end, parent).
    spacing : sequence of float, optional
        µm per pixel per spatial axis (Z, Y, X or Y, X); None: positions in pixels.
    frame_interval : float, optional
        Seconds between frames; None: times in frames.
    image_shape : sequence of int, optional
        ``(T, [Z,] Y, X)`` of the movie, for TrackMate's ImageData.
    source : str
        The movie's path, recorded as ImageData's file.

    Returns
    -------
    Path
    """
    objects, tracks, spacing, frame_interval = _unpack(objects, tracks, spacing,
                                                       frame_interval)
    _check(objects, tracks)
    obj = objects.reset_index(drop=True)
    is3d = "z" in obj.columns
    axes = ["z", "y", "x"] if is3d else ["y", "x"]
    sp = [1.0] * len(axes) if spacing is None else [float(s) for s in spacing]
    if len(sp) == 1:
        sp = sp * len(axes)
    pos = {a: obj[a].to_numpy(float) * sp[i] for i, a in enumerate(axes)}
    dt = float(frame_interval) if frame_interval else 1.0
    t = obj["t"].to_numpy(np.int64)
    if "area" in obj.columns:
        area = obj["area"].to_numpy(float)
        radius = np.cbrt(3 * area / (4 * np.pi)) if is3d else np.sqrt(area / np.pi)
    else:
        radius = np.full(len(obj), float(np.mean(sp)))
    intensity = obj["intensity_mean"].to_numpy(float) if "intensity_mean" in obj else None
    edges = track_edges(obj, tracks)
    root = _lineage_roots(tracks)
    lineage = np.array([root.get(int(v), int(v)) for v in obj["label"]], dtype=np.int64)

    space_unit = "micron" if spacing is not None else "pixel"
    time_unit = "sec" if frame_interval else "frame"
    doc = ET.Element("TrackMate", version=TRACKMATE_VERSION)
    ET.SubElement(doc, "Log").text = f"Exported by celldyn from {source or 'a celldyn run'}"
    model = ET.SubElement(doc, "Model", spatialunits=space_unit, timeunits=time_unit)
    decl = ET.SubElement(model, "FeatureDeclarations")
    for tag, feats in (("SpotFeatures", _SPOT_FEATURES), ("EdgeFeatures", _EDGE_FEATURES),
                       ("TrackFeatures", _TRACK_FEATURES)):
        el = ET.SubElement(decl, tag)
        for f, name, dim, isint in feats:
            ET.SubElement(el, "Feature", feature=f, name=name, shortname=name,
                          dimension=dim, isint=isint)
    all_spots = ET.SubElement(model, "AllSpots", nspots=str(len(obj)))
    for frame in np.unique(t):
        el = ET.SubElement(all_spots, "SpotsInFrame", frame=str(int(frame)))
        for i in np.flatnonzero(t == frame):
            attrs = {
                "ID": str(i), "name": f"ID{i}", "QUALITY": "1.0",
                "POSITION_X": f"{pos['x'][i]:.6g}", "POSITION_Y": f"{pos['y'][i]:.6g}",
                "POSITION_Z": f"{pos['z'][i]:.6g}" if is3d else "0.0",
                "POSITION_T": f"{t[i] * dt:.6g}", "FRAME": str(int(t[i])),
                "RADIUS": f"{radius[i]:.6g}", "VISIBILITY": "1",
            }
            if intensity is not None:
                attrs["MEAN_INTENSITY_CH1"] = f"{intensity[i]:.6g}"
            ET.SubElement(el, "Spot", attrs)
    all_tracks = ET.SubElement(model, "AllTracks")
    filtered = ET.SubElement(model, "FilteredTracks")
    edge_lineage = lineage[edges[:, 0]] if len(edges) else np.zeros(0, np.int64)
    out_degree = np.bincount(edges[:, 0], minlength=len(obj)) if len(edges) else None
    for k, lin in enumerate(np.unique(lineage[np.isin(lineage, edge_lineage)])):
        rows = np.flatnonzero(lineage == lin)
        mine = edges[edge_lineage == lin]
        gaps = int(np.count_nonzero(t[mine[:, 1]] - t[mine[:, 0]] > 1))
        splits = int(np.count_nonzero(out_degree[rows] >= 2)) if out_degree is not None else 0
        start, stop = t[rows].min() * dt, t[rows].max() * dt
        tr = ET.SubElement(all_tracks, "Track", {
            "name": f"Track_{k}", "TRACK_INDEX": str(k), "TRACK_ID": str(k),
            "NUMBER_SPOTS": str(len(rows)), "NUMBER_SPLITS": str(splits),
            "NUMBER_GAPS": str(gaps), "TRACK_START": f"{start:.6g}",
            "TRACK_STOP": f"{stop:.6g}", "TRACK_DURATION": f"{stop - start:.6g}",
        })
        for a, b in mine:
            ET.SubElement(tr, "Edge", SPOT_SOURCE_ID=str(a), SPOT_TARGET_ID=str(b),
                          LINK_COST="-1.0")
        ET.SubElement(filtered, "TrackID", TRACK_ID=str(k))
    settings = ET.SubElement(doc, "Settings")
    shape = list(image_shape) if image_shape is not None else []
    src = Path(source) if source else None
    ET.SubElement(settings, "ImageData", {
        "filename": src.name if src else "", "folder": str(src.parent) if src else "",
        "width": str(shape[-1]) if shape else "0", "height": str(shape[-2]) if shape else "0",
        "nslices": str(shape[1]) if len(shape) == 4 else "1",
        "nframes": str(shape[0]) if shape else str(int(t.max()) + 1 if len(t) else 0),
        "pixelwidth": f"{sp[-1]:g}", "pixelheight": f"{sp[-2]:g}",
        "voxeldepth": f"{sp[0]:g}" if is3d else "1.0", "timeinterval": f"{dt:g}",
    })
    ET.indent(doc, space="  ")
    path = Path(path)
    with atomic_path(path) as tmp:
        ET.ElementTree(doc).write(tmp, encoding="UTF-8", xml_declaration=True)
    return path
