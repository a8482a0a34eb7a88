"""Smoke tests of benchmarks/tracking.py's own helpers (no peers, no data needed)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from bench_loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("tracking")


def _gt():
    # track 1 lives in frames 0..3 and divides into 2 and 3 (frames 4..7); track 4 is short
    # (frame 1 only) and has a child 5 after a gap (frames 3..7)
    labels = np.zeros((8, 1, 6), np.int32)
    labels[0:4, 0, 0] = 1
    labels[4:8, 0, 0] = 2
    labels[4:8, 0, 1] = 3
    labels[1, 0, 3] = 4
    labels[3:8, 0, 3] = 5
    table = pd.DataFrame([[1, 0, 3, 0], [2, 4, 7, 1], [3, 4, 7, 1], [4, 1, 1, 0],
                          [5, 3, 7, 4]], columns=["label", "begin", "end", "parent"])
    return labels, table


def test_subsample_keeps_tracks_and_parents(bench):
    labels, table = _gt()
    sub, out = bench.subsample_gt(labels, table, 2)
    assert sub.shape[0] == 4  # frames 0, 2, 4, 6
    rows = {r.label: (r.begin, r.end, r.parent) for r in out.itertuples()}
    assert rows[1] == (0, 1, 0)
    assert rows[2] == (2, 3, 1) and rows[3] == (2, 3, 1)
    assert 4 not in rows  # only in frame 1: dropped
    assert rows[5] == (2, 3, 0)  # its parent vanished and had no parent itself
    same, full = bench.subsample_gt(labels, table, 1)
    assert same.shape == labels.shape and full.equals(table.astype(np.int64))
    assert bench.gt_divisions(out) == [(1, frozenset({2, 3}), 2)]


def test_subsample_reattaches_to_grandparent(bench):
    labels = np.zeros((6, 1, 2), np.int32)
    labels[0:2, 0, 0] = 1  # grandparent, frames 0-1
    labels[2:3, 0, 0] = 2  # parent, frame 2 only: dropped at k=3
    labels[3:6, 0, 0] = 3  # child from frame 3
    table = pd.DataFrame([[1, 0, 1, 0], [2, 2, 2, 1], [3, 3, 5, 2]],
                         columns=["label", "begin", "end", "parent"])
    _, out = bench.subsample_gt(labels, table, 3)  # frames 0, 3
    assert out.set_index("label")["parent"].to_dict() == {1: 0, 3: 1}


def test_division_scores(bench):
    gt = [(1, frozenset({2, 3}), 4), (10, frozenset({11, 12}), 9)]
    pred = [
        (1, 2, 3, 4),     # exact
        (11, 11, 12, 10),  # one frame late: parent node already daughter 11
        (20, 21, 22, 5),  # false division
    ]
    s = bench.division_scores(pred, gt)
    assert (s["div_TP"], s["div_FP"], s["div_FN"]) == (2, 1, 0)
    assert s["div_F1"] == pytest.approx(0.8)
    late = bench.division_scores([(1, 2, 3, 6)], gt)  # two frames late: no match
    assert late["div_TP"] == 0 and late["div_FN"] == 2
    wrong = bench.division_scores([(1, 2, 2, 4)], gt)  # both daughters one GT track
    assert wrong["div_TP"] == 0
    assert math.isnan(bench.division_scores([], [])["div_F1"])


def test_predicted_divisions_and_matching(bench):
    g = nx.DiGraph()
    for n, (t, s) in enumerate([(0, 5), (1, 6), (1, 7)]):
        g.add_node(n, t=t, seg_id=s)
    g.add_edges_from([(0, 1), (0, 2)])
    assert bench.predicted_divisions(g, lambda t, s: s * 10) == [(50, 60, 70, 1)]
    gt = np.array([[[1, 1, 0, 2]]], np.int32)
    res = np.array([[[3, 0, 0, 4]]], np.int32)  # 3 covers half of GT 1 (not more)
    assert bench.match_to_gt(res, gt) == {(0, 4): 2}


def test_random_walk_is_seeded(bench):
    a = bench.random_walk(5, 7, seed=1)
    b = bench.random_walk(5, 7, seed=1)
    assert len(a) == 35 and a.equals(b)
    assert a["y"].min() >= 0 and a.groupby("t").size().eq(7).all()
