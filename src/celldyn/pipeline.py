"""The run: stages wired together from one config.

:func:`run` returns labels, objects and tracks (what a notebook user calls), in memory
or on a dask client; :func:`write_run` writes the run folder of DESIGN.md (through
:mod:`celldyn.io.run_folder`). Neither prints; progress bars are opt-in. Wiring only:
each stage has one entry and the run folder one owner.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ._memory import release_memory
from ._validate import check_labels, check_movie
from .config import SEGMENTERS, RunConfig
from .io.run_folder import FrameCache, fingerprint, run_record, write_run_folder
from .measure import measure_objects
from .scale import plan
from .movie import Movie, as_movie, selected
from .denoise import denoise_movie
from .segment.auto import resolve_segmenter
from .segment.sanity import check_segmentation
from .track.tracks import node_table, tracks_graph

__all__ = ["FrameCache", "RunConfig", "RunResult", "fingerprint", "run", "write_run", "SEGMENTERS"]


@dataclass
class RunResult:
    """What :func:`run` returns, all in memory.

    Attributes
    ----------
    labels : (T, [Z,] Y, X) int32 array
        Tracked label movie: an object's id is its track id (CTC convention).
    objects : DataFrame
        One row per (t, label); ``label`` is the id in `labels` at frame ``t``, i.e.
        the track id (the segmentation's own ids are ``Tracks.seg_id``).
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
    tracking: str = ""  # the motion scale and division settings the tracker used
    segmentation: str = ""  # what --segmenter auto chose, and why; frames in blocks
    semantic: dict[str, Any] = field(default_factory=dict)  # a semantic model's class map

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        return tracks_graph(self.objects, self.edges)

    def summary(self) -> dict[str, Any]:
        """Frames, objects per frame, tracks, divisions and time per stage."""
        per_frame = self.objects.groupby("t").size().reindex(range(self.movie.n_frames),
                                                             fill_value=0)
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
            "tracking": self.tracking,
            **({"segmentation": self.segmentation} if self.segmentation else {}),
            "seconds": dict(self.timings),
        }


def run(
    movie: Movie | np.ndarray,
    *,
    config: RunConfig | None = None,
    labels: np.ndarray | None = None,
    progress: bool | Callable[..., Any] = False,
    axes: str | None = None,
    cache: FrameCache | None = None,
    pixel_size: Any = None,
    frame_interval: Any = None,
    client: Any = None,
    own_labels: bool = False,
    **overrides: Any,
) -> RunResult:
    """Segment, measure and track a movie, in memory or on a dask `client`.

    Parameters
    ----------
    movie : Movie or array
        The movie. A bare array needs `axes` (``TYX`` or ``TZYX``).
    config : RunConfig, optional
        Parameters; keyword `overrides` replace single fields (``method="threshold"``).
    labels : (T, [Z,] Y, X) int array, optional
        The user's own segmentation: segmentation is skipped.
    own_labels : bool
        `labels` are celldyn's own (``celldyn bench``): priced as a run that segments.
    progress : bool
        Show a progress bar per stage.
    pixel_size, frame_interval : float, str or sequence, optional
        Override the movie's: µm / s as numbers, or with units (``"240nm"``,
        ``"5min"``); a pixel size per spatial axis or one for all.
    cache : FrameCache, optional
        Where finished frames are kept, so that an interrupted run can resume. With a
        cache, label movies stay on disk and are read a frame at a time (memory does
        not grow with the number of frames); ``result.labels`` is then a dask array.
    client : distributed.Client, optional
        Segment and measure as dask tasks there, chunk by chunk, the cache written as
        they finish (:func:`celldyn.scale.segment_measure`); same results. Frames too
        large for memory are segmented in blocks, long movies tracked in windows
        (``block_size``, ``track_window``: :mod:`celldyn.scale.plan`).

    Returns a :class:`RunResult`; raises :class:`~celldyn.errors.InputError` for an empty
    movie, NaN/Inf frames, or labels of another shape or not integers.

    Examples
    --------
    >>> from celldyn.simulate import simulate_movie
    >>> sim = simulate_movie(n_frames=3, rng=0)
    >>> result = run(sim.movie)
    >>> result.labels.shape == sim.labels.shape
    True
    """
    movie = as_movie(movie, axes, pixel_size, frame_interval)
    config = (config or RunConfig()).for_movie(movie, labels, **overrides)  # run.json: model
    picked, labels = selected(movie, labels, channel=config.channel, plane=config.plane,
                              frames=config.frames)
    timings: dict[str, float] = {}  # check: NaN/Inf filled; a noise-only channel warned
    movie = check_movie(picked, segment=labels is None, whole=movie, channel=config.channel)
    if config.classifier:  # load first: a wrong name should not cost a segmentation
        from .classify import load_classifier
    classifier = load_classifier(config.classifier) if config.classifier else None

    t0, chosen, semantic = time.perf_counter(), "", {}  # semantic: a class-map model's
    if labels is None:
        seen = movie if not config.denoise else dataclasses.replace(movie, data=denoise_movie(
            movie.data, method=config.denoise, seed=config.seed, progress=bool(progress)))
        how = dict(segmenter=config.segmenter, method=config.method, model=config.model,
                   dark_objects=config.dark_objects, progress=bool(progress), cache=cache,
                   params=config.method_params)
        how, chosen = resolve_segmenter(seen.data, how)  # issue 15: from the middle frame
        seg, objects, blocks = plan.segment(seen, movie, how, config, client=client,
                                            semantic=semantic)  # blocks: issue 19
        repair = config.split_merged and not config.merges  # false divisions (issue 16)
        seg, objects, repaired = plan.repair_merges(seg, objects, movie, cache, on=repair)
        chosen = "; ".join(v for v in (chosen, blocks, repaired) if v)
    else:
        seg = check_labels(labels, shape=movie.data.shape)
    timings["segment"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if labels is not None or client is None:
        objects = measure_objects(seg, movie.data, spacing=movie.spacing, progress=bool(progress))
    if labels is None:  # issue 15: pathological output, from the objects (no re-read)
        for finding in check_segmentation(seg, objects=objects, spacing=movie.spacing):
            warnings.warn(f"segmentation: {finding.message}", stacklevel=2)
    timings["measure"] = time.perf_counter() - t0
    release_memory()  # long movies: per-frame scratch of the stages above

    t0 = time.perf_counter()
    # radius from the movie's motion (issue 16), in time windows (issue 19): tracks.note
    tracks = plan.track(objects, seg, config, movie, progress=bool(progress),
                        own_segmentation=labels is None or own_labels)
    release_memory()  # the tracker's candidates and cost arrays
    if client is not None and labels is None:  # painted by the tasks that write them
        from .scale import relabel_lazy

        tracked = relabel_lazy(seg, tracks.relabel_nodes())
    elif cache is not None and labels is None:  # long movies: tracked labels on disk
        from dask.array import from_zarr
        tracked = from_zarr(tracks.relabel(seg, out=cache.tracked_store(movie.data.shape)))
    else:
        tracked = tracks.relabel(seg)
    objects, edges = tracks.objects, tracks.edges
    timings["track"] = time.perf_counter() - t0
    if classifier is not None:
        from .classify import classify_objects

        t0 = time.perf_counter()
        objects = classify_objects(objects, tracked, movie, tracks.to_networkx(),
                                   model=classifier, spacing=movie.spacing)
        timings["classify"] = time.perf_counter() - t0
    return RunResult(
        movie=movie, labels=tracked, objects=objects, edges=edges, tracks=tracks.table,
        config=config, timings=timings, max_distance=tracks.max_distance,
        tracking=tracks.note, segmentation=chosen, semantic=semantic,
    )


def write_run(result: RunResult, path: str | Path, *, source: str = "",
              overwrite: bool = False, progress: bool = False,
              inputs: dict[str, Any] | None = None) -> Path:
    """Write the run folder atomically: everything appears at once, or nothing.

    Layout: ``labels.ome.zarr``, ``objects.parquet``, ``tracks.geff``, ``ctc/``
    (mask*.tif + res_track.txt), ``run.json``, ``dynamics.csv`` (one row per track),
    ``population.csv`` (one row per frame) and ``report.html``.
    """
    from .outputs import write_analysis

    m = result.movie
    record = run_record(
        m, config=result.config.to_dict(), summary=result.summary(),
        max_distance=result.max_distance, seed=result.config.seed, source=source,
    )
    if inputs is not None:
        record["inputs"] = inputs
    return write_run_folder(
        path, labels=result.labels, objects=result.objects,
        nodes=node_table(result.objects), edges=result.edges, tracks=result.tracks,
        record=record, spacing=m.spacing, frame_interval=m.frame_interval,
        overwrite=overwrite, progress=progress,
        derived=lambda folder: write_analysis(result, folder, record=record),
        semantic=result.semantic)
