"""OME-Zarr: tracked label movies written for napari, images and labels read back."""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import pytest
import zarr

from celldyn.errors import FileFormatError
from celldyn.io import (
    read_labels,
    read_labels_ome_zarr,
    read_movie,
    read_ome_zarr,
    write_labels_ome_zarr,
)


def _labels(shape):
    labels = np.zeros(shape, np.int32)
    labels[1, ..., 2:5, 3:6] = 7
    labels[2, ..., 0:2, 0:2] = 70000
    return labels


@pytest.mark.parametrize("shape", [(3, 16, 20), (3, 4, 16, 20)], ids=["2d", "3d"])
def test_labels_round_trip(tmp_path, shape):
    labels = _labels(shape)
    spacing = (0.5,) * (len(shape) - 1)
    path = tmp_path / "labels.ome.zarr"
    write_labels_ome_zarr(path, labels, spacing=spacing, frame_interval=60.0)
    back = read_labels_ome_zarr(path)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, labels)
    np.testing.assert_array_equal(read_labels(path), labels)
    # one frame per chunk, empty frame 0 stored too
    arr = zarr.open_group(str(path), mode="r")["s0"]
    assert arr.chunks == (1, *shape[1:])
    assert arr.nchunks_initialized == shape[0]
    m = read_ome_zarr(path)
    assert m.axes == ("TYX" if len(shape) == 3 else "TZYX")
    assert m.spacing == pytest.approx(spacing) and m.frame_interval == pytest.approx(
        60.0
    )
    assert isinstance(m.data, da.Array)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_labels_readable_by_ome_zarr_reader(tmp_path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader

    labels = _labels((3, 16, 20))
    path = tmp_path / "labels.ome.zarr"
    write_labels_ome_zarr(path, labels, spacing=(0.5, 0.25), frame_interval=5.0)
    node = next(iter(Reader(parse_url(str(path)))()))
    kinds = {type(s) for s in node.specs}
    assert Multiscales in kinds and Label in kinds  # napari-ome-zarr: labels layer
    np.testing.assert_array_equal(np.asarray(node.data[0]), labels)
    axes = node.metadata["axes"]
    assert [a["name"] for a in axes] == ["t", "y", "x"]
    assert [a.get("unit") for a in axes] == ["second", "micrometer", "micrometer"]
    scale = node.metadata["coordinateTransformations"][0][0]["scale"]
    assert scale == [5.0, 0.5, 0.25]


def test_dask_labels_written(tmp_path):
    labels = _labels((3, 16, 20))
    path = tmp_path / "d.ome.zarr"
    write_labels_ome_zarr(path, da.from_array(labels, chunks=(1, 16, 20)))
    np.testing.assert_array_equal(read_labels_ome_zarr(path), labels)
    assert read_ome_zarr(path).spacing == (1.0, 1.0)


def test_read_intensity_ome_zarr_with_channels(tmp_path):
    from ome_zarr.writer import write_image

    data = np.arange(2 * 3 * 8 * 9, dtype=np.uint16).reshape(2, 3, 8, 9)  # T C Y X
    root = zarr.open_group(str(tmp_path / "img.ome.zarr"), mode="w")
    write_image(
        data,
        root,
        axes="tcyx",
        scale_factors=[],
        scale={"t": 2.0, "c": 1.0, "y": 0.1, "x": 0.1},
        axes_units={"t": "minute", "y": "nanometer", "x": "nanometer"},
    )
    m = read_movie(tmp_path / "img.ome.zarr", channel=2)
    assert m.axes == "TYX"
    np.testing.assert_array_equal(np.asarray(m.data), data[:, 2])
    assert m.frame_interval == pytest.approx(120.0)
    assert m.spacing == pytest.approx((1e-4, 1e-4))


def test_missing_chunk(tmp_path):
    labels = _labels((3, 16, 20))
    path = tmp_path / "l.ome.zarr"
    write_labels_ome_zarr(path, labels)
    chunk_files = [
        os.path.join(d, f) for d, _, fs in os.walk(path / "s0" / "c") for f in fs
    ]
    os.remove(sorted(chunk_files)[1])
    with pytest.raises(FileFormatError, match="1 of 3 chunks are missing"):
        read_labels_ome_zarr(path)


def test_not_ome_zarr(tmp_path):
    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(FileFormatError, match="not an OME-Zarr image"):
        read_ome_zarr(tmp_path / "plain.zarr")
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(FileFormatError, match="junk.zarr"):
        read_labels_ome_zarr(tmp_path / "junk.zarr")
    with pytest.raises(FileFormatError, match="does not exist"):
        read_ome_zarr(tmp_path / "none.zarr")


def test_float_labels_rejected(tmp_path):
    from celldyn.errors import InputError

    with pytest.raises(InputError, match="integers"):
        write_labels_ome_zarr(tmp_path / "f.ome.zarr", np.zeros((2, 4, 4), np.float32))


@pytest.mark.parametrize("nested", [True, False], ids=["ngff-0.5", "ngff-0.4-attrs"])
def test_bioformats2raw_store_reads_one_series(tmp_path, nested):
    """bioformats2raw writes one image group per series of the converted file (stage
    positions): the first by default, --series N another, one line for a missing one."""
    import zarr
    from click.testing import CliRunner

    from celldyn.cli import main
    from celldyn.errors import InputError
    from celldyn.io import read_movie, series_count, write_ome_zarr
    from celldyn.movie import Movie

    root = tmp_path / "plate.ome.zarr"
    group = zarr.open_group(str(root), mode="w")
    for i in range(2):
        data = np.zeros((3, 32, 32), np.uint16)
        data[:, 5:12, 5 + 12 * i:12 + 12 * i] = 900
        write_ome_zarr(root / str(i), Movie(data, "TYX", spacing=(0.5 + i, 0.5 + i)))
    layout = {"bioformats2raw.layout": 3}
    group.attrs.update({"ome": {"version": "0.5", **layout}} if nested else layout)
    first, second = read_movie(root), read_movie(root, series=1)
    assert first.spacing == (0.5, 0.5) and second.spacing == (1.5, 1.5)
    assert first.metadata["n_series"] == 2 and second.metadata["series"] == 1
    assert series_count(root) == 2 and series_count(root / "0") == 1   # metadata only
    assert int(np.asarray(second.data)[0, 8, 20]) == 900
    with pytest.raises(InputError, match="holds 2 image series .0-1.; --series 2"):
        read_movie(root, series=2)
    with pytest.raises(InputError, match="holds one image"):
        read_movie(root / "0", series=1)
    res = CliRunner().invoke(main, ["run", str(root), "--segmenter", "classical", "-o",
                                    str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "holds 2 image series" in res.output and "series 0 of 2" in res.output
