"""Movies as a folder of image files, one per frame, and single PNG / JPEG images."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import tifffile
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.errors import FileFormatError, InputError
from celldyn.io import read_movie


def _frames(n: int = 4) -> np.ndarray:
    """n frames of two bright disks drifting right by 3 px a frame."""
    yy, xx = np.mgrid[:64, :80]
    out = np.zeros((n, 64, 80), np.uint8)
    for t in range(n):
        for cy, cx in ((20, 15), (45, 30)):
            out[t][(yy - cy) ** 2 + (xx - cx - 3 * t) ** 2 < 8 ** 2] = 180
    return out


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_frame_folder_is_read_in_the_order_of_its_frame_number(tmp_path, suffix):
    frames = _frames(11)
    for t, f in enumerate(frames):     # frame_2 must come before frame_10
        name = f"img_pos000_frame_{t}{suffix}"
        (iio.imwrite if suffix == ".png" else tifffile.imwrite)(tmp_path / name, f)
    (tmp_path / "metadata.txt").write_text("not an image")
    movie = read_movie(tmp_path)
    assert movie.axes == "TYX" and movie.n_frames == 11
    np.testing.assert_array_equal(np.asarray(movie.data), frames)
    assert movie.metadata["frames"][2] == f"img_pos000_frame_2{suffix}"


def test_frame_folder_refuses_names_that_vary_in_two_numbers(tmp_path):
    for t in range(2):
        for c in range(2):
            iio.imwrite(tmp_path / f"img_channel{c}_time{t}.png", _frames(1)[0])
    with pytest.raises(InputError, match="differ in more than one number"):
        read_movie(tmp_path)


def test_frame_folder_errors_in_one_line(tmp_path):
    iio.imwrite(tmp_path / "f1.png", _frames(1)[0])
    iio.imwrite(tmp_path / "f2.png", _frames(1)[0][:32])
    with pytest.raises(FileFormatError, match="f2.png has shape .* must have one shape"):
        read_movie(tmp_path)
    tifffile.imwrite(tmp_path / "f3.tif", _frames(1)[0])
    with pytest.raises(FileFormatError, match="holds PNG and TIFF files"):
        read_movie(tmp_path)
    (tmp_path / "f2.png").unlink()
    (tmp_path / "f3.tif").unlink()
    with pytest.raises(InputError, match="do not match the frames"):
        read_movie(tmp_path, axes="TZYX")


def test_colour_jpeg_is_one_rgb_frame(tmp_path):
    rgb = np.zeros((40, 48, 3), np.uint8)
    rgb[10:30, 10:30, 1] = 200
    iio.imwrite(tmp_path / "cells.jpg", rgb)
    movie = read_movie(tmp_path / "cells.jpg")
    assert movie.axes == "TCYX" and movie.is_rgb and movie.data.shape == (1, 3, 40, 48)


def test_run_tracks_a_png_frame_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, f in enumerate(_frames(5)):
        iio.imwrite(folder / f"frame_{t:02d}.png", f)
    res = CliRunner().invoke(main, ["run", str(folder), "--segmenter", "classical",
                                    "-o", str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    objects = pd.read_parquet(tmp_path / "out" / "objects.parquet")
    assert len(objects) == 10
    tracks = np.loadtxt(tmp_path / "out" / "ctc" / "res_track.txt", dtype=int, ndmin=2)
    assert sorted(tracks[:, 1:3].tolist()) == [[0, 4], [0, 4]]     # two whole tracks


def test_labels_as_a_folder_of_png_masks(tmp_path):
    """Masks from another tool, one PNG per frame (e.g. ``*_cp_masks.png``)."""
    frames, masks = tmp_path / "frames", tmp_path / "masks"
    frames.mkdir()
    masks.mkdir()
    raw = _frames(3)
    for t, f in enumerate(raw):
        iio.imwrite(frames / f"f_{t}.png", f)
        lab = np.zeros(f.shape, np.uint16)
        lab[f > 0] = 1
        lab[32:][f[32:] > 0] = 2             # the lower disk
        iio.imwrite(masks / f"f_{t}_cp_masks.png", lab)
    from celldyn.io import read_labels

    labels = read_labels(masks)
    assert labels.shape == raw.shape and labels.dtype == np.int32
    assert set(np.unique(labels[0]).tolist()) == {0, 1, 2}
    res = CliRunner().invoke(main, ["run", str(frames), "--labels", str(masks), "-o",
                                    str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    single = read_labels(masks / "f_0_cp_masks.png")
    np.testing.assert_array_equal(single[0] if single.ndim == 3 else single, labels[0])


def test_run_warns_that_only_the_first_of_several_series_is_read(tmp_path):
    """A multi-position OME-TIFF: position 0 is segmented, and the run says so."""
    movie = np.zeros((3, 48, 48), np.uint16)
    movie[:, 10:20, 10:20] = 1000
    with tifffile.TiffWriter(tmp_path / "positions.ome.tif", ome=True) as w:
        for _ in range(2):
            w.write(movie, metadata={"axes": "TYX"})
    res = CliRunner().invoke(main, ["run", str(tmp_path / "positions.ome.tif"),
                                    "--segmenter", "classical", "-o",
                                    str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "holds 2 image series" in res.output and "--series N (0-1)" in res.output


def test_frame_folder_refuses_names_with_different_counts_of_numbers(tmp_path):
    iio.imwrite(tmp_path / "frame_1.png", _frames(1)[0])
    iio.imwrite(tmp_path / "frame_2_copy_1.png", _frames(1)[0])
    with pytest.raises(InputError, match="follow no one pattern"):
        read_movie(tmp_path)


def test_series_picks_one_position_with_its_own_pixel_size(tmp_path):
    """--series N reads position N of a multi-position OME-TIFF (its own pixel size),
    records it for --config, and a series that is not there is one line."""
    path = tmp_path / "positions.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as w:
        for i, size in enumerate((0.5, 0.25)):
            movie = np.zeros((3, 48, 48), np.uint16)
            movie[:, 10:20, 10 + 20 * i:20 + 20 * i] = 1000
            w.write(movie, metadata={"axes": "TYX", "PhysicalSizeX": size,
                                     "PhysicalSizeY": size})
    second = read_movie(path, series=1)
    assert second.spacing == (0.25, 0.25) and second.metadata["series"] == 1
    assert second.data[0, 15, 35] == 1000 and second.data[0, 15, 15] == 0
    assert read_movie(path).spacing == (0.5, 0.5)
    with pytest.raises(InputError, match="holds 2 image series .0-1.; --series 2"):
        read_movie(path, series=2)
    iio.imwrite(tmp_path / "one.png", _frames(1)[0])
    with pytest.raises(InputError, match="holds one movie"):
        read_movie(tmp_path / "one.png", series=1)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(path), "--series", "1", "--segmenter",
                                    "classical", "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "series 1 of 2" in res.output and "holds 2 image series" not in res.output
    import json

    assert json.loads((out / "run.json").read_text())["inputs"]["series"] == 1
    res = CliRunner().invoke(main, ["run", str(path), "--series", "5", "-o",
                                    str(tmp_path / "bad"), "--no-progress"])
    assert res.exit_code == 2 and "--series 5 is not one of them" in res.output
    assert "Traceback" not in res.output


def test_run_says_a_single_stack_may_be_a_time_lapse_saved_as_slices(tmp_path):
    """An ImageJ stack saved as z-slices holds one time point: the run says how to read
    its planes as frames."""
    tifffile.imwrite(tmp_path / "slices.tif", _frames(4), imagej=True,
                     metadata={"axes": "ZYX"})
    res = CliRunner().invoke(main, ["run", str(tmp_path / "slices.tif"), "--segmenter",
                                    "classical", "-o", str(tmp_path / "out"),
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "one time point of 4 z-planes" in res.output and "--axes TYX" in res.output
    res = CliRunner().invoke(main, ["run", str(tmp_path / "slices.tif"), "--axes", "TYX",
                                    "--segmenter", "classical", "-o",
                                    str(tmp_path / "out2"), "--no-progress"])
    assert res.exit_code == 0 and "z-planes" not in res.output


@pytest.mark.parametrize("kind", ["png", "ctc"])
def test_large_frame_folders_are_read_lazily(tmp_path, monkeypatch, kind):
    """Above LAZY_BYTES a folder of frames streams (dask), as a large TIFF does: the
    same pixels, a frame of another shape said before any frame is used, and a run
    on it gives the same objects as on the eager read."""
    import celldyn.io.tiff as tiff_mod

    frames = _frames(5)
    folder = tmp_path / kind
    folder.mkdir()
    for t, frame in enumerate(frames):
        if kind == "png":
            iio.imwrite(folder / f"img_{t}.png", frame)
        else:
            tifffile.imwrite(folder / f"t{t:03d}.tif", frame)
    eager = read_movie(folder)
    monkeypatch.setattr(tiff_mod, "LAZY_BYTES", 100)
    lazy = read_movie(folder)
    assert not hasattr(eager.data, "dask") and hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(np.asarray(lazy.data), eager.data)
    res = CliRunner().invoke(main, ["run", str(folder), "--segmenter", "classical", "-o",
                                    str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(tmp_path / "out" / "objects.parquet")
    assert len(table) == 2 * len(frames)
    odd = folder / ("img_5.png" if kind == "png" else "t005.tif")
    (iio.imwrite if kind == "png" else tifffile.imwrite)(odd, frames[0][:40])
    with pytest.raises(FileFormatError, match="shape"):
        read_movie(folder)


def test_series_all_runs_every_position_and_lists_them(tmp_path):
    """--series all: one run folder per position plus series.csv; a position that
    cannot be segmented (constant) does not stop the others and the command exits 2
    naming it; --resume keeps the finished positions."""
    import json

    import pandas as pd

    path = tmp_path / "positions.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as w:
        for i in range(3):
            movie = np.zeros((3, 48, 48), np.uint16)
            if i != 1:                                 # position 1: a constant movie
                movie[:, 10:20, 10 + 15 * i:20 + 15 * i] = 1000
            w.write(movie, metadata={"axes": "TYX"})
    from celldyn.io import series_count

    assert series_count(path) == 3 and series_count(tmp_path) == 1
    out = tmp_path / "out"
    args = ["run", str(path), "--series", "all", "--segmenter", "classical", "-o",
            str(out), "--no-progress"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "1 of 3 series failed (series 1: every frame of the movie is constant" in res.output
    assert "Traceback" not in res.output
    table = pd.read_csv(out / "series.csv", keep_default_na=False)
    assert table["folder"].tolist() == ["series000", "series001", "series002"]
    assert table["objects"].tolist() == ["3", "", "3"] and table["error"][1] != ""
    assert not (out / "series001").exists()
    for s in (0, 2):
        record = json.loads((out / f"series{s:03d}" / "run.json").read_text())
        assert record["inputs"]["series"] == s
    res = CliRunner().invoke(main, args)             # the folder exists: one line
    assert res.exit_code == 2 and "already exists" in res.output
    res = CliRunner().invoke(main, [*args, "--resume"])
    assert "series 0 (1 of 3): already done" in res.output
    assert "series 2 (3 of 3): already done" in res.output
    res = CliRunner().invoke(main, ["run", str(path), "--series", "one", "-o",
                                    str(tmp_path / "x")])
    assert res.exit_code == 2 and "not a series index" in res.output
    # a file of one series: its error is the command's one line, and no folder is left
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((4, 32, 32), np.uint8), metadata=None)
    res = CliRunner().invoke(main, ["run", str(plain), "--series", "all", "-o",
                                    str(tmp_path / "y"), "--no-progress"])
    assert res.exit_code == 2 and "pass --axes" in res.output, res.output
    assert "series failed" not in res.output and not (tmp_path / "y").exists()
