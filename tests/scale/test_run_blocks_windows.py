"""`celldyn run --block-size / --track-window` (issue 19): frames segmented in blocks
and tracking in time windows, wired into the run, in process and on Dask; what the run
says it used; bad values as one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from celldyn.pipeline import run
from celldyn.scale import connect, plan
from celldyn.scale.blocks import block_grid
from celldyn.simulate import simulate_movie
from click.testing import CliRunner

from celldyn.cli import main


def invoke(*args):
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_user_error(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when `a` and `b` are the same objects with ids renamed (a bijection)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def _labels(folder) -> np.ndarray:
    from celldyn.io import read_labels

    return np.asarray(read_labels(folder / "labels.ome.zarr"))


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """A small movie with many objects, several of them cut by 48-px blocks."""
    from celldyn.io import write_tiff

    root = tmp_path_factory.mktemp("blocks")
    sim = simulate_movie(n_frames=4, shape=(128, 128), n_objects=14, rng=3)
    write_tiff(root / "movie.ome.tif", sim.movie)
    return root / "movie.ome.tif", sim


def test_cli_blocks_give_the_whole_frame_objects(crowded, tmp_path):
    movie, _ = crowded
    whole, blocked = tmp_path / "whole", tmp_path / "blocked"
    common = ["--no-progress", "--segmenter", "classical"]
    assert invoke("run", movie, "-o", whole, *common).exit_code == 0
    r = invoke("run", movie, "-o", blocked, *common, "--block-size", "48",
               "--block-overlap", "40")
    assert r.exit_code == 0, r.stderr
    a, b = _labels(whole), _labels(blocked)
    # objects really are cut by the blocks' cores: the stitching has work to do
    cut = sum(len(np.unique(a[0][core])[1:]) for core, _ in block_grid(a.shape[1:], 48, 0))
    assert cut > len(np.unique(a[0])[1:]) + 5
    assert all(_same_partition(a[t], b[t]) for t in range(a.shape[0]))
    oa = pd.read_parquet(whole / "objects.parquet")
    ob = pd.read_parquet(blocked / "objects.parquet")
    assert len(oa) == len(ob) > 40
    assert np.allclose(np.sort(oa["area"]), np.sort(ob["area"]))
    record = json.loads((blocked / "run.json").read_text())
    assert record["config"]["block_size"] == 48 and record["inputs"]["block_size"] == 48
    assert "blocks of 48 px, overlap 40 px" in record["summary"]["segmentation"]
    assert "blocks of 48 px" in r.stdout
    plain = json.loads((whole / "run.json").read_text())
    assert "block_size" not in plain["config"] and "segmentation" not in plain["summary"]


def test_blocks_without_the_frame_statistics_would_differ(crowded):
    """The frame's intensity range and threshold fixed for every block are what make
    the blocks agree: a block that normalises and thresholds itself cuts differently."""
    from celldyn.scale import segment_blocks
    from celldyn.segment.classical import segment_watershed

    _, sim = crowded
    frame = sim.movie.data[0]
    whole = segment_watershed(frame)
    own = segment_blocks(frame, lambda b: segment_watershed(b, min_size=30), block=48,
                         overlap=40)
    assert not _same_partition(whole, own)


def test_automatic_blocks_when_a_frame_would_not_fit(crowded, monkeypatch):
    _, sim = crowded
    frame_bytes = 128 * 128 * plan.WORK_BYTES_PER_PIXEL
    monkeypatch.setattr(plan, "worker_memory", lambda client=None: 2.0 * frame_bytes)
    assert plan.auto_block((128, 128), 40, 2.0 * frame_bytes) == 128  # the floor
    monkeypatch.setattr(plan, "auto_block", lambda shape, overlap, memory: 48)
    result = run(sim.movie, segmenter="classical", block_overlap=40)
    assert "blocks of 48 px" in result.segmentation and "automatic" in result.segmentation
    plain = run(sim.movie, segmenter="classical", block_size=0)
    assert plain.segmentation == ""
    assert all(_same_partition(np.asarray(plain.labels[t]), np.asarray(result.labels[t]))
               for t in range(sim.movie.n_frames))


def test_auto_block_size():
    assert plan.auto_block((1024, 1024), 64, 16e9) is None
    side = plan.auto_block((40000, 40000), 64, 16e9)
    assert side % 64 == 0 and (side + 128) ** 2 * plan.WORK_BYTES_PER_PIXEL <= 16e9 / 4
    assert plan.auto_block((512, 4096, 4096), 64, 16e9) < 512


def test_blocks_on_dask_equal_blocks_in_process(crowded):
    _, sim = crowded
    here = run(sim.movie, segmenter="classical", block_size=48, block_overlap=40)
    with connect(workers=1) as (client, _):
        there = run(sim.movie, segmenter="classical", block_size=48, block_overlap=40,
                    client=client)
    assert np.array_equal(np.asarray(here.labels), np.asarray(there.labels))
    assert here.objects.equals(there.objects)
    assert here.segmentation == there.segmentation


def test_cli_track_window_gives_the_whole_movie_graph(tmp_path):
    """Frame-to-frame linking (no gaps, no divisions) is local in time: the windows
    joined are the whole-movie graph, so the run folders' tracks are identical."""
    from celldyn.io import write_tiff

    sim = simulate_movie(n_frames=24, shape=(96, 96), n_objects=10, speed=2.5,
                         appear_rate=0.05, boundary="leave", rng=7)
    write_tiff(tmp_path / "movie.ome.tif", sim.movie)
    common = ["--no-progress", "--segmenter", "classical", "--max-gap", "0",
              "--no-divisions", "--min-daughter-frames", "0"]
    whole, windows = tmp_path / "whole", tmp_path / "windows"
    assert invoke("run", tmp_path / "movie.ome.tif", "-o", whole, *common).exit_code == 0
    r = invoke("run", tmp_path / "movie.ome.tif", "-o", windows, *common,
               "--track-window", "5")
    assert r.exit_code == 0, r.stderr
    tracks_a = (whole / "ctc" / "res_track.txt").read_text()
    assert tracks_a == (windows / "ctc" / "res_track.txt").read_text()
    assert len(tracks_a.splitlines()) >= 10
    assert np.array_equal(_labels(whole), _labels(windows))
    assert pd.read_parquet(whole / "objects.parquet").equals(
        pd.read_parquet(windows / "objects.parquet"))
    record = json.loads((windows / "run.json").read_text())
    assert record["config"]["track_window"] == 5
    assert "in windows of 5 frames" in record["summary"]["tracking"]
    assert record["summary"]["tracks"] == json.loads(
        (whole / "run.json").read_text())["summary"]["tracks"]


@pytest.mark.parametrize("args, words", [
    (["--block-size", "5"], ["block size", "16"]),
    (["--block-size", "-3"], ["block size"]),
    (["--block-overlap", "-1"], ["block overlap"]),
    (["--track-window", "0"], ["track window"]),
])
def test_bad_values_are_one_line_errors(crowded, tmp_path, args, words):
    movie, _ = crowded
    r = invoke("run", movie, "-o", tmp_path / "out", "--no-progress", *args)
    assert_user_error(r, *words)
    assert not (tmp_path / "out").exists()
