"""Apply a per-frame function over a movie, with an optional progress bar; the frame a
movie-wide decision is taken on (ours)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["BLOCK", "NOISE_GAIN", "REFERENCE_TRIES", "map_frames", "reference_frame",
           "structure_gain"]

NOISE_GAIN = 1.5
"""Below this :func:`structure_gain` a frame has no structure above pixel noise: over
every 2D image and z-plane of ``../shared/data`` (1,075 images) the smallest gain is 2.7,
simulated Gaussian and Poisson noise gives 0.88-1.16 (:mod:`celldyn._validate`)."""
BLOCK = 8  # px: the block whose means structure_gain compares with independent noise's

REFERENCE_TRIES = 9
"""Frames :func:`reference_frame` reads at most, outward from the middle one."""


def structure_gain(frame, block: int = BLOCK) -> float:
    """How much more the means of `block` x `block` pixel blocks of the 2D `frame` vary
    than independent pixel noise's would: ``var(block means) * block**2 / var(pixels)``,
    after clipping to the 0.1-99.9th percentiles (hot pixels). About 1 for pure noise,
    far above for any image with structure larger than a few pixels (the measured
    ranges: :mod:`celldyn._validate`).
    NaN for a constant frame or one smaller than 2 x 2 blocks.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(structure_gain(rng.normal(size=(256, 256))), 1)
    1.0
    >>> yy, xx = np.mgrid[:256, :256]
    >>> structure_gain(np.sin(yy / 10) + rng.normal(size=(256, 256))) > 10
    True
    """
    f = np.asarray(frame, dtype=np.float64)
    h, w = (f.shape[0] // block) * block, (f.shape[1] // block) * block
    if h < 2 * block or w < 2 * block:
        return float("nan")
    f = f[:h, :w]
    if not np.isfinite(f).all():
        f = np.where(np.isfinite(f), f, np.nanmedian(f))
    lo, hi = np.percentile(f, [0.1, 99.9])
    f = np.clip(f, lo, hi)
    var = f.var()
    if var == 0:
        return float("nan")
    means = f.reshape(h // block, block, w // block, block).mean(axis=(1, 3))
    return float(means.var() * block * block / var)


def _blank(frame: np.ndarray) -> bool:
    """A frame with nothing to decide on: no finite pixel, constant, or pixel noise only
    (:func:`structure_gain` below :data:`NOISE_GAIN`; 3D: its middle plane)."""
    f = np.asarray(frame)
    finite = f[np.isfinite(f)] if np.issubdtype(f.dtype, np.floating) else f.ravel()
    if finite.size == 0 or finite.min() == finite.max():
        return True
    while f.ndim > 2:
        f = f[f.shape[0] // 2]
    gain = structure_gain(f) if f.ndim == 2 else float("nan")
    return bool(gain < NOISE_GAIN)     # NaN (too small to judge): not blank


def reference_frame(data: Any, tries: int = REFERENCE_TRIES) -> int:
    """The frame a movie-wide choice (the segmenter, the object size) is made on: the
    middle one, or, where that frame is blank (constant, all NaN, or pixel noise only:
    a shutter that failed, a frame a camera dropped as zeros), the nearest one that is
    not, later frames first at equal distance, reading at most `tries` frames; the
    middle one when all of those are blank. One blank frame must not decide a movie.

    >>> movie = np.random.default_rng(0).normal(size=(5, 64, 64))
    >>> movie[:, 20:40, 20:40] += 10            # one bright square in every frame
    >>> movie[2] = 0                            # the middle frame is blank
    >>> reference_frame(movie), reference_frame(movie[:2])
    (3, 1)
    """
    n = int(data.shape[0])
    mid = n // 2
    order = [mid] + [t for d in range(1, n) for t in (mid + d, mid - d) if 0 <= t < n]
    for t in order[:max(1, int(tries))]:
        if not _blank(np.asarray(data[t])):
            return t
    return mid


def map_frames(
    func: Callable[[np.ndarray], np.ndarray],
    data: Any,
    *,
    progress: bool | type = False,
    desc: str = "frames",
) -> np.ndarray:
    """``out[t] = func(data[t])`` for every frame, as int32 labels.

    `data` is any array indexable by frame (numpy, dask, zarr); frames are loaded one
    at a time. `progress` is True (``tqdm.auto.tqdm``) or a tqdm-like class.
    """
    frames: Any = range(int(data.shape[0]))
    if progress:
        if progress is True:
            from tqdm.auto import tqdm as bar
        else:
            bar = progress
        frames = bar(frames, desc=desc, unit="frame")
    out = np.zeros(tuple(data.shape), dtype=np.int32)
    for t in frames:
        out[t] = func(np.asarray(data[t]))
    return out
