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
