"""Read any supported movie or label input, dispatching on the path.

A ``.tif``/``.tiff``/``.ome.tif`` file goes to :mod:`celldyn.io.tiff`, a ``.png`` /
``.jpg`` image to :mod:`celldyn.io.frames`, a ``.zarr`` folder (or one with Zarr
metadata) to :mod:`celldyn.io.omezarr`, a folder of ``t000.tif`` frames to
:mod:`celldyn.io.ctc`, and any other folder of image files, one per frame, to
:mod:`celldyn.io.frames`. Values passed as arguments win over the
file's metadata. :func:`validate_movie` is the boundary check the pipeline runs once
after reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, InputError
from ..movie import Movie
from ._util import PathLike, as_int32_labels, check_exists
from .ctc import list_frames, read_ctc_movie, read_label_folder
from .frames import IMAGE_SUFFIXES, PLAIN_SUFFIXES, read_frame_folder, read_image_file
from .omezarr import _series_count as _zarr_series
from .omezarr import read_labels_ome_zarr, read_ome_zarr
from .tiff import _series_count as _tiff_series
from .tiff import read_tiff

VENDOR_FORMATS = {".nd2": "Nikon NIS-Elements (.nd2)", ".czi": "Zeiss ZEN (.czi)",
                  ".lif": "Leica LAS X (.lif)", ".lsm": "Zeiss LSM (.lsm)",
                  ".oib": "Olympus FluoView (.oib)", ".oir": "Olympus (.oir)",
                  ".vsi": "Olympus cellSens (.vsi)", ".ims": "Imaris (.ims)",
                  ".ics": "ICS (.ics)", ".dv": "DeltaVision (.dv)",
                  ".nd": "MetaMorph (.nd)", ".lei": "Leica (.lei)"}
"""Microscope vendors' file types celldyn does not read: the error names the type and
the way to OME-TIFF (Bio-Formats reads them all; it is Java, so celldyn does not ship
it)."""

__all__ = ["read_labels", "read_movie", "read_run_movie", "series_count", "validate_movie"]

_TIFF_SUFFIXES = (".tif", ".tiff")


def _is_zarr(p: Path) -> bool:
    return p.is_dir() and (
        p.suffix == ".zarr"
        or any((p / f).exists() for f in ("zarr.json", ".zgroup", ".zattrs"))
    )


def read_movie(
    path: PathLike,
    *,
    axes: str | None = None,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    channel: int | None = None,
    series: int | None = None,
) -> Movie:
    """Read a movie from a TIFF file, an OME-Zarr, a CTC folder, a folder of image files
    (one per frame) or a PNG / JPEG image.

    Parameters
    ----------
    path : str or path-like
        ``*.tif`` / ``*.tiff`` / ``*.ome.tif`` file, ``*.zarr`` / ``*.ome.zarr`` folder,
        a folder of CTC frames ``t000.tif, t001.tif, ...``, a folder of ``.tif``,
        ``.png`` or ``.jpg`` files, one per frame, named in frame order
        (:func:`celldyn.io.frames.frame_files`), or one ``.png`` / ``.jpg`` image.
    axes : str, optional
        Axes of the stored data (letters from ``TCZYX``), overriding the metadata;
        needed for plain TIFFs with 3 or more dimensions. For CTC folders it must
        agree with the frames (``TYX`` or ``TZYX``).
    spacing : sequence of float, optional
        Pixel size in µm per spatial axis ((Z,) Y, X); overrides the metadata. A single
        value applies to every spatial axis (isotropic).
    frame_interval : float, optional
        Seconds between frames; overrides the metadata.
    channel : int, optional
        Keep only this channel (0-based) of a multi-channel movie.
    series : int, optional
        Which image series of a multi-series TIFF or of a bioformats2raw OME-Zarr to
        read (e.g. one stage position), from 0; default the first. Other inputs hold one.

    Returns
    -------
    Movie

    Raises
    ------
    FileFormatError
        If `path` does not exist, has an unsupported type, or is unreadable.
    InputError
        If the axes are ambiguous or wrong, `spacing` has the wrong length, or
        `channel` does not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> from celldyn.io import write_tiff
    >>> f = os.path.join(tempfile.mkdtemp(), "m.ome.tif")
    >>> write_tiff(f, Movie(np.zeros((3, 8, 8), np.uint16), "TYX"))
    >>> read_movie(f, spacing=(0.2, 0.2), frame_interval=60).frame_interval
    60.0
    """
    p = check_exists(path)
    tiff = p.is_file() and p.name.lower().endswith(_TIFF_SUFFIXES)
    if series not in (None, 0) and not (tiff or _is_zarr(p)):
        raise InputError(f"--series picks one image series of a multi-series TIFF or "
                         f"OME-Zarr; {p.name} holds one movie")
    if tiff:
        movie = read_tiff(p, axes=axes, series=series)
    elif p.is_file():
        if p.suffix.lower() in PLAIN_SUFFIXES:
            movie = read_image_file(p, axes=axes)
        else:
            vendor = VENDOR_FORMATS.get(p.suffix.lower())
            raise FileFormatError(
                f"{p} has an unsupported type; expected a .tif/.tiff/.ome.tif file, a "
                ".png/.jpg image, an .ome.zarr folder or a folder of frames (t000.tif, or "
                "one image file per frame)" + (
                    f". A {vendor} file: save it as OME-TIFF first (Fiji: File > Import > "
                    "Bio-Formats, then File > Export > Bio-Formats to a .ome.tif name; or "
                    "Bio-Formats' bfconvert), which keeps the pixel size and frame interval"
                    if vendor else "")
            )
    elif _is_zarr(p):
        movie = read_ome_zarr(p, axes=axes, series=series)
    elif list_frames(p, "t"):
        movie = read_ctc_movie(p, lazy=None)   # a dask array above LAZY_BYTES
        if axes is not None and sorted(axes.upper()) != sorted(movie.axes):
            raise InputError(
                f"axes {axes!r} do not match the CTC frames in {p}, which are "
                f"{movie.axes}; omit --axes or pass --axes {movie.axes}"
            )
    else:
        movie = read_frame_folder(p, axes=axes)
    if channel is not None:
        movie = movie.channel(int(channel))
    if spacing is not None or frame_interval is not None:
        sp = None if spacing is None else tuple(float(s) for s in spacing)
        if sp is not None and len(sp) == 1:
            sp = sp * movie.n_spatial
        movie = movie.with_metadata(
            spacing=sp,
            frame_interval=float(frame_interval)
            if frame_interval is not None
            else None,
        )
    return movie


def series_count(path: PathLike) -> int:
    """How many image series (stage positions, say) :func:`read_movie` can read from
    `path` with ``series=``: those of a multi-series TIFF or of a bioformats2raw
    OME-Zarr, 1 for any other input. Only headers and metadata are read, no pixel data,
    so it is cheap where ``read_movie(path).metadata["n_series"]`` would load series 0.

    >>> import tempfile, os, tifffile
    >>> f = os.path.join(tempfile.mkdtemp(), "positions.ome.tif")
    >>> with tifffile.TiffWriter(f, ome=True) as w:
    ...     for _ in range(3):
    ...         w.write(np.zeros((2, 8, 8), np.uint8), metadata={"axes": "TYX"})
    >>> series_count(f)
    3

    Raises
    ------
    FileFormatError
        If `path` does not exist, or is a TIFF or OME-Zarr that cannot be read. Other
        inputs are not opened: :func:`read_movie` says what is wrong with them.
    """
    p = check_exists(path)
    if p.is_file() and p.name.lower().endswith(_TIFF_SUFFIXES):
        return _tiff_series(p)
    if _is_zarr(p):
        return _zarr_series(p)
    return 1


def read_labels(path: PathLike, *, axes: str | None = None) -> np.ndarray:
    """Read a label movie from a TIFF, an OME-Zarr or a folder of label TIFFs.

    Parameters
    ----------
    path : str or path-like
        A label TIFF (``T[Z]YX`` integers), an OME-Zarr (see
        :func:`~celldyn.io.read_labels_ome_zarr`), a folder of ``maskNNN.tif`` /
        ``man_segNNN.tif`` / ``man_trackNNN.tif`` (one file per frame), any other
        folder of integer label images, one per frame (``.tif`` or ``.png``, e.g. another
        tool's ``*_masks.png``; ordered as :func:`celldyn.io.frames.frame_files`), or
        one ``.png`` label image.
    axes : str, optional
        Axes of a label TIFF, overriding its metadata. Without axes metadata a label
        TIFF is read as ``YX`` (one frame), ``TYX`` or ``TZYX`` by its number of
        dimensions; the caller checks the shape against the movie (pass the movie's
        axes for a single 3D frame).

    Returns
    -------
    (T, [Z,] Y, X) int32 ndarray
        The caller checks it against the movie's shape.

    Raises
    ------
    FileFormatError
        If the path is missing or unreadable.
    InputError
        If the labels are not integers (e.g. float probabilities), have channels, or
        the axes of a plain TIFF are ambiguous.
    """
    p = check_exists(path)
    if p.is_file() and p.suffix.lower() in PLAIN_SUFFIXES:
        return _image_labels(read_image_file(p), p.name)
    if p.is_file():
        if not p.name.lower().endswith(_TIFF_SUFFIXES):
            raise FileFormatError(
                f"{p} has an unsupported type; expected labels as .tif, .png, .ome.zarr or "
                "a folder of label images (mask000.tif, ...)"
            )
        if axes is None:
            axes = _label_tiff_axes(p)
        movie = read_tiff(p, axes=axes)
        if "C" in movie.axes:
            raise InputError(
                f"labels in {p.name} must have axes T(Z)YX without channels; got "
                f"{movie.axes} with shape {tuple(movie.data.shape)}"
            )
        return as_int32_labels(movie.data, name=p.name, allow_bool=False)
    if _is_zarr(p):
        return read_labels_ome_zarr(p)
    if p.is_dir() and not any(list_frames(p, pre) for pre in ("mask", "man_seg", "man_track")):
        if not any(f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir()):
            raise FileFormatError(f"{p} holds no label images (mask000.tif, mask001.tif, "
                                  "... or one .tif / .png per frame)")
        return _image_labels(read_frame_folder(p), p.name)
    return read_label_folder(p)


def _image_labels(movie: Movie, name: str) -> np.ndarray:
    """Labels from PNG / frame-folder images read as a movie: integers, no colour."""
    if "C" in movie.axes:
        raise InputError(f"the labels in {name} must be integer images, not colour")
    return as_int32_labels(movie.data, name=name, allow_bool=False)


def _label_tiff_axes(p: Path) -> str | None:
    """Axes for a label TIFF: its metadata's if trusted, else T(Z)YX by ndim."""
    import tifffile

    from .tiff import _READ_ERRORS, _corrupt, _trusted_axes

    if p.stat().st_size == 0:
        return None  # read_tiff reports the empty file
    try:
        with tifffile.TiffFile(p) as tif:
            series = tif.series[0]
            found = _trusted_axes(tif, series)
            ndim = series.ndim
    except _READ_ERRORS as err:
        raise _corrupt(p, err) from None
    if found is not None:
        return found
    return {2: "YX", 3: "TYX", 4: "TZYX"}.get(ndim)


def validate_movie(movie: Movie) -> list[str]:
    """Check a movie's values once, at the boundary.

    Parameters
    ----------
    movie : Movie

    Returns
    -------
    list of str
        Warnings for recoverable oddities: constant frames, frames with some NaN/Inf.

    Raises
    ------
    InputError
        If the movie has no frames, frames narrower than 2 pixels, a boolean or
        non-real dtype (complex, object, ...), or a frame (or channel) with no finite
        value.

    Examples
    --------
    >>> validate_movie(Movie(np.zeros((2, 4, 4)), "TYX"))
    ['frames [0, 1] are constant (all 0.0)']
    """
    data = movie.data
    name = f" in {movie.name}" if movie.name else ""
    if movie.n_frames == 0 or any(s == 0 for s in data.shape):
        raise InputError(
            f"movie{name} is empty (shape {tuple(data.shape)}); it needs frames"
        )
    dtype = np.dtype(data.dtype)
    if dtype.kind == "b":
        raise InputError(
            f"movie{name} is a boolean mask (dtype bool), not an image; pass masks with "
            "--labels (after labelling the objects), or convert the movie to integers"
        )
    if dtype.kind not in "iuf":
        raise InputError(
            f"movie{name} must hold real numbers; got dtype {dtype}. Convert it to "
            "integers or floats first (e.g. the magnitude of complex data)"
        )
    yx = tuple(int(s) for s in data.shape[-2:])
    if min(yx) < 2:
        raise InputError(
            f"movie{name} has frames of {yx[0]} x {yx[1]} pixels (shape "
            f"{tuple(data.shape)}, axes {movie.axes}), too small to hold an object; check "
            "the axes (--axes) or the export"
        )
    T = movie.n_frames
    lo, hi, n_finite = _frame_stats(data, channels="C" in movie.axes, kind=dtype.kind)
    warnings: list[str] = []
    if dtype.kind == "f":
        empty = np.argwhere(n_finite == 0)
        if empty.size:
            t = int(empty[0][0])
            where = f"frame {t}" + (
                f", channel {int(empty[0][1])}" if empty.shape[1] > 1 else ""
            )
            raise InputError(
                f"movie{name} has no finite value in {where} (all NaN/Inf); remove the "
                "frame or fix the export"
            )
        n_px = int(np.prod(data.shape[2:] if "C" in movie.axes else data.shape[1:]))
        partial = sorted({int(i[0]) for i in np.argwhere(n_finite < n_px)})
        if partial:
            warnings.append(
                f"frames {partial[:10]} contain NaN/Inf values"
            )
    const = lo == hi
    if const.ndim > 1:
        const = const.all(axis=-1)
    idx = [int(t) for t in np.flatnonzero(const)]
    if idx:
        val = np.asarray(lo).reshape(T, -1)[idx[0], 0]
        shown = idx[:10] + (["..."] if len(idx) > 10 else [])  # type: ignore[list-item]
        warnings.append(f"frames {shown} are constant (all {val})")
    return warnings


def _frame_stats(
    data: Any, *, channels: bool, kind: str, batch_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame (and per-channel) min, max and count of finite values (NaN/Inf
    ignored), read a batch of frames at a time: memory stays bounded, and a lazy movie
    never builds a task graph as long as the movie. Lazy movies are read in small
    batches (1 MiB): larger dask slices left tens of MB behind on a 2,500-frame movie."""
    T = int(data.shape[0])
    if batch_bytes is None:
        batch_bytes = 2**20 if hasattr(data, "dask") else 32 * 2**20
    frame_bytes = max(1, int(np.prod(data.shape[1:])) * np.dtype(data.dtype).itemsize)
    step = max(1, batch_bytes // frame_bytes)
    los, his, counts = [], [], []
    for i in range(0, T, step):
        block = data[i : i + step]
        # one thread: the threaded scheduler's per-thread malloc arenas keep memory
        block = np.asarray(
            block.compute(scheduler="synchronous") if hasattr(block, "dask") else block
        )
        flat = block.reshape(block.shape[0], block.shape[1], -1) if channels else (
            block.reshape(block.shape[0], -1))
        if kind == "f":
            finite = np.isfinite(flat)
            los.append(np.where(finite, flat, np.inf).min(axis=-1))
            his.append(np.where(finite, flat, -np.inf).max(axis=-1))
            counts.append(finite.sum(axis=-1))
        else:
            los.append(flat.min(axis=-1))
            his.append(flat.max(axis=-1))
            counts.append(np.full(flat.shape[:-1], flat.shape[-1]))
    return np.concatenate(los), np.concatenate(his), np.concatenate(counts)


def read_run_movie(record: dict[str, Any], path: PathLike | None = None) -> Movie:
    """Read the movie of a run as the run read it (axes, units and channel from run.json).

    Parameters
    ----------
    record : dict
        The content of a run folder's ``run.json``.
    path : path-like, optional
        Where the movie is now, if it moved; default the path recorded in the run.

    Raises
    ------
    FileFormatError
        If the record names no movie or the movie is not found.
    """
    inputs = record.get("inputs") or {}
    src = path or inputs.get("movie") or record.get("source")
    if not src:
        raise FileFormatError("run.json names no movie; pass the movie with --movie")
    if not Path(src).exists():
        raise FileFormatError(f"the run's movie {src} is not found; pass it with --movie")
    meta = record.get("movie") or {}
    spacing = meta.get("spacing")
    movie = read_movie(
        src, axes=inputs.get("axes"), spacing=tuple(spacing) if spacing else None,
        frame_interval=meta.get("frame_interval"), series=inputs.get("series"),
    )
    if "C" in movie.axes:
        from ..movie import selected

        movie, _ = selected(movie, channel=(record.get("config") or {}).get("channel"))
    plane = (record.get("config") or {}).get("plane")
    if plane is not None and "Z" in movie.axes:   # the run saw one plane of the stack
        movie = movie.plane(plane)
    frames = (record.get("config") or {}).get("frames")
    if frames:                                    # and only these frames (--frames)
        movie = movie.frames(frames)
        if meta.get("frame_interval"):   # recorded for the selected frames already
            movie = movie.with_metadata(frame_interval=meta["frame_interval"])
    return movie
