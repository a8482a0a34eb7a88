"""npe2 writers: corrected labels back into a celldyn run folder (re-measured and
re-tracked by :func:`celldyn.pipeline.run`, written by
:func:`~celldyn.pipeline.write_run`), a CTC result folder, OME-Zarr or TIFF; class
annotations as the ``t,label,class`` CSV that ``celldyn train classifier
--annotations`` reads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._layers import RunView

__all__ = ["save_labels_to_run", "write_annotations", "write_labels", "write_labels_ctc"]


def _view(meta: dict[str, Any]) -> RunView | None:
    view = (meta.get("metadata") or {}).get("celldyn")
    return view if isinstance(view, RunView) else None


def _spatial(meta: dict[str, Any], view: RunView | None) -> tuple[float, ...] | None:
    if view is not None and view.spacing:
        return tuple(view.spacing)
    scale = meta.get("scale")
    if scale is None or all(float(s) == 1.0 for s in scale[1:]):
        return None
    return tuple(float(s) for s in scale[1:])


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write a labels layer: into an existing run folder (one with
    ``objects.parquet``; the widget's Save button writes new ones), OME-Zarr
    (``*.zarr``), TIFF (``*.tif``), else a CTC result folder."""
    p = Path(path)
    view = _view(meta)
    labels = np.asarray(data)
    if labels.ndim not in (3, 4):
        raise InputError(f"labels must have axes T(Z)YX; got shape {labels.shape}")
    if (p / "objects.parquet").is_file():
        save_labels_to_run(p, labels, view=view)
    elif p.name.endswith(".zarr"):
        from ..io import write_labels_ome_zarr

        write_labels_ome_zarr(p, labels.astype(np.int32), spacing=_spatial(meta, view))
    elif p.suffix.lower() in (".tif", ".tiff"):
        from ..io import write_tiff
        from ..movie import Movie

        axes = "TYX" if labels.ndim == 3 else "TZYX"
        write_tiff(p, Movie(labels.astype(np.int32), axes, spacing=_spatial(meta, view)))
    else:
        write_labels_ctc(p, labels, tracks=None if view is None else view.tracks)
    return [str(p)]


def write_labels_ctc(folder: str | Path, labels: np.ndarray, *,
                     tracks: pd.DataFrame | None = None) -> Path:
    """A CTC result folder of (edited) tracked labels: each id's first and last frame
    from the labels, its parent from `tracks` where that parent ends before it starts."""
    from ..analyze.dynamics import tracks_from_objects
    from ..io import write_ctc_result
    from ..measure import measure_objects

    table = tracks_from_objects(measure_objects(labels, properties=("label",)))
    if tracks is not None and len(table):
        parent = dict(zip(tracks["label"].astype(int), tracks["parent"].astype(int)))
        end = dict(zip(table["label"], table["end"]))
        table["parent"] = [p if p in end and end[p] < b else 0 for p, b in
                           zip((parent.get(int(k), 0) for k in table["label"]), table["begin"])]
    write_ctc_result(folder, labels.astype(np.int32), table)
    return Path(folder)


def save_labels_to_run(folder: str | Path, labels: np.ndarray, *,
                       view: RunView | None = None) -> RunView:
    """Corrected labels into a run folder: the run's movie and parameters (run.json, or
    `view`) with `labels` as its segmentation, re-measured, re-tracked and written
    whole (the folder is replaced atomically).

    Returns
    -------
    RunView
        The new run (track ids may change: they follow the new tracking).
    """
    from ..config import RunConfig
    from ..io import read_run_movie, read_run_record
    from ..pipeline import run, write_run
    from ._layers import view_of_result

    folder = Path(folder)
    record = read_run_record(folder) if (folder / "run.json").is_file() else {}
    config = dict(record.get("config") or (view.config if view is not None else {}))
    known = {f.name for f in dataclasses.fields(RunConfig)}
    cfg = RunConfig(**{k: v for k, v in config.items() if k in known})
    if view is not None and view.movie is not None:
        from ..movie import Movie

        axes = "TYX" if np.ndim(view.movie) == 3 else "TZYX"
        movie = Movie(view.movie, axes, spacing=view.spacing,
                      frame_interval=view.frame_interval, name=view.name)
    elif record:
        movie = read_run_movie(record)
    else:
        raise InputError(f"{folder} is not a celldyn run folder and the labels carry no "
                         "movie; save them as a CTC folder, OME-Zarr or TIFF instead")
    result = run(movie, config=cfg, labels=labels)
    write_run(result, folder, overwrite=True, source=str(record.get("source") or movie.name),
              inputs=record.get("inputs"))
    new = view_of_result(result, name=folder.name)
    new.folder = folder
    return new


def write_annotations(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Class annotations of a points layer as CSV: ``t,label,class`` (the classes set
    in the widget, else every object's class in celldyn's objects layer), else napari's ``axis-0, ...`` columns and the
    features (``celldyn train classifier --annotations`` reads both)."""
    from ..io.run_folder import write_csv

    feats = pd.DataFrame(meta.get("features", {}))
    view = _view(meta)
    if view is not None and len(view.annotations):  # what the user set in the widget
        table = view.annotations
    elif {"t", "label", "class"} <= set(feats.columns):
        table = feats[["t", "label", "class"]].dropna(subset=["class"])
    else:
        coords = np.asarray(data, dtype=float).reshape(len(feats) or len(data), -1)
        table = pd.DataFrame(coords, columns=[f"axis-{i}" for i in range(coords.shape[1])])
        table = pd.concat([table, feats.reset_index(drop=True)], axis=1)
    write_csv(path, table)
    return [str(path)]
