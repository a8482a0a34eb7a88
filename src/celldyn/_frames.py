"""Apply a per-frame function over a movie, with an optional progress bar (ours)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["map_frames"]


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
