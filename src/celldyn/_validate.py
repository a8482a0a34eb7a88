"""Boundary checks shared by public entry points (ours)."""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["check_labels", "check_movie"]


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


def check_movie(movie, *, segment: bool = True) -> None:
    """Run :func:`celldyn.io.validate_movie` and apply the pipeline's policy.

    Frames with some NaN/Inf, or (when the run is to `segment` it) a movie whose every
    frame is constant, are errors (no stage can segment them); isolated constant frames
    are a warning. With label images given (`segment` False) a constant movie is only
    a warning: the objects come from the labels, their intensities are constant.
    """
    import warnings

    from .io.read import validate_movie

    for message in validate_movie(movie):
        if "NaN" in message:
            raise InputError(
                f"movie {message.replace('; they are treated as missing', '')}; replace "
                "them (e.g. with the background value) before running"
            )
        if not segment:  # the labels give the objects; only their intensities suffer
            warnings.warn(f"movie {message}: the objects' intensities there are constant",
                          stacklevel=3)
            continue
        if all(np.ptp(np.asarray(movie.data[t])) == 0 for t in range(movie.n_frames)):
            raise InputError(
                "every frame of the movie is constant (one value), so there is nothing to "
                "segment; check the channel (--channel), the z-plane (--plane) or the export"
            )
        warnings.warn(f"movie {message}; they will have no objects", stacklevel=3)
