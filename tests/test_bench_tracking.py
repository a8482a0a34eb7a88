"""Smoke tests of benchmarks/tracking.py's own helpers (no peers, no data needed)."""

from __future__ import annotations

import math

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
    from celldyn.track.graph import subsample_ctc

    assert bench.subsample_ctc is subsample_ctc  # one CTC subsampling, the package's
    labels, table = _gt()
    sub, out = bench.subsample_ctc(labels, table, 2)
    assert sub.shape[0] == 4  # frames 0, 2, 4, 6
    rows = {r.label: (r.begin, r.end, r.parent) for r in out.itertuples()}
    assert rows[1] == (0, 1, 0)
    assert rows[2] == (2, 3, 1) and rows[3] == (2, 3, 1)
    assert 4 not in rows  # only in frame 1: dropped
    assert rows[5] == (2, 3, 0)  # its parent vanished and had no parent itself
    same, full = bench.subsample_ctc(labels, table, 1)
    assert same.shape == labels.shape and full.equals(table.astype(np.int64))
    assert bench.gt_divisions(out) == [(1, frozenset({2, 3}), 2)]
    # the first frames of a movie with its whole table (benchmarks' --frames)
    first, cut = bench.subsample_ctc(labels[:4], table, 1)
    assert first.shape[0] == 4
    assert {r.label: (r.begin, r.end, r.parent) for r in cut.itertuples()} == {
        1: (0, 3, 0), 4: (1, 1, 0), 5: (3, 3, 4)}


def test_subsample_reattaches_to_grandparent(bench):
    labels = np.zeros((6, 1, 2), np.int32)
    labels[0:2, 0, 0] = 1  # grandparent, frames 0-1
    labels[2:3, 0, 0] = 2  # parent, frame 2 only: dropped at k=3
    labels[3:6, 0, 0] = 3  # child from frame 3
    table = pd.DataFrame([[1, 0, 1, 0], [2, 2, 2, 1], [3, 3, 5, 2]],
                         columns=["label", "begin", "end", "parent"])
    _, out = bench.subsample_ctc(labels, table, 3)  # frames 0, 3
    assert out.set_index("label")["parent"].to_dict() == {1: 0, 3: 1}


def test_pick_laptrack_prefers_bc1_then_tra(bench):
    base = {"gt_divisions": 3, "TRA": 0.99}
    sweep = [{**base, "max_distance": 10.0, "BC(1)": 0.5},
             {**base, "max_distance": 20.0, "BC(1)": 0.8, "TRA": 0.98},
             {**base, "max_distance": 30.0, "BC(1)": 0.8, "TRA": 0.995},
             {**base, "max_distance": 40.0, "error": "timeout"}]
    assert bench._pick_laptrack(sweep)["max_distance"] == 30.0
    none = [{"gt_divisions": 0, "BC(1)": math.nan, "TRA": t, "max_distance": d}
            for t, d in ((0.9, 5.0), (0.95, 10.0))]
    assert bench._pick_laptrack(none)["max_distance"] == 10.0


def test_targets_compare_with_laptrack_best(bench):
    def row(tracker, tra, bc, f1=0.9, **kw):
        return {"set": "PhC-C2DL-PSC-01", "detections": "GT masks", "step": 1,
                "objects": 100, "tracker": tracker, "TRA": tra, "BC(1)": bc,
                "div_F1": f1, "gt_divisions": 5, "seconds": 1.0, "max_distance": 10.0,
                **kw}

    rows = [row("celldyn LAP", 0.999, 0.90, seconds=0.2),
            row("laptrack", 0.998, 0.85, best_TRA=0.999, **{"best_BC(1)": 0.95})]
    notes = bench.targets(rows)
    assert "NOT met in 1 case" in notes[0] and "BC(1)" in notes[1]
    assert any("5.0x, met" in n for n in notes)


def test_random_walk_is_seeded(bench):
    a = bench.random_walk(5, 7, seed=1)
    b = bench.random_walk(5, 7, seed=1)
    assert len(a) == 35 and a.equals(b)
    assert a["y"].min() >= 0 and a.groupby("t").size().eq(7).all()


def test_training_frames_follow_the_split(bench):
    from splits import TRACKING

    hela = TRACKING["Fluo-N2DL-HeLa-01"]
    n = bench.training_frames("Fluo-N2DL-HeLa-01")
    assert n == max(hela.validation) + 1 and n <= min(hela.test)  # no test frame
    assert bench.training_frames("Fluo-N2DH-SIM+-01") is None  # a training movie: whole
    assert bench.training_frames("Fluo-N2DH-GOWT1-02") == 0  # a test movie: none


def test_flow_links_follow_a_drifting_colony(bench):
    # a 3 x 3 grid, 20 px apart, drifting 6 px a frame: every cell is followed
    g = np.stack(np.meshgrid(np.arange(3) * 20.0, np.arange(3) * 20.0), -1).reshape(-1, 2)
    rows = [(t, i + 1, y, x + 6.0 * t) for t in range(4) for i, (y, x) in enumerate(g)]
    objects = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    edges = bench.flow_links(objects, None, max_distance=15.0, max_gap=0)
    lab = objects["label"].to_numpy()
    assert len(edges) == 27 and (lab[edges[:, 0]] == lab[edges[:, 1]]).all()


def test_missing_btrack_says_how_to_make_it(bench):
    text = bench.peer_missing("btrack")
    assert "setup_peers.sh btrack" in text and "pydantic<2" in text


def test_missing_trackastra_says_what_is_missing(bench, tmp_path, monkeypatch):
    env = tmp_path / "trackastra"
    monkeypatch.setitem(bench.PEER_RUNNERS, "trackastra",
                        (env / "bin" / "python", bench.PEERS / "run_trackastra.py"))
    monkeypatch.setattr(bench, "TRACKASTRA_MODEL", tmp_path / "model")
    monkeypatch.setattr(bench, "HERE", tmp_path)
    assert "setup_peers.sh trackastra" in bench.peer_missing("trackastra")
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").touch()
    # the environment alone is not enough: without trained weights it is skipped
    assert bench.peer_runner("trackastra") is None
    assert "no trained model" in bench.peer_missing("trackastra")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pt").touch()
    assert bench.peer_runner("trackastra") == bench.PEER_RUNNERS["trackastra"]


def test_trackastra_split_names_the_frames_it_saw(bench):
    hela = bench.TRACKING["Fluo-N2DL-HeLa-01"]
    assert bench.trackastra_split("Fluo-N2DL-HeLa-01") == (
        f"trained: frames 0-{max(hela.validation)} of {max(hela.test) + 1}")
    assert bench.trackastra_split("Fluo-N2DH-GOWT1-02") == "test"
    assert bench.trackastra_split("Fluo-N2DH-SIM+-01") == "train"
    # --test-parts scores only what neither learned tracker saw
    assert bench.test_part("Fluo-N2DL-HeLa-01") == (min(hela.test), max(hela.test))
    assert min(hela.test) > max(hela.validation)
    assert bench.test_part("Fluo-N2DH-GOWT1-02") is None


def test_merge_replaces_only_the_trackers_run(bench, tmp_path, monkeypatch):
    import json

    def row(name, tracker, tra):
        return {"set": name, "split": "test", "detections": "GT masks", "step": 1,
                "frames": 3, "objects": 10, "max_gap": 2, "tracker": tracker,
                "max_distance": 20.0, "TRA": tra, "DET": 1.0, "LNK": tra, "BC(1)": 0.5,
                "CT": 0.5, "CCA": math.nan, "div_precision": 0.5, "div_recall": 0.5,
                "div_F1": 0.5, "FN": 0, "FP": 0, "ED": 0, "EA": 0, "EC": 0, "div_TP": 1,
                "div_FP": 1, "div_FN": 1, "gt_divisions": 2, "res_divisions": 2,
                "seconds": 0.1, "best_TRA": tra, "best_BC(1)": 0.5}

    hela, psc = "Fluo-N2DL-HeLa-01", "PhC-C2DL-PSC-01"
    old = [row(hela, "celldyn LAP", 0.9), row(hela, "laptrack", 0.8),
           row(psc, "celldyn LAP", 0.7)]
    path = tmp_path / "tracking.json"
    path.write_text(json.dumps({"rows": old, "laptrack_sweep": [], "scale": [],
                                "notes": ["Target 'x': met.", "btrack: skipped, absent."]}))
    # HeLa's LAP row re-run (linking faked here): it replaces the old one, the rest kept
    monkeypatch.setattr(bench, "bench_sets",
                        lambda *a, **k: ([row(hela, "celldyn LAP", 0.95)], []))
    assert bench.main(["--skip-scale", "--merge", "--no-results-md",
                       "--trackers", "celldyn LAP", "--sets", hela, "--json",
                       str(path)]) == 0
    out = json.loads(path.read_text())
    assert sorted((r["set"], r["tracker"], r["TRA"]) for r in out["rows"]) == [
        (hela, "celldyn LAP", 0.95), (hela, "laptrack", 0.8), (psc, "celldyn LAP", 0.7)]
    assert "btrack: skipped, absent." in out["notes"]
    assert "Target 'x': met." not in out["notes"]  # checks are recomputed, not kept


def test_skip_sets_keeps_the_sets_rows_and_their_date(bench, tmp_path, monkeypatch):
    """A scale-only run (--skip-sets) leaves the sets' rows, notes and date as they were
    and records its own date beside them."""
    import json

    old = {"rows": [{"set": "Fluo-N2DL-HeLa-01", "tracker": "laptrack", "step": 1,
                     "detections": "GT masks", "max_distance": 45.0}],
           "laptrack_sweep": [{"set": "x"}], "scale": [], "date": "2000-01-01",
           "notes": ["btrack: skipped, absent."]}
    path = tmp_path / "tracking.json"
    path.write_text(json.dumps(old))
    fake = [{"tracker": "celldyn LAP", "seconds_5": 0.1}]
    monkeypatch.setattr(bench, "bench_scale", lambda *a, **k: list(fake))
    assert bench.main(["--skip-sets", "--no-results-md", "--trackers", "celldyn LAP",
                       "--json", str(path)]) == 0
    out = json.loads(path.read_text())
    assert out["rows"] == old["rows"] and out["laptrack_sweep"] == old["laptrack_sweep"]
    assert out["date"] == "2000-01-01" and out["notes"] == old["notes"]
    assert out["scale"] == fake and out["scale_run"]["date"] != "2000-01-01"


def test_trackastra_training_sentence_reports_the_kept_epoch(bench, tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(bench, "TRACKASTRA_MODEL", tmp_path)
    assert bench.trackastra_training() == ""  # no model: nothing claimed
    args = {"d_model": 64, "layers": 2, "window": 4, "epochs": 3, "steps": 50, "batch": 4,
            "augment": 1, "lr": 5e-4, "seed": 0}
    history = [{"epoch": e, "val_loss": v} for e, v in enumerate((0.3, 0.1, 0.2))]
    (tmp_path / "training.json").write_text(json.dumps({
        "args": args, "best_epoch": 1, "history": history, "parameters": 1000,
        "train_windows": 400, "validation_windows": 18, "cpu_seconds": 600.0,
        "trackastra": "0.5.6", "torch": "2.13.0"}))
    text = bench.trackastra_training()
    assert "epoch 1 kept (validation loss 0.1000" in text and "3 epochs x 50" in text
    assert "10 CPU-minutes" in text


def test_own_segmentation_is_repaired_per_frame_rate(bench):
    """Own segmentation at every k-th frame gets the run's repairs on that movie: a rod
    drawn whole until frame 4 is split one frame earlier, on a copy."""
    movie = np.zeros((6, 8, 30), np.int32)
    for t in range(6):
        end = 12 + 2 * t
        if t >= 4:
            movie[t, 2:6, 2:(2 + end) // 2], movie[t, 2:6, (2 + end) // 2:end] = 1, 2
        else:
            movie[t, 2:6, 2:end] = 1
    out = bench.repaired(movie)
    assert [len(np.unique(f[f > 0])) for f in out] == [1, 1, 1, 2, 2, 2]
    assert [len(np.unique(f[f > 0])) for f in movie] == [1, 1, 1, 1, 2, 2]   # untouched
    # every 2nd frame: frames 0, 2, 4 -> the rod of frame 2 (kept frame 1) holds the two
    # pieces of frame 4, but nothing follows them to show they stay apart: not split
    assert [len(np.unique(f[f > 0])) for f in bench.repaired(movie[::2])] == [1, 1, 2]


def test_jitter_colony_note_pools_divisions_per_part():
    jit = load_benchmark("tracking_jitter")

    def row(name, j, tp, fp, fn, on=True):
        return {"set": name, "part": "test", "jitter": j, "drift_correction": on,
                "div_TP": tp, "div_FP": fp, "div_FN": fn}

    colony = "PhC-C2DL-EcoliColony-vanVliet-01"
    rows = [row("Fluo-N2DL-HeLa-01", j, 9, 1, 0) for j in jit.JITTER]
    rows += [row(colony, j, 1, 1, 2) for j in jit.JITTER]
    rows += [row(colony, j, 0, 9, 9, on=False) for j in jit.JITTER]   # not pooled
    note = jit._colony_note(rows)
    assert "unjittered 0.947 without the colony and 0.400 on it" in note
    assert "20 px: 0.947 without the colony, 0.400 on it" in note
    assert "every frame: not recorded" in note        # rows without the gate's counts
    # the gate's counts of the colony's test pairs at every frame are quoted per jitter
    rows += [{**row(colony, 20, 0, 0, 0), "step": 1, "pairs_shifted": 2, "pairs": 9},
             {**row(colony, 20, 0, 0, 0), "step": 2, "pairs_shifted": 0, "pairs": 4}]
    assert "every frame: 20 px: 2 of 9 of the test frame pairs" in jit._colony_note(rows)
    assert jit._colony_note([r for r in rows if r["set"] != colony]) == ""


def test_flow_oracle_true_steps_follow_tracks_and_divisions():
    import pandas as pd

    oracle = load_benchmark("flow_oracle")
    objects = pd.DataFrame({"t": [0, 0, 1, 1, 1], "label": [1, 2, 1, 3, 4],
                            "y": [10.0, 50.0, 13.0, 40.0, 60.0],
                            "x": [10.0, 50.0, 14.0, 50.0, 52.0]})
    table = pd.DataFrame({"label": [1, 2, 3, 4], "begin": [0, 0, 1, 1],
                          "end": [1, 0, 1, 1], "parent": [0, 0, 2, 2]})
    steps = oracle.true_steps(objects, table)
    np.testing.assert_allclose(steps[0], [3, 4])       # track 1 goes on
    np.testing.assert_allclose(steps[1], [0, 1])       # 2 divides: her daughters' midpoint
    assert np.isnan(steps[2:]).all()                   # the last frame: no next position
