"""Input checks shared by the denoisers: one-line :class:`InputError` for bad movies."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["check_denoise_input"]


def check_denoise_input(movie: Any, *, name: str = "movie") -> np.ndarray:
    """Return `movie` as a float32 (T, [Z,] Y, X) array, or raise one-line InputError.

    Rejects arrays that are not 3D or 4D, smaller than 8 px in Y or X, non-finite
    (NaN, inf) or constant in some frame (a constant frame has no noise to learn and
    no signal to keep; it usually means a wrong channel or an empty file).
    """
    data = getattr(movie, "data", movie)
    arr = np.asarray(data)
    if arr.dtype.kind not in "uif":
        raise InputError(f"{name} must be numeric; got dtype {arr.dtype}")
    if arr.ndim not in (3, 4):
        raise InputError(
            f"{name} must have axes T(Z)YX (3 or 4 dimensions); got shape {arr.shape}"
        )
    if min(arr.shape[-2:]) < 8:
        raise InputError(f"{name} frames must be at least 8x8 px; got shape {arr.shape}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or infinite values; fix or mask them first")
    flat = arr.reshape(arr.shape[0], -1)
    constant = np.flatnonzero(flat.max(axis=1) == flat.min(axis=1))
    if constant.size:
        raise InputError(
            f"{name} has constant frames (t = {constant[:5].tolist()}"
            f"{'...' if constant.size > 5 else ''}); nothing to denoise there"
        )
    return arr
