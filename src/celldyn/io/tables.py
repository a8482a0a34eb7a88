"""Tables: Parquet (objects, tracks, dynamics), written atomically; CSV tables and a
run folder's ``run.json`` record, read.

pandas + pyarrow do the work; ours is the atomic write and the error for unreadable
files.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..errors import FileFormatError, InputError
from ._atomic import atomic_path
from ._util import PathLike, check_exists

__all__ = ["read_csv", "read_parquet", "read_run_record", "write_parquet"]


def write_parquet(path: PathLike, df: pd.DataFrame, *, overwrite: bool = True) -> None:
    """Write a DataFrame as Parquet (pyarrow engine), atomically.

    Parameters
    ----------
    path : str or path-like
        Output file, e.g. ``objects.parquet``.
    df : DataFrame
        Table to write; the index is kept if it is not a default range index.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    InputError
        If `df` is not a DataFrame.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "objects.parquet")
    >>> write_parquet(f, pd.DataFrame({"t": [0, 1], "label": [3, 7]}))
    >>> read_parquet(f)["label"].tolist()
    [3, 7]
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame; got {type(df).__name__}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        df.to_parquet(tmp, engine="pyarrow")


def read_parquet(path: PathLike) -> pd.DataFrame:
    """Read a Parquet file as a DataFrame.

    Raises
    ------
    FileFormatError
        If the file is missing, empty or not Parquet.
    """
    p = check_exists(path)
    try:
        return pd.read_parquet(p, engine="pyarrow")
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FileFormatError(
            f"{p} is not a readable Parquet file ({first}); write it again"
        ) from None


def read_csv(path: PathLike, *, expected: str = "") -> pd.DataFrame:
    """Read a CSV (or TSV) table with a header row; the separator is detected.

    Parameters
    ----------
    path : str or path-like
    expected : str, optional
        The columns the caller needs, e.g. ``"t,label,class"``; named in errors.

    Raises
    ------
    FileFormatError
        If the file is missing, empty, not text or not a table.
    """
    p = check_exists(path)
    hint = f"; expected a table with a header row ({expected})" if expected else ""
    if p.is_dir():
        raise FileFormatError(f"{p} is a folder, not a CSV file{hint}")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes){hint}")
    try:
        return pd.read_csv(p, sep=None, engine="python")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        first = " ".join(str(err).split())[:120] or type(err).__name__
        raise FileFormatError(f"{p} cannot be read as a CSV table ({first}){hint}") from None


def read_run_record(folder: PathLike, *, required: bool = False) -> dict[str, Any]:
    """Read ``run.json`` of a run folder (written by ``celldyn run``).

    Parameters
    ----------
    folder : str or path-like
        The run folder.
    required : bool
        Raise if ``run.json`` is missing; otherwise return ``{}``.

    Raises
    ------
    FileFormatError
        If ``run.json`` is not a JSON object (damaged), or missing when `required`.
    """
    p = check_exists(folder) / "run.json"
    if not p.is_file():
        if required:
            raise FileFormatError(
                f"{p.parent} has no run.json; pass a results folder from celldyn run"
            )
        return {}
    try:
        record = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        first = " ".join(str(err).split())[:120]
        raise FileFormatError(
            f"{p} is not valid JSON ({first}); the file is damaged: restore it or run "
            "celldyn run again"
        ) from None
    if not isinstance(record, dict):
        raise FileFormatError(
            f"{p} is not a celldyn run record (a JSON object); restore it or run celldyn "
            "run again"
        )
    return record
