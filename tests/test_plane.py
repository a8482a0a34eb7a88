"""`--plane`: a z-stack seen as a 2D movie (one focal plane segmented, tracked and
measured), recorded in run.json only when set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.config import RunConfig
from celldyn.errors import ConfigError, InputError
from celldyn.movie import Movie
from celldyn.pipeline import run


def _stack(n_t: int = 3, n_z: int = 5) -> np.ndarray:
    """TZYX: two bright discs in the middle plane only, drifting 1 px per frame; the
    other planes are dim blur-free background."""
    yy, xx = np.mgrid[:64, :64]
    data = np.full((n_t, n_z, 64, 64), 10.0, np.float32)
    for t in range(n_t):
        for cy, cx in ((20, 20 + t), (44, 40 + t)):
            data[t, n_z // 2][(yy - cy) ** 2 + (xx - cx) ** 2 <= 36] = 200.0
    return data


def test_movie_plane_keeps_y_and_x_and_names_bad_planes():
    m = Movie(_stack(), "TZYX", spacing=(2.0, 0.5, 0.5))
    one = m.plane("middle")
    assert one.axes == "TYX" and one.data.shape == (3, 64, 64)
    assert one.spacing == (0.5, 0.5)
    np.testing.assert_array_equal(one.data, m.data[:, 2])
    np.testing.assert_array_equal(m.plane(4).data, m.data[:, 4])
    with pytest.raises(InputError, match="5 z-planes"):
        m.plane(5)
    with pytest.raises(InputError, match="no Z"):
        one.plane(0)
    with pytest.raises(ConfigError, match="plane must be"):
        RunConfig(plane="top")


def test_run_on_one_plane_segments_and_tracks_it_in_2d():
    movie = Movie(_stack(), "TZYX")
    result = run(movie, config=RunConfig(segmenter="classical", plane="middle"))
    assert np.asarray(result.labels).shape == (3, 64, 64)
    per_frame = result.objects.groupby("t").size().tolist()
    assert per_frame == [2, 2, 2]
    assert "z" not in result.objects
    # labels given for the whole stack are cut to the same plane
    stack_labels = np.zeros((3, 5, 64, 64), np.int32)
    stack_labels[:, 2] = np.asarray(result.labels)
    tracked = run(movie, labels=stack_labels, config=RunConfig(plane="middle"))
    assert np.asarray(tracked.labels).shape == (3, 64, 64)
    assert tracked.objects.groupby("t").size().tolist() == [2, 2, 2]
    # a plane with nothing in it (constant) is a one-line user error
    with pytest.raises(InputError, match="--plane"):
        run(movie, config=RunConfig(segmenter="classical", plane=0))


def test_cli_plane_is_recorded_and_replayed(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, _stack())
    out = tmp_path / "run"
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    r = runner.invoke(main, ["run", str(path), "--axes", "TZYX", "--plane", "middle",
                             "--segmenter", "classical", "-o", str(out), "--no-progress"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["plane"] == "middle"
    assert record["inputs"]["plane"] == "middle"
    from celldyn.io.read import read_run_movie   # the report / napari see that plane

    assert read_run_movie(record).axes == "TYX"
    # without --plane nothing is recorded (earlier run folders stay byte-identical)
    assert "plane" not in RunConfig().to_dict()
    assert "plane" not in RunConfig().to_options(recorded=True)
    bad = runner.invoke(main, ["run", str(path), "--axes", "TZYX", "--plane", "9",
                               "-o", str(tmp_path / "bad"), "--no-progress"])
    assert bad.exit_code != 0
    assert "9 does not exist" in (bad.output + getattr(bad, "stderr", ""))
    assert "Traceback" not in (bad.output + getattr(bad, "stderr", ""))


def test_ground_truth_cut_to_a_plane_rebuilds_the_track_table():
    """Markers drawn on the stack, cut to plane 1: a track absent from the plane is
    dropped (her daughter hangs from nobody), one that leaves the plane and returns
    continues as a new track with her earlier part as parent (CTC's gap), a division
    inside the plane is kept; SEG masks are cut too, 2D ones kept."""
    import pandas as pd

    from celldyn.bench import ground_truth_plane, GroundTruth

    tra = np.zeros((4, 3, 12, 12), np.uint16)
    tra[[0, 1, 3], 1, 1, 1] = 1          # track 1: in the plane at 0, 1, 3 (2: plane 2)
    tra[2, 2, 1, 1] = 1
    tra[:2, 0, 5, 5] = 2                 # track 2: never in the plane
    tra[2:, 1, 5, 5] = 3                 # her daughter 3 is
    tra[:2, 1, 9, 9] = 4                 # track 4 divides into 5 and 6 in the plane
    tra[2:, 1, 8, 8] = 5
    tra[2:, 1, 10, 10] = 6
    table = pd.DataFrame({"label": [1, 2, 3, 4, 5, 6], "begin": [0, 0, 2, 0, 2, 2],
                          "end": [3, 1, 3, 1, 3, 3], "parent": [0, 0, 2, 0, 4, 4]})
    seg = {0: tra[0].astype(np.int32), 3: tra[3, 1].astype(np.int32)}
    cut = ground_truth_plane(GroundTruth(tra, table, seg), 1)
    assert cut.tra.shape == (4, 12, 12)
    rows = {tuple(r) for r in cut.table.itertuples(index=False)}
    assert rows == {(1, 0, 1, 0), (7, 3, 3, 1), (3, 2, 3, 0), (4, 0, 1, 0),
                    (5, 2, 3, 4), (6, 2, 3, 4)}
    assert cut.tra[3, 1, 1] == 7 and cut.tra[0, 1, 1] == 1 and not (cut.tra == 2).any()
    np.testing.assert_array_equal(cut.seg[0], tra[0, 1])     # (Z, Y, X) -> the plane
    np.testing.assert_array_equal(cut.seg[3], tra[3, 1])     # already 2D: as it was
    assert any("z-plane 1" in n for n in cut.notes)
    # a plane the ground truth does not have is a one-line user error, not an IndexError
    with pytest.raises(InputError, match="no plane 3"):
        ground_truth_plane(GroundTruth(tra, table, seg), 3)
    # the cut table is consistent CTC: every part's marker is there from begin to end
    for r in cut.table.itertuples(index=False):
        for t in range(r.begin, r.end + 1):
            assert (cut.tra[t] == r.label).any()


def test_bench_and_annotate_next_take_a_plane(tmp_path):
    """`celldyn bench --plane` scores the plane against stack ground truth cut to it
    and writes the plane into best_config.json, which `celldyn run --config` replays;
    `celldyn annotate-next --plane` proposes 2D crops of that plane."""
    from celldyn.io import write_ctc_gt, write_tiff
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=6, shape=(64, 64), n_objects=5, rng=3)
    stack = np.repeat(np.asarray(sim.movie.data, np.float32)[:, None], 3, axis=1)
    stack[:, [0, 2]] = float(np.median(stack))            # only plane 1 holds the cells
    write_tiff(tmp_path / "stack.ome.tif", Movie(stack, "TZYX"))
    labels = np.zeros((6, 3, 64, 64), np.uint16)
    labels[:, 1] = sim.labels
    write_ctc_gt(tmp_path / "GT", labels, sim.table, seg_frames=[1, 4])
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    out = tmp_path / "bench"
    r = runner.invoke(main, ["bench", str(tmp_path / "stack.ome.tif"), "--gt",
                             str(tmp_path / "GT"), "-o", str(out), "--plane", "middle",
                             "--no-deep", "--quick", "--no-progress"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "cut to z-plane 1" in r.output
    config = json.loads((out / "best_config.json").read_text())
    assert config["inputs"]["plane"] == "middle"
    scores = config["bench"]["best"]["scores"]
    assert scores["TRA"] > 0.8                              # the plane's cells, tracked
    res = tmp_path / "res"
    r = runner.invoke(main, ["run", "--config", str(out / "best_config.json"), "-o",
                             str(res), "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads((res / "run.json").read_text())["inputs"]["plane"] == "middle"
    bad = runner.invoke(main, ["bench", str(tmp_path / "stack.ome.tif"), "--gt",
                               str(tmp_path / "GT"), "-o", str(tmp_path / "b2"),
                               "--plane", "top", "--no-deep", "--no-progress"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output + getattr(bad, "stderr", "")
    assert "plane must be" in bad.output + getattr(bad, "stderr", "")

    pytest.importorskip("torch")
    prop = tmp_path / "round1"
    r = runner.invoke(main, ["annotate-next", str(tmp_path / "stack.ome.tif"), "--plane",
                             "1", "-n", "2", "--crop", "32", "--diameter", "12",
                             "--n-aug", "2", "--model", "nuclei2d", "-o", str(prop),
                             "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    manifest = json.loads((prop / "manifest.json").read_text())
    assert manifest["plane"] == "1"
    for p in manifest["proposals"]:
        img = tifffile.imread(prop / "images" / f"{p['name']}.tif")
        y0, x0, y1, x1 = p["box"]
        np.testing.assert_array_equal(img, stack[p["frame"], 1, y0:y1, x0:x1])
