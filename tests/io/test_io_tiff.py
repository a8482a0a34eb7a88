"""TIFF, OME-TIFF and ImageJ hyperstack reading and writing (celldyn.io.tiff)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from celldyn.errors import FileFormatError, InputError
from celldyn.io import read_movie, read_tiff, write_tiff
from celldyn.movie import Movie


def _movie(shape=(5, 12, 10), dtype=np.uint16, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000).astype(dtype)


@pytest.mark.parametrize(
    ("axes", "shape", "spacing"),
    [("TYX", (5, 12, 10), (0.5, 0.25)), ("TZYX", (3, 4, 12, 10), (2.0, 0.5, 0.25))],
    ids=["2d", "3d"],
)
def test_ome_tiff_round_trip(tmp_path, axes, shape, spacing):
    data = _movie(shape)
    movie = Movie(data, axes, spacing=spacing, frame_interval=30.0)
    path = tmp_path / "m.ome.tif"
    write_tiff(path, movie)
    back = read_tiff(path)
    assert back.axes == axes
    np.testing.assert_array_equal(back.data, data)
    assert back.data.dtype == np.uint16
    assert back.spacing == pytest.approx(spacing)
    assert back.frame_interval == pytest.approx(30.0)
    assert back.metadata["format"] == "ome"
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_ome_tiff_units_converted(tmp_path):
    data = _movie((5, 8, 8))
    path = tmp_path / "u.ome.tif"
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "TYX",
            "PhysicalSizeX": 300,
            "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 300,
            "PhysicalSizeYUnit": "nm",
            "TimeIncrement": 2,
            "TimeIncrementUnit": "min",
        },
    )
    m = read_tiff(path)
    assert m.spacing == pytest.approx((0.3, 0.3))
    assert m.frame_interval == pytest.approx(120.0)


def _planes_tiff(path, delta_t, unit="s", increment=None):
    meta = {"axes": "TYX", "Plane": {"DeltaT": list(delta_t),
                                     "DeltaTUnit": [unit] * len(delta_t)}}
    if increment is not None:
        meta["TimeIncrement"], meta["TimeIncrementUnit"] = increment, "s"
    tifffile.imwrite(path, np.zeros((len(delta_t), 8, 8), np.uint8), ome=True,
                     metadata=meta)
    return path


def test_frame_interval_from_plane_times(tmp_path, recwarn):
    """Without TimeIncrement (Bio-Formats' export of vendor files), the interval is the
    median step of the planes' DeltaT, the first plane's 0 included; uneven steps are
    warned about; TimeIncrement, where given, wins."""
    even = read_movie(_planes_tiff(tmp_path / "even.ome.tif", [0, 1.5, 3.0, 4.5], "min"))
    assert even.frame_interval == pytest.approx(90.0)
    assert not [w for w in recwarn if "evenly" in str(w.message)]
    with pytest.warns(UserWarning, match="not evenly spaced.*60 to 480 s.*median, 60 s"):
        uneven = read_movie(_planes_tiff(tmp_path / "uneven.ome.tif", [0, 60, 120, 600]))
    assert uneven.frame_interval == pytest.approx(60.0)
    given = read_movie(_planes_tiff(tmp_path / "given.ome.tif", [0, 60, 120, 600],
                                    increment=30.0))
    assert given.frame_interval == pytest.approx(30.0)


def test_ome_tiff_channels_reordered(tmp_path):
    data = _movie((2, 3, 8, 9))  # C T Y X on disk
    path = tmp_path / "c.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CTYX"})
    m = read_tiff(path)
    assert m.axes == "TCYX"
    np.testing.assert_array_equal(m.data, data.transpose(1, 0, 2, 3))
    assert read_movie(path, channel=1).axes == "TYX"


def test_imagej_hyperstack(tmp_path):
    data = _movie((4, 3, 10, 12), dtype=np.uint8)  # T Z Y X
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.4, 1 / 0.4),
        metadata={"axes": "TZYX", "spacing": 1.5, "unit": "um", "finterval": 10.0},
    )
    m = read_tiff(path)
    assert m.axes == "TZYX"
    np.testing.assert_array_equal(m.data, data)
    assert m.spacing == pytest.approx((1.5, 0.4, 0.4))
    assert m.frame_interval == pytest.approx(10.0)
    assert m.metadata["format"] == "imagej"


def test_imagej_micron_unit_and_no_unit(tmp_path):
    data = _movie((3, 8, 8), dtype=np.uint8)
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    tifffile.imwrite(
        a,
        data,
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "TYX", "unit": "micron"},
    )
    tifffile.imwrite(b, data, imagej=True, metadata={"axes": "TYX"})
    assert read_tiff(a).spacing == pytest.approx((0.5, 0.5))
    assert read_tiff(b).spacing is None and read_tiff(b).frame_interval is None


def test_plain_2d_tiff_is_one_frame(tmp_path):
    data = _movie((12, 10))
    path = tmp_path / "p.tif"
    tifffile.imwrite(path, data, metadata=None)
    m = read_tiff(path)
    assert m.axes == "TYX" and m.data.shape == (1, 12, 10)
    assert m.spacing is None and m.frame_interval is None


def test_plain_3d_tiff_is_ambiguous(tmp_path):
    path = tmp_path / "p3.tif"
    tifffile.imwrite(path, _movie((5, 12, 10)), metadata=None)
    with pytest.raises(InputError, match="e.g. --axes TYX"):
        read_tiff(path)
    m = read_tiff(path, axes="ZYX")
    assert m.axes == "TZYX" and m.data.shape == (1, 5, 12, 10)
    assert read_movie(path, axes="TYX", spacing=(0.2, 0.2)).spacing == (0.2, 0.2)


def test_shaped_tiff_axes_trusted(tmp_path):
    path = tmp_path / "s.tif"
    tifffile.imwrite(path, _movie((5, 12, 10)), metadata={"axes": "TYX"})
    assert read_tiff(path).axes == "TYX"


def test_axes_override_wrong_length(tmp_path):
    path = tmp_path / "p3.tif"
    tifffile.imwrite(path, _movie((5, 12, 10)), metadata=None)
    with pytest.raises(InputError, match="3 dimensions"):
        read_tiff(path, axes="TZYX")


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_tiff(tmp_path / "nope.tif")


def test_zero_byte_tiff(tmp_path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty\.tif is empty \(0 bytes\)"):
        read_tiff(path)


@pytest.mark.parametrize("keep", [0.5, 0.01], ids=["data", "header"])
def test_truncated_tiff(tmp_path, keep):
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, _movie((5, 64, 64)), metadata={"axes": "TYX"})
    raw = full.read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(raw[: max(16, int(len(raw) * keep))])
    with pytest.raises(FileFormatError, match=r"cut\.tif .*truncated or corrupt"):
        read_tiff(path)


def test_not_a_tiff(tmp_path):
    path = tmp_path / "text.tif"
    path.write_text("hello, I am not an image")
    with pytest.raises(FileFormatError, match="not a readable TIFF"):
        read_tiff(path)


def test_write_refuses_overwrite(tmp_path):
    path = tmp_path / "m.ome.tif"
    movie = Movie(_movie((2, 4, 4)), "TYX")
    write_tiff(path, movie)
    with pytest.raises(FileExistsError):
        write_tiff(path, movie, overwrite=False)
