"""Smoke tests of benchmarks/segmentation.py's peer helpers (no cellpose env, no data)."""

from __future__ import annotations

import pytest
from bench_loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("segmentation")


def _row(s, m, ap):
    return {"set": s, "method": m, "AP@0.5": ap, "AP@0.75": ap / 2, "SEG": ap}


def test_peer_rows_merge_and_text(bench):
    rows = [_row("A", "watershed (otsu)", 0.7), _row("A", "deep nuclei2d (diameter 30 px from "
            "training split)", 0.8), _row("B", "threshold", 0.5),
            _row("A", bench.CELLPOSE_METHOD + ", diameter 30 px", 0.1)]   # stale peer row
    peer = [_row("A", bench.CELLPOSE_METHOD + ", diameter 30 px", 0.6)]
    merged = bench._merge_peer_rows(rows, peer)
    assert [r["method"] for r in merged][:3] == [rows[0]["method"], rows[1]["method"],
                                                 peer[0]["method"]]
    assert len(merged) == 4 and merged[2]["AP@0.5"] == 0.6
    line = bench.peer_lines(merged)
    assert "Cellpose 3 (from scratch) 0.600" in line and "watershed (otsu)" in line
    # a Cellpose row is never taken for the best classical method
    assert bench.CELLPOSE_METHOD not in bench.CLASSICAL


def test_missing_cellpose_env_is_skipped(bench, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "CELLPOSE_PY", tmp_path / "none" / "bin" / "python")
    why = bench.cellpose_available()
    assert why and "skipped" in why
    rows, meta, why2 = bench.cellpose_rows({}, quick=True)
    assert rows == [] and meta is None and why2 == why
    text = bench.peers_text(None, why)
    assert "skipped" in text and "StarDist" in text


def _part(items, severe, groups=None, agreement=None):
    return {"items": items, "groups": groups or [[i] for i in range(len(items))],
            "severe": severe, "diameters": [], "ms_per_mp": 1.0, "names": [],
            "agreement": agreement}


def test_generalist_summary_auto_rule_and_best_classical(bench):
    good, bad = [1, 0, 0, 1, 0, 0, 0.9, 1], [0, 3, 1, 0, 3, 1, 0.0, 1]
    s = bench._summary([good, bad])
    assert s["AP@0.5"] == round(1 / 5, 4) and s["SEG"] == 0.45 and s["n_gt"] == 2
    res = {
        "generalist2d": {"S": {"test": _part([bad, good, good], [0, 0, 3],
                                             agreement=[0.95, 0.2, 0.2]),
                               "validation": _part([good], [0], agreement=[0.5])}},
        "watershed (triangle)": {"S": {"test": _part([good, bad, bad], [0, 2, 0]),
                                       "validation": _part([bad], [0])}},
        "watershed (triangle, dark objects)": {"S": {"validation": _part([good], [0])}},
    }
    # group 0: they agree, the watershed is kept; group 1: they disagree, the generalist
    # runs; group 2: they disagree but the generalist is the pathological one
    counts, how = bench._auto_counts(res, "S", "test", tau=0.9)
    assert counts == [good, good, bad] and how == "generalist in 1 of 3 groups"
    # a higher agreement level hands group 0 to the generalist too
    assert bench._auto_counts(res, "S", "test", tau=0.99)[0] == [bad, good, bad]
    # the best classical variant is chosen on the validation part, not the test part
    assert bench._best_classical(res, "S") == "watershed (triangle, dark objects)"
    assert bench._auto_counts(res, "T", "test") == ([], "missing")
    no_agreement = {k: v for k, v in res.items()}
    no_agreement["generalist2d"] = {"S": {"test": _part([good], [0])}}
    assert bench._auto_counts(no_agreement, "S", "test")[0] == []


def test_generalist_fine_tune_images_never_scored(bench, monkeypatch):
    import numpy as np

    from celldyn.segment.deep import datasets
    from celldyn.segment.deep.datasets import Item

    def item(i, empty=False):
        lab = np.zeros((4, 4), np.int32)
        if not empty:
            lab[1:3, 1:3] = 1
        return Item(f"S:t{i:03d}", np.zeros((4, 4), np.float32), lab)

    pool = [item(i, empty=i == 2) for i in range(12)]
    monkeypatch.setattr(datasets, "load_part", lambda sp, part, root: pool)
    scored = [f"S:t{i:03d}" for i in (0, 4, 8, 11)]
    chosen, why = bench._gen_ft_images(None, scored)
    names = [it.name for it in chosen]
    # 5 evenly spaced among the 7 spare annotated images (t002 is empty, 4 are scored)
    assert why == "" and names == ["S:t001", "S:t005", "S:t006", "S:t007", "S:t010"]
    # fewer than 2 spare annotated images: no fine-tuning, and the row says why
    chosen, why = bench._gen_ft_images(None, [f"S:t{i:03d}" for i in range(12) if i != 2])
    assert chosen == [] and why.startswith("not possible") and "11 of them scored" in why
    method, summary, note = bench._gen_ft_row({"not_possible": why, "items": []})
    assert summary is None and note == why and method.startswith("deep generalist2d")


def test_leave_one_set_out_rows(bench, monkeypatch, tmp_path):
    """A set without its retrained model gets a reason, never a score; the paragraph
    compares the shipped generalist with the retrained one on the sets that ran."""
    monkeypatch.setattr(bench, "GEN_LOSO_DIR", tmp_path)
    r = bench._gen_method(bench.GEN_LOSO, [], "DIC-C2DH-HeLa-01")
    assert "--train-loso DIC-C2DH-HeLa-01" in r["not_possible"] and "items" not in r
    # a test-only movie is scored by the model retrained without its sister movie
    r = bench._gen_method(bench.GEN_LOSO, [], "Fluo-N2DH-GOWT1-02")
    assert "--train-loso Fluo-N2DH-GOWT1-01" in r["not_possible"]
    assert bench.train_loso("no-such-set") == 2
    good, bad = [1, 0, 0, 1, 0, 0, 0.9, 1], [0, 3, 1, 0, 3, 1, 0.0, 1]
    assert "none run yet" in bench.loso_text({})
    res = {"generalist2d": {"DIC-C2DH-HeLa-01": {"test": _part([good], [0])}},
           bench.GEN_LOSO: {"DIC-C2DH-HeLa-01": {"test": _part([bad], [0])}}}
    text = bench.loso_text(res)
    assert "DIC-C2DH-HeLa-01: AP@0.5 1.000 -> 0.000" in text
    assert "Not run for" in text and "PhC-C2DL-PSC-01" in text


def test_leave_one_set_out_retrains_with_the_shipped_command(bench):
    """--train-loso takes its options from the shipped model's first recorded run (the
    one from nuclei2d; run 2 continued it from its own weights)."""
    args = bench._shipped_training_args()
    assert args == ["--init", "nuclei2d", "--epochs", "30", "--iters", "300", "--batch", "8",
                    "--crop", "128", "--val-per-set", "2", "--val-every", "5", "--seed", "0",
                    "--no-progress"]
