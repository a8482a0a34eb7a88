"""Writer, run-folder round trip, CLI commands and the report in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from celldyn.outputs import load_run, write_analysis, write_plot, write_report
from celldyn.cli.main import main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A run folder of a small simulated movie with divisions, plus a `class` column."""
    from celldyn.pipeline import run, write_run
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=12, n_objects=5, shape=(80, 80), radius=(4, 5),
                         division_rate=0.1, speed=1.0, spacing=(0.5, 0.5),
                         frame_interval=120.0, rng=4)
    result = run(sim.movie, labels=sim.labels)
    result.objects["class"] = np.where(result.objects["area"] > result.objects["area"].median(),
                                       "large", "small")
    folder = tmp_path_factory.mktemp("runs") / "results"
    write_run(result, folder)
    written = write_analysis(result, folder)  # what write_run will call
    return folder, result, written


def test_write_analysis_writes_tables_and_report(run_folder):
    folder, result, written = run_folder
    assert {p.name for p in written.values()} == {"dynamics.csv", "population.csv",
                                                   "report.html"}
    dyn = pd.read_csv(folder / "dynamics.csv")
    assert len(dyn) == len(result.tracks)
    assert set(dyn["track_id"]) == set(result.tracks["label"])
    for col in ("parent_id", "children", "generation", "lineage_id", "start_frame",
                "end_frame", "starts_by_division", "ends_by_division", "cycle_frames",
                "cycle_duration", "division_time", "speed_mean", "speed_series",
                "path_length", "net_displacement", "straightness", "msd_D", "msd_alpha",
                "area_mean", "eccentricity_mean", "class_sequence", "time_in_large"):
        assert col in dyn.columns, col
    assert (dyn["length_unit"] == "µm").all() and (dyn["time_unit"] == "min").all()  # 120 s frames
    pop = pd.read_csv(folder / "population.csv")
    assert len(pop) == 12 and {"n_objects", "fraction_large"} <= set(pop.columns)
    page = (folder / "report.html").read_text()
    assert page.count("<img ") == 6 and "µm²/min" in page and "Versions" in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_rebuild_from_folder_matches(run_folder):
    folder, result, _ = run_folder
    data = load_run(folder)
    assert data.labels.shape == result.labels.shape
    assert data.analysis.spacing == (0.5, 0.5) and data.analysis.frame_interval == 120.0
    before = pd.read_csv(folder / "dynamics.csv")
    write_report(folder)
    after = pd.read_csv(folder / "dynamics.csv")
    pd.testing.assert_frame_equal(before, after)


def test_cli_report_and_plot(run_folder, tmp_path):
    folder, _, _ = run_folder
    runner = CliRunner()
    res = runner.invoke(main, ["report", str(folder)])
    assert res.exit_code == 0, res.output
    assert "report.html" in res.output and "Warning" not in res.output
    for kind in ("lineage", "tracks", "durations", "msd", "classes"):
        res = runner.invoke(main, ["plot", str(folder), kind, "-o", str(tmp_path / kind)])
        assert res.exit_code == 0, res.output
        png, svg = tmp_path / f"{kind}.png", tmp_path / f"{kind}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in svg.read_bytes()[:500]
    res = runner.invoke(main, ["report", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "results folder" in res.output


def test_missing_units_say_px_and_frame_and_warn_once(tmp_path):
    from celldyn.movie import Movie
    from celldyn.pipeline import run, write_run
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=6, n_objects=3, rng=5)
    movie = Movie(sim.movie.data, "TYX")  # no spacing, no frame interval
    result = run(movie, labels=sim.labels)
    folder = tmp_path / "r"
    write_run(result, folder)
    write_analysis(result, folder)
    dyn = pd.read_csv(folder / "dynamics.csv")
    assert (dyn["length_unit"] == "px").all() and (dyn["time_unit"] == "frame").all()
    assert "px²/frame" in (folder / "report.html").read_text()
    res = CliRunner().invoke(main, ["plot", str(folder), "durations"])
    assert res.exit_code == 0, res.output
    assert res.output.count("Warning:") == 1 and "--pixel-size" in res.output
    assert (folder / "figures" / "durations.png").is_file()


def test_plot_from_labels_only_when_movie_is_gone(run_folder, tmp_path):
    folder, _, _ = run_folder
    data = load_run(folder, with_movie=False)
    assert data.movie is None
    out = write_plot(folder, "tracks", output=tmp_path / "t", data=data)
    assert [p.suffix for p in out] == [".png", ".svg"]


# -- headless Chromium ---------------------------------------------------------------
_CHECK = """
<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e)));
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 100 && i.naturalHeight > 100));
  const out = document.createElement('pre');
  out.id = 'celldyn-check';
  out.textContent = `images=${imgs.length} broken=${bad.length} errors=${window.__errors.length}`;
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get update && apt-get install -y chromium", shell=True,
                       capture_output=True, timeout=900, check=False)
        exe = shutil.which("chromium")
        if exe:
            return exe
    pytest.skip("headless Chromium is not installed and cannot be installed here "
                "(needs root and apt-get: apt-get install -y chromium)")


@pytest.mark.slow
def test_report_renders_in_headless_chromium(run_folder, tmp_path):
    exe = _chromium()
    folder, _, _ = run_folder
    page = (folder / "report.html").read_text()
    n_figures = page.count("<img ")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _CHECK + "</body>"))
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
           "--dump-dom", probe.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"images={n_figures} broken=0 errors=0" in proc.stdout, proc.stdout[-500:]
    assert n_figures == 6
    shot = tmp_path / "shot.png"
    proc = subprocess.run([*cmd[:-2], f"--screenshot={shot}", "--window-size=1200,2400",
                           probe.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    from skimage.io import imread

    img = imread(shot)
    assert img.std() > 10  # not blank
