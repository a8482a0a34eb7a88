"""The pipeline on a real dask.distributed LocalCluster of 2 worker processes (issue 19):
the same results bit for bit, deep models loaded once per worker, a killed worker loses
and doubles no frame, an interrupted run resumes from its complete chunks."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from celldyn.errors import CelldynError
from celldyn.pipeline import FrameCache, RunConfig, fingerprint, run
from celldyn.scale.execute import auto_chunk_frames
from celldyn.scale import connect
from celldyn.scale.execute import worker_loads
from celldyn.simulate import simulate_movie


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as (client, note):
        assert note == "LocalCluster of 2 worker processes"
        yield client


def _assert_same(a, b):
    assert np.array_equal(np.asarray(a.labels), np.asarray(b.labels))
    assert a.objects.equals(b.objects)
    assert np.array_equal(a.edges, b.edges)
    assert a.tracks.equals(b.tracks)
    assert sorted(a.graph.edges) == sorted(b.graph.edges)


def test_dask_run_equals_in_process_run(client, sim2d, tmp_path):
    plain = run(sim2d.movie)
    assert len(plain.objects) > 30 and len(plain.edges) > 20
    _assert_same(plain, run(sim2d.movie, client=client))
    config = RunConfig()
    cache = FrameCache(tmp_path / "cache", fingerprint(sim2d.movie, config))
    on_disk = run(sim2d.movie, config=config, client=client, cache=cache)
    _assert_same(plain, on_disk)
    parts = sorted(p.name for p in (tmp_path / "cache" / "objects").glob("*.parquet"))
    n = auto_chunk_frames(sim2d.movie.data)  # small frames: several a task
    assert n > 1
    assert parts == [f"part_{t:06d}_{min(t + n, 8):06d}.parquet" for t in range(0, 8, n)]


def test_dask_run_of_a_lazy_3d_movie_equals_in_process(client, sim3d):
    import dask.array as da
    import dataclasses

    lazy = dataclasses.replace(sim3d.movie, data=da.from_array(sim3d.movie.data,
                                                                chunks=(1, 8, 24, 24)))
    _assert_same(run(sim3d.movie, method="threshold"),
                 run(lazy, method="threshold", client=client))


def test_deep_model_is_loaded_once_per_worker(client):
    pytest.importorskip("torch")
    sim = simulate_movie(n_frames=4, shape=(48, 48), n_objects=4, rng=4)
    before = client.run(worker_loads)
    on_dask = run(sim.movie, segmenter="deep", client=client)
    after = client.run(worker_loads)
    loads = [after[w] - before.get(w, 0) for w in after]
    assert sum(loads) >= 1 and all(n <= 1 for n in loads), loads  # 4 tasks, <= 2 loads
    plain = run(sim.movie, segmenter="deep")
    _assert_same(plain, on_dask)


def test_a_killed_worker_loses_and_doubles_no_frame(client, tmp_path):
    sim = simulate_movie(n_frames=40, shape=(128, 128), n_objects=10, rng=5)
    plain = run(sim.movie)
    pids = client.run(os.getpid)
    parts = tmp_path / "cache" / "objects"
    killed: list[int] = []

    def kill_one():  # once a few chunks are done, SIGKILL one worker process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = len(list(parts.glob("*.parquet"))) if parts.exists() else 0
            if done >= 3:
                os.kill(next(iter(pids.values())), signal.SIGKILL)
                killed.append(done)
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=kill_one)
    watcher.start()
    cache = FrameCache(tmp_path / "cache", fingerprint(sim.movie, RunConfig()))
    result = run(sim.movie, client=client, cache=cache)
    watcher.join()
    assert killed and killed[0] < 40 // auto_chunk_frames(sim.movie.data), \
        "the worker was not killed mid-run"
    _assert_same(plain, result)
    names = sorted(p.name for p in parts.glob("*.parquet"))
    n = auto_chunk_frames(sim.movie.data)
    assert names == [f"part_{t:06d}_{min(t + n, 40):06d}.parquet" for t in range(0, 40, n)]
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert set(client.run(os.getpid).values()) != set(pids.values())


def test_resume_runs_only_the_missing_chunks(client, sim2d, tmp_path, monkeypatch):
    from celldyn.scale import execute

    monkeypatch.setattr(execute, "MAX_CHUNK_FRAMES", 2)  # 4 chunks of 2 frames
    config = RunConfig()
    cache = FrameCache(tmp_path / "cache", fingerprint(sim2d.movie, config))
    first = run(sim2d.movie, config=config, client=client, cache=cache)
    parts = sorted((tmp_path / "cache" / "objects").glob("*.parquet"))
    assert len(parts) == 4
    for p in parts[3:]:  # a crash after three chunks
        p.unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in parts[:3]}
    cache = FrameCache(tmp_path / "cache", fingerprint(sim2d.movie, config))
    assert len(cache) == 6  # frames of the complete chunks
    again = run(sim2d.movie, config=config, client=client, cache=cache)
    assert {p.name: p.stat().st_mtime_ns for p in parts[:3]} == kept  # not redone
    assert all(p.exists() for p in parts)
    _assert_same(first, again)


def test_an_unreachable_scheduler_is_one_line():
    with pytest.raises(CelldynError, match="cannot reach the dask scheduler") as err:
        with connect(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    assert "\n" not in str(err.value)


def test_cli_run_on_a_scheduler_writes_the_same_folder(client, sim2d, tmp_path):
    """`celldyn run --scheduler ADDR` (the module's cluster) says where it ran and writes
    the same labels, objects and tracks as the plain command."""
    import pandas as pd
    from click.testing import CliRunner

    from celldyn.cli.main import main
    from celldyn.io import read_labels
    from celldyn.io.tiff import write_tiff

    movie = tmp_path / "movie.ome.tif"
    write_tiff(movie, sim2d.movie)
    runner = CliRunner()
    plain = runner.invoke(main, ["run", str(movie), "-o", str(tmp_path / "a"),
                                 "--no-progress"])
    assert plain.exit_code == 0, plain.output
    address = client.scheduler.address
    dask = runner.invoke(main, ["run", str(movie), "-o", str(tmp_path / "b"),
                                "--no-progress", "--scheduler", address])
    assert dask.exit_code == 0, dask.output
    assert f"running on dask cluster at {address} (2 workers)" in dask.output
    assert pd.read_parquet(tmp_path / "a" / "objects.parquet").equals(
        pd.read_parquet(tmp_path / "b" / "objects.parquet"))
    assert np.array_equal(read_labels(tmp_path / "a" / "labels.ome.zarr"),
                          read_labels(tmp_path / "b" / "labels.ome.zarr"))
    assert ((tmp_path / "a" / "ctc" / "res_track.txt").read_text()
            == (tmp_path / "b" / "ctc" / "res_track.txt").read_text())


def test_at_most_in_flight_tasks_are_on_the_scheduler(client, sim2d):
    # memory flat in movie length: a window of tasks is submitted, refilled as they finish
    from celldyn.measure import measure_objects
    from celldyn.scale import segment_measure
    from celldyn.segment import segment_movie

    seen: list[int] = []
    outstanding: list = []
    compute = client.compute

    class Spy:
        def __getattr__(self, name):
            return getattr(client, name)

        def compute(self, tasks):
            futures = compute(tasks)
            outstanding[:] = [f for f in outstanding if not f.done()] + list(futures)
            seen.append(len(outstanding))
            return futures

    labels, objects = segment_measure(sim2d.movie, sim2d.movie, client=Spy(), in_flight=3,
                                      chunk_frames=1)
    assert len(seen) >= 3 and max(seen) <= 3, seen  # 8 frames: several windows
    plain = segment_movie(sim2d.movie)
    assert np.array_equal(labels, plain)
    assert objects.equals(measure_objects(plain, sim2d.movie.data,
                                          spacing=sim2d.movie.spacing))
