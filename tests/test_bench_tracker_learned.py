"""The learned tracker's split of the real lineage sets and its training command
(benchmarks/splits.py TRACKING, benchmarks/tracker_learned.py): no test frame trains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench_loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("tracker_learned")


def test_frame_parts_are_disjoint_ordered_and_cover_the_movie(bench):
    parts = {n: sp for n, sp in bench.TRACKING.items() if sp.unit == "frame"}
    assert set(parts) == {"Fluo-N2DL-HeLa-01", "PhC-C2DL-PSC-01",
                          "PhC-C2DL-EcoliColony-vanVliet-01", "DIC-C2DH-HeLa-01"}
    for sp in parts.values():
        frames = sp.train + sp.validation + sp.test
        assert list(frames) == list(range(len(frames)))  # contiguous, in time order
        assert max(sp.train) < min(sp.validation) < min(sp.test)
        assert len(sp.test) >= 0.2 * len(frames) and len(sp.validation) >= 5


def test_training_command_uses_training_frames_only(bench):
    args = bench.train_command(Path("D"), Path("out"))
    gt = [a for k, a in zip(args, args[1:]) if k == "--gt"]
    val = [a for k, a in zip(args, args[1:]) if k == "--validation"]
    for text, part in [(g, "train") for g in gt] + [(v, "validation") for v in val]:
        m = re.fullmatch(r"D/(.+?)/\d\d_GT(?::(\d+)-(\d+))?", text)
        assert m, text
        sp = bench.TRACKING[m[1]]
        if m[2] is None:  # a whole movie: only the ones split as training movies
            assert part == "train" and sp.unit == "movie" and sp.train and not sp.test
        else:
            assert (int(m[2]), int(m[3])) == bench.frame_range(getattr(sp, part))
    assert not any("GOWT1-02" in a for a in gt + val)
    loso = bench.train_command(Path("D"), Path("out"), without="PhC-C2DL-PSC-01")
    assert not any("PSC" in a for a in loso) and len(loso) == len(args) - 4
