"""Boundary checks shared by public entry points (ours).

:func:`structure_gain` (:mod:`celldyn._frames`, re-exported here) is our test for a
channel that holds only pixel noise (an empty channel, a laser left off, a synthetic
fixture): how much more the means of 8 x 8 pixel
blocks vary than they would if the pixels were independent noise (1 for noise). Over
every 2D image and z-plane of ``../shared/data`` (1,075 images: fluorescence, phase
contrast, DIC, brightfield, EM, H&E, and the W2S single-shot widefield frames taken at
the lowest light) the smallest gain is 2.7 (a brightfield yeast image), the W2S frames
3.0 and more; simulated Gaussian and Poisson noise of 64-1,024 px frames gives 0.88-1.16,
and so does the one noise volume of the set (PlantSeg ``1137_mini``). The pipeline warns
below :data:`NOISE_GAIN` (1.5).
"""

from __future__ import annotations

import numpy as np

from ._frames import NOISE_GAIN, structure_gain  # with the frame helpers: stages use it
from .errors import InputError

__all__ = ["check_labels", "check_movie", "fill_nonfinite", "structure_gain"]


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


def _movie_gain(movie, frames) -> float:
    """The median structure gain of `frames` of `movie` (the middle z-plane of 3D)."""
    gains = []
    for t in frames:
        frame = np.asarray(movie.data[t])
        while frame.ndim > 2:
            frame = frame[frame.shape[0] // 2]
        gains.append(structure_gain(frame))
    gains = [g for g in gains if np.isfinite(g)]
    return float(np.median(gains)) if gains else float("nan")


def _warn_noise_only(movie, whole, channel) -> None:
    """Warn when the frames to segment hold no structure above pixel noise, naming a
    channel of `whole` (the movie before its channel was picked) that has some, where the
    user did not pick one."""
    import warnings

    n = movie.n_frames
    frames = sorted({0, n // 2, n - 1})
    gain = _movie_gain(movie, frames)
    if not gain < NOISE_GAIN:  # NaN (constant, tiny frames): other checks speak
        return
    what, hint = "the movie", "check the channel (--channel), the exposure or the export"
    if whole is not None and "C" in whole.axes and not whole.is_rgb:
        what = f"channel {0 if channel is None else int(channel)}"
        others = {c: _movie_gain(whole.channel(c), [n // 2])
                  for c in range(whole.n_channels) if channel is None and c != 0}
        best = max(others, key=lambda c: np.nan_to_num(others[c]), default=None)
        if best is not None and others[best] >= NOISE_GAIN:
            hint = f"channel {best} has structure ({others[best]:.0f} x): --channel {best}"
    warnings.warn(
        f"{what} shows no structure above pixel noise (its 8 x 8 pixel blocks vary "
        f"{gain:.1f} x as much as independent noise's; real images 2.7 x and more), so "
        f"objects found in it are noise: {hint}", stacklevel=4)


def check_movie(movie, *, segment: bool = True, whole=None, channel: int | None = None):
    """Run :func:`celldyn.io.validate_movie`, apply the pipeline's policy and return the
    movie the stages get.

    A movie whose every frame is constant is an error when the run is to `segment` it
    (with label images given only a warning: the objects come from the labels, their
    intensities are constant); isolated constant frames are a warning. Frames with
    *some* NaN/Inf pixels (the empty border of a registered movie, ImageJ's "NaN
    background") are filled with the median of the frame's finite pixels
    (:func:`fill_nonfinite`), with a warning; a frame with no finite pixel stays an
    error (validate_movie). A movie to `segment` whose frames hold no structure above
    pixel noise (:func:`structure_gain`) gets a warning; `whole` (the movie before its
    `channel` was picked) lets it name a channel that has structure.
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
    if segment:
        _warn_noise_only(movie, whole, channel)
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
