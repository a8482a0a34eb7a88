"""The Movie: an intensity array with explicit axes and physical metadata.

This is the data model every stage reads (see DESIGN.md). Readers normalise to one of
the canonical axis orders ``TYX``, ``TZYX``, ``TCYX``, ``TCZYX`` once, at the boundary;
internals trust the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["Movie", "CANONICAL_AXES", "as_movie", "frame_range", "normalize_axes",
           "parse_frames", "selected"]

CANONICAL_AXES = ("TYX", "TZYX", "TCYX", "TCZYX")
_VALID = set("TCZYX")


def parse_frames(spec: str) -> tuple[int | None, int | None, int]:
    """``START:STOP[:STEP]`` (``--frames``) as its three parts: frames counted from 0,
    STOP excluded, any part may be left out (``:50`` the first 50, ``100:`` from frame
    100 on, ``::2`` every second frame), as Python slices them; negative numbers are not
    accepted. Raises :class:`~celldyn.errors.InputError` with what to write.

    >>> parse_frames("0:50"), parse_frames("::2"), parse_frames("10:")
    ((0, 50, 1), (None, None, 2), (10, None, 1))
    """
    parts = str(spec).split(":")
    bad = InputError(f"frames must be START:STOP or START:STOP:STEP, counted from 0 with "
                     f"STOP excluded (e.g. 0:50, 100:, ::2); got {spec!r}")
    if not 2 <= len(parts) <= 3 or not all(p.strip() == "" or p.strip().isdecimal()
                                             for p in parts):
        raise bad
    start, stop, *rest = (int(p) if p.strip() else None for p in parts)
    step = rest[0] if rest and rest[0] is not None else 1
    if step < 1:
        raise bad
    return start, stop, step


def frame_range(spec: str, n_frames: int) -> range:
    """The frames of a movie of `n_frames` that ``--frames`` `spec` selects.

    >>> list(frame_range("1:6:2", 10)), list(frame_range("8:", 10))
    ([1, 3, 5], [8, 9])
    """
    start, stop, step = parse_frames(spec)
    return range(n_frames)[slice(start, stop, step)]


# --axes examples by number of dimensions (each is accepted by normalize_axes)
_AXES_EXAMPLES = {2: "YX", 3: "TYX", 4: "TZYX (or TCYX)", 5: "TCZYX"}


def normalize_axes(data: Any, axes: str) -> tuple[Any, str]:
    """Transpose `data` from `axes` to the canonical T[C][Z]YX order.

    Singleton axes other than T, Y, X are dropped (a 1-channel movie is ``TYX``; a
    1-slice Z stack is 2D). A missing T axis is added with length 1.

    Parameters
    ----------
    data : array
        Numpy or dask array.
    axes : str
        One letter per dimension of `data`, from ``TCZYX`` (``S`` for samples is read
        as ``C``; ``Q`` or ``I`` from tifffile are refused as unknown).

    Returns
    -------
    data, axes : array, str

    Raises
    ------
    InputError
        If `axes` does not match `data`'s dimensions or has unknown or repeated letters.
    """
    axes = axes.upper().replace("S", "C")
    if len(axes) != data.ndim:
        example = _AXES_EXAMPLES.get(data.ndim, "TYX")
        raise InputError(
            f"axes {axes!r} has {len(axes)} letters but the data has {data.ndim} "
            f"dimensions (shape {tuple(data.shape)}); pass --axes with one letter per "
            f"dimension, e.g. --axes {example}"
        )
    bad = sorted(set(axes) - _VALID)
    if bad or len(set(axes)) != len(axes):
        raise InputError(
            f"axes {axes!r} must use each of the letters T, C, Z, Y, X at most once; "
            "pass --axes, e.g. --axes TZYX"
        )
    if "Y" not in axes or "X" not in axes:
        raise InputError(f"axes {axes!r} must contain Y and X; pass --axes, e.g. --axes TYX")
    for ax in "CZ":
        if ax in axes and data.shape[axes.index(ax)] == 1:
            i = axes.index(ax)
            data = data[(slice(None),) * i + (0,)]
            axes = axes[:i] + axes[i + 1 :]
    if "T" not in axes:
        data = data[None]
        axes = "T" + axes
    target = "".join(a for a in "TCZYX" if a in axes)
    if axes != target:
        data = data.transpose([axes.index(a) for a in target])
    return data, target


@dataclass(frozen=True)
class Movie:
    """An intensity movie with axes and physical metadata.

    Parameters
    ----------
    data : (T, [C,] [Z,] Y, X) numpy or dask array
        Intensities in canonical axis order.
    axes : str
        One of ``TYX``, ``TZYX``, ``TCYX``, ``TCZYX``.
    spacing : tuple of float, optional
        Physical pixel size per spatial axis (Z, Y, X or Y, X), in µm. None if unknown.
    frame_interval : float, optional
        Time between frames in seconds. None if unknown.
    name : str
        Where the movie came from (file name), for reports.
    """

    data: Any
    axes: str
    spacing: tuple[float, ...] | None = None
    frame_interval: float | None = None
    name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.axes not in CANONICAL_AXES:
            raise InputError(
                f"Movie axes must be one of {CANONICAL_AXES} (got {self.axes!r}); "
                "use celldyn.movie.normalize_axes first"
            )
        if self.data.ndim != len(self.axes):
            raise InputError(
                f"Movie data has {self.data.ndim} dimensions but axes {self.axes!r}"
            )
        if self.spacing is not None:
            sp = tuple(float(s) for s in self.spacing)
            if len(sp) != self.n_spatial or not all(np.isfinite(s) and s > 0 for s in sp):
                raise InputError(
                    f"spacing must be {self.n_spatial} positive numbers (one per spatial "
                    f"axis {self.spatial_axes}); got {self.spacing!r}"
                )
            object.__setattr__(self, "spacing", sp)
        if self.frame_interval is not None and not (
            np.isfinite(self.frame_interval) and self.frame_interval > 0
        ):
            raise InputError(
                f"frame interval must be a positive number of seconds; got {self.frame_interval!r}"
            )

    def __repr__(self) -> str:
        """One line: axes, shape, dtype, pixel size, frame interval and name.

        Examples
        --------
        >>> Movie(np.zeros((3, 8, 8), np.uint8), "TYX", spacing=(0.24, 0.24),
        ...       frame_interval=300, name="a.tif")
        Movie(TYX 3x8x8 uint8, 0.24x0.24 µm, 5 min, 'a.tif')
        """
        from .units import format_duration

        shape = "x".join(str(n) for n in self.data.shape)
        spacing = ("x".join(f"{v:g}" for v in self.spacing) + " µm" if self.spacing
                   else "pixel size unknown")
        interval = (format_duration(self.frame_interval) if self.frame_interval
                    else "frame interval unknown")
        name = f", {self.name!r}" if self.name else ""
        return (f"Movie({self.axes} {shape} {self.data.dtype}, {spacing}, {interval}"
                f"{name})")

    @property
    def spatial_axes(self) -> str:
        return self.axes.replace("T", "").replace("C", "")

    @property
    def n_spatial(self) -> int:
        return len(self.spatial_axes)

    @property
    def n_frames(self) -> int:
        return int(self.data.shape[0])

    @property
    def is_3d(self) -> bool:
        return "Z" in self.axes

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Spatial shape of one frame, (Z,) Y, X."""
        return tuple(self.data.shape[-self.n_spatial :])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1]) if "C" in self.axes else 1

    @property
    def is_rgb(self) -> bool:
        """An RGB(A) colour image (its file stored the channels as colour samples, axis S)."""
        return ("C" in self.axes and self.n_channels in (3, 4)
                and "S" in str(self.metadata.get("source_axes", "")).upper())

    def colour_mean(self) -> "Movie":
        """The mean of the colour channels R, G, B as one channel (float32): how the
        deep models saw colour images in training (``datasets._grey``)."""
        data = self.data[:, :3].astype(np.float32).mean(axis=1)
        return replace(self, data=data, axes=self.axes.replace("C", ""))

    def channel(self, index: int) -> "Movie":
        """Return a single-channel movie."""
        if "C" not in self.axes:
            if index != 0:
                raise InputError(f"movie has one channel; got channel {index}")
            return self
        if not 0 <= index < self.n_channels:
            raise InputError(
                f"channel {index} does not exist; the movie has {self.n_channels} channels "
                f"(0..{self.n_channels - 1})"
            )
        return replace(self, data=self.data[:, index], axes=self.axes.replace("C", ""))

    def plane_index(self, index: int | str) -> int:
        """The z index `index` names: counted from 0, or ``"middle"``."""
        if "Z" not in self.axes:
            raise InputError(f"--plane picks one plane of a z-stack, but the movie's axes "
                             f"are {self.axes} (no Z)")
        n_z = int(self.data.shape[self.axes.index("Z")])
        k = n_z // 2 if index == "middle" else int(index)
        if not 0 <= k < n_z:
            raise InputError(f"plane {index} does not exist; the movie has {n_z} z-planes "
                             f"(0..{n_z - 1}, or middle)")
        return k

    def plane(self, index: int | str) -> "Movie":
        """Return one z-plane of a z-stack movie (``TZYX`` -> ``TYX``): `index` counted
        from 0, or ``"middle"``; the spacing keeps its y and x entries."""
        k = self.plane_index(index)
        take = [slice(None)] * self.data.ndim
        take[self.axes.index("Z")] = k
        spacing = None if self.spacing is None else tuple(self.spacing)[-2:]
        return replace(self, data=self.data[tuple(take)], axes=self.axes.replace("Z", ""),
                       spacing=spacing)

    def frames(self, spec: str) -> "Movie":
        """The frames ``--frames`` `spec` selects (``START:STOP[:STEP]``), as a movie of
        their own: the frame interval times STEP; ``metadata["frame_selection"]`` keeps
        ``[start, stop, step]`` in the original movie's numbering (``metadata["frames"]``
        is the readers': the files or frame numbers read)."""
        r = frame_range(spec, self.n_frames)
        if not len(r):
            raise InputError(f"--frames {spec} selects no frame of this movie of "
                             f"{self.n_frames} frames (0..{self.n_frames - 1})")
        dt = None if self.frame_interval is None else self.frame_interval * r.step
        return replace(self, data=self.data[r.start:r.stop:r.step], frame_interval=dt,
                       metadata={**self.metadata,
                                 "frame_selection": [r.start, r.stop, r.step]})

    def with_metadata(
        self,
        *,
        spacing: tuple[float, ...] | None = None,
        frame_interval: float | None = None,
    ) -> "Movie":
        """Return a copy where the given values override the stored ones."""
        return replace(
            self,
            spacing=self.spacing if spacing is None else tuple(spacing),
            frame_interval=self.frame_interval if frame_interval is None else frame_interval,
        )


def as_movie(movie: Any, axes: str | None = None, pixel_size: Any = None,
             frame_interval: Any = None) -> Movie:
    """`movie` as a :class:`Movie`: a bare array needs `axes`; `pixel_size` and
    `frame_interval` (numbers in µm and s, or text with units, ``"0.24um"``,
    ``"5min"``) override the movie's own."""
    if not isinstance(movie, Movie):
        if axes is None:
            raise InputError("a bare array needs axes, e.g. run(array, axes='TYX')")
        data, ax = normalize_axes(np.asarray(movie), axes)
        movie = Movie(data, ax)
    if pixel_size is not None or frame_interval is not None:
        from .units import with_units

        movie = with_units(movie, pixel_size, frame_interval)
    return movie


def selected(movie: Movie, labels: Any = None, *, channel: int | None = None,
             plane: int | str | None = None, frames: str | None = None
             ) -> tuple[Movie, Any]:
    """What a run works on: `movie`'s `channel` (when it has channels; None: the first,
    or for an RGB colour image the mean of its colour channels, :meth:`Movie.colour_mean`,
    as the deep models were trained: segmenting the red channel alone lost AP@0.5 on
    DSB2018's colour images, 0.523 -> 0.492 pooled over the 24 of its training and
    validation parts, and finds nothing in a green-only export) and, with
    `plane`, that z-plane of a z-stack (:meth:`Movie.plane`); `labels` given for the
    whole stack (one more dimension than the plane's) are cut to the same plane. With
    `frames` (``START:STOP[:STEP]``, :meth:`Movie.frames`) only those frames; `labels`
    given for every frame of the movie are cut alike."""
    if frames is not None:
        n = movie.n_frames
        movie = movie.frames(frames)
        if labels is not None and len(labels) == n:
            r = frame_range(frames, n)
            labels = labels[r.start:r.stop:r.step]
    if "C" in movie.axes:
        movie = (movie.colour_mean() if channel is None and movie.is_rgb
                 else movie.channel(0 if channel is None else int(channel)))
    if plane is None:
        return movie, labels
    if labels is not None and len(getattr(labels, "shape", ())) == movie.data.ndim:
        labels = labels[:, movie.plane_index(plane)]   # labels (T, Z, Y, X) of the stack
    return movie.plane(plane), labels
