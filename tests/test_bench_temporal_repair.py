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


def test_table_prints_both_rows_of_a_part(bench):
    row = {"set": "S", "part": "test frames 5-9", "objects": 10, "frames_split": 0,
           "TRA": 0.9, "DET": 0.95, "LNK": 0.8, "BC(1)": math.nan, "div_F1": math.nan,
           "div_TP": 0, "div_FP": 0, "div_FN": 0}
    text = bench.table([{**row, "repair": False}, {**row, "repair": True, "frames_split": 2}])
    lines = text.splitlines()
    assert len(lines) == 4 and "| off |" in lines[2] and "| on |" in lines[3]
    assert "| 2 |" in lines[3] and "n/a (0/0/0)" in lines[3]
