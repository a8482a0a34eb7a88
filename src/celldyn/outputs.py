"""The derived outputs of a run folder: ``dynamics.csv``, ``population.csv``,
``report.html`` and single figures.

Wiring only: :mod:`celldyn.io.run_folder` reads and writes the files,
:mod:`celldyn.analyze` builds the tables, figures and report. :func:`write_analysis`
is what :func:`celldyn.pipeline.write_run` adds to a new run folder;
:func:`write_report` and :func:`write_plot` are ``celldyn report`` and
``celldyn plot``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .analyze.dynamics import Analysis, analyze, tracks_from_objects
from .analyze.plots import PLOTS, figure_bytes
from .analyze.report import build_report, make_figures
from .errors import InputError
from .io import read_track_table
from .io.run_folder import (
    read_overlay_movie,
    read_run_folder,
    run_record,
    write_csv,
    write_text,
)
from .track.graph import ctc_table_from_graph

__all__ = ["RunData", "analysis_from_result", "load_run", "write_analysis", "write_plot",
           "write_report"]


@dataclass
class RunData:
    """A run folder read back: the analysis, label movie, movie (or None) and record."""

    analysis: Analysis
    labels: np.ndarray | None
    movie: Any
    record: dict[str, Any]


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


def write_outputs(folder: str | Path, a: Analysis, labels: Any, movie: Any,
                  record: dict[str, Any]) -> dict[str, Path]:
    """Write the tables and the report of analysis `a` into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "dynamics": folder / "dynamics.csv",
        "population": folder / "population.csv",
        "report": folder / "report.html",
    }
    write_csv(out["dynamics"], a.dynamics)
    write_csv(out["population"], a.population)
    figs = make_figures(a, labels, movie)
    name = record.get("source") or "run"
    scored = folder / "evaluation.json"  # written by `celldyn evaluate`
    evaluation = json.loads(scored.read_text()) if scored.is_file() else None
    page = build_report(a, figs, record, title=f"celldyn report: {Path(str(name)).name}",
                        evaluation=evaluation)
    write_text(out["report"], page)
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
            record = run_record(
                result.movie, config=result.config.to_dict(), summary=result.summary(),
                max_distance=result.max_distance, seed=result.config.seed,
            )
    a = analysis_from_result(result)
    movie = result.movie.data if result.movie is not None else None
    return write_outputs(folder, a, result.labels, movie, record)


def load_run(folder: str | Path, *, with_movie: bool = True) -> RunData:
    """Read a run folder back into an :class:`Analysis` (plus labels, movie, record).

    Raises
    ------
    FileFormatError
        If the folder or its ``objects.parquet`` is missing, or a file in it is damaged.
    """
    run = read_run_folder(folder)
    tracks = None
    graph = run.graph
    if graph is not None and graph.number_of_nodes() and all(
        "tracklet" in d for _, d in graph.nodes(data=True)
    ):
        tracks = ctc_table_from_graph(graph)
    if tracks is None and run.ctc_tracks.is_file():
        tracks = read_track_table(run.ctc_tracks)
    if tracks is None:
        tracks = tracks_from_objects(run.objects)
    a = analyze(run.objects, tracks, spacing=run.spacing, frame_interval=run.frame_interval,
                n_frames=run.n_frames)
    movie = read_overlay_movie(run.record, run.labels) if with_movie else None
    return RunData(analysis=a, labels=run.labels, movie=movie, record=run.record)


def write_report(folder: str | Path) -> dict[str, Path]:
    """Rebuild ``dynamics.csv``, ``population.csv`` and ``report.html`` in a run folder."""
    data = load_run(folder)
    return write_outputs(Path(folder), data.analysis, data.labels, data.movie, data.record)


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
    from ._atomic import atomic_path

    if kind not in PLOTS:
        raise InputError(f"plot kind must be one of {sorted(PLOTS)} (got {kind!r})")
    data = data or load_run(folder, with_movie=(kind == "tracks"))
    a = data.analysis
    fig = PLOTS[kind](a, data.labels, data.movie) if kind == "tracks" else PLOTS[kind](a)
    stem = Path(output) if output is not None else Path(folder) / "figures" / kind
    if stem.suffix.lower() in (".png", ".svg", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(path) as tmp:
            tmp.write_bytes(figure_bytes(fig, fmt))
        written.append(path)
    return written
