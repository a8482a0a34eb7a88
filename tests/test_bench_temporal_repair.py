"""Smoke tests of benchmarks/temporal_repair.py's own helpers (no data needed)."""

from __future__ import annotations

import math

import pytest
from bench_loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("temporal_repair")


def test_parts_follow_the_tracking_split(bench):
    # a frame-split set: its training frames (train + validation) and its test frames
    parts = dict(bench.parts_of("PhC-C2DL-PSC-01", {"training", "test"}))
    n = bench.T.training_frames("PhC-C2DL-PSC-01")
    first, last = bench.T.test_part("PhC-C2DL-PSC-01")
    assert parts == {f"training frames 0-{n - 1}": n, f"test frames {first}-{last}": (first, last)}
    assert first == n  # the test frames start where the tunable ones end
    # a test movie has no training part; a training movie no test part
    assert bench.parts_of("Fluo-N2DH-GOWT1-02", {"training", "test"}) == [
        ("test (whole movie)", None)]
    assert bench.parts_of("Fluo-N2DH-GOWT1-01", {"training", "test"}) == [
        ("training (whole movie)", None)]
    assert bench.parts_of("PhC-C2DL-PSC-01", {"training"}) == [
        (f"training frames 0-{n - 1}", n)]


def test_table_prints_every_variant_of_a_part(bench):
    row = {"set": "S", "part": "test frames 5-9", "objects": 10, "frames_split": 0,
           "TRA": 0.9, "DET": 0.95, "LNK": 0.8, "BC(1)": math.nan, "div_F1": math.nan,
           "div_TP": 0, "div_FP": 0, "div_FN": 0}
    text = bench.table([{**row, "repair": False},                      # a run before 12-06
                        {**row, "repair": True, "frames_split": 2},
                        {**row, "repair": "merged+joined", "frames_split": 3,
                         "sister_lags": [0, 1, 1, None]}])
    lines = text.splitlines()
    assert len(lines) == 5 and "| off |" in lines[2] and "| merged |" in lines[3]
    assert "| 2 |" in lines[3] and "n/a (0/0/0)" in lines[3]
    assert "| merged+joined |" in lines[4] and "| 0: 1, 1: 2, n: 1 |" in lines[4]
    assert lines[2].endswith("| - |")                                 # no lags stored


def test_sister_lags_count_frames_until_the_daughters_part(bench):
    import numpy as np
    import pandas as pd

    gt = np.zeros((4, 6, 10), np.int32)
    gt[0, 2:4, 1:9] = 1                          # mother in frame 0
    gt[1:, 2:4, 1:5], gt[1:, 2:4, 5:9] = 2, 3    # daughters from frame 1
    table = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 1, 1], "end": [0, 3, 3],
                          "parent": [0, 1, 1]})
    seg = (gt > 0).astype(np.int32)              # drawn as one rod ...
    seg[3][gt[3] == 3] = 2                       # ... until frame 3
    assert bench.sister_lags(seg, gt, table) == [2]
    seg[1:][gt[1:] == 3] = 2
    assert bench.sister_lags(seg, gt, table) == [0]
    assert bench.sister_lags((gt > 0).astype(np.int32), gt, table) == [None]
