"""Small helpers shared by the readers and writers: paths, units, label dtypes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, InputError

__all__ = [
    "as_int32_labels",
    "check_exists",
    "lazy_stack",
    "length_to_um",
    "time_to_s",
]

PathLike = str | os.PathLike[str]

# factors to micrometres; keys are lower case
_LENGTH_UM = {
    "pm": 1e-6,
    "picometer": 1e-6,
    "å": 1e-4,
    "angstrom": 1e-4,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "nanometre": 1e-3,
    "µm": 1.0,
    "μm": 1.0,  # greek mu
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "\\u00b5m": 1.0,  # as ImageJ writes it in descriptions
    "mm": 1e3,
    "millimeter": 1e3,
    "millimetre": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "metre": 1e6,
}

# factors to seconds
_TIME_S = {
    "ns": 1e-9,
    "nanosecond": 1e-9,
    "µs": 1e-6,
    "μs": 1e-6,
    "us": 1e-6,
    "microsecond": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "millisecond": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def check_exists(path: PathLike) -> Path:
    """Return `path` as a Path; raise FileFormatError if it does not exist."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p} does not exist; check the path")
    return p


def _convert(value: Any, unit: str | None, factors: dict[str, float], default: str) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v) or v <= 0:
        return None
    factor = factors.get((unit or default).strip().lower())
    return None if factor is None else v * factor


def length_to_um(value: Any, unit: str | None) -> float | None:
    """Convert a length in `unit` (default µm) to µm; None if unknown or invalid."""
    return _convert(value, unit, _LENGTH_UM, "µm")


def time_to_s(value: Any, unit: str | None) -> float | None:
    """Convert a duration in `unit` (default s) to seconds; None if unknown or invalid."""
    return _convert(value, unit, _TIME_S, "s")


def as_int32_labels(array: Any, *, name: str, allow_bool: bool = True) -> np.ndarray:
    """Return `array` as an int32 numpy array of labels.

    Readers pass ``allow_bool=False``: a boolean mask read from a file would make all
    objects of a frame one object.

    Raises
    ------
    InputError
        If `array` is not integer (or bool, when allowed), has negative values or ids
        above 2**31 - 1.
    """
    arr = np.asarray(array)
    if arr.dtype == bool:
        if not allow_bool:
            raise InputError(
                f"labels in {name} are a boolean mask, not a label image (every object "
                "would be one); label the objects first (skimage.measure.label) and save "
                "them as uint16 or int32"
            )
        return arr.astype(np.int32)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"labels in {name} must be integers (0 = background); got {arr.dtype}. "
            "Convert them to an integer label image first"
        )
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        fix = ("relabel them with ids 1, 2, ... (skimage.segmentation.relabel_sequential) "
               "and save as uint16 or int32")
        if lo < 0:
            raise InputError(
                f"labels in {name} must be >= 0 (0 = background); got minimum {lo}; {fix}"
            )
        if hi > np.iinfo(np.int32).max:
            raise InputError(
                f"labels in {name} must be below 2**31 (int32); got maximum {hi}; {fix}"
            )
    return arr.astype(np.int32, copy=False)


def lazy_stack(files: list[Path], read: Any, shape: tuple[int, ...], dtype: Any,
               folder: Path) -> Any:
    """A dask array of one file per frame (`read(path)` each), read only when computed:
    a folder of frames larger than memory streams like a large TIFF. Every file's
    shape must be `shape` (checked from the headers before, by the caller, and again
    when a frame is read: a file replaced since gives one line, not wrong data)."""
    import dask.array as da
    from dask import delayed

    def one(path: Path) -> np.ndarray:
        arr = np.asarray(read(path))
        if arr.shape != tuple(shape):
            raise FileFormatError(f"{folder}: {path.name} has shape {arr.shape} but the "
                                  f"first frame has {tuple(shape)}; all frames must have "
                                  "the same shape")
        return arr.astype(dtype, copy=False)

    return da.stack([da.from_delayed(delayed(one, pure=True)(f), shape=tuple(shape),
                                     dtype=dtype) for f in files])
