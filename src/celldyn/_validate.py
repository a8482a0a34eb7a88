"""Boundary checks shared by public entry points (ours)."""

from __future__ import annotations

import warnings

import numpy as np

from .errors import InputError

__all__ = ["check_movie_values", "check_labels"]


def check_movie_values(data, *, name: str = "movie") -> list[int]:
    """Refuse empty movies and frames with NaN/Inf; return the indices of constant frames.

    Constant frames are allowed (they yield no objects) and reported with a warning.
    """
    if data.shape[0] == 0 or any(s == 0 for s in data.shape):
        raise InputError(
            f"{name} has no pixels (shape {tuple(data.shape)}); it needs at least one frame"
        )
    if np.iscomplexobj(data) or not (
        np.issubdtype(data.dtype, np.number) or data.dtype == bool
    ):
        raise InputError(
            f"{name} must hold real numbers; got dtype {data.dtype}; convert it to "
            "uint8, uint16 or float32"
        )
    constant = []
    for t in range(data.shape[0]):
        frame = np.asarray(data[t])
        if np.issubdtype(frame.dtype, np.floating):
            bad = ~np.isfinite(frame)
            if bad.all():
                raise InputError(
                    f"{name} frame {t} is all NaN/Inf; remove the frame or fix the export"
                )
            if bad.any():
                raise InputError(
                    f"{name} frame {t} has {int(bad.sum())} NaN/Inf pixels; replace them "
                    "(e.g. with the background value) before running"
                )
        if frame.min() == frame.max():
            constant.append(t)
    if constant and len(constant) == data.shape[0]:
        raise InputError(
            f"every frame of the {name} is constant (one value), so there is nothing to "
            "segment; check the channel (--channel) or the export"
        )
    if constant:
        warnings.warn(
            f"{name} has {len(constant)} constant frame(s) (first: {constant[0]}); "
            "they will have no objects",
            stacklevel=3,
        )
    return constant


def check_labels(labels, *, shape: tuple[int, ...] | None = None, name: str = "labels"):
    """Return `labels` as int32 after checking dtype, range and (optionally) shape."""
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(
            f"{name} must be an integer label movie (0 = background); got dtype "
            f"{labels.dtype}; export masks as uint16/int32"
        )
    if shape is not None and tuple(labels.shape) != tuple(shape):
        raise InputError(
            f"{name} have shape {tuple(labels.shape)} but the movie has shape "
            f"{tuple(shape)}; they must match frame for frame"
        )
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
        raise InputError(
            f"{name} ids must be in 0..{np.iinfo(np.int32).max}; got "
            f"{labels.min()}..{labels.max()}; relabel them (skimage.segmentation.relabel_sequential)"
        )
    return labels.astype(np.int32, copy=False)
