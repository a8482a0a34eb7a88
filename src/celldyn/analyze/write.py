"""The thin IO shell of the analyze stage: run folder in, tables, figures and report out.

- :func:`write_analysis` is called by :func:`celldyn.pipeline.write_run` with the
  in-memory :class:`~celldyn.pipeline.RunResult`; it writes ``dynamics.csv`` (one row
  per track), ``population.csv`` (one row per frame) and ``report.html``.
- :func:`load_run` rebuilds the :class:`~celldyn.analyze.dynamics.Analysis` from a run
  folder (``objects.parquet``, ``tracks.geff``, ``run.json`` for units,
  ``labels.ome.zarr`` and, when it can still be read, the raw movie named in
  ``run.json["source"]`` for overlays); :func:`write_report` and :func:`write_plot`
  are what ``celldyn report`` and ``celldyn plot`` call.

Every file is written atomically (temporary sibling, then rename).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import FileFormatError, InputError
from .dynamics import Analysis, analyze, tracks_from_objects
from .plots import PLOTS, figure_bytes
from .report import build_report

__all__ = [
    "RunData",
    "analysis_from_result",
    "load_run",
    "make_figures",
    "missing_units_message",
    "write_analysis",
    "write_plot",
    "write_report",
]

REPORT_FIGURES = ("counts", "lineage", "tracks", "durations", "msd", "classes")


@dataclass
class RunData:
    """A run folder read back: the analysis, label movie, movie (or None) and record."""

    analysis: Analysis
    labels: np.ndarray | None
    movie: Any
    record: dict[str, Any]


def missing_units_message(spacing: Any, frame_interval: Any) -> str | None:
    """The one warning for missing physical units, or None when both are known."""
    missing = [n for n, v in (("pixel size", spacing), ("frame interval", frame_interval))
               if not v]
    if not missing:
        return None
    return (
        f"the movie does not state its {' and '.join(missing)}; results are in px and "
        "frames (set --pixel-size and --frame-interval)"
    )


def analysis_from_result(result: Any) -> Analysis:
    """:func:`~celldyn.analyze.dynamics.analyze` of a :class:`~celldyn.pipeline.RunResult`."""
    m = result.movie
    return analyze(
        result.objects,
        result.tracks,
        spacing=m.spacing,
        frame_interval=m.frame_interval,
        n_frames=int(result.labels.shape[0]),
    )


def make_figures(
    a: Analysis,
    labels: Any = None,
    movie: Any = None,
    *,
    names: Sequence[str] = REPORT_FIGURES,
) -> dict[str, Figure]:
    """The report's figures by name (``classes`` only when objects have classes)."""
    figs: dict[str, Figure] = {}
    for name in names:
        if name == "classes" and "class" not in a.objects.columns:
            continue
        if name == "tracks":
            figs[name] = PLOTS[name](a, labels, movie)
        else:
            figs[name] = PLOTS[name](a)
    return figs


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    from ..io._atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def _write_text(path: Path, text: str) -> None:
    from ..io._atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_all(folder: Path, a: Analysis, labels: Any, movie: Any,
               record: dict[str, Any]) -> dict[str, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "dynamics": folder / "dynamics.csv",
        "population": folder / "population.csv",
        "report": folder / "report.html",
    }
    _write_csv(out["dynamics"], a.dynamics)
    _write_csv(out["population"], a.population)
    figs = make_figures(a, labels, movie)
    name = record.get("source") or "run"
    page = build_report(a, figs, record, title=f"celldyn report: {Path(str(name)).name}")
    _write_text(out["report"], page)
    return out


def write_analysis(
    result: Any, folder: str | Path, *, record: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``dynamics.csv``, ``population.csv`` and ``report.html`` of a run.

    Parameters
    ----------
    result : celldyn.pipeline.RunResult
        The in-memory run (movie metadata gives the units).
    folder : path
        The (temporary) run folder.
    record : dict, optional
        The run record (``run.json`` content) for the report's parameters and versions;
        default ``folder/run.json`` when present, else built from `result`.

    Returns
    -------
    dict of name -> Path
    """
    folder = Path(folder)
    if record is None:
        if (folder / "run.json").is_file():
            record = json.loads((folder / "run.json").read_text())
        else:
            from ..pipeline import run_record

            record = run_record(result)
    a = analysis_from_result(result)
    movie = result.movie.data if result.movie is not None else None
    return _write_all(folder, a, result.labels, movie, record)


def _read_movie(record: dict[str, Any], labels: np.ndarray | None) -> Any:
    """The raw movie for overlays, or None when it cannot be read or does not match."""
    from ..errors import CelldynError
    from ..io import read_run_movie

    try:
        movie = read_run_movie(record)
    except (CelldynError, OSError, ValueError):
        return None
    if labels is not None and tuple(movie.data.shape) != tuple(labels.shape):
        return None
    return movie.data


def load_run(folder: str | Path, *, with_movie: bool = True) -> RunData:
    """Read a run folder back into an :class:`Analysis` (plus labels, movie, record).

    Raises
    ------
    FileFormatError
        If the folder or its ``objects.parquet`` is missing, or a file in it is damaged.
    """
    from ..io import (
        read_geff,
        read_labels_ome_zarr,
        read_parquet,
        read_run_record,
        read_track_table,
    )

    folder = Path(folder)
    if not folder.is_dir():
        raise FileFormatError(f"{folder} is not a folder; pass a results folder from celldyn run")
    if not (folder / "objects.parquet").exists():
        raise FileFormatError(
            f"{folder} has no objects.parquet; pass a results folder from celldyn run"
        )
    record = read_run_record(folder)
    objects = read_parquet(folder / "objects.parquet")
    tracks = None
    graph_meta: dict[str, Any] = {}
    if (folder / "tracks.geff").exists():
        from ..track.graph import ctc_table_from_graph

        graph = read_geff(folder / "tracks.geff")
        graph_meta = graph.graph
        if graph.number_of_nodes() and all("tracklet" in d for _, d in graph.nodes(data=True)):
            tracks = ctc_table_from_graph(graph)
    if tracks is None and (folder / "ctc" / "res_track.txt").is_file():
        tracks = read_track_table(folder / "ctc" / "res_track.txt")
    if tracks is None:
        tracks = tracks_from_objects(objects)
    labels = None
    if (folder / "labels.ome.zarr").exists():
        labels = read_labels_ome_zarr(folder / "labels.ome.zarr")
    movie_meta = record.get("movie", {})
    spacing = movie_meta.get("spacing", graph_meta.get("spacing"))
    interval = movie_meta.get("frame_interval", graph_meta.get("frame_interval"))
    n_frames = None
    if movie_meta.get("shape"):
        n_frames = int(movie_meta["shape"][0])
    elif labels is not None:
        n_frames = int(labels.shape[0])
    a = analyze(objects, tracks, spacing=spacing, frame_interval=interval, n_frames=n_frames)
    movie = _read_movie(record, labels) if with_movie else None
    return RunData(analysis=a, labels=labels, movie=movie, record=record)


def write_report(folder: str | Path) -> dict[str, Path]:
    """Rebuild ``dynamics.csv``, ``population.csv`` and ``report.html`` in a run folder."""
    data = load_run(folder)
    return _write_all(Path(folder), data.analysis, data.labels, data.movie, data.record)


def write_plot(
    folder: str | Path,
    kind: str,
    *,
    output: str | Path | None = None,
    formats: Sequence[str] = ("png", "svg"),
    data: RunData | None = None,
) -> list[Path]:
    """Write one figure of a run folder as PNG and SVG.

    Parameters
    ----------
    folder : path
        Run folder.
    kind : str
        One of ``lineage, tracks, durations, msd, classes, counts``.
    output : path, optional
        File stem (suffixes are added); default ``folder/figures/<kind>``.

    Returns
    -------
    list of Path
        The files written.
    """
    if kind not in PLOTS:
        raise InputError(f"plot kind must be one of {sorted(PLOTS)} (got {kind!r})")
    data = data or load_run(folder, with_movie=(kind == "tracks"))
    a = data.analysis
    fig = PLOTS[kind](a, data.labels, data.movie) if kind == "tracks" else PLOTS[kind](a)
    stem = Path(output) if output is not None else Path(folder) / "figures" / kind
    if stem.suffix.lower() in (".png", ".svg", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    from ..io._atomic import atomic_path

    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(path) as tmp:
            tmp.write_bytes(figure_bytes(fig, fmt))
        written.append(path)
    return written
