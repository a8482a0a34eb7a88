"""Movies as a folder of image files, one per frame, and single PNG / JPEG images.

Microscopes and image viewers often export a time-lapse as one file per time point
(``frame_001.png``, ``img_000000012_GFP_000.tif``, ...). Such a folder is read as a
movie in the order of the number that changes from file name to file name (natural
order: ``f2`` before ``f10``). Names that differ in more than one number (time *and*
channel, position or z-plane, as a multi-dimensional acquisition writes them) are
refused with a one-line error rather than interleaved into one wrong movie. Frames are
2D (YX) or colour images (YX plus 3 or 4 colour samples, read as an RGB movie); z-stacks
per time point need CTC names (``t000.tif``), which :mod:`celldyn.io.ctc` reads.

Ours: the file-name ordering and its checks. tifffile reads the TIFF files and imageio
(a scikit-image dependency) the PNG and JPEG files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InputError
from ..movie import Movie, normalize_axes
from ._util import PathLike, check_exists, lazy_stack

__all__ = ["IMAGE_SUFFIXES", "PLAIN_SUFFIXES", "frame_files", "read_frame_folder",
           "read_image_array", "read_image_file", "read_numbered_labels"]

PLAIN_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_SUFFIXES = PLAIN_SUFFIXES + (".tif", ".tiff")
_NUMBER = re.compile(r"\d+")


def _kind(path: Path) -> str:
    s = path.suffix.lower()
    return "TIFF" if s in (".tif", ".tiff") else "JPEG" if s in (".jpg", ".jpeg") else "PNG"


def _unreadable(path: Path, err: Exception) -> FileFormatError:
    return FileFormatError(f"{path.name} cannot be read as {_kind(path)} "
                           f"({type(err).__name__}: {str(err)[:80]})")


def _read(path: Path) -> np.ndarray:
    try:
        if _kind(path) == "TIFF":
            import tifffile

            return np.asarray(tifffile.imread(path))
        import imageio.v3 as iio

        return np.asarray(iio.imread(path))
    except Exception as err:  # noqa: BLE001 - any reader failure means a bad file
        raise _unreadable(path, err) from None


def read_image_array(path: PathLike) -> np.ndarray:
    """One image file (TIFF, PNG or JPEG) as an array, without metadata: a TIFF through
    :func:`celldyn.io.tiff.read_tiff_array` (its one-line messages for empty, truncated
    or corrupt files), other files through imageio."""
    p = Path(path)
    if _kind(p) == "TIFF":
        from .tiff import read_tiff_array

        return read_tiff_array(p)
    return _read(p)


def _frame_axes(arr: np.ndarray, name: str) -> str:
    """Axes of one frame: YX, or YXS for a colour image."""
    if arr.ndim == 2:
        return "YX"
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        return "YXS"
    raise InputError(
        f"{name} has shape {tuple(arr.shape)}: each file of a frame folder must be one 2D "
        "frame (or a colour image); for a z-stack per time point name the files t000.tif, "
        "t001.tif, ... (CTC), for a whole movie in one file pass the file"
    )


def read_image_file(path: PathLike, *, axes: str | None = None) -> Movie:
    """One PNG or JPEG image as a one-frame movie (a colour image keeps its channels).

    >>> import tempfile, os, imageio.v3 as iio
    >>> f = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> iio.imwrite(f, np.zeros((8, 12, 3), np.uint8))
    >>> m = read_image_file(f)
    >>> m.axes, m.data.shape, m.is_rgb
    ('TCYX', (1, 3, 8, 12), True)
    """
    p = check_exists(path)
    arr = _read(p)
    src = axes or _frame_axes(arr, p.name)
    data, canon = normalize_axes(arr, src)
    return Movie(data, canon, name=p.name,
                 metadata={"format": _kind(p), "source_axes": src})


def frame_files(folder: PathLike) -> list[Path]:
    """The image files of `folder` in frame order (see the module docstring).

    >>> names = ["f10.png", "f2.png", "f1.png"]
    >>> sorted(names, key=_order_key)
    ['f1.png', 'f2.png', 'f10.png']

    Raises
    ------
    FileFormatError
        No image file, or files of several kinds (e.g. PNG and TIFF).
    InputError
        Names that differ in more than one number.
    """
    p = check_exists(folder)
    files = [f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
             and f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise FileFormatError(
            f"{p} is a folder but neither an OME-Zarr, a CTC folder of t000.tif frames nor "
            "a folder of image files (one .tif, .png or .jpg per frame)"
        )
    kinds = sorted({_kind(f) for f in files})
    if len(kinds) > 1:
        raise FileFormatError(
            f"{p} holds {' and '.join(kinds)} files; a frame folder holds one kind, one "
            "file per frame"
        )
    numbers = [_NUMBER.findall(f.stem) for f in files]
    varying = ([i for i in range(len(numbers[0])) if len({n[i] for n in numbers}) > 1]
               if len({len(n) for n in numbers}) == 1 else None)
    if varying is None or len(varying) > 1:
        names = sorted(f.name for f in files)
        how = ("follow no one pattern (some hold more numbers than others)"
               if varying is None else "differ in more than one number")
        raise InputError(
            f"the file names in {p} {how} ({names[0]} ... {names[-1]}): channels, "
            "positions or z-planes as well as time? Put one file per time point of one "
            "channel and one position in a folder"
        )
    if varying:
        return sorted(files, key=lambda f: int(_NUMBER.findall(f.stem)[varying[0]]))
    return sorted(files, key=lambda f: _order_key(f.name))


def _order_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _header_shape(path: Path) -> tuple[int, ...]:
    """A frame file's shape from its header (TIFF: tifffile; PNG / JPEG: imageio)."""
    if _kind(path) == "TIFF":
        from .tiff import header_shape

        return header_shape(path)
    try:
        import imageio.v3 as iio

        return tuple(int(n) for n in iio.improps(path).shape)
    except Exception as err:  # noqa: BLE001 - any reader failure means a bad file
        raise _unreadable(path, err) from None


def read_frame_folder(folder: PathLike, *, axes: str | None = None,
                      lazy: bool | None = None) -> Movie:
    """A folder of image files, one per frame, as a movie (``TYX``, or ``TCYX`` for
    colour frames); ``metadata["frames"]`` lists the files in frame order. `lazy`: a
    dask array whose frames are read when used (True), numpy (False), or lazy where
    the frames hold more than :data:`celldyn.io.tiff.LAZY_BYTES` (None, the default).

    Raises
    ------
    FileFormatError, InputError
        As :func:`frame_files`; a file that cannot be read; frames of different shapes;
        `axes` that do not match the frames.
    """
    p = check_exists(folder)
    files = frame_files(p)
    first = _read(files[0])
    src = "T" + _frame_axes(first, files[0].name)
    from .tiff import LAZY_BYTES

    stream = lazy or (lazy is None and first.nbytes * len(files) > LAZY_BYTES)
    arrays = [first]
    for f in files[1:]:
        arr = _header_shape(f) if stream else _read(f)
        shape = tuple(arr if stream else arr.shape)
        if shape != first.shape:
            raise FileFormatError(
                f"{f.name} has shape {shape} but {files[0].name} "
                f"{tuple(first.shape)}: the frames of one movie must have one shape"
            )
        if not stream:
            arrays.append(arr)
    if axes is not None and sorted(axes.upper().replace("S", "C")) != sorted(
            src.replace("S", "C")):
        raise InputError(
            f"axes {axes!r} do not match the frames of {p}, which are {src}; omit --axes"
        )
    stack = (lazy_stack(files, _read, first.shape, first.dtype, p) if stream
             else np.stack(arrays))
    data, canon = normalize_axes(stack, src)
    return Movie(data, canon, name=p.name,
                 metadata={"format": f"{_kind(files[0])} frame folder", "source_axes": src,
                           "frames": [f.name for f in files]})


def read_numbered_labels(folder: PathLike) -> dict[int, np.ndarray]:
    """The integer label images of `folder`, keyed by the frame number in their names.

    The files are those of :func:`frame_files`; the number that differs between their
    names is the frame index (``mask_000.png``, ``mask_005.png``: frames 0 and 5), so
    the frames may be sparse. A single file takes the first number in its name. Used
    for ground truth drawn on some frames only.

    >>> import tempfile, os, imageio.v3 as iio
    >>> d = tempfile.mkdtemp()
    >>> for t in (0, 5):
    ...     iio.imwrite(os.path.join(d, f"mask_{t:03d}.png"), np.full((4, 6), t, np.uint16))
    >>> labels = read_numbered_labels(d)
    >>> sorted(labels), labels[5].dtype, labels[5].shape
    ([0, 5], dtype('int32'), (4, 6))

    Raises
    ------
    FileFormatError
        As :func:`frame_files`; a file that cannot be read.
    InputError
        As :func:`frame_files`; names with no frame number (or none that differs
        between files); a file that is not an integer image of one channel.
    """
    p = Path(folder)
    files = frame_files(p)
    numbers = [_NUMBER.findall(f.stem) for f in files]
    varying = [i for i in range(len(numbers[0])) if len({n[i] for n in numbers}) > 1]
    if len(files) > 1 and not varying:
        raise InputError(f"the label images in {p} carry no frame number that differs "
                         "between them; name them by frame (mask_000.png, mask_005.png)")
    if len(files) == 1 and not numbers[0]:
        raise InputError(f"the label image in {p} carries no frame number; name it by "
                         "its frame (e.g. mask_005.png)")
    i = varying[0] if varying else 0
    labels = {}
    for f, n in zip(files, numbers):
        mask = _read(f)
        if mask.dtype.kind not in "iu" or (mask.ndim == 3 and mask.shape[-1] in (3, 4)):
            raise InputError(f"{f.name} is not an integer label image (0 = background, "
                             "one id per object)")
        labels[int(n[i])] = mask.astype(np.int32)
    return labels
