"""Cell Tracking Challenge (CTC) folders: raw frames, label masks, track tables.

The layout is the CTC's (http://celltrackingchallenge.net): ``tTTT.tif`` raw frames,
``maskTTT.tif`` + ``res_track.txt`` results, ``TRA/man_trackTTT.tif`` +
``TRA/man_track.txt`` and ``SEG/man_segTTT.tif`` ground truth; ``TTT`` has 3 digits, or
4 for movies of 1000 frames or more. tifffile reads and writes the TIFFs; the track
table rules live in :func:`celldyn.track.graph.check_ctc_table`. Ours is the folder
logic: frame numbering, gaps in it, and one error that lists every malformed line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tifffile

from .._tables import CTC_COLUMNS, check_ctc_table
from ..errors import FileFormatError, InputError
from ..movie import Movie
from ._atomic import atomic_path
from ._util import PathLike, as_int32_labels, check_exists, lazy_stack
from .tiff import read_tiff_array

__all__ = [
    "LABEL_PREFIXES",
    "list_frames",
    "read_ctc_gt",
    "read_ctc_movie",
    "read_ctc_result",
    "read_label_folder",
    "read_label_frames",
    "read_track_table",
    "write_ctc_gt",
    "write_ctc_result",
    "write_track_table",
]

LABEL_PREFIXES = ("mask", "man_seg", "man_track")
_N_THREADS = 8


def list_frames(folder: PathLike, prefix: str) -> dict[int, Path]:
    """Map frame index -> file for files named ``{prefix}NNN.tif(f)`` in `folder`.

    Files that do not match (e.g. 3D SEG slices ``man_seg_TTT_ZZZ.tif``) are ignored.

    Raises
    ------
    FileFormatError
        If `folder` is missing or two files have the same frame number.
    """
    p = check_exists(folder)
    if not p.is_dir():
        raise FileFormatError(f"{p} is not a folder")
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)\.tiff?$", re.IGNORECASE)
    frames: dict[int, Path] = {}
    for f in p.iterdir():
        m = pattern.match(f.name)
        if m is None:
            continue
        t = int(m.group(1))
        if t in frames:
            raise FileFormatError(
                f"{p}: {frames[t].name} and {f.name} are both frame {t}; remove one"
            )
        frames[t] = f
    return dict(sorted(frames.items()))


def _select(indices: list[int], frames: slice | Sequence[int] | None) -> list[int]:
    if frames is None:
        return indices
    if isinstance(frames, slice):
        return indices[frames]
    wanted = [int(t) for t in frames]
    missing = sorted(set(wanted) - set(indices))
    if missing:
        raise InputError(f"frames {missing[:10]} do not exist (0..{len(indices) - 1})")
    return wanted


def _check_contiguous(folder: Path, found: Iterable[int], what: str) -> None:
    found = sorted(found)
    if not found:
        return
    missing = sorted(set(range(found[-1] + 1)) - set(found))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (
            " ..." if len(missing) > 10 else ""
        )
        raise FileFormatError(
            f"{folder}: {what} frames {shown} are missing from the sequence 0..{found[-1]}; "
            "CTC folders need one file per frame, numbered from 0"
        )


def _read_many(files: list[Path]) -> list[np.ndarray]:
    if len(files) <= 2:
        return [read_tiff_array(f) for f in files]
    with ThreadPoolExecutor(min(_N_THREADS, len(files))) as pool:
        return list(pool.map(read_tiff_array, files))


def _stack(folder: Path, arrays: list[np.ndarray], names: list[str]) -> np.ndarray:
    shape, dtype = arrays[0].shape, arrays[0].dtype
    for a, n in zip(arrays, names):
        if a.shape != shape:
            raise FileFormatError(
                f"{folder}: {n} has shape {a.shape} but {names[0]} has {shape}; "
                "all frames must have the same shape"
            )
    return np.stack([a.astype(dtype, copy=False) for a in arrays])


def read_ctc_movie(
    folder: PathLike, *, frames: slice | Sequence[int] | None = None,
    lazy: bool | None = False,
) -> Movie:
    """Read a CTC raw-image folder (``t000.tif``, ``t001.tif``, ...) as a Movie.

    Parameters
    ----------
    folder : str or path-like
        Folder holding one ``tNNN.tif`` (or ``tNNNN.tif``) per frame: 2D frames (YX) or
        Z-stacks (ZYX).
    frames : slice or sequence of int, optional
        Read only these frames (e.g. ``slice(0, 3)``), to keep tests and previews fast.
    lazy : bool or None
        A dask array whose frames are read when used (True), numpy (False, default), or
        lazy where the frames hold more than :data:`celldyn.io.tiff.LAZY_BYTES` (None:
        how :func:`celldyn.io.read_movie` reads a user's folder).

    Returns
    -------
    Movie
        ``TYX`` or ``TZYX`` numpy data; spacing and frame interval are None (CTC folders
        carry none: pass them to :func:`celldyn.io.read_movie`).
        ``metadata["frames"]`` lists the frame numbers read.

    Raises
    ------
    FileFormatError
        If the folder has no ``tNNN.tif``, a frame in 0..last is missing, a file is
        unreadable, or frames differ in shape.
    """
    p = check_exists(folder)
    files = list_frames(p, "t")
    if not files:
        raise FileFormatError(f"{p} has no CTC frames named t000.tif, t001.tif, ...")
    _check_contiguous(p, files, "image")
    chosen = _select(list(files), frames)
    if not chosen:
        raise InputError(
            f"frames={frames!r} selects no frame of {p} ({len(files)} frames)"
        )
    from . import tiff

    paths = [files[t] for t in chosen]
    first = read_tiff_array(paths[0])
    if lazy or (lazy is None and first.nbytes * len(paths) > tiff.LAZY_BYTES):
        for f in paths[1:]:   # headers only: a frame of another shape is said now
            shape = tiff.header_shape(f)
            if shape != first.shape:
                raise FileFormatError(f"{p}: {f.name} has shape {shape} but {paths[0].name} "
                                      f"has {first.shape}; all frames must have the same "
                                      "shape")
        data = lazy_stack(paths, read_tiff_array, first.shape, first.dtype, p)
    else:
        data = _stack(p, [first, *_read_many(paths[1:])], [f.name for f in paths])
    if data.ndim == 3:
        axes = "TYX"
    elif data.ndim == 4:
        axes = "TZYX"
    else:
        raise FileFormatError(
            f"{p}: frames have shape {first.shape}; CTC frames must be 2D (YX) or "
            "3D (ZYX) grayscale images"
        )
    return Movie(
        data=data,
        axes=axes,
        name=p.name,
        metadata={"format": "ctc", "frames": chosen},
    )


def _label_prefix(folder: Path, prefix: str | None) -> str:
    if prefix is not None:
        return prefix
    present = [pre for pre in LABEL_PREFIXES if list_frames(folder, pre)]
    if not present:
        raise FileFormatError(
            f"{folder} has no label files named mask000.tif, man_seg000.tif or "
            "man_track000.tif"
        )
    if len(present) > 1:
        raise FileFormatError(
            f"{folder} mixes label files {present}; pass prefix= to choose one"
        )
    return present[0]


def read_label_frames(
    folder: PathLike, prefix: str | None = None
) -> dict[int, np.ndarray]:
    """Read the label frames that exist in a folder, keyed by frame index.

    Use this for CTC SEG ground truth, which covers only some frames.

    Parameters
    ----------
    folder : str or path-like
        Folder with ``maskNNN.tif``, ``man_segNNN.tif`` or ``man_trackNNN.tif``.
    prefix : str, optional
        File name prefix; by default the one of ``mask``, ``man_seg``,
        ``man_track`` present in the folder.

    Returns
    -------
    dict of int to ndarray
        Frame index -> ``([Z,] Y, X)`` int32 labels, sorted by index.

    Raises
    ------
    FileFormatError
        If no label files are found, prefixes are mixed, or a file is unreadable or
        not an integer image.
    """
    p = check_exists(folder)
    pre = _label_prefix(p, prefix)
    files = list_frames(p, pre)
    if not files:
        raise FileFormatError(f"{p} has no files named {pre}000.tif, {pre}001.tif, ...")
    arrays = _read_many(list(files.values()))
    out: dict[int, np.ndarray] = {}
    for (t, f), a in zip(files.items(), arrays):
        try:
            out[t] = as_int32_labels(a, name=f.name, allow_bool=False)
        except InputError as err:
            raise FileFormatError(f"{p}: {err}") from None
    return out


def read_label_folder(folder: PathLike, prefix: str | None = None) -> np.ndarray:
    """Read a folder of label frames (one file per frame) as one array.

    Parameters
    ----------
    folder : str or path-like
        Folder with ``maskNNN.tif``, ``man_segNNN.tif`` or ``man_trackNNN.tif``.
    prefix : str, optional
        As in :func:`read_label_frames`.

    Returns
    -------
    (T, [Z,] Y, X) int32 ndarray

    Raises
    ------
    FileFormatError
        As :func:`read_label_frames`, and if frames in 0..last are missing (use
        :func:`read_label_frames` for partial annotations) or shapes differ.
    """
    p = check_exists(folder)
    frames = read_label_frames(p, prefix)
    _check_contiguous(p, frames, "label")
    return _stack(p, list(frames.values()), [f"frame {t}" for t in frames])


def read_track_table(path: PathLike) -> pd.DataFrame:
    """Read a CTC track table (``man_track.txt`` / ``res_track.txt``).

    Parameters
    ----------
    path : str or path-like
        Text file, one line ``L B E P`` per track (label, first frame, last frame,
        parent label or 0), separated by whitespace.

    Returns
    -------
    DataFrame
        int64 columns ``label, begin, end, parent``.

    Raises
    ------
    FileFormatError
        If the file is missing, has lines that are not 4 integers (all their numbers
        are listed), or breaks a table rule (duplicate labels, unknown parents, ...).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "res_track.txt")
    >>> _ = open(f, "w").write("1 0 4 0\\n2 5 9 1\\n3 5 9 1\\n")
    >>> read_track_table(f)["parent"].tolist()
    [0, 1, 1]
    """
    p = check_exists(path)
    if p.is_dir():
        raise FileFormatError(
            f"{p} is a folder; expected a track table such as man_track.txt"
        )
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise FileFormatError(f"{p} cannot be read as text ({err})") from None
    rows: list[list[int]] = []
    bad: list[int] = []
    for i, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 4:
                raise ValueError
            rows.append([int(x) for x in parts])
        except ValueError:
            bad.append(i)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise FileFormatError(
            f"{p}: {len(bad)} malformed line(s) (line {shown}); each line must be 4 "
            "integers 'label begin end parent'"
        )
    table = pd.DataFrame(rows, columns=CTC_COLUMNS, dtype=np.int64)
    try:
        return check_ctc_table(table)
    except InputError as err:
        raise FileFormatError(f"{p}: {err}") from None


def write_track_table(path: PathLike, table: pd.DataFrame) -> None:
    """Write a CTC track table as ``L B E P`` lines, atomically.

    Raises
    ------
    InputError
        If `table` is not a valid CTC table (see ``check_ctc_table``).
    """
    table = check_ctc_table(table)
    with atomic_path(path) as tmp:
        _write_table(tmp, table)


def _write_table(path: Path, table: pd.DataFrame) -> None:
    lines = [f"{r.label} {r.begin} {r.end} {r.parent}\n" for r in table.itertuples()]
    path.write_text("".join(lines))


def _digits(n_frames: int) -> int:
    return 3 if n_frames < 1000 else 4


def _label_dtype(labels: np.ndarray) -> type:
    return np.uint16 if (labels.size == 0 or int(labels.max()) <= 65535) else np.uint32


def _write_frames(
    folder: Path, prefix: str, frames: Mapping[int, Any], n: int, *, max_label: int | None = None
) -> None:
    """Write ``{prefix}TTT.tif`` for each frame of `frames`, a frame at a time.

    `frames` may be lazy (:class:`_Frames`): a frame is read when it is written, so a
    long movie on disk never has all its frames (or a dask task per frame) in memory.
    The dtype (uint16, or uint32 past 65535) follows `max_label`, or a first pass.
    """
    width = _digits(n)
    times = list(frames)
    if max_label is None:
        max_label = max((int(np.asarray(frames[t]).max(initial=0)) for t in times), default=0)
    dtype = _label_dtype(np.asarray([max_label]))

    def write(t: int) -> None:
        _write_mask(folder / f"{prefix}{t:0{width}d}.tif", frames[t], dtype)

    labels = getattr(frames, "labels", None)
    if hasattr(labels, "dask") and times == list(range(int(labels.shape[0]))):
        # a lazy movie: each chunk of frames written by the task that computes it, on
        # dask's current scheduler (a run's cluster, or threads): one pass, in parallel
        if any(len(c) > 1 for c in labels.chunks[1:]):  # whole frames per task
            labels = labels.rechunk({i: -1 for i in range(1, labels.ndim)})
        labels.map_blocks(_write_block, folder=str(folder), prefix=prefix, width=width,
                          mask_dtype=np.dtype(dtype), drop_axis=list(range(1, labels.ndim)),
                          meta=np.zeros(0, np.int64)).compute()
        return
    # a batch of frames at a time: submitting every frame at once holds a future per
    # frame (30 MB on a 10,000-frame movie)
    with ThreadPoolExecutor(_N_THREADS) as pool:
        for i in range(0, len(times), 64):
            list(pool.map(write, times[i : i + 64]))


def _write_block(block: np.ndarray, *, folder: str, prefix: str, width: int,
                 mask_dtype: Any, block_info: Any = None) -> np.ndarray:
    """Write a chunk of frames of a lazy label movie as ``{prefix}TTT.tif`` files."""
    t0 = block_info[0]["array-location"][0][0]
    for i in range(block.shape[0]):
        _write_mask(Path(folder) / f"{prefix}{t0 + i:0{width}d}.tif", block[i], mask_dtype)
    return np.zeros(block.shape[0], np.int64)


def _write_mask(path: Path, frame: Any, dtype: Any) -> None:
    """One CTC mask file: `frame` as `dtype`, zlib-compressed."""
    tifffile.imwrite(path, np.asarray(frame).astype(dtype), compression="zlib",
                     photometric="minisblack")


class _Frames(Mapping):
    """Frames `times` of a label movie, read on access (numpy, zarr or dask)."""

    def __init__(self, labels: Any, times: Any) -> None:
        self.labels, self.times = labels, list(times)

    def __getitem__(self, t: int) -> Any:
        return self.labels[t]

    def __iter__(self) -> Any:
        return iter(self.times)

    def __len__(self) -> int:
        return len(self.times)


def _check_labels_table(
    labels: Any, table: pd.DataFrame, *, pixels: bool = True
) -> tuple[np.ndarray, pd.DataFrame]:
    if isinstance(labels, np.ndarray) or not hasattr(labels, "dtype"):
        labels = as_int32_labels(labels, name="labels")
    elif not np.issubdtype(labels.dtype, np.integer):  # lazy (dask/zarr): keep it lazy
        raise InputError(f"labels must be integers; got {labels.dtype}")
    if labels.ndim not in (3, 4):
        raise InputError(
            "labels must be an integer array with axes T(Z)YX; got "
            f"{labels.dtype} with shape {labels.shape}"
        )
    table = check_ctc_table(table)
    if not pixels:
        return labels, table
    span = {int(r.label): (int(r.begin), int(r.end)) for r in table.itertuples()}
    problems = []
    for t in range(labels.shape[0]):
        for lab in np.unique(np.asarray(labels[t])):
            lab = int(lab)
            if lab == 0:
                continue
            b, e = span.get(lab, (-1, -2))
            if not b <= t <= e:
                problems.append(f"label {lab} at frame {t}")
                if len(problems) >= 5:
                    break
        if len(problems) >= 5:
            break
    if problems:
        raise InputError(
            "labels and track table disagree: " + ", ".join(problems) + " not covered "
            "by a table row (label, begin <= t <= end)"
        )
    return labels, table


def write_ctc_result(
    folder: PathLike, labels: Any, table: pd.DataFrame, *, overwrite: bool = True,
    check: bool = True,
) -> None:
    """Write a tracking result in CTC result format, atomically.

    Parameters
    ----------
    folder : str or path-like
        Output folder (e.g. ``01_RES``); it is written as a whole to a temporary
        sibling and renamed into place.
    labels : (T, [Z,] Y, X) int array
        Tracked labels; an object's id is its track label.
    table : DataFrame
        ``label, begin, end, parent`` rows, one per track.
    overwrite : bool
        Replace an existing folder.
    check : bool
        Read every frame first to check its objects against the table (the default).
        ``False`` skips that pass (a tenth of the writing time) for labels painted from
        this very table, as a run folder's are; the dtype and shape are still checked.

    Notes
    -----
    Masks are ``maskTTT.tif`` (4 digits for 1000 frames or more), uint16, or uint32
    when an id exceeds 65535, zlib-compressed; the table is ``res_track.txt``.

    Raises
    ------
    InputError
        If `labels` is not an integer T(Z)YX array, the table is invalid, or an object
        lies outside its track's [begin, end] or has no row.
    """
    labels, table = _check_labels_table(labels, table, pixels=check)
    with atomic_path(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        n = labels.shape[0]
        top = int(table["label"].max()) if len(table) else 0  # labels match the table
        _write_frames(tmp, "mask", _Frames(labels, range(n)), n, max_label=top)
        _write_table(tmp / "res_track.txt", table)


def _check_masks_match_table(
    folder: Path, labels: np.ndarray, table: pd.DataFrame, table_name: str, prefix: str
) -> None:
    """The CTC rule: track L is in exactly the frames begin..end of its table row.

    Raises
    ------
    FileFormatError
        Listing the first disagreements both ways, with the files to fix.
    """
    n = labels.shape[0]
    width = _digits(n)
    present = set()
    for t in range(n):
        frame = np.asarray(labels[t])
        present.update((t, int(lab)) for lab in np.unique(frame[frame != 0]))
    expected = {
        (t, int(r.label))
        for r in table.itertuples()
        for t in range(int(r.begin), int(r.end) + 1)
    }
    extra, absent = sorted(present - expected), sorted(expected - present)
    if not extra and not absent:
        return
    problems = []
    if extra:
        t, lab = extra[0]
        problems.append(
            f"{len(extra)} object(s) in the masks have no row covering their frame "
            f"(e.g. label {lab} in {prefix}{t:0{width}d}.tif)"
        )
    if absent:
        t, lab = absent[0]
        where = f"{prefix}{t:0{width}d}.tif" if t < n else f"frame {t} (no such frame)"
        problems.append(
            f"{len(absent)} object(s) listed in the table are not in the masks "
            f"(e.g. label {lab} in {where})"
        )
    raise FileFormatError(
        f"{folder}: the masks and {table_name} disagree: {'; '.join(problems)}; each "
        f"object id needs one line 'label begin end parent' spanning exactly its "
        f"frames: fix {table_name} or the masks"
    )


def read_ctc_result(folder: PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Read a tracking result in CTC result format (``maskTTT.tif`` + ``res_track.txt``).

    Parameters
    ----------
    folder : str or path-like
        A ``NN_RES`` folder, as written by :func:`write_ctc_result`.

    Returns
    -------
    labels : (T, [Z,] Y, X) int32 ndarray
    table : DataFrame
        ``label, begin, end, parent``.

    Raises
    ------
    FileFormatError
        If masks or ``res_track.txt`` are missing or malformed, or disagree (an
        object without a row covering its frame, or a row's label absent from a frame
        in begin..end).
    """
    p = check_exists(folder)
    labels = read_label_folder(p, "mask")
    table = read_track_table(p / "res_track.txt")
    _check_masks_match_table(p, labels, table, "res_track.txt", "mask")
    return labels, table


def write_ctc_gt(
    folder: PathLike,
    labels: Any,
    table: pd.DataFrame,
    seg_frames: Iterable[int] | Mapping[int, Any] | None = None,
    *,
    overwrite: bool = True,
) -> None:
    """Write ground truth in CTC layout (``TRA/`` and ``SEG/``), atomically.

    Parameters
    ----------
    folder : str or path-like
        Output folder (e.g. ``01_GT``).
    labels : (T, [Z,] Y, X) int array
        Tracked labels, written as ``TRA/man_trackTTT.tif``.
    table : DataFrame
        Track table, written as ``TRA/man_track.txt``.
    seg_frames : iterable of int or mapping of int to array, optional
        Frames written to ``SEG/man_segTTT.tif``: indices (their masks are taken from
        `labels`) or a mapping index -> ``([Z,] Y, X)`` mask. Default: every frame.
    overwrite : bool
        Replace an existing folder.

    Raises
    ------
    InputError
        As :func:`write_ctc_result`, and for SEG frames outside the movie or with a
        different shape.
    """
    labels, table = _check_labels_table(labels, table)
    n = labels.shape[0]
    seg: Mapping[int, Any]
    if seg_frames is None:
        seg = _Frames(labels, range(n))
    elif isinstance(seg_frames, Mapping):
        seg = {
            int(t): as_int32_labels(a, name=f"SEG frame {t}")
            for t, a in seg_frames.items()
        }
    else:
        seg = _Frames(labels, sorted({int(t) for t in seg_frames if 0 <= int(t) < n}))
    for t, a in ([] if isinstance(seg, _Frames) else seg.items()):
        if not 0 <= t < n or a.shape != labels.shape[1:]:
            raise InputError(
                f"SEG frame {t} must be in 0..{n - 1} with shape {labels.shape[1:]}; "
                f"got shape {a.shape}"
            )
    with atomic_path(folder, overwrite=overwrite) as tmp:
        (tmp / "TRA").mkdir(parents=True)
        (tmp / "SEG").mkdir()
        top = int(table["label"].max()) if len(table) else 0  # labels match the table
        _write_frames(tmp / "TRA", "man_track", _Frames(labels, range(n)), n, max_label=top)
        _write_table(tmp / "TRA" / "man_track.txt", table)
        if seg:
            if not isinstance(seg, _Frames):
                seg = dict(sorted(seg.items()))
            _write_frames(tmp / "SEG", "man_seg", seg, n)


def read_ctc_gt(
    folder: PathLike,
) -> tuple[np.ndarray, pd.DataFrame, dict[int, np.ndarray]]:
    """Read CTC ground truth: TRA labels, the track table and the SEG frames.

    Parameters
    ----------
    folder : str or path-like
        A ``NN_GT`` folder with ``TRA/`` (required) and ``SEG/`` (optional).

    Returns
    -------
    tra_labels : (T, [Z,] Y, X) int32 ndarray
    table : DataFrame
        ``label, begin, end, parent``.
    seg : dict of int to ndarray
        Frame index -> SEG mask, only for annotated frames (empty without ``SEG/``).

    Raises
    ------
    FileFormatError
        If ``TRA/`` or ``TRA/man_track.txt`` is missing, any file is malformed, or the
        TRA masks and ``man_track.txt`` disagree.
    """
    p = check_exists(folder)
    tra = p / "TRA"
    if not tra.is_dir():
        raise FileFormatError(
            f"{p} has no TRA folder; expected CTC ground truth (NN_GT)"
        )
    labels = read_label_folder(tra, "man_track")
    table = read_track_table(tra / "man_track.txt")
    _check_masks_match_table(tra, labels, table, "man_track.txt", "man_track")
    seg_dir = p / "SEG"
    seg = (
        read_label_frames(seg_dir, "man_seg")
        if seg_dir.is_dir() and list_frames(seg_dir, "man_seg")
        else {}
    )
    return labels, table, seg
