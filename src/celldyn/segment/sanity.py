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

The levels are deliberately loose: they catch output that is wrong on its face, not
imperfect segmentations. Callers (the pipeline, the CLI) decide how to show the messages.
Hand-written: these are our product's rules, no library has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Finding", "check_segmentation", "frame_stats"]


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


def frame_stats(labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: object count, largest object's share of the frame, median area (px)."""
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


def check_segmentation(
    labels: ArrayLike,
    *,
    max_cover: float = 0.5,
    max_objects: int = 2000,
    min_objects_small: int = 200,
    min_median_area: float = 12.0,
    max_jump: float = 3.0,
    min_jump_count: int = 10,
) -> list[Finding]:
    """Findings about the labelled movie `labels` (empty list: nothing suspicious).

    See the module docstring for the checks; the keywords set their levels.
    """
    counts, cover, median = frame_stats(labels)
    out: list[Finding] = []
    empty = [int(t) for t in np.flatnonzero(counts == 0)]
    if empty:
        if len(empty) == len(counts):
            msg = ("no objects in any frame: check the channel (--channel), try "
                   "--dark-objects (objects darker than the background) or another "
                   "--segmenter")
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
            "(diameter)")))
    jumps = []
    for t in range(len(counts) - 1):
        a, b = int(counts[t]), int(counts[t + 1])
        hi, lo = max(a, b), min(a, b)
        if hi >= min_jump_count and hi >= max_jump * max(lo, 1):
            jumps.append((t, a, b))
    if jumps:
        frames = sorted({t for t, _, _ in jumps} | {t + 1 for t, _, _ in jumps})
        t, a, b = max(jumps, key=lambda j: max(j[1], j[2]) / max(1, min(j[1], j[2])))
        out.append(Finding("jumps", tuple(frames), (
            f"object counts jump between neighbouring frames (e.g. {a} -> {b} from frame "
            f"{t} to {t + 1}; frames {_frames_text(frames)}): the segmentation is "
            "unstable; try another --segmenter or --model, or give the object size")))
    return out
