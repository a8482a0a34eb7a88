"""Parquet tables (celldyn.io.tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from celldyn.errors import FileFormatError, InputError
from celldyn.io import read_parquet, write_parquet


def test_parquet_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "t": [0, 0, 1],
            "label": [1, 2, 1],
            "area": [10.5, 3.0, 11.0],
            "class": ["a", "b", "a"],
        }
    )
    path = tmp_path / "objects.parquet"
    write_parquet(path, df)
    pd.testing.assert_frame_equal(read_parquet(path), df)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_parquet_errors(tmp_path):
    with pytest.raises(InputError, match="DataFrame"):
        write_parquet(tmp_path / "x.parquet", [1, 2])
    with pytest.raises(FileFormatError, match="does not exist"):
        read_parquet(tmp_path / "none.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(FileFormatError, match="not a readable Parquet"):
        read_parquet(bad)
