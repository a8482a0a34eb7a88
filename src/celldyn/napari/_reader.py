"""npe2 reader: a movie (TIFF, OME-TIFF, OME-Zarr), a CTC folder (raw ``t000.tif``
frames, a ``res_track.txt`` result or an ``NN_GT`` folder) or a celldyn run folder.

:func:`get_reader` only looks at names (it reads no pixels) and returns None for what
it does not know, so napari can try other readers. The readers call :mod:`celldyn.io`
and :func:`celldyn.outputs.load_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._layers import LayerData, RunView, movie_layer, run_layers, view_of_folder

__all__ = ["get_reader", "kind_of"]

_MOVIE_SUFFIXES = (".tif", ".tiff", ".zarr")


def kind_of(path: str | Path) -> str | None:
    """``run``, ``ctc_result``, ``ctc_gt``, ``movie`` or None (not ours)."""
    p = Path(path)
    if p.is_dir() and not p.name.endswith(".zarr"):
        if (p / "objects.parquet").is_file():
            return "run"
        if (p / "res_track.txt").is_file():
            return "ctc_result"
        if (p / "TRA" / "man_track.txt").is_file():
            return "ctc_gt"
        if any(p.glob("t[0-9][0-9][0-9]*.tif")):
            return "movie"
        return None
    if p.name.lower().endswith(_MOVIE_SUFFIXES) and p.exists():
        return "movie"
    return None


def get_reader(path: str | list[str]) -> Callable[[Any], list[LayerData]] | None:
    """The reader for `path`, or None when it is not a movie, CTC folder or run folder."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    kind = kind_of(path)
    return None if kind is None else _READERS[kind]


def _one(path: str | list[str]) -> Path:
    return Path(path[0] if isinstance(path, list) else path)


def read_run(path: str | list[str]) -> list[LayerData]:
    """Movie (when run.json's movie is readable), labels, tracks and objects of a run."""
    return run_layers(view_of_folder(_one(path)))


def read_movie_layers(path: str | list[str]) -> list[LayerData]:
    """One image layer (axes and pixel size from the file's metadata)."""
    from ..io import read_movie

    p = _one(path)
    movie = read_movie(p)
    name = p.name.split(".")[0] or p.name
    return [movie_layer(movie.data, name=name, spacing=movie.spacing, axes=movie.axes)]


def _tracked_view(labels: Any, table: Any, name: str) -> RunView:
    from ..measure import measure_objects

    objects = measure_objects(labels, properties=("label", "centroid", "area"))
    return RunView(labels=labels, objects=objects, tracks=table, name=name)


def read_ctc_result_layers(path: str | list[str]) -> list[LayerData]:
    """Labels and tracks of a CTC result folder (``mask*.tif`` + ``res_track.txt``)."""
    from ..io import read_ctc_result

    p = _one(path)
    labels, table = read_ctc_result(p)
    return run_layers(_tracked_view(labels, table, p.name))


def read_ctc_gt_layers(path: str | list[str]) -> list[LayerData]:
    """Labels and tracks of a CTC ground-truth folder (``TRA/``)."""
    from ..io import read_ctc_gt

    p = _one(path)
    labels, table, _ = read_ctc_gt(p)
    return run_layers(_tracked_view(labels, table, p.name))


_READERS: dict[str, Callable[[Any], list[LayerData]]] = {
    "run": read_run,
    "ctc_result": read_ctc_result_layers,
    "ctc_gt": read_ctc_gt_layers,
    "movie": read_movie_layers,
}
