"""Issue 17, a biologist's first hour: the movie argument, units as people type them,
the summary naming its input, hints that name options that work, Ctrl-C, the Python API.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.errors import InputError
from celldyn.units import parse_duration, parse_lengths


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def invoke(*args):
    return _runner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _error_line(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.output, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def movie_tif(tmp_path_factory):
    from celldyn.simulate import simulate_movie

    root = tmp_path_factory.mktemp("first")
    sim = simulate_movie(ndim=2, n_frames=5, shape=(64, 64), n_objects=4, rng=2)
    tifffile.imwrite(root / "plain.tif", np.asarray(sim.movie.data), metadata=None)
    return root / "plain.tif"


@pytest.mark.parametrize(("text", "um"), [("0.24", (0.24,)), ("0.24um", (0.24,)),
                                          ("0.24 µm", (0.24,)), ("240nm", (0.24,)),
                                          ("2,0.5,0.5um", (2.0, 0.5, 0.5)),
                                          ("1x0.24x0.24 µm", (1.0, 0.24, 0.24))])
def test_lengths_as_people_write_them(text, um):
    assert parse_lengths(text) == pytest.approx(um)


@pytest.mark.parametrize(("text", "s"), [("300", 300), ("30s", 30), ("30min", 1800),
                                         ("5 min", 300), ("1.5h", 5400), ("2 hours", 7200),
                                         ("500ms", 0.5)])
def test_durations_as_people_write_them(text, s):
    assert parse_duration(text) == pytest.approx(s)


@pytest.mark.parametrize("bad", ["abc", "5parsecs", "-3min", "0um", ""])
def test_bad_units_are_value_errors(bad):
    with pytest.raises(ValueError):
        parse_duration(bad) if "um" not in bad else parse_lengths(bad)


def test_run_takes_units_and_names_its_input(movie_tif, tmp_path):
    out = tmp_path / "res"
    r = invoke("run", movie_tif, "--axes", "TYX", "--pixel-size", "0.24um",
               "--frame-interval", "30min", "-o", out, "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert "Warning" not in r.stderr  # units given: nothing to warn about
    assert [ln for ln in r.stdout.splitlines() if ln.split()[:1] == ["movie"]] == [
        f"  movie                       {movie_tif}"]
    assert "0.24 x 0.24 µm, 30 min" in r.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["movie"]["spacing"] == [0.24, 0.24]
    assert record["movie"]["frame_interval"] == 1800.0
    assert record["source"] == str(movie_tif.resolve())
    page = (out / "report.html").read_text()
    assert str(movie_tif.resolve()) in page and "30 min" in page
    # times in the tables in a unit a person reads: frames 30 min apart -> minutes
    dyn = (out / "dynamics.csv").read_text().splitlines()
    assert dyn[0].endswith("length_unit,time_unit") and dyn[1].endswith("µm,min")
    # the saved run repeats with the same units
    again = tmp_path / "again"
    r2 = invoke("run", "--config", out / "run.json", "-o", again, "--no-progress")
    assert r2.exit_code == 0, r2.stderr
    assert json.loads((again / "run.json").read_text())["movie"]["frame_interval"] == 1800.0


def test_bad_unit_is_a_one_line_usage_error(movie_tif, tmp_path):
    r = invoke("run", movie_tif, "--axes", "TYX", "--frame-interval", "30 parsecs",
               "-o", tmp_path / "x")
    assert r.exit_code == 2 and "parsecs" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv", [[], [""], ["  "]])
def test_missing_or_empty_movie_is_one_line_and_no_demo(argv, tmp_path):
    out = tmp_path / "out"
    line = _error_line(invoke("run", *argv, "-o", out, "--pixel-size", "0.24"))
    assert "MOVIE" in line and "celldyn demo" in line
    assert not out.exists()


def test_4d_axes_hint_names_axes_that_work(tmp_path):
    path = tmp_path / "four.tif"
    from celldyn.simulate import simulate_movie

    frame = np.asarray(simulate_movie(ndim=2, n_frames=3, shape=(32, 32), n_objects=2,
                                      rng=0).movie.data)
    tifffile.imwrite(path, np.stack([frame] * 4, axis=1), metadata=None)  # T, Z, Y, X
    line = _error_line(invoke("run", path, "-o", tmp_path / "o"))
    suggested = line.split("--axes ")[-1].split()[0]
    assert len(suggested) == 4
    r = invoke("run", path, "--axes", suggested, "-o", tmp_path / "o", "--no-progress")
    assert r.exit_code == 0, r.stderr
    # a wrong number of letters gets a suggestion with the right number, which works
    line = _error_line(invoke("run", path, "--axes", "TYX", "-o", tmp_path / "p"))
    suggested = line.split("--axes ")[-1].split()[0]
    assert invoke("run", path, "--axes", suggested, "-o", tmp_path / "p",
                  "--no-progress").exit_code == 0


def test_explain_on_a_folder_that_is_not_a_run_names_no_missing_option(tmp_path):
    (tmp_path / "notarun").mkdir()
    line = _error_line(invoke("explain", tmp_path / "notarun", "--object", "0,1"))
    assert "--objects" not in line and "celldyn run -o" in line
    explain_help = invoke("explain", "--help").stdout
    for opt in [w for w in line.split() if w.startswith("--")]:
        assert opt in explain_help


def test_ctrl_c_says_how_to_resume(movie_tif, tmp_path, monkeypatch):
    import celldyn.pipeline

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(celldyn.pipeline, "run", interrupted)
    r = _runner().invoke(main, ["run", str(movie_tif), "--axes", "TYX", "-o",
                                str(tmp_path / "o"), "--no-progress"])
    assert r.exit_code == 130
    assert "--resume" in r.stderr and "Aborted" not in r.stderr


def test_movie_repr_is_one_line():
    from celldyn.movie import Movie

    m = Movie(np.zeros((100, 512, 512), np.uint16), "TYX", spacing=(0.24, 0.24),
              frame_interval=300.0, name="cells.tif")
    assert repr(m) == "Movie(TYX 100x512x512 uint16, 0.24x0.24 µm, 5 min, 'cells.tif')"


def test_python_run_takes_units_and_analyze_takes_its_result():
    from celldyn.analyze import analyze, lineage_table, population_dynamics, track_dynamics
    from celldyn.analyze.plots import plot_lineage
    from celldyn.pipeline import run
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=6, n_objects=4, rng=1)
    result = run(sim.movie, pixel_size=0.645, frame_interval="5min")
    assert result.movie.spacing == (0.645, 0.645) and result.movie.frame_interval == 300.0
    a = analyze(result)
    assert a.units["length"] == "µm" and a.units["time"] == "min"
    assert len(a.dynamics) == len(result.tracks)
    assert len(track_dynamics(result)) == len(result.tracks)
    assert len(population_dynamics(result)) == sim.movie.n_frames
    assert plot_lineage(result) is not None
    assert len(lineage_table(result.tracks)) == len(result.tracks)
    from celldyn.analyze import (cycle_durations, ensemble_msd, instantaneous_speed,
                                 track_motion)

    assert lineage_table(result).equals(lineage_table(result.tracks))
    assert cycle_durations(result) == cycle_durations(result.tracks)
    speed = instantaneous_speed(result)  # the run's pixel size and interval are used
    assert speed.equals(instantaneous_speed(result.objects, spacing=(0.645, 0.645),
                                            frame_interval=300.0))
    assert len(track_motion(result)) == result.objects["label"].nunique()
    assert ensemble_msd(result)[0].equals(ensemble_msd(result.objects, spacing=(0.645, 0.645),
                                                       frame_interval=300.0)[0])
    with pytest.raises(InputError, match="unit"):
        run(sim.movie, frame_interval="5 fortnights")


def test_notes_flag_count_jumps_divisions_fragments_and_flat_objects():
    import pandas as pd

    from celldyn.measure.checks import run_notes

    counts = [10, 10, 40, 10, 10, 10]
    obj = pd.DataFrame({"t": np.repeat(np.arange(6), counts), "label": 1, "solidity": 0.9})
    notes = run_notes(obj, np.zeros((0, 2), int), 6, n_tracks=10)
    assert len(notes) == 1 and "(10 -> 40 from frame 1 to 2; frames 1, 2, 3)" in notes[0]
    assert "--param threshold_method" in notes[0]
    # a population that divides every other frame: flagged, with what to try
    t = np.repeat(np.arange(4), 10)
    obj = pd.DataFrame({"t": t, "label": 1, "solidity": [np.nan] + [0.9] * 39})
    edges = np.array([[i, 10 + 2 * (i % 5)] for i in range(5)] +
                     [[i, 11 + 2 * (i % 5)] for i in range(5)])
    notes = run_notes(obj, edges, 4, n_tracks=100)
    assert any("divisions" in n and "--no-divisions" in n for n in notes)
    assert any("100 tracks for at most 10" in n and "--max-gap" in n for n in notes)
    assert any("1 of 40 objects are flat" in n for n in notes)
    # a steady, plausible run gets no notes
    obj = pd.DataFrame({"t": np.repeat(np.arange(5), 8), "label": 1, "solidity": 0.9})
    assert run_notes(obj, np.zeros((0, 2), int), 5, n_tracks=8) == []


def test_flat_3d_objects_measure_without_warnings():
    import warnings

    from celldyn.measure import measure_objects

    lab = np.zeros((1, 3, 12, 12), np.int32)
    lab[0, 1, 2:6, 2:6] = 1          # one z-slice: no 3D convex hull
    lab[0, :, 7:10, 7:10] = 2        # a real 3D object
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = measure_objects(lab).set_index("label")
    assert np.isnan(table.loc[1, "solidity"]) and table.loc[2, "solidity"] == 1.0


def test_report_units_hint_is_a_command_that_works(movie_tif, tmp_path):
    out = tmp_path / "nounits"
    assert invoke("run", movie_tif, "--axes", "TYX", "-o", out, "--no-progress").exit_code == 0
    r = invoke("report", out)
    assert r.exit_code == 0
    hint = r.stderr.split("re-run: ")[1].split(")")[0]
    argv = hint.replace("SIZE", "0.24um").replace("TIME", "30s").replace(
        "NEW_FOLDER", str(tmp_path / "withunits")).split()[1:]
    r2 = invoke(*argv, "--no-progress")
    assert r2.exit_code == 0, r2.stderr
    movie = json.loads((tmp_path / "withunits" / "run.json").read_text())["movie"]
    assert movie["spacing"] == [0.24, 0.24] and movie["frame_interval"] == 30.0
