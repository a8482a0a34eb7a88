"""The run: stages wired together from one config.

:func:`run` works on arrays in memory and returns labels, objects and tracks (what a
notebook user calls); :func:`write_run` writes the run folder of DESIGN.md. Neither
prints; progress bars are opt-in. This module is ours: glue over the stage functions.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from . import __version__
from ._memory import release_memory
from ._validate import check_labels, check_movie
from .errors import ConfigError, InputError
from .measure import measure_objects
from .movie import Movie
from .track import auto_max_distance, track_objects
from .track.graph import (
    ctc_table,
    graph_arrays,
    prune_short_branch_edges,
    relabel_by_tracklet,
    tracklet_ids,
)

__all__ = ["FrameCache", "RunConfig", "RunResult", "fingerprint", "run", "write_run", "SEGMENTERS"]

SEGMENTERS = ("classical", "deep")


@dataclass(frozen=True)
class RunConfig:
    """Parameters of one run (saved in run.json).

    Attributes
    ----------
    segmenter : str
        ``classical`` (scikit-image methods, see `method`) or ``deep`` (a shipped or
        trained U-Net, see `model`; needs torch).
    method : str
        Classical method: ``watershed`` (default; splits touching nuclei), ``threshold``,
        ``edges`` or ``spots``, optionally with a variant (``threshold:li``,
        ``edges:canny``, ``spots:dog``; see :func:`celldyn.segment.segment_frame`).
    method_params : dict
        Extra keyword arguments for the method (classical) or for the deep model
        (``diameter``, ``tile``, ``thresholds``).
    model : str
        Deep model: a shipped name (``nuclei2d``) or a folder from
        ``celldyn train segment``.
    dark_objects : bool
        Objects are darker than the background (phase contrast, bright-field):
        intensities are inverted before segmentation, and holes are not filled (in a
        colony, background enclosed by cells is not part of any cell).
    channel : int
        Channel to segment in a multi-channel movie.
    max_distance : float or None
        Largest displacement between frames, in the movie's spacing units; None picks
        the median object diameter.
    tracker : str
        ``lap`` (frame-by-frame assignment plus a gap/division/merge pass, fast),
        ``global`` (exact integer program over time windows) or ``learned`` (link
        costs from the shipped association network, solved by LAP; needs torch).
    max_gap : int
        Bridge objects missing for up to this many frames.
    divisions : bool
        Allow divisions (one parent, two children).
    merges : bool
        Allow merges (two parents, one child), for organelles; kept in GEFF, not in
        the CTC export.
    min_daughter_frames : int
        A division whose daughter vanishes within this many frames (before the end of
        the movie) is undone: over-segmentation, not a division (see
        :func:`celldyn.track.prune_short_branches`). On GOWT1 with the classical
        segmentation this removed a third of the false divisions and changed no score
        on ground-truth detections. 0 or 1 keeps every division.
    classifier : str or None
        Name of a shipped classifier (``mitosis``) or a model folder from
        ``celldyn train classifier``; adds ``class`` and ``class_proba`` to the objects.
    seed : int
        Seed for every stochastic step (recorded for reproducibility).
    """

    segmenter: Literal["classical", "deep"] = "classical"
    method: str = "watershed"
    method_params: dict[str, Any] = field(default_factory=dict)
    model: str = "nuclei2d"
    dark_objects: bool = False
    channel: int = 0
    max_distance: float | None = None
    tracker: str = "lap"
    max_gap: int = 2
    divisions: bool = True
    merges: bool = False
    min_daughter_frames: int = 3
    classifier: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.segmenter not in SEGMENTERS:
            raise ConfigError(
                f"segmenter must be one of {SEGMENTERS} (got {self.segmenter!r})"
            )
        if self.segmenter == "classical":
            from .segment.classical import _method

            _method(self.method, dict(self.method_params))  # raises ConfigError
        else:
            unknown = sorted(set(self.method_params) - {"diameter", "tile", "thresholds"})
            if unknown:
                raise ConfigError(
                    f"unknown parameters {unknown} for the deep segmenter; expected some "
                    "of ['diameter', 'thresholds', 'tile']"
                )
        from .track import TRACKERS

        if self.tracker not in (*TRACKERS, "learned"):
            raise ConfigError(
                f"tracker must be one of {[*TRACKERS, 'learned']} (got {self.tracker!r})"
            )
        if self.tracker == "learned" and self.merges:
            raise ConfigError("the learned tracker does not model merges; use --tracker lap")
        if not (isinstance(self.max_gap, int) and self.max_gap >= 0):
            raise ConfigError(f"max_gap must be a whole number >= 0 (got {self.max_gap!r})")
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
    edges : (E, 2) int64 array
        The tracks graph's edges as row indices of `objects` (parent row, child row),
        sorted; divisions, merges and gaps are read from it. Kept as columns: a long
        movie costs a few dozen bytes per object, not the kilobyte of a networkx node.
    tracks : DataFrame
        CTC track table (label, begin, end, parent), derived from the graph.
    timings : dict
        Seconds per stage.
    graph : networkx.DiGraph
        The tracks graph (see :mod:`celldyn.track.graph`), built from `objects` and
        `edges` on first use: node ``i`` is row ``i`` of `objects`.
    """

    movie: Movie
    labels: np.ndarray
    objects: pd.DataFrame
    edges: np.ndarray
    tracks: pd.DataFrame
    config: RunConfig
    timings: dict[str, float] = field(default_factory=dict)
    max_distance: float = 0.0

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        return _graph_of(self.objects, self.edges)

    def summary(self) -> dict[str, Any]:
        """Frames, objects per frame, tracks, divisions and time per stage."""
        per_frame = self.objects.groupby("t").size().reindex(
            range(self.movie.n_frames), fill_value=0
        )
        n = len(self.objects)
        divisions = np.count_nonzero(np.bincount(self.edges[:, 0], minlength=n) == 2)
        merges = np.count_nonzero(np.bincount(self.edges[:, 1], minlength=n) == 2)
        t = self.objects["t"].to_numpy()
        gaps = np.count_nonzero(t[self.edges[:, 1]] - t[self.edges[:, 0]] > 1)
        return {
            "frames": self.movie.n_frames,
            "objects": int(len(self.objects)),
            "objects_per_frame_min": int(per_frame.min()),
            "objects_per_frame_mean": float(per_frame.mean()),
            "objects_per_frame_max": int(per_frame.max()),
            "tracks": int(len(self.tracks)),
            "divisions": int(divisions),
            "merges": int(merges),
            "gaps_closed": int(gaps),
            "seconds": dict(self.timings),
        }


class FrameCache:
    """Per-frame labels kept on disk while a run is in progress (``--resume``).

    Each frame is written to a temporary file and renamed, so a killed run leaves only
    whole frames. The folder is bound to a fingerprint of the movie and parameters: a
    cache made for other inputs is ignored, never mixed in.
    """

    def __init__(self, folder: str | Path, fingerprint: str) -> None:
        import shutil

        self.folder = Path(folder)
        self.fingerprint = fingerprint
        stamp = self.folder / "fingerprint.txt"
        if self.folder.exists() and (
            not stamp.exists() or stamp.read_text() != fingerprint
        ):
            shutil.rmtree(self.folder)

    def _open(self) -> None:
        """Create the folder on the first write (a run that fails early leaves none)."""
        stamp = self.folder / "fingerprint.txt"
        if not stamp.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = stamp.with_suffix(".tmp")
            tmp.write_text(self.fingerprint)
            os.replace(tmp, stamp)

    def _path(self, t: int) -> Path:
        return self.folder / f"labels_{t:06d}.npy"

    def get(self, t: int) -> np.ndarray | None:
        p = self._path(t)
        if not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError):  # a damaged frame is recomputed
            return None

    def put(self, t: int, frame: np.ndarray) -> None:
        self._open()
        tmp = self.folder / f".labels_{t:06d}.tmp.npy"
        np.save(tmp, frame, allow_pickle=False)
        os.replace(tmp, self._path(t))

    def __len__(self) -> int:
        return len(list(self.folder.glob("labels_*.npy"))) if self.folder.exists() else 0

    def frames(self, shape: tuple[int, ...]) -> "_CachedFrames":
        """A read-only, frame-indexable view of the cached label movie."""
        return _CachedFrames(self, shape)

    def tracked_store(self, shape: tuple[int, ...]) -> Any:
        """A zarr array (one chunk per frame) for the tracked label movie."""
        import zarr

        self._open()
        return zarr.open_array(
            str(self.folder / "tracked.zarr"), mode="w", shape=shape,
            chunks=(1, *shape[1:]), dtype=np.int32, fill_value=0,
        )


class _CachedFrames:
    """Array-like view of a :class:`FrameCache`: ``shape``, ``dtype``, ``ndim`` and
    ``view[t]``, each frame read from disk when asked for (memory stays one frame)."""

    def __init__(self, cache: FrameCache, shape: tuple[int, ...]) -> None:
        self.cache, self.shape = cache, tuple(shape)
        self.dtype, self.ndim = np.dtype(np.int32), len(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        if not isinstance(t, (int, np.integer)):
            return np.stack([self[i] for i in range(self.shape[0])])[t]
        frame = self.cache.get(int(t))
        if frame is None:
            raise KeyError(f"frame {t} is not in the cache")
        return frame


def fingerprint(movie: Movie, config: RunConfig) -> str:
    """A short hash of the movie's pixels, metadata and the segmentation parameters."""
    import hashlib

    h = hashlib.sha256()
    h.update(json.dumps(
        {"axes": movie.axes, "shape": list(movie.data.shape), "dtype": str(movie.data.dtype),
         "spacing": movie.spacing, "segmenter": config.segmenter, "method": config.method,
         "model": config.model if config.segmenter == "deep" else None,
         "params": config.method_params, "dark": config.dark_objects,
         "channel": config.channel, "version": __version__},
        sort_keys=True, default=str).encode())
    for t in range(movie.n_frames):
        h.update(np.ascontiguousarray(np.asarray(movie.data[t])).tobytes())
    return h.hexdigest()[:16]


def _deep_frame_function(movie: Movie, config: RunConfig) -> tuple[Callable, dict]:
    """The deep model as a per-frame function, with the object size estimated once."""
    from .segment.deep.registry import load_segmenter

    model = load_segmenter(config.model)
    if movie.n_spatial != model.ndim:
        raise InputError(
            f"deep model {config.model!r} is {model.ndim}D but the movie has axes "
            f"{movie.axes}; use a {movie.n_spatial}D model or --segmenter classical"
        )
    params = dict(config.method_params)
    tile = int(params.pop("tile", 512))
    thresholds = params.pop("thresholds", None)
    diameter = params.pop("diameter", "auto")
    if diameter == "auto":
        middle = np.asarray(movie.data[movie.n_frames // 2])
        if config.dark_objects:
            middle = float(np.max(movie.data)) - middle.astype(np.float32)
        diameter = model.estimate_diameter(middle, tile=tile) if model.ndim == 2 else None

    def segment_frame(frame: np.ndarray) -> np.ndarray:
        return model.segment(frame, diameter=diameter, tile=tile, thresholds=thresholds)

    return segment_frame, {}


def _segment(
    movie: Movie, config: RunConfig, progress: bool, cache: FrameCache | None = None
) -> np.ndarray:
    import inspect

    from .segment.classical import _method

    params = dict(config.method_params)
    if config.segmenter == "deep":
        func, params = _deep_frame_function(movie, config)
    else:
        func = _method(config.method, params)
    invert = None
    if config.dark_objects:
        invert = float(np.max(movie.data))
        if "fill_holes" in inspect.signature(func).parameters:
            params.setdefault("fill_holes", False)
    if (movie.spacing is not None and config.segmenter == "classical"
            and "spacing" in inspect.signature(func).parameters):
        params.setdefault("spacing", movie.spacing)
    shape = tuple(movie.data.shape)
    out: Any = np.zeros(shape, dtype=np.int32) if cache is None else None
    frames: Any = range(movie.n_frames)
    if progress:
        from tqdm.auto import tqdm

        what = config.method if config.segmenter == "classical" else f"deep {config.model}"
        frames = tqdm(frames, desc=f"segment ({what})", unit="frame")
    for t in frames:
        if cache is not None:
            done = cache.get(t)
            if done is not None and done.shape == shape[1:]:
                continue
        frame = np.asarray(movie.data[t])
        if invert is not None:
            frame = invert - frame.astype(np.float32)
        labels = func(frame, **params)
        if cache is None:
            out[t] = labels
        else:
            cache.put(t, labels)
    return out if cache is None else cache.frames(shape)


def run(
    movie: Movie | np.ndarray,
    *,
    config: RunConfig | None = None,
    labels: np.ndarray | None = None,
    progress: bool | Callable[..., Any] = False,
    axes: str | None = None,
    cache: FrameCache | None = None,
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
    cache : FrameCache, optional
        Where finished frames are kept, so that an interrupted run can resume. With a
        cache, label movies stay on disk and are read a frame at a time (memory does
        not grow with the number of frames); ``result.labels`` is then a dask array.

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
    classifier = None
    if config.classifier:  # load first: a wrong name should not cost a segmentation
        from .classify import load_classifier

        classifier = load_classifier(config.classifier)

    t0 = time.perf_counter()
    if labels is None:
        seg = _segment(movie, config, bool(progress), cache)
        from .segment.sanity import check_segmentation  # issue 15: warn on pathological output

        for finding in check_segmentation(seg):
            warnings.warn(f"segmentation: {finding.message}", stacklevel=2)
    else:
        seg = check_labels(labels, shape=movie.data.shape)
    timings["segment"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    objects = measure_objects(seg, movie.data, spacing=movie.spacing, progress=bool(progress))
    timings["measure"] = time.perf_counter() - t0
    release_memory()  # long movies: per-frame scratch of the stages above

    t0 = time.perf_counter()
    max_distance = config.max_distance or auto_max_distance(objects, spacing=movie.spacing)
    if config.tracker == "learned":
        from .track.learned import track_learned

        # the shipped model was trained with candidates within 2 median diameters
        graph = track_learned(
            objects, labels=seg, movie=movie.data, max_distance=2 * max_distance,
            max_gap=config.max_gap, divisions=config.divisions, spacing=movie.spacing,
        )
        if set(graph.nodes) != set(range(len(objects))):  # pragma: no cover - contract
            raise RuntimeError("tracker returned nodes that are not rows of the objects")
        edges = graph_arrays(graph)[2]
        edges = np.asarray(list(graph.nodes), dtype=np.int64)[edges].reshape(-1, 2)
        del graph
    else:
        # the links alone: from here on the graph is columns, ~50 bytes per object
        # instead of the ~1 kB of a networkx node
        edges = track_objects(
            objects, labels=seg, tracker=config.tracker, max_distance=max_distance,
            max_gap=config.max_gap, divisions=config.divisions, merges=config.merges,
            spacing=movie.spacing, progress=bool(progress), as_edges=True,
        )
    release_memory()  # the tracker's candidates and cost arrays
    n_objects = len(objects)
    t_obj = objects["t"].to_numpy(np.int64)
    seg_obj = objects["label"].to_numpy(np.int64)
    if config.divisions:
        edges, _ = prune_short_branch_edges(t_obj, edges, min_length=config.min_daughter_frames)
    tracklet = tracklet_ids(t_obj, seg_obj, edges)
    tracks = ctc_table(t_obj, tracklet, edges)
    nodes = (t_obj, seg_obj, tracklet)
    if cache is not None and labels is None:  # long movies: tracked labels on disk
        import dask.array as da

        store = cache.tracked_store(tuple(movie.data.shape))
        tracked = da.from_zarr(relabel_by_tracklet(seg, nodes=nodes, out=store))
    else:
        tracked = relabel_by_tracklet(seg, nodes=nodes)
    # rows sorted by (t, track id); edges follow their rows
    objects = objects.assign(label=tracklet)
    order = np.lexsort((tracklet, t_obj))
    objects = objects.iloc[order].reset_index(drop=True)
    row_of = np.empty(n_objects, dtype=np.int64)
    row_of[order] = np.arange(n_objects)
    edges = row_of[edges].reshape(-1, 2)
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
    timings["track"] = time.perf_counter() - t0
    if classifier is not None:
        from .classify import classify_objects

        t0 = time.perf_counter()
        objects = classify_objects(
            objects, tracked, movie, _graph_of(objects, edges), model=classifier,
            spacing=movie.spacing,
        )
        timings["classify"] = time.perf_counter() - t0
    return RunResult(
        movie=movie,
        labels=tracked,
        objects=objects,
        edges=edges,
        tracks=tracks,
        config=config,
        timings=timings,
        max_distance=float(max_distance),
    )


def _node_table(objects: pd.DataFrame) -> pd.DataFrame:
    """The graph's node properties (geff names) as columns of `objects`' rows."""
    axes = [a for a in ("z", "y", "x") if a in objects.columns]
    table = objects[["t", "label", *axes]].rename(columns={"label": "seg_id"})
    table = table.astype({"t": np.int64, "seg_id": np.int64})
    return table.assign(tracklet=table["seg_id"]).reset_index(drop=True)


def _graph_of(objects: pd.DataFrame, edges: np.ndarray) -> nx.DiGraph:
    """The tracks graph of a run: node ``i`` is row ``i`` of `objects`."""
    nodes = _node_table(objects)
    graph = nx.DiGraph()
    graph.add_nodes_from(enumerate(nodes.to_dict("records")))
    graph.add_edges_from(map(tuple, np.asarray(edges).tolist()))
    return graph


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
    inputs: dict[str, Any] | None = None,
) -> Path:
    """Write the run folder atomically: everything appears at once, or nothing.

    Layout: ``labels.ome.zarr``, ``objects.parquet``, ``tracks.geff``, ``ctc/``
    (mask*.tif + res_track.txt), ``run.json``, ``dynamics.csv`` (one row per track),
    ``population.csv`` (one row per frame) and ``report.html``.
    """
    from .io import write_ctc_result, write_geff_table, write_labels_ome_zarr, write_parquet
    from .io._atomic import atomic_path

    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(
            f"{path} already exists; choose another -o folder or pass --overwrite"
        )
    steps = ["labels.ome.zarr", "objects.parquet", "tracks.geff", "ctc", "run.json",
             "dynamics.csv + report.html"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="write", unit="file")
    def done() -> None:
        if bar is not None:
            bar.update()
        release_memory()  # each step frees its scratch before the next one's peak

    m = result.movie
    axis_names = ["z", "y", "x"][-m.n_spatial :]
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        write_labels_ome_zarr(
            tmp / "labels.ome.zarr", result.labels, spacing=m.spacing,
            frame_interval=m.frame_interval,
        )
        done()
        write_parquet(tmp / "objects.parquet", result.objects)
        done()
        write_geff_table(
            tmp / "tracks.geff", _node_table(result.objects), result.edges,
            axis_names=axis_names, spacing=m.spacing, frame_interval=m.frame_interval,
        )
        done()
        write_ctc_result(tmp / "ctc", result.labels, result.tracks)
        done()
        record = run_record(result, source=source)
        if inputs is not None:
            record["inputs"] = inputs
        (tmp / "run.json").write_text(json.dumps(record, indent=2, default=str))
        done()
        from .analyze.write import write_analysis

        write_analysis(result, tmp, record=record)
        done()
    if bar is not None:
        bar.close()
    return path
