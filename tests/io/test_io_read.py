"""Dispatching readers (read_movie, read_labels) and validate_movie."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile

from celldyn.errors import FileFormatError, InputError
from celldyn.io import read_labels, read_movie, validate_movie, write_tiff
from celldyn.movie import Movie


def test_overrides_win_over_metadata(tmp_path):
    path = tmp_path / "m.ome.tif"
    write_tiff(
        path,
        Movie(
            np.zeros((2, 4, 4), np.uint8), "TYX", spacing=(1.0, 1.0), frame_interval=5.0
        ),
    )
    m = read_movie(path, spacing=(0.3, 0.2), frame_interval=7)
    assert m.spacing == (0.3, 0.2) and m.frame_interval == 7.0
    m = read_movie(path)
    assert m.spacing == (1.0, 1.0) and m.frame_interval == 5.0
    assert read_movie(path, spacing=(0.4,)).spacing == (0.4, 0.4)  # isotropic
    with pytest.raises(InputError, match="spacing must be 2"):
        read_movie(path, spacing=(1.0, 1.0, 1.0))


def test_dispatch_errors(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_movie(tmp_path / "missing.tif")
    (tmp_path / "a.bmp").write_bytes(b"x")
    with pytest.raises(FileFormatError, match="unsupported type"):
        read_movie(tmp_path / "a.bmp")
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(FileFormatError, match="a.png cannot be read as PNG"):
        read_movie(tmp_path / "a.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileFormatError, match="neither an OME-Zarr, a CTC folder"):
        read_movie(tmp_path / "empty")


def test_ctc_axes_must_agree(tmp_path):
    for t in range(2):
        tifffile.imwrite(tmp_path / f"t{t:03d}.tif", np.zeros((4, 4), np.uint8))
    assert read_movie(tmp_path, axes="TYX").axes == "TYX"
    with pytest.raises(InputError, match="do not match the CTC frames"):
        read_movie(tmp_path, axes="TZYX")


def test_read_labels_tiff(tmp_path):
    labels = np.zeros((3, 5, 6), np.uint16)
    labels[1, 1:3, 1:3] = 4
    tifffile.imwrite(tmp_path / "l.tif", labels, metadata={"axes": "TYX"})
    out = read_labels(tmp_path / "l.tif")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, labels)
    tifffile.imwrite(
        tmp_path / "plain.tif", labels, metadata=None, photometric="minisblack"
    )
    np.testing.assert_array_equal(read_labels(tmp_path / "plain.tif"), labels)  # T(Z)YX
    assert read_labels(tmp_path / "plain.tif", axes="ZYX").shape == (1, 3, 5, 6)
    tifffile.imwrite(
        tmp_path / "f.tif", labels.astype(np.float32), metadata={"axes": "TYX"}
    )
    with pytest.raises(InputError, match="must be integers"):
        read_labels(tmp_path / "f.tif")


def test_validate_movie():
    data = np.random.default_rng(0).random((4, 5, 5)).astype(np.float32)
    assert validate_movie(Movie(data, "TYX")) == []
    data[1] = 3.0
    data[2, 0, 0] = np.nan
    warns = validate_movie(Movie(da.from_array(data, chunks=(1, 5, 5)), "TYX"))
    assert any("[1]" in w and "constant" in w for w in warns)
    assert any("[2]" in w and "NaN" in w for w in warns)
    data[3] = np.inf
    with pytest.raises(InputError, match="frame 3"):
        validate_movie(Movie(data, "TYX", name="m.tif"))
    with pytest.raises(InputError, match="empty"):
        validate_movie(Movie(np.zeros((0, 4, 4)), "TYX"))
    with pytest.raises(InputError, match="complex"):
        validate_movie(Movie(np.zeros((2, 4, 4), np.complex64), "TYX"))


def test_validate_movie_channels():
    data = np.ones((2, 2, 4, 4), np.float32)
    data[1, 1] = np.nan
    with pytest.raises(InputError, match="frame 1, channel 1"):
        validate_movie(Movie(data, "TCYX"))
