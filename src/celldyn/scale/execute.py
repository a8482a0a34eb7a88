"""Segmentation and measurement as dask tasks, one chunk of frames per task (ours).

The glue to Dask (DESIGN.md, Scale): the stage functions are the same as the in-memory
path's (:func:`~celldyn.segment.api.frame_function`,
:func:`~celldyn.measure.measure_objects`), run per chunk of frames on the workers of a
``dask.distributed`` client. Each task reads its frames from the (lazy) movie,
segments them (per frame, or block by block with overlap for frames too large for a
worker: :func:`~celldyn.scale.blocks.segment_blocks` as the frame function's tiler), measures the objects and, with
a resume cache, writes its labels into the cache's zarr store and its objects as one
Parquet part (labels first, the part last: a part on disk means a complete chunk), so
an interrupted run continues from the chunks it finished and a task run twice (a
worker died, dask retried it) writes the same bytes again: no frame lost or doubled.

Segmenters are built once per worker process (:func:`worker_segmenter`, a cache keyed
by the segmentation parameters): a deep model is loaded once per worker, not per task.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CelldynError
from ..measure import measure_objects
from ..movie import Movie
from ..segment.api import frame_function
from ..track.graph import relabel_by_tracklet
from .blocks import segment_blocks

__all__ = ["CHUNK_BYTES", "IN_FLIGHT_PER_THREAD", "LOADS", "MAX_CHUNK_FRAMES",
           "auto_chunk_frames", "relabel_lazy", "segment_measure",
           "worker_loads", "worker_segmenter"]

IN_FLIGHT_PER_THREAD = 4  # tasks queued per worker thread: none idles, none piles up
CHUNK_BYTES = 8 * 2**20  # pixels a task reads, at most, when it takes several frames
MAX_CHUNK_FRAMES = 4

_SEGMENTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
LOADS = {"count": 0}  # segmenters built in this process (a deep model: one load each)


def worker_segmenter(spec: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The frame segmenter of `spec`, built once per process and kept."""
    key = json.dumps(spec, sort_keys=True, default=str)
    func = _SEGMENTERS.get(key)
    if func is None:
        n = spec["n_spatial"]
        axes = "TZYX"[-(n + 1):] if n == 3 else "TYX"
        # frame_function reads only the movie's maximum (dark objects: resolved in
        # `invert`), its spacing and dimensionality: a one-pixel stand-in carries them
        stub = Movie(np.full((1,) * (n + 1), spec["invert"] or 0.0), axes,
                     spacing=spec["spacing"])
        tiler = None if not spec["block"] else functools.partial(
            segment_blocks, block=spec["block"], overlap=spec["overlap"])
        func = frame_function(
            stub, segmenter=spec["segmenter"], method=spec["method"], model=spec["model"],
            dark_objects=spec["invert"] is not None, params=dict(spec["params"]),
            tiler=tiler)
        _SEGMENTERS[key] = func
        LOADS["count"] += 1
    return func


def worker_loads() -> int:
    """Segmenters built in this process so far (run it on the workers:
    ``client.run(worker_loads)``)."""
    return LOADS["count"]


def _segment_chunk(frames: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    func = worker_segmenter(spec)
    out = np.zeros(frames.shape, dtype=np.int32)
    for i in range(frames.shape[0]):
        out[i] = func(frames[i])  # in blocks with spec["block"] (frame_function's tiler)
    return out


def _chunk_task(seen: Any, raw: Any, t0: int, spec: dict[str, Any], cache: Any) -> Any:
    """Segment and measure frames ``t0..t0+len(seen)`` (intensities from `raw`, or
    `seen` itself when None); write them to `cache` (if any)."""
    seen = np.asarray(seen)
    labels = _segment_chunk(seen, spec)
    table = measure_objects(labels, seen if raw is None else np.asarray(raw),
                            spacing=spec["spacing"])
    table["t"] += t0
    if cache is None:
        return labels, table
    cache.put_chunk(t0, labels, table)
    return t0, len(table)


def _resolved_spec(seen: Movie, *, segmenter: str, method: str, model: Any,
                   dark_objects: bool, params: dict[str, Any] | None,
                   block: Any, overlap: int) -> dict[str, Any]:
    """What a worker needs to build the segmenter, with every per-movie setting (the
    dark-objects maximum, the deep model's object diameter) resolved here, once."""
    params = dict(params or {})
    invert = float(np.max(seen.data)) if dark_objects else None
    if segmenter == "deep" and params.get("diameter", "auto") == "auto":
        from ..segment.deep.registry import DeepSegmenter, load_segmenter

        net = model if isinstance(model, DeepSegmenter) else load_segmenter(model)
        if net.ndim == 2 and seen.n_spatial == 2:
            middle = np.asarray(seen.data[seen.n_frames // 2])
            if invert is not None:
                middle = invert - middle.astype(np.float32)
            params["diameter"] = net.estimate_diameter(middle,
                                                       tile=int(params.get("tile", 512)))
        else:
            params["diameter"] = None
    return {"segmenter": segmenter, "method": method,
            "model": (None if segmenter != "deep" else
                      str(model) if isinstance(model, (str, os.PathLike)) else model),
            "params": params, "invert": invert, "spacing": seen.spacing,
            "n_spatial": seen.n_spatial, "block": block, "overlap": int(overlap)}


def auto_chunk_frames(data: Any) -> int:
    """Frames per task: as many as fit in ``CHUNK_BYTES``, 1 to ``MAX_CHUNK_FRAMES``."""
    frame = math.prod(int(n) for n in data.shape[1:]) * np.dtype(data.dtype).itemsize
    return int(min(MAX_CHUNK_FRAMES, max(1, CHUNK_BYTES // max(frame, 1))))


def _chunks(data: Any, size: int) -> list[tuple[int, Any]]:
    """``(t0, frames)`` per chunk: numpy slices, or dask slices of a lazy movie (each
    becomes a task of its own with :func:`_block` only when it is submitted)."""
    return [(t0, data[t0:t0 + size]) for t0 in range(0, int(data.shape[0]), size)]


def _block(frames: Any) -> Any:
    """A chunk as what a task takes: a dask slice as one delayed block whose graph holds
    only the tasks that read it (a block of the whole movie's ``to_delayed`` carries the
    movie's entire graph, which the client then pickles and the scheduler unpickles at
    every submission: 9,538 tasks a chunk on the 20 GB movie); numpy as it is."""
    if frames is None or not hasattr(frames, "dask"):
        return frames
    one = frames.rechunk(tuple(int(n) for n in frames.shape))
    return one.to_delayed(optimize_graph=True).ravel()[0]


def segment_measure(
    seen: Movie,
    raw: Movie,
    *,
    client: Any,
    segmenter: str = "classical",
    method: str = "watershed",
    model: Any = None,
    dark_objects: bool = False,
    params: dict[str, Any] | None = None,
    cache: Any = None,
    chunk_frames: int | None = None,
    block: int | tuple[int, ...] | None = None,
    overlap: int = 32,
    progress: bool = False,
    in_flight: int | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Segment `seen` and measure its objects on `raw`, chunk by chunk on `client`.

    Parameters
    ----------
    seen, raw : Movie
        The movie segmentation sees (denoised or raw) and the one intensities are
        measured on; same shape, single channel. Lazy (dask) data is read by the
        workers a chunk at a time.
    client : distributed.Client
        Where the tasks run.
    segmenter, method, model, dark_objects, params
        As :func:`~celldyn.segment.segment_movie`.
    cache : FrameCache, optional
        The run's resume cache: labels go to its zarr store and objects to Parquet
        parts; chunks already there are not run again. Without it the labels come
        back to this process (a movie that fits in memory).
    chunk_frames : int, optional
        Frames per task; default as many as fit in ``CHUNK_BYTES`` of pixels (1 to
        ``MAX_CHUNK_FRAMES``): fewer tasks for small frames (each task costs the run
        process some scheduling and the cache a Parquet part), one frame for large ones.
    block, overlap : optional
        Segment each frame in blocks of `block` pixels per axis with `overlap` pixels
        of margin, stitched (frames too large for one worker); default whole frames.
    progress : bool
        A progress bar over frames.
    in_flight : int, optional
        At most this many tasks are on the scheduler at once (default
        ``IN_FLIGHT_PER_THREAD`` per worker thread); more are submitted as these
        finish, so memory does not grow with the number of frames.

    Returns
    -------
    labels, objects
        Per-frame labels (the cache's zarr array, or a numpy array) and the objects
        table, identical to :func:`segment_movie` + :func:`measure_objects`.

    Raises
    ------
    CelldynError
        When a worker died more often than dask retries a task (one line; the chunks
        finished so far are kept: resume).
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    import dask

    shape = tuple(int(n) for n in seen.data.shape)
    spec = _resolved_spec(seen, segmenter=segmenter, method=method, model=model,
                          dark_objects=dark_objects, params=params, block=block,
                          overlap=overlap)
    size = 1 if block else max(int(chunk_frames or auto_chunk_frames(seen.data)), 1)
    seen_chunks = _chunks(seen.data, size)
    raw_chunks = ([(t0, None) for t0, _ in seen_chunks] if raw.data is seen.data
                  else _chunks(raw.data, size))
    if cache is not None:
        if block:  # zarr chunks of one block: a frame is never held whole on disk writes
            sizes = (block,) * (len(shape) - 1) if isinstance(block, int) else block
            chunks = (1,) + tuple(min(int(b), n) for b, n in zip(sizes, shape[1:]))
        else:
            chunks = (size,) + shape[1:]
        store = cache.chunk_labels(shape, chunks=chunks)
        done = cache.chunks_done()
    else:
        store, done = np.zeros(shape, dtype=np.int32), set()
    task = dask.delayed(_chunk_task, pure=False)
    queue = [(t0, s, r) for (t0, s), (_, r) in zip(seen_chunks, raw_chunks)
             if t0 not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        what = method if segmenter == "classical" else f"deep {model}"
        bar = tqdm(total=shape[0], initial=min(len(done) * size, shape[0]),
                   desc=f"segment + measure ({what}, dask)", unit="frame")
    parts: list[pd.DataFrame] = []
    limit = in_flight or IN_FLIGHT_PER_THREAD * max(_threads(client), 1)
    live: dict[str, tuple[int, Any]] = {}  # key -> (first frame, future) of each task out
    pending = as_completed()
    submitted = 0

    def submit(n: int) -> None:
        # a bounded window of tasks on the scheduler: its bookkeeping (and this
        # process's futures) stays the same size whatever the movie's length
        nonlocal submitted
        batch = queue[submitted:submitted + max(n, 0)]
        submitted += len(batch)
        if not batch:
            return
        futures = client.compute([task(_block(s), _block(r), t0, spec, cache)
                                  for t0, s, r in batch])
        for future, (t0, _, _) in zip(futures, batch):
            live[future.key] = (t0, future)
            pending.add(future)

    submit(limit)
    try:
        for future in pending:
            result = future.result()
            t0, _ = live.pop(future.key)
            if cache is None:
                labels, table = result
                store[t0:t0 + len(labels)] = labels
                parts.append(table)
            future.release()
            if bar is not None:
                bar.update(size)
            if pending.count() <= limit // 2:
                submit(limit - pending.count())
    except Exception as err:  # noqa: BLE001 - dask raises the worker's error as is
        for _, f in live.values():
            f.cancel()
        if type(err).__name__ == "KilledWorker" or isinstance(err, FutureCancelledError):
            raise CelldynError(
                "a dask worker died while segmenting (dask stopped retrying the task); "
                "the chunks finished so far are kept: run again with --resume"
            ) from None
        raise
    finally:
        if bar is not None:
            bar.close()
    if cache is not None:
        return store, cache.chunk_objects()
    return store, _concat(parts)


def _threads(client: Any) -> int:
    """Worker threads of the cluster `client` talks to."""
    try:
        return int(sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a client without workers yet: one
        return 1


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' tables in frame order, as one :func:`measure_objects` table."""
    full = [p for p in parts if len(p)]
    if not full:
        return parts[0] if parts else pd.DataFrame()
    table = pd.concat(full, ignore_index=True)
    return table.sort_values(["t", "label"], kind="stable").reset_index(drop=True)


def relabel_lazy(labels: Any, nodes: tuple[Any, Any, Any]) -> Any:
    """The label movie painted with track ids, as a lazy dask array (ours).

    :func:`~celldyn.track.graph.relabel_by_tracklet` of `nodes` ``(t, seg_id, tracklet)``,
    chunk by chunk, and nothing computed here: each chunk of
    frames is painted where it is read, by the tasks that write the run folder
    (OME-Zarr labels, CTC masks) on the cluster's workers. Before, the run process
    painted every frame into a second zarr store on its own (a serial pass over the
    movie, 3.7 s of a 1 GB movie's 110 s on 2 workers) that the writers then read back.
    The lookup tables travel with their chunk: a (T, K, 2) array of (seg id, track id)
    pairs, K the most objects in a frame, chunked along time like the labels.
    """
    import dask.array as da

    if hasattr(labels, "dask"):
        darr = labels
    elif hasattr(labels, "store"):  # zarr: its own chunks
        darr = da.from_zarr(labels)
    else:
        darr = da.from_array(labels, chunks=(1, *labels.shape[1:]))
    if any(len(c) > 1 for c in darr.chunks[1:]):  # blocks: whole frames per task
        darr = darr.rechunk({i: -1 for i in range(1, darr.ndim)})
    t, seg, tid = (np.asarray(a, dtype=np.int64) for a in nodes)
    n_frames = int(darr.shape[0])
    order = np.lexsort((seg, t))
    counts = np.bincount(t, minlength=n_frames)
    k = max(int(counts.max(initial=0)), 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(order)) - starts[t[order]]
    pairs = np.zeros((n_frames, k, 2), np.int64)  # seg id 0: no object (padding)
    pairs[t[order], slot, 0] = seg[order]
    pairs[t[order], slot, 1] = tid[order]
    lut = da.from_array(pairs, chunks=(darr.chunks[0], k, 2))
    spatial = "zyx"[-(darr.ndim - 1):]
    return da.blockwise(_paint, "t" + spatial, darr, "t" + spatial, lut, "tkc",
                        dtype=np.int32, concatenate=True)


def _paint(frames: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Frames painted with track ids by :func:`relabel_by_tracklet`: ``pairs[i]`` holds
    frame i's (seg id, track id) pairs, seg id 0 for padding."""
    i, k = np.nonzero(pairs[:, :, 0])
    return relabel_by_tracklet(frames, nodes=(i, pairs[i, k, 0], pairs[i, k, 1]))
