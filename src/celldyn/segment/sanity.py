"""Checks that a segmentation is plausible, as findings to warn about (no printing here).

:func:`check_segmentation` looks at a labelled movie ``(T, [Z,] Y, X)`` and returns one
:class:`Finding` per kind of pathology, each naming its frames and what to try:

* ``empty``: frames with no object while other frames have some (or every frame empty);
* ``covering``: frames where one object covers more than ``max_cover`` of the frame (the
  foreground level failed: background taken as one object);
* ``fragments``: frames with more than ``max_objects`` objects, or more than
  ``min_objects_small`` objects whose median area is below ``min_median_area`` pixels
  (a texture cut into pieces, as the nuclei model did on DIC whole cells);
* ``jumps``: neighbouring frames whose object counts differ by a factor of ``max_jump`` or
  more (with at least ``min_jump_count`` objects in the larger), where cells can only
  divide, enter or leave a little between frames.

For a z-stack of at most :data:`THIN_STACK` planes the messages also suggest ``--plane
middle``: such a stack is often a few focal planes of one image (brightfield), which the
2D models segment far better than a 3D watershed (benchmarks/RESULTS.md, 'Segmentation:
a brightfield z-stack movie, whole stack vs one plane').

The levels are deliberately loose: they catch output that is wrong on its face, not
imperfect segmentations. Callers (the pipeline, the CLI) decide how to show the messages.
Hand-written: these are our product's rules, no library has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Finding", "check_segmentation", "count_jumps", "frame_stats"]

MAX_JUMP = 3.0       # neighbouring frames whose counts differ by this factor or more
MIN_JUMP_COUNT = 10  # ... with at least this many objects in the larger
THIN_STACK = 8       # z-planes at most: a findings message suggests --plane


def count_jumps(counts: ArrayLike, *, max_jump: float = MAX_JUMP,
                min_jump_count: int = MIN_JUMP_COUNT) -> list[tuple[int, int, int]]:
    """Object-count jumps: neighbouring frames whose counts differ by a factor of
    `max_jump` or more, with at least `min_jump_count` objects in the larger. The one
    definition of a count jump in celldyn (the segmentation's checks here, the run's
    notes in :func:`celldyn.measure.checks.run_notes`).

    Returns ``(t, count at t, count at t + 1)`` per jump.

    Examples
    --------
    >>> count_jumps([20, 21, 70, 22, 23, 5, 24])
    [(1, 21, 70), (2, 70, 22), (4, 23, 5), (5, 5, 24)]
    >>> count_jumps([2, 4, 8, 16, 32])  # steady growth is not a jump
    []
    """
    n = np.asarray(counts, dtype=np.int64)
    out = []
    for t in range(len(n) - 1):
        a, b = int(n[t]), int(n[t + 1])
        hi, lo = max(a, b), min(a, b)
        if hi >= min_jump_count and hi >= max_jump * max(lo, 1):
            out.append((t, a, b))
    return out


@dataclass(frozen=True)
class Finding:
    """One pathology: its kind, the frames it concerns and a one-line message."""

    kind: str
    frames: tuple[int, ...]
    message: str


def _frames_text(frames: list[int] | tuple[int, ...], limit: int = 8) -> str:
    shown = ", ".join(str(t) for t in frames[:limit])
    more = len(frames) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def frame_stats(labels: ArrayLike, *, objects: Any = None,
                spacing: Sequence[float] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: object count, largest object's share of the frame, median area (px).

    With `objects` (the table :func:`celldyn.measure.measure_objects` made of `labels`,
    with ``t`` and ``area``, in units of `spacing`), the numbers come from it and only
    the shape of `labels` is read: a run measures its objects anyway.
    """
    if objects is not None and "area" in objects and hasattr(labels, "shape"):
        return _stats_of_objects(objects, tuple(labels.shape), spacing)
    # frame by frame: a long movie (numpy, dask, zarr or the pipeline's frame cache) is
    # never loaded whole
    lab = labels if hasattr(labels, "shape") and hasattr(labels, "__getitem__") \
        else np.asarray(labels)
    if len(lab.shape) < 3:
        raise ValueError(f"labels must be a movie (T, [Z,] Y, X); got shape {lab.shape}")
    n_frames = lab.shape[0]
    counts = np.zeros(n_frames, dtype=np.int64)
    cover = np.zeros(n_frames, dtype=np.float64)
    median = np.zeros(n_frames, dtype=np.float64)
    for t in range(n_frames):
        frame = np.asarray(lab[t])
        areas = np.bincount(np.where(frame > 0, frame, 0).ravel())[1:]
        areas = areas[areas > 0]
        counts[t] = areas.size
        if areas.size:
            cover[t] = areas.max() / frame.size
            median[t] = float(np.median(areas))
    return counts, cover, median


def _stats_of_objects(objects: Any, shape: tuple[int, ...],
                      spacing: Sequence[float] | None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(shape) < 3:
        raise ValueError(f"labels must be a movie (T, [Z,] Y, X); got shape {shape}")
    n_frames, size = shape[0], int(np.prod(shape[1:]))
    pixel = 1.0 if spacing is None else float(np.prod(np.asarray(spacing, float)))
    t = objects["t"].to_numpy(np.int64)
    area = np.rint(objects["area"].to_numpy(float) / pixel)  # whole pixels, as counted
    counts = np.bincount(t, minlength=n_frames).astype(np.int64)[:n_frames]
    cover = np.zeros(n_frames, dtype=np.float64)
    median = np.zeros(n_frames, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for f in np.flatnonzero(counts):
        a = area[order[starts[f]:starts[f + 1]]]
        cover[f] = a.max() / size
        median[f] = float(np.median(a))
    return counts, cover, median


def check_segmentation(
    labels: ArrayLike,
    *,
    objects: Any = None,
    spacing: Sequence[float] | None = None,
    max_cover: float = 0.5,
    max_objects: int = 2000,
    min_objects_small: int = 200,
    min_median_area: float = 12.0,
    max_jump: float = MAX_JUMP,
    min_jump_count: int = MIN_JUMP_COUNT,
) -> list[Finding]:
    """Findings about the labelled movie `labels` (empty list: nothing suspicious).

    See the module docstring for the checks; the keywords set their levels.
    `objects` and `spacing`: the objects measured on `labels`, so that the frames are
    not read again (:func:`frame_stats`).
    """
    counts, cover, median = frame_stats(labels, objects=objects, spacing=spacing)
    out: list[Finding] = []
    shape = tuple(getattr(labels, "shape", ()))
    # a stack of a few focal planes (brightfield, say) is often one image, not a volume
    planes = ("; a stack of a few focal planes can be run as one plane with "
              "--plane middle" if len(shape) == 4 and shape[1] <= THIN_STACK else "")
    empty = [int(t) for t in np.flatnonzero(counts == 0)]
    if empty:
        if len(empty) == len(counts):
            msg = ("no objects in any frame: check the channel (--channel), try "
                   "--dark-objects (objects darker than the background) or another "
                   "--segmenter" + planes)
        else:
            msg = (f"no objects in frame(s) {_frames_text(empty)} while other frames have "
                   "some: check those frames (focus, exposure) or try another --segmenter")
        out.append(Finding("empty", tuple(empty), msg))
    big = [int(t) for t in np.flatnonzero(cover > max_cover)]
    if big:
        out.append(Finding("covering", tuple(big), (
            f"one object covers over {max_cover:.0%} of frame(s) {_frames_text(big)} "
            "(the background was taken as an object): try --dark-objects or another "
            "--segmenter")))
    frag = [int(t) for t in np.flatnonzero(
        (counts > max_objects)
        | ((counts > min_objects_small) & (median < min_median_area)))]
    if frag:
        worst = int(counts[frag].max())
        out.append(Finding("fragments", tuple(frag), (
            f"up to {worst} objects per frame in frame(s) {_frames_text(frag)} (median "
            f"area {np.median(median[frag]):.0f} px): the image is probably cut into "
            "fragments; try another --segmenter or --model, or give the object size "
            "(diameter)" + planes)))
    # a jump to or from an empty frame is that frame's finding ("empty"), not another
    jumps = [j for j in count_jumps(counts, max_jump=max_jump, min_jump_count=min_jump_count)
             if j[1] and j[2]]
    if jumps:
        frames = sorted({t for t, _, _ in jumps} | {t + 1 for t, _, _ in jumps})
        t, a, b = max(jumps, key=lambda j: max(j[1], j[2]) / max(1, min(j[1], j[2])))
        out.append(Finding("jumps", tuple(frames), (
            f"object counts jump between neighbouring frames (e.g. {a} -> {b} from frame "
            f"{t} to {t + 1}; frames {_frames_text(frames)}): the segmentation is "
            "unstable; try another --segmenter or --model, or give the object size"
            + planes)))
    return out
