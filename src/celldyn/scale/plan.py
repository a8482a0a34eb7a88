"""How a run meets a large movie: frames segmented in blocks, tracking in time windows
(ours; the pipeline's one call for each, and the lines the run summary shows).

- :func:`segment`: the run's segmentation (and, on a dask client, measurement): whole
  frames, or blocks of ``--block-size`` pixels (or of the size :func:`auto_block`
  picks when a frame would not fit a worker's memory) stitched by
  :func:`~celldyn.scale.blocks.segment_blocks`, in this process or on the workers.
- :func:`repair_merges`: the segmentation's temporal repair
  (:mod:`celldyn.segment.temporal`) on whichever store :func:`segment` returned, the
  objects measured again where it changed them.
- :func:`track`: the run's tracking: the whole movie at once, or windows of
  ``--track-window`` frames joined by :func:`~celldyn.scale.windows.track_windows`.

Without those options and on frames that fit, both are exactly the stages' own calls
(run folders are unchanged).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunConfig, own_segmentation_costs
from ..measure import measure_objects
from ..segment.api import segment_movie
from ..segment.temporal import split_joined_sisters, split_merged
from ..track import track_objects
from ..track.api import default_search
from .blocks import segment_blocks
from .execute import segment_measure
from .windows import track_windows

__all__ = ["WORK_BYTES_PER_PIXEL", "auto_block", "repair_merges", "segment", "track",
           "window_overlap", "worker_memory"]

# Memory the segmentation of one frame takes, per pixel: the classical watershed's peak
# is 47 B/px beyond its input (tracemalloc, a 2048 x 1024 uint16 frame of
# benchmarks/scale.py; the threshold method 17 B/px).
WORK_BYTES_PER_PIXEL = 48
MEMORY_SHARE = 4  # one frame's segmentation may use a quarter of a worker's memory


def worker_memory(client: Any = None) -> float:
    """Bytes one worker may use: the smallest memory limit of the client's workers, or
    (in this process, or workers without a limit) the memory available now."""
    if client is not None:
        try:
            workers = client.scheduler_info().get("workers", {}).values()
            limits = [float(w.get("memory_limit") or 0) for w in workers]
        except Exception:  # noqa: BLE001 - an odd scheduler: fall back to this machine
            limits = []
        if any(limits):
            return min(v for v in limits if v)
    import psutil  # a dependency of dask.distributed

    return float(psutil.virtual_memory().available)


def auto_block(frame_shape: tuple[int, ...], overlap: int, memory: float) -> int | None:
    """The block size (pixels per side) for frames of `frame_shape` when one frame's
    segmentation (:data:`WORK_BYTES_PER_PIXEL`) needs more than a quarter of `memory`;
    None when whole frames fit. A block with its margins then needs about that much.

    Examples
    --------
    >>> auto_block((1024, 1024), 64, 16e9) is None
    True
    >>> auto_block((40000, 40000), 64, 16e9)
    8960
    """
    budget = memory / MEMORY_SHARE
    if math.prod(frame_shape) * WORK_BYTES_PER_PIXEL <= budget:
        return None
    side = int((budget / WORK_BYTES_PER_PIXEL) ** (1 / len(frame_shape))) - 2 * overlap
    return max(128, side // 64 * 64)


def _blocks(config: RunConfig, frame_shape: tuple[int, ...],
            client: Any) -> tuple[int | None, str]:
    """The block size to use (None: whole frames) and the summary's words for it."""
    if config.block_size == 0:
        return None, ""
    where = f"overlap {config.block_overlap} px"
    if config.block_size:
        return config.block_size, f"frames in blocks of {config.block_size} px, {where} " \
                                  "(--block-size)"
    memory = worker_memory(client)
    block = auto_block(frame_shape, config.block_overlap, memory)
    if block is None:
        return None, ""
    need = math.prod(frame_shape) * WORK_BYTES_PER_PIXEL / 1e9
    return block, (f"frames in blocks of {block} px, {where} (automatic: a whole frame "
                   f"needs about {need:.1f} GB to segment, over a quarter of a worker's "
                   f"{memory / 1e9:.1f} GB; --block-size sets it, 0 keeps whole frames)")


def segment(seen: Any, raw: Any, how: dict[str, Any], config: RunConfig, *,
            client: Any = None, semantic: dict[str, Any] | None = None,
            ) -> tuple[Any, Any, str]:
    """Labels, objects (measured on `raw` when on a `client`, else None) and the
    summary's words on blocks ("" for whole frames) of the movie `seen`; `how` are
    :func:`~celldyn.segment.segment_movie`'s settings."""
    block, note = _blocks(config, tuple(seen.frame_shape), client)
    if client is not None:
        labels, objects = segment_measure(seen, raw, client=client, block=block,
                                          overlap=config.block_overlap, **how)
        return labels, objects, note
    tiler = None if block is None else functools.partial(
        segment_blocks, block=block, overlap=config.block_overlap)
    return segment_movie(seen, **how, semantic=semantic, tiler=tiler), None, note


def repair_merges(seg: Any, objects: Any, movie: Any, cache: Any = None, *,
                  on: bool = True) -> tuple[Any, Any, str]:
    """Labels and objects after :func:`celldyn.segment.temporal.split_merged` and then
    :func:`~celldyn.segment.temporal.split_joined_sisters`, and the summary's clause.
    In memory and in the frame cache the frames are repaired in place (objects are
    measured afterwards); on a client the tasks measured them, so a repaired copy is
    made (the cache's chunks stay as written, for ``--resume``) and the changed frames
    are measured again. With `on` False, everything as given."""
    if not on:
        return seg, objects, ""
    if objects is None:
        cached = getattr(seg, "cache", None)
        write = cached.put if cached is not None else None
        merged = split_merged(seg, write=write)
        joined = split_joined_sisters(seg, write=write)
    else:
        if cache is not None:  # the chunk store stays as the tasks wrote it
            copy = cache.repaired_labels(seg.shape, chunks=seg.chunks)
            for t0 in range(0, seg.shape[0], seg.chunks[0]):
                copy[t0:t0 + seg.chunks[0]] = seg[t0:t0 + seg.chunks[0]]
            seg = copy
        merged = split_merged(seg)
        joined = split_joined_sisters(seg)
        changed = sorted(set(merged) | set(joined))
        if changed:
            fresh = []
            for t in changed:
                table = measure_objects(np.asarray(seg[t])[None],
                                        np.asarray(movie.data[t])[None], spacing=movie.spacing)
                fresh.append(table.assign(t=t))
            objects = (pd.concat([objects[~objects["t"].isin(changed)], *fresh])
                       .sort_values(["t", "label"]).reset_index(drop=True))

    def frames(n: int) -> str:
        return f"{n} frame{'s' if n != 1 else ''}"

    said = ([f"two cells drawn as one split in {frames(len(merged))}"] if merged else []) + (
        [f"sisters drawn joined split a frame before they part in {frames(len(joined))}"]
        if joined else [])
    if not said:
        return seg, objects, ""
    return seg, objects, "; ".join(said) + " (--no-split-merged keeps them)"


def window_overlap(config: RunConfig) -> int:
    """Frames of context on either side of a tracking window: twice the frames a gap
    may bridge (a link's own span), at least 4."""
    return max(4, 2 * (config.max_gap + 1))


def track(objects: Any, labels: Any, config: RunConfig, movie: Any, *,
          progress: bool = False, own_segmentation: bool = False) -> Any:
    """The run's :class:`~celldyn.track.tracks.Tracks`: the whole movie at once, or in
    windows of ``config.track_window`` frames (one search radius, measured on the
    whole table, with the division reach; the note says so). `own_segmentation`: the
    labels are celldyn's own (:func:`~celldyn.config.own_segmentation_costs`)."""
    kw = dict(tracker=config.tracker, max_gap=config.max_gap, divisions=config.divisions,
              merges=config.merges, spacing=movie.spacing, movie=movie.data,
              costs=own_segmentation_costs() if own_segmentation else None)
    short = config.daughter_frames()  # resolved by for_movie; else own segmentation's
    if not config.track_window:
        return track_objects(objects, labels=labels, max_distance=config.max_distance,
                             min_daughter_frames=short,
                             progress=progress, **kw)
    radius, reach, note = default_search(objects, spacing=movie.spacing,
                                         max_distance=config.max_distance,
                                         divisions=config.divisions, tracker=config.tracker,
                                         merges=config.merges)
    if config.tracker != "learned":
        kw["division_reach"] = reach
    overlap = window_overlap(config)
    if config.tracker == "lap":  # the local flow: decided once, on the first window
        note += "; " + _flow_decision(objects, labels, config.track_window + overlap,
                                      radius, kw, movie=movie.data)
    tracks = track_windows(objects, window=config.track_window, overlap=overlap,
                           max_distance=radius, labels=labels, progress=progress,
                           min_daughter_frames=short, **kw)
    tracks.note = (f"{note}; in windows of {config.track_window} frames with {overlap} "
                   "frames of context on either side (--track-window)")
    return tracks


def _flow_decision(objects: Any, labels: Any, frames: int, radius: float,
                   kw: dict[str, Any], movie: Any = None) -> str:
    """Whether every window relinks with the image flow (the motion scale of the whole
    table against celldyn.track.flow.MOTION_RATIO) or the local flow (judged once on
    the movie's first `frames` frames), so that all windows agree; sets ``kw["flow"]``
    and returns the run summary's clause."""
    from ..track.flow import flow_gate, image_flow_gate
    from ..track.lap import lap_links
    from ..track.scale import estimate_motion_scale

    scale = estimate_motion_scale(objects, spacing=kw["spacing"])
    on, clause = image_flow_gate(scale, movie=movie, labels=labels, objects=objects,
                                 spacing=kw["spacing"])
    if on:
        kw["flow"] = "image"
        return clause + " (each window's frames)"

    first = objects[objects["t"] < frames].reset_index(drop=True)
    edges = lap_links(first, labels=labels, max_distance=radius, max_gap=kw["max_gap"],
                      divisions=kw["divisions"], merges=kw["merges"], spacing=kw["spacing"],
                      division_reach=kw.get("division_reach"))
    kw["flow"], clause = flow_gate(first, edges, spacing=kw["spacing"])
    return f"{clause} on the first {frames} frames"
