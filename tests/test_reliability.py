"""Interrupted runs, --resume, --config and determinism of the run folder."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from celldyn.cli import main


def _invoke(*args):
    from click.testing import CliRunner

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def _digest(folder: Path, skip=("run.json", "report.html")) -> dict[str, str]:
    """sha256 of every file under `folder` (relative path -> hash).

    run.json and report.html hold timings, so they differ between runs by design.
    """
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name not in skip:
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def movie_file(tmp_path_factory):
    from celldyn.io import write_tiff
    from celldyn.simulate import simulate_movie

    root = tmp_path_factory.mktemp("rel")
    sim = simulate_movie(ndim=2, n_frames=12, shape=(96, 96), n_objects=10,
                         division_rate=0.03, rng=5)
    write_tiff(root / "movie.ome.tif", sim.movie)
    return root / "movie.ome.tif"


def test_two_runs_are_byte_identical(movie_file, tmp_path):
    for name in ("a", "b"):
        r = _invoke("run", movie_file, "-o", tmp_path / name, "--no-progress", "--seed", 3)
        assert r.exit_code == 0, r.stderr
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b
    assert any(k.startswith("labels.ome.zarr") for k in a)
    assert "objects.parquet" in a and any(k.startswith("tracks.geff") for k in a)
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["seed"] == 3 and record["versions"]["celldyn"]
    assert record["inputs"]["method"] == "watershed"


def test_config_reproduces_a_run(movie_file, tmp_path):
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--no-progress",
                "--method", "threshold:li", "--max-distance", "12")
    assert r.exit_code == 0, r.stderr
    r = _invoke("run", "--config", tmp_path / "a" / "run.json", "-o", tmp_path / "b",
                "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    # a flag on the command line beats the file
    r = _invoke("run", "--config", tmp_path / "a" / "run.json", "-o", tmp_path / "c",
                "--no-progress", "--method", "watershed")
    assert json.loads((tmp_path / "c" / "run.json").read_text())["config"]["method"] == "watershed"


def test_bad_config_is_one_line(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    r = _invoke("run", "--config", tmp_path / "x.json", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "run.json" in r.stderr and "Traceback" not in r.stderr


def test_resume_reuses_finished_frames(movie_file, tmp_path):
    from celldyn.io import read_movie
    from celldyn.pipeline import FrameCache, RunConfig, fingerprint, run

    ref = tmp_path / "ref"
    assert _invoke("run", movie_file, "-o", ref, "--no-progress").exit_code == 0
    # An interrupted run left frames 0..4 in its work folder; poison one of them to
    # prove the resumed run uses the saved frames rather than recomputing them.
    out = tmp_path / "res"
    movie = read_movie(movie_file)
    cache = FrameCache(tmp_path / ".res.partial",
                       fingerprint(movie, RunConfig(), source=movie_file))  # as the cli
    seg = run(movie).labels  # tracked ids differ from per-frame ids; only shapes matter
    for t in range(5):
        cache.put(t, np.zeros_like(seg[t]))
    r = _invoke("run", movie_file, "-o", out, "--no-progress", "--resume")
    assert r.exit_code == 0 and "resuming: 5 of 12" in r.stderr
    from celldyn.io import read_labels_ome_zarr

    labels = read_labels_ome_zarr(out / "labels.ome.zarr")
    assert labels[:5].max() == 0 and labels[5:].max() > 0
    assert not (tmp_path / ".res.partial").exists()  # cleaned up after success


def test_resume_ignores_a_cache_for_other_inputs(movie_file, tmp_path):
    from celldyn.pipeline import FrameCache

    cache = FrameCache(tmp_path / ".res.partial", "another-movie")
    cache.put(0, np.zeros((96, 96), np.int32))
    r = _invoke("run", movie_file, "-o", tmp_path / "res", "--no-progress", "--resume")
    assert r.exit_code == 0 and "resuming" not in r.stderr
    ref = tmp_path / "ref"
    assert _invoke("run", movie_file, "-o", ref, "--no-progress").exit_code == 0
    assert _digest(ref) == _digest(tmp_path / "res")


@pytest.mark.slow
def test_sigkill_never_damages_results(movie_file, tmp_path):
    """Kill `celldyn run` at random moments: the old results folder stays intact, no
    half-written file appears under a final name, and --resume completes the run with
    results equal to an uninterrupted one."""
    from celldyn.io import write_tiff
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=40, shape=(192, 192), n_objects=25, rng=9)
    movie = tmp_path / "long.ome.tif"
    write_tiff(movie, sim.movie)
    ref = tmp_path / "ref"
    assert _invoke("run", movie, "-o", ref, "--no-progress").exit_code == 0
    want = _digest(ref)

    out = tmp_path / "out"
    out.mkdir()
    (out / "old-results.txt").write_text("precious")
    cmd = [sys.executable, "-m", "celldyn.cli.main", "run", str(movie), "-o", str(out),
           "--no-progress", "--overwrite"]
    rng = np.random.default_rng(0)
    for delay in sorted(rng.uniform(0.5, 4.0, size=3)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # either the old folder or a complete new one, never a mix or a half file
        names = {p.name for p in out.iterdir()}
        assert names == {"old-results.txt"} or "run.json" in names
        assert not [p for p in out.rglob("*") if ".tmp" in p.name]
        if "run.json" in names:
            break
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert _digest(out) == want
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_deep_segmenter_runs_are_byte_identical(movie_file, tmp_path):
    """The CPU deep path (the default shipped model, generalist2d) is deterministic end to
    end too."""
    pytest.importorskip("torch")
    for name in ("a", "b"):
        r = _invoke("run", movie_file, "-o", tmp_path / name, "--no-progress",
                    "--segmenter", "deep", "--param", "diameter=12")
        assert r.exit_code == 0, r.stderr
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["config"]["segmenter"] == "deep" and record["config"]["model"] == "generalist2d"



def test_deep_segmenter_default_model_follows_the_movie_dimension(tmp_path):
    """`--segmenter deep` without --model runs the shipped 3D model on a ZYX movie and
    records it; an explicit 2D model on it is a one-line error naming the 3D one."""
    pytest.importorskip("torch")
    from celldyn.io import write_tiff
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=3, n_frames=2, shape=(12, 40, 40), n_objects=3, rng=0)
    movie = tmp_path / "m3.tif"
    write_tiff(movie, sim.movie)
    r = _invoke("run", movie, "-o", tmp_path / "out", "--no-progress", "--segmenter", "deep")
    assert r.exit_code == 0, r.stderr
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["config"]["model"] == "nuclei3d"
    r = _invoke("run", movie, "-o", tmp_path / "bad", "--no-progress", "--segmenter", "deep",
                "--model", "generalist2d")
    assert r.exit_code != 0 and "--model nuclei3d" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1

def test_fingerprint_of_a_file_follows_its_content_and_time(tmp_path):
    """A movie on disk is fingerprinted by its files' sizes and times (no pixel pass):
    rewriting it changes the fingerprint, reading it again does not, and a run's own
    scratch folder inside the movie's folder is not part of it."""
    import os

    from celldyn.io import read_movie, write_tiff
    from celldyn.movie import Movie
    from celldyn.pipeline import RunConfig, fingerprint

    folder = tmp_path / "movie"
    folder.mkdir()
    path = folder / "m.tif"
    data = np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8)
    write_tiff(path, Movie(data, "TYX"))
    first = fingerprint(read_movie(path), RunConfig(), source=path)
    assert fingerprint(read_movie(path), RunConfig(), source=path) == first
    (folder / "m2.tif").write_bytes(b"another frame")  # a folder: each of its files
    of_folder = fingerprint(read_movie(path), RunConfig(), source=folder)
    assert of_folder != first
    (folder / ".res.partial").mkdir()
    (folder / ".res.partial" / "labels_000000.npy").write_bytes(b"x")
    assert fingerprint(read_movie(path), RunConfig(), source=folder) == of_folder
    write_tiff(path, Movie(data[::-1].copy(), "TYX"))  # same size, new pixels and time
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fingerprint(read_movie(path), RunConfig(), source=path) != first
    assert fingerprint(read_movie(path), RunConfig(method="threshold"),
                       source=path) != fingerprint(read_movie(path), RunConfig(), source=path)


def test_fingerprint_of_an_unreadable_folder_hashes_the_pixels(tmp_path, monkeypatch):
    """A movie folder that cannot be listed (a subfolder without permission) is
    fingerprinted by its pixels, not stopped with a PermissionError traceback."""
    from pathlib import Path

    from celldyn.movie import Movie
    from celldyn.pipeline import RunConfig, fingerprint

    folder = tmp_path / "movie"
    folder.mkdir()
    (folder / "t000.tif").write_bytes(b"frame")
    movie = Movie(np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8), "TYX")
    pixels = fingerprint(movie, RunConfig())

    def unreadable(self, pattern):
        raise PermissionError(13, "Permission denied", str(self / "locked"))

    monkeypatch.setattr(Path, "rglob", unreadable)
    assert fingerprint(movie, RunConfig(), source=folder) == pixels
    other = Movie(np.zeros((2, 8, 8), np.uint16), "TYX")
    assert fingerprint(other, RunConfig(), source=folder) != pixels
