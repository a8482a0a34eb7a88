"""The run: stages wired together from one config.

:func:`run` works on arrays in memory and returns labels, objects and tracks (what a
notebook user calls); :func:`write_run` writes the run folder of DESIGN.md. Neither
prints; progress bars are opt-in. This module is ours: glue over the stage functions.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from . import __version__
from ._validate import check_labels, check_movie
from .errors import ConfigError, InputError
from .measure import measure_objects
from .movie import Movie
from .track import (
    assign_tracklets,
    auto_max_distance,
    ctc_table_from_graph,
    link_objects,
    relabel_by_tracklet,
)

__all__ = ["RunConfig", "RunResult", "run", "write_run", "SEGMENTERS"]

SEGMENTERS = ("classical",)


@dataclass(frozen=True)
class RunConfig:
    """Parameters of one run (saved in run.json).

    Attributes
    ----------
    segmenter : str
        ``classical`` (``deep`` comes with the deep-learning issue).
    method : str
        Classical method: ``watershed`` (default; splits touching nuclei), ``threshold``,
        ``edges`` or ``spots``, optionally with a variant (``threshold:li``,
        ``edges:canny``, ``spots:dog``; see :func:`celldyn.segment.segment_frame`).
    method_params : dict
        Extra keyword arguments for the method.
    dark_objects : bool
        Objects are darker than the background (phase contrast, bright-field):
        intensities are inverted before segmentation, and holes are not filled (in a
        colony, background enclosed by cells is not part of any cell).
    channel : int
        Channel to segment in a multi-channel movie.
    max_distance : float or None
        Largest displacement between frames, in the movie's spacing units; None picks
        the median object diameter.
    seed : int
        Seed for every stochastic step (recorded for reproducibility).
    """

    segmenter: Literal["classical"] = "classical"
    method: str = "watershed"
    method_params: dict[str, Any] = field(default_factory=dict)
    dark_objects: bool = False
    channel: int = 0
    max_distance: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.segmenter not in SEGMENTERS:
            raise ConfigError(
                f"segmenter must be one of {SEGMENTERS} (got {self.segmenter!r})"
            )
        from .segment.classical import _method

        _method(self.method, dict(self.method_params))  # raises ConfigError
        if self.max_distance is not None and not self.max_distance > 0:
            raise ConfigError(f"max_distance must be positive (got {self.max_distance!r})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RunResult:
    """What :func:`run` returns, all in memory.

    Attributes
    ----------
    labels : (T, [Z,] Y, X) int32 array
        Tracked label movie: an object's id is its track id (CTC convention).
    objects : DataFrame
        One row per (t, label); ``label`` is the id in `labels` at frame ``t``.
    graph : networkx.DiGraph
        Tracks graph (see :mod:`celldyn.track.graph`).
    tracks : DataFrame
        CTC track table (label, begin, end, parent), derived from `graph`.
    timings : dict
        Seconds per stage.
    """

    movie: Movie
    labels: np.ndarray
    objects: pd.DataFrame
    graph: nx.DiGraph
    tracks: pd.DataFrame
    config: RunConfig
    timings: dict[str, float] = field(default_factory=dict)
    max_distance: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Frames, objects per frame, tracks, divisions and time per stage."""
        per_frame = self.objects.groupby("t").size().reindex(
            range(self.movie.n_frames), fill_value=0
        )
        divisions = sum(1 for n in self.graph if self.graph.out_degree(n) == 2)
        return {
            "frames": self.movie.n_frames,
            "objects": int(len(self.objects)),
            "objects_per_frame_min": int(per_frame.min()),
            "objects_per_frame_mean": float(per_frame.mean()),
            "objects_per_frame_max": int(per_frame.max()),
            "tracks": int(len(self.tracks)),
            "divisions": int(divisions),
            "seconds": dict(self.timings),
        }


def _segment(movie: Movie, config: RunConfig, progress: bool) -> np.ndarray:
    from .segment.classical import segment_movie

    import inspect

    from .segment.classical import _method

    params = dict(config.method_params)
    func = _method(config.method, dict(params))
    data = np.asarray(movie.data)
    if config.dark_objects:
        data = data.astype(np.float32)
        data = data.max() - data
        if "fill_holes" in inspect.signature(func).parameters:
            params.setdefault("fill_holes", False)
    if movie.spacing is not None:
        params.setdefault("spacing", movie.spacing)
    return segment_movie(data, method=config.method, progress=progress, **params)


def run(
    movie: Movie | np.ndarray,
    *,
    config: RunConfig | None = None,
    labels: np.ndarray | None = None,
    progress: bool | Callable[..., Any] = False,
    axes: str | None = None,
    **overrides: Any,
) -> RunResult:
    """Segment, measure and track a movie, in memory.

    Parameters
    ----------
    movie : Movie or array
        The movie. A bare array needs `axes` (``TYX`` or ``TZYX``).
    config : RunConfig, optional
        Parameters; keyword `overrides` replace single fields (``method="threshold"``).
    labels : (T, [Z,] Y, X) int array, optional
        The user's own segmentation: segmentation is skipped.
    progress : bool
        Show a progress bar per stage.

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        Empty movie, NaN/Inf frames, labels of another shape or not integers.

    Examples
    --------
    >>> from celldyn.simulate import simulate_movie
    >>> sim = simulate_movie(n_frames=3, rng=0)
    >>> result = run(sim.movie)
    >>> result.labels.shape == sim.labels.shape
    True
    """
    if not isinstance(movie, Movie):
        if axes is None:
            raise InputError("a bare array needs axes, e.g. run(array, axes='TYX')")
        from .movie import normalize_axes

        data, ax = normalize_axes(np.asarray(movie), axes)
        movie = Movie(data, ax)
    config = config or RunConfig()
    if overrides:
        config = dataclasses.replace(config, **overrides)
    movie = movie.channel(config.channel) if "C" in movie.axes else movie
    timings: dict[str, float] = {}
    check_movie(movie)

    t0 = time.perf_counter()
    if labels is None:
        seg = _segment(movie, config, bool(progress))
    else:
        seg = check_labels(labels, shape=movie.data.shape)
    timings["segment"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    objects = measure_objects(
        seg, np.asarray(movie.data), spacing=movie.spacing, progress=bool(progress)
    )
    timings["measure"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    max_distance = config.max_distance or auto_max_distance(objects, spacing=movie.spacing)
    graph = link_objects(
        objects, max_distance=max_distance, spacing=movie.spacing, progress=bool(progress)
    )
    assign_tracklets(graph)
    tracks = ctc_table_from_graph(graph)
    tracked = relabel_by_tracklet(seg, graph)
    node_order = sorted(graph.nodes)  # node id = row of `objects`
    objects = objects.copy()
    objects["label"] = [int(graph.nodes[n]["tracklet"]) for n in node_order]
    for n in node_order:
        graph.nodes[n]["seg_id"] = graph.nodes[n]["tracklet"]
    objects = objects.sort_values(["t", "label"], kind="stable").reset_index(drop=True)
    timings["track"] = time.perf_counter() - t0
    return RunResult(
        movie=movie,
        labels=tracked,
        objects=objects,
        graph=graph,
        tracks=tracks,
        config=config,
        timings=timings,
        max_distance=float(max_distance),
    )


def run_record(result: RunResult, *, source: str = "") -> dict[str, Any]:
    """The content of run.json: versions, parameters, metadata, seed and timings."""
    import importlib.metadata as md

    versions = {"celldyn": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "scikit-image", "tifffile", "zarr", "pandas", "networkx", "geff"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    m = result.movie
    return {
        "source": source or m.name,
        "movie": {
            "axes": m.axes,
            "shape": list(m.data.shape),
            "dtype": str(m.data.dtype),
            "spacing": list(m.spacing) if m.spacing else None,
            "spacing_unit": "µm" if m.spacing else "px",
            "frame_interval": m.frame_interval,
            "time_unit": "s" if m.frame_interval else "frame",
        },
        "config": result.config.to_dict(),
        "max_distance_used": result.max_distance,
        "seed": result.config.seed,
        "summary": result.summary(),
        "versions": versions,
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
    }


def write_run(
    result: RunResult,
    path: str | Path,
    *,
    source: str = "",
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write the run folder atomically: everything appears at once, or nothing.

    Layout: ``labels.ome.zarr``, ``objects.parquet``, ``tracks.geff``, ``ctc/``
    (mask*.tif + res_track.txt) and ``run.json``.
    """
    from .io import write_ctc_result, write_geff, write_labels_ome_zarr, write_parquet
    from .io._atomic import atomic_path

    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(
            f"{path} already exists; choose another -o folder or pass --overwrite"
        )
    steps = ["labels.ome.zarr", "objects.parquet", "tracks.geff", "ctc", "run.json"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="write", unit="file")
    m = result.movie
    axis_names = ["z", "y", "x"][-m.n_spatial :]
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        write_labels_ome_zarr(
            tmp / "labels.ome.zarr", result.labels, spacing=m.spacing,
            frame_interval=m.frame_interval,
        )
        bar and bar.update()
        write_parquet(tmp / "objects.parquet", result.objects)
        bar and bar.update()
        write_geff(
            tmp / "tracks.geff", result.graph, axis_names=axis_names, spacing=m.spacing,
            frame_interval=m.frame_interval,
        )
        bar and bar.update()
        write_ctc_result(tmp / "ctc", result.labels, result.tracks)
        bar and bar.update()
        record = run_record(result, source=source)
        (tmp / "run.json").write_text(json.dumps(record, indent=2, default=str))
        bar and bar.update()
    if bar is not None:
        bar.close()
    return path
