"""Read and write TIFF movies: plain TIFF, OME-TIFF and ImageJ hyperstacks.

tifffile (with imagecodecs for LZW/ZSTD/deflate) does all the decoding and encoding
and tells us the axes of a series. Ours is only the policy: which metadata we trust
for axes (OME, ImageJ, tifffile's own "shaped" description), how physical sizes and the
frame interval are converted to µm and seconds, and the errors: a plain 3D TIFF has no
axes we could trust, so we refuse to guess and ask for ``--axes``.
"""

from __future__ import annotations

import logging
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ..errors import FileFormatError, InputError
from ..movie import _AXES_EXAMPLES, Movie, normalize_axes
from ._atomic import atomic_path
from ._util import PathLike, check_exists, length_to_um, time_to_s

__all__ = ["read_tiff", "read_tiff_array", "write_tiff"]

logger = logging.getLogger(__name__)

_KNOWN = set("TCZYXS")
# errors tifffile/imagecodecs raise on corrupt or truncated files
_READ_ERRORS = (
    tifffile.TiffFileError,
    ValueError,
    OSError,
    EOFError,
    IndexError,
    KeyError,
    RuntimeError,  # imagecodecs' codec errors (DeflateError, LzwError, ...)
    struct.error,  # a header cut short (a file of a few bytes)
)


def _corrupt(path: Any, err: BaseException) -> FileFormatError:
    return FileFormatError(
        f"{path} is not a readable TIFF ({type(err).__name__}: {err}); the file may be "
        "truncated or corrupt: copy or export it again"
    )


def read_tiff_array(path: PathLike) -> np.ndarray:
    """Read the first series of a TIFF file as a numpy array, without metadata.

    Used for CTC frames and label images, whose axes are known from the layout.

    Raises
    ------
    FileFormatError
        If the file is missing, empty, truncated or corrupt.
    """
    p = check_exists(path)
    if p.is_file() and p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes); copy or export it again")
    try:
        with tifffile.TiffFile(p) as tif:
            return tif.series[0].asarray()
    except _READ_ERRORS as err:
        raise _corrupt(p, err) from None


def _ome_metadata(xml: str, image: int = 0) -> dict[str, Any]:
    """Physical sizes (µm) and time increment (s) of the `image`-th OME ``Image`` (its
    ``Pixels``) from OME-XML; missing keys omitted."""
    out: dict[str, Any] = {}
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return out
    every = [el for el in root.iter() if el.tag.endswith("}Pixels") or el.tag == "Pixels"]
    pixels = every[image] if image < len(every) else None
    if pixels is None:
        return out
    for ax in "XYZ":
        v = length_to_um(
            pixels.get(f"PhysicalSize{ax}"), pixels.get(f"PhysicalSize{ax}Unit")
        )
        if v is not None:
            out[ax] = v
    dt = time_to_s(pixels.get("TimeIncrement"), pixels.get("TimeIncrementUnit"))
    if dt is None:   # many exports (Bio-Formats from .nd2, .czi) give each plane's time only
        dt = _plane_interval(pixels)
    if dt is not None:
        out["T"] = dt
    return out


IRREGULAR = 1.25
"""Frames whose time steps (OME ``Plane DeltaT``) differ by more than this factor are
said to be unevenly spaced, with a warning."""


def _plane_interval(pixels: Any) -> float | None:
    """The frame interval (s) from the OME ``Plane`` elements' ``DeltaT`` (the time of
    each plane since the acquisition started) of one channel and z-plane: the median step
    between consecutive time points; a warning where the steps are uneven (a pause, a
    slower phase of the acquisition). None without two time points."""
    times: dict[int, float] = {}
    for el in pixels:
        if not (el.tag.endswith("}Plane") or el.tag == "Plane"):
            continue
        if int(el.get("TheC", 0)) or int(el.get("TheZ", 0)):
            continue
        raw = el.get("DeltaT")
        try:   # the first plane's time is 0, which is no duration to convert
            t = 0.0 if raw is not None and float(raw) == 0 else time_to_s(
                raw, el.get("DeltaTUnit") or "s")
        except ValueError:
            t = None
        if t is not None:
            times.setdefault(int(el.get("TheT", 0)), t)
    if len(times) < 2:
        return None
    order = sorted(times)
    steps = np.diff([times[k] for k in order]) / np.maximum(np.diff(order), 1)
    steps = steps[steps > 0]
    if not steps.size:
        return None
    median = float(np.median(steps))
    if steps.max() > IRREGULAR * steps.min():
        import warnings

        warnings.warn(
            f"the frames are not evenly spaced in time (steps of {steps.min():.3g} to "
            f"{steps.max():.3g} s in the file's plane times); celldyn takes their median, "
            f"{median:.3g} s, as the frame interval, so speeds and durations across the "
            "uneven steps are approximate", stacklevel=2)
    return median


def _imagej_metadata(tif: tifffile.TiffFile) -> dict[str, Any]:
    """Physical sizes (µm) and frame interval (s) from ImageJ metadata and tags."""
    out: dict[str, Any] = {}
    ij = tif.imagej_metadata or {}
    unit = ij.get("unit")
    if unit is not None and str(unit).lower() not in ("pixel", "pixels", ""):
        page = tif.pages.first
        for ax, tag in (("X", "XResolution"), ("Y", "YResolution")):
            t = page.tags.get(tag)
            if t is None:
                continue
            num, den = t.value
            if num:
                v = length_to_um(den / num, str(unit))
                if v is not None:
                    out[ax] = v
        z = length_to_um(ij.get("spacing"), str(unit))
        if z is not None:
            out["Z"] = z
    dt = time_to_s(ij.get("finterval"), ij.get("tunit") or "s")
    if dt is not None:
        out["T"] = dt
    return out


def _trusted_axes(tif: tifffile.TiffFile, series: Any) -> str | None:
    """Axes of `series` if the file's metadata states them, else None."""
    axes = str(series.axes).upper()
    if set(axes) - _KNOWN:
        return None
    if tif.is_ome or tif.is_imagej:
        return axes
    if tif.is_shaped and any("axes" in (m or {}) for m in (tif.shaped_metadata or ())):
        return axes
    if series.ndim == 2:
        return "YX"
    page = tif.pages.first
    if (
        series.ndim == 3
        and axes == "YXS"
        and page.photometric == tifffile.PHOTOMETRIC.RGB
    ):
        return axes
    return None


class _TiffDamage(logging.Filter):
    """Collects tifffile's log messages about unreadable pages while a file is read.

    tifffile reads a truncated multi-page file as far as it can and only logs the
    broken page offsets; without this the movie would silently lose frames. The
    collected messages become our one error, so they are kept from tifffile's log
    (which, with no logging configured, would print extra lines on stderr).
    """

    _SIGNS = ("invalid page offset", "invalid value offset", "TiffFileError", "truncat")

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self._logger = logging.getLogger("tifffile")
        self._logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING and any(s in msg for s in self._SIGNS):
            self.messages.append(msg.strip().splitlines()[0][:120])
            return False
        return True

    def close(self) -> None:
        self._logger.removeFilter(self)


def header_shape(path: PathLike) -> tuple[int, ...]:
    """The shape of a TIFF's first series from its header (no pixel is read)."""
    p = Path(path)
    try:
        with tifffile.TiffFile(p) as tif:
            return tuple(int(n) for n in tif.series[0].shape)
    except _READ_ERRORS as err:
        raise _corrupt(p, err) from None


LAZY_BYTES = 256 * 2**20
"""Series larger than this are read lazily, a chunk at a time (dask over tifffile's
zarr view), so memory does not grow with the length of the movie."""


def _lazy_series(p: Path, index: int = 0) -> Any:
    import dask.array as da
    import zarr

    store = tifffile.imread(p, aszarr=True, series=index)
    data = da.from_zarr(zarr.open(store, mode="r"))
    np.asarray(data[-1])  # touch the last plane now: a truncated file fails here
    return data


def _series_count(p: Path) -> int:
    """How many image series the TIFF `p` holds, from its pages' headers and metadata
    (tifffile's ``TiffFile.series``); no pixel data is read.

    Raises
    ------
    FileFormatError
        As :func:`read_tiff`: a folder, an empty, truncated or corrupt file.
    """
    if p.is_dir():
        raise FileFormatError(f"{p} is a folder, not a TIFF file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes); copy or export it again")
    try:
        with tifffile.TiffFile(p) as tif:
            return len(tif.series)
    except _READ_ERRORS as err:
        raise _corrupt(p, err) from None


def _axes_example(shape: tuple[int, ...]) -> str:
    """An --axes example for an ambiguous `shape`: colour samples last (3 or 4) read as
    an RGB(A) movie or stack, else the usual order for its number of dimensions."""
    if len(shape) in (3, 4) and shape[-1] in (3, 4) and min(shape[-3:-1]) > 4:
        return ("TYXS (a colour movie; ZYXS for a colour z-stack)" if len(shape) == 4
                else "YXS (one colour image)")
    return _AXES_EXAMPLES.get(len(shape), "TYX")


def read_tiff(path: PathLike, *, axes: str | None = None, series: int | None = None
              ) -> Movie:
    """Read a TIFF, OME-TIFF or ImageJ hyperstack as a :class:`~celldyn.movie.Movie`.

    Parameters
    ----------
    path : str or path-like
        The ``.tif`` / ``.tiff`` / ``.ome.tif`` file.
    axes : str, optional
        Axes of the stored array, one letter per dimension from ``TCZYX`` (e.g.
        ``"TYX"``). Overrides the file's metadata. Required for plain 3D+ TIFFs,
        whose axes are ambiguous (TYX or ZYX).
    series : int, optional
        Which image series of a multi-series file to read (e.g. one stage position of
        a multi-position OME-TIFF), from 0. Default: the first.

    Returns
    -------
    Movie
        Data in canonical T[C][Z]YX order (numpy array); ``spacing`` in µm from OME
        ``PhysicalSize*`` or ImageJ resolution/``spacing``/``unit``; ``frame_interval``
        in s from OME ``TimeIncrement`` or ImageJ ``finterval``. Unknown values are
        None. A 2D image is one frame (``TYX`` with T = 1).

    Raises
    ------
    FileFormatError
        If the file is missing, empty, truncated or corrupt.
    InputError
        If the axes are unknown (plain TIFF with 3 or more dimensions) and `axes` is
        not given, or `axes` does not match the data.

    Notes
    -----
    Axes come from OME-XML, ImageJ metadata or tifffile's "shaped" description
    (written by ``tifffile.imwrite(..., metadata={"axes": ...})``). tifffile letters
    outside ``TCZYXS`` (``Q``, ``I``, ...) count as unknown. One series of a
    multi-series file is read (`series`); ``metadata["n_series"]`` says how many it
    holds.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> m = Movie(np.zeros((2, 4, 5), np.uint8), "TYX", spacing=(0.5, 0.5))
    >>> write_tiff(os.path.join(d, "m.ome.tif"), m)
    >>> r = read_tiff(os.path.join(d, "m.ome.tif"))
    >>> r.axes, r.data.shape, r.spacing
    ('TYX', (2, 4, 5), (0.5, 0.5))
    """
    p = check_exists(path)
    if p.is_dir():
        raise FileFormatError(f"{p} is a folder, not a TIFF file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes); copy or export it again")
    damage = _TiffDamage()
    try:
        with tifffile.TiffFile(p) as tif:
            n_series = len(tif.series)
            index = 0 if series is None else int(series)
            if not 0 <= index < n_series:
                held = (f"{n_series} image series (0-{n_series - 1})" if n_series > 1
                        else "one image series (0)")
                raise InputError(f"{p.name} holds {held}; --series {index} is not one "
                                 "of them")
            series = tif.series[index]
            found = _trusted_axes(tif, series)
            shape = tuple(series.shape)
            if tif.is_ome:
                phys = _ome_metadata(tif.ome_metadata or "", index)
            elif tif.is_imagej:
                phys = _imagej_metadata(tif)
            else:
                phys = {}
            kind = "ome" if tif.is_ome else "imagej" if tif.is_imagej else "tiff"
            if axes is None and found is None:
                data = None
            elif series.nbytes > LAZY_BYTES:
                data = _lazy_series(p, index)
            else:
                data = series.asarray()
    except InputError:   # a series that is not there: the user's, not the file's fault
        raise
    except _READ_ERRORS as err:
        raise _corrupt(p, err) from None
    finally:
        damage.close()
    if damage.messages:
        raise FileFormatError(
            f"{p.name} is truncated or damaged ({damage.messages[0]}); some frames "
            "cannot be read: export the movie again or copy the file again"
        )
    if axes is None:
        if found is None:
            raise InputError(
                f"{p.name} has no axes metadata and shape {shape} is ambiguous; pass "
                f"--axes with one letter per dimension, e.g. --axes {_axes_example(shape)}"
            )
        axes = found
    data, canon = normalize_axes(data, axes)
    spatial = canon.replace("T", "").replace("C", "")
    sizes = [phys.get(a) for a in spatial]
    spacing = tuple(sizes) if all(s is not None for s in sizes) else None
    if spacing is None and any(s is not None for s in sizes):
        logger.info(
            "%s: partial physical sizes %s ignored", p.name, dict(zip(spatial, sizes))
        )
    return Movie(
        data=data,
        axes=canon,
        spacing=spacing,  # type: ignore[arg-type]
        frame_interval=phys.get("T"),
        name=p.name,
        metadata={"format": kind, "source_axes": axes, "n_series": n_series,
                  "series": index},
    )


def write_tiff(
    path: PathLike,
    movie: Movie,
    *,
    compression: str | None = "zlib",
    overwrite: bool = True,
) -> None:
    """Write a movie as OME-TIFF with axes, physical sizes and frame interval.

    Parameters
    ----------
    path : str or path-like
        Output file, conventionally ``*.ome.tif``. Written atomically.
    movie : Movie
        Movie to write; dask data is computed.
    compression : str or None
        tifffile compression (``"zlib"``, ``"lzw"``, ``"zstd"``, None).
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False.
    """
    data = np.asarray(movie.data)
    meta: dict[str, Any] = {"axes": movie.axes}
    if movie.spacing is not None:
        for ax, s in zip(movie.spatial_axes, movie.spacing):
            meta[f"PhysicalSize{ax}"] = float(s)
            meta[f"PhysicalSize{ax}Unit"] = "µm"
    if movie.frame_interval is not None:
        meta["TimeIncrement"] = float(movie.frame_interval)
        meta["TimeIncrementUnit"] = "s"
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(
            tmp,
            data,
            ome=True,
            photometric="minisblack",
            metadata=meta,
            compression=compression,
        )
