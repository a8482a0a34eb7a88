"""Boundary checks shared by public entry points (ours)."""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["check_labels", "check_movie", "fill_nonfinite"]


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


def check_movie(movie, *, segment: bool = True):
    """Run :func:`celldyn.io.validate_movie`, apply the pipeline's policy and return the
    movie the stages get.

    A movie whose every frame is constant is an error when the run is to `segment` it
    (with label images given only a warning: the objects come from the labels, their
    intensities are constant); isolated constant frames are a warning. Frames with
    *some* NaN/Inf pixels (the empty border of a registered movie, ImageJ's "NaN
    background") are filled with the median of the frame's finite pixels
    (:func:`fill_nonfinite`), with a warning; a frame with no finite pixel stays an
    error (validate_movie).
    """
    import warnings

    from .io.read import validate_movie

    for message in validate_movie(movie):
        if "NaN" in message:
            share = _nonfinite_share(movie.data)
            warnings.warn(
                f"movie {message.split(' contain')[0]} hold NaN/Inf pixels ({share:.1%} of "
                "the movie; e.g. the empty border of a registered movie): they are filled "
                "with the median of each frame's other pixels", stacklevel=3)
            movie = fill_nonfinite(movie)
            continue
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
    return movie


def _nonfinite_share(data) -> float:
    """The share of NaN/Inf pixels of a movie (lazily summed for a dask array)."""
    bad = ~np.isfinite(data)
    total = bad.sum()
    total = total.compute() if hasattr(total, "compute") else total
    return float(total) / max(1, int(np.prod(data.shape)))


def _fill_block(block: np.ndarray) -> np.ndarray:
    """NaN/Inf of each frame (first axis) of `block` replaced by the median of that
    frame's finite values (0 where it has none: the error is raised before)."""
    out = np.array(block, copy=True)
    for t in range(out.shape[0]):
        frame = out[t]
        bad = ~np.isfinite(frame)
        if bad.any():
            good = frame[~bad]
            frame[bad] = np.median(good) if good.size else 0.0
    return out


def fill_nonfinite(movie):
    """`movie` with each frame's NaN/Inf pixels set to the median of its finite pixels
    (a new array; a dask movie stays lazy and is filled chunk by chunk, each chunk's
    frames from their own finite pixels). Ours: a policy, a few lines of NumPy.

    Examples
    --------
    >>> from celldyn.movie import Movie
    >>> data = np.array([[[1.0, np.nan], [3.0, 5.0]]])
    >>> float(fill_nonfinite(Movie(data, "TYX")).data[0, 0, 1])
    3.0
    """
    import dataclasses

    data = movie.data
    if hasattr(data, "map_blocks"):
        filled = data.map_blocks(_fill_block, dtype=data.dtype)
    else:
        filled = _fill_block(np.asarray(data))
    return dataclasses.replace(movie, data=filled)
