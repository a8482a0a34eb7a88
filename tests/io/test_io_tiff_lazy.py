"""Large TIFFs are read lazily; a multi-page TIFF cut in the middle is refused."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

import celldyn.io.tiff as tiff_mod
from celldyn.errors import FileFormatError
from celldyn.io import read_tiff


def test_lazy_read_equals_eager(tmp_path, monkeypatch):
    data = np.random.default_rng(0).integers(0, 999, (12, 16, 20)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "m.ome.tif", data, metadata={"axes": "TYX"})
    eager = read_tiff(tmp_path / "m.ome.tif")
    monkeypatch.setattr(tiff_mod, "LAZY_BYTES", 100)
    lazy = read_tiff(tmp_path / "m.ome.tif")
    assert type(lazy.data).__module__.startswith("dask")
    np.testing.assert_array_equal(np.asarray(lazy.data), eager.data)
    assert lazy.axes == eager.axes == "TYX"


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_truncated_multipage_tiff_is_refused(tmp_path, monkeypatch, lazy):
    """tifffile reads such a file as far as it can and only logs the broken pages:
    without the check the movie would silently lose frames."""
    data = np.random.default_rng(1).integers(0, 999, (20, 64, 64)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "m.ome.tif", data, metadata={"axes": "TYX"})
    raw = (tmp_path / "m.ome.tif").read_bytes()
    (tmp_path / "cut.ome.tif").write_bytes(raw[: len(raw) // 2])
    if lazy:
        monkeypatch.setattr(tiff_mod, "LAZY_BYTES", 100)
    with pytest.raises(FileFormatError, match="cut.ome.tif is truncated or damaged"):
        read_tiff(tmp_path / "cut.ome.tif")
