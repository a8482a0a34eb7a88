"""Parquet tables (objects, tracks, dynamics), written atomically.

pandas + pyarrow do the work; ours is the atomic write and the error for unreadable
files.
"""

from __future__ import annotations

import pandas as pd

from ..errors import FileFormatError, InputError
from ._atomic import atomic_path
from ._util import PathLike, check_exists

__all__ = ["read_parquet", "write_parquet"]


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
