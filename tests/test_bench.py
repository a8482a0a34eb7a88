"""``celldyn bench`` (issue 18): ranking on the user's annotations, ties, a runnable
best configuration, and partial or inconsistent ground truth (one-line errors).

Movies are tiny simulations (celldyn.simulate); classical segmenters only (--no-deep)
except where a test says otherwise.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from celldyn.bench import (
    GroundTruth,
    Row,
    _frame_stats,
    _rank,
    bench,
    check_ground_truth,
)
from celldyn.cli import main
from celldyn.errors import InputError


def invoke(*args):
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_user_error(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def movie_gt(tmp_path_factory):
    from celldyn.io import write_ctc_gt, write_tiff
    from celldyn.simulate import simulate_movie

    root = tmp_path_factory.mktemp("bench")
    sim = simulate_movie(ndim=2, n_frames=8, shape=(72, 72), n_objects=6, rng=5)
    write_tiff(root / "movie.ome.tif", sim.movie)
    write_ctc_gt(root / "GT", sim.labels, sim.table, seg_frames=[1, 4, 6])
    return root, sim


def _gt(sim, seg_frames=(1, 4, 6), tra=True):
    seg = {t: sim.labels[t].copy() for t in seg_frames}
    return GroundTruth(sim.labels if tra else None, sim.table if tra else None, seg)


def test_bench_cli_ranks_and_writes_a_config_that_run_takes(movie_gt, tmp_path):
    root, sim = movie_gt
    out = tmp_path / "bench"
    r = invoke("bench", root / "movie.ome.tif", "--gt", root / "GT", "-o", out,
               "--no-deep", "--quick", "--no-progress")
    assert r.exit_code == 0, r.stderr
    for col in ("SEG", "DET", "TRA", "LNK", "BC(1)", "div F1", "AP@0.5", "s/frame"):
        assert col in r.output
    assert "SEG masks for 3 of 8 frames" in r.output
    table = pd.read_csv(out / "bench.csv")
    piped = table[table["kind"] == "pipeline"]
    assert set(piped["tracker"]) >= {"lap", "global"}
    # SEG of each segmenter is the CTC SEG of evaluate on the annotated frames
    from celldyn.evaluate import seg_score
    from celldyn.segment import segment_movie

    segs = table[table["kind"] == "segmentation"].set_index("segmenter")
    for method in ("watershed", "threshold"):
        expected = seg_score({t: sim.labels[t] for t in (1, 4, 6)},
                             segment_movie(sim.movie, method=method))
        assert segs.loc[method, "SEG"] == pytest.approx(expected, abs=1e-9)
    assert segs.index[0] == "threshold" and segs["SEG"].iloc[0] > 0.8  # ranked by SEG
    assert piped["TRA"].max() > 0.8
    config = json.loads((out / "best_config.json").read_text())
    best = config["bench"]["best"]
    assert config["inputs"]["tracker"] == best["tracker"]
    assert best["rank"].startswith("1")
    res = tmp_path / "res"
    r = invoke("run", "--config", out / "best_config.json", "-o", res, "--no-progress")
    assert r.exit_code == 0, r.stderr
    inputs = json.loads((res / "run.json").read_text())["inputs"]
    assert inputs["tracker"] == best["tracker"]
    assert inputs["method"] == config["inputs"]["method"]


def test_ties_are_reported_as_ties():
    def row(name, score):
        return Row(name, {}, "lap", {"TRA": score}, 1.0)

    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, 500)
    samples = {"a|lap": 0.80 + noise, "b|lap": 0.79 + noise[::-1],   # overlapping
               "c|lap": 0.30 + noise}                                  # clearly worse
    ranked = _rank([row("c", 0.30), row("b", 0.79), row("a", 0.80)], samples, "TRA")
    assert [(r.name, r.rank) for r in ranked] == [("a", "1="), ("b", "1="), ("c", "2")]
    samples["b|lap"] = 0.60 + noise                                    # paired: separated
    ranked = _rank([row("b", 0.60), row("a", 0.80)], samples, "TRA")
    assert [r.rank for r in ranked] == ["1", "2"]


def test_partial_seg_counts_only_annotated_objects(movie_gt):
    """SEG for some objects only: a perfect result keeps SEG = AP@0.5 = 1 (its extra
    objects are not false positives), and the frame is reported partial."""
    _, sim = movie_gt
    gt = _gt(sim)
    mask = gt.seg[4]
    ids = np.unique(mask[mask > 0])
    mask[np.isin(mask, ids[: len(ids) // 2])] = 0
    gt = check_ground_truth(gt, sim.labels.shape)
    assert gt.partial_seg == {4}
    assert any("only some objects" in n for n in gt.notes)
    s = _frame_stats(gt, 4, sim.labels[4])
    assert s["seg_sum"] / s["seg_n"] == pytest.approx(1.0)
    assert s["seg_n"] == len(ids) - len(ids) // 2
    assert s["ap_tp"] == s["ap_all"] == s["seg_n"]
    # a complete frame with the same extra objects would count them as false positives
    full = check_ground_truth(_gt(sim), sim.labels.shape)
    extra = sim.labels[1].copy()
    extra[:4, :4] = extra.max() + 1
    s1 = _frame_stats(full, 1, extra)
    assert s1["ap_all"] > s1["ap_tp"]


def test_markers_only_and_seg_only_give_partial_scores(movie_gt, tmp_path):
    root, sim = movie_gt
    from celldyn.bench import read_ground_truth

    shutil.copytree(root / "GT" / "TRA", tmp_path / "tra_only" / "TRA")
    shutil.copytree(root / "GT" / "SEG", tmp_path / "seg_only" / "SEG")
    gt = read_ground_truth(tmp_path / "tra_only")
    assert gt.seg == {} and gt.tra.shape == sim.labels.shape
    gt = read_ground_truth(tmp_path / "seg_only")
    assert gt.tra is None and sorted(gt.seg) == [1, 4, 6]
    tra_only = bench(sim.movie, _gt(sim, seg_frames=()), deep=False, quick=True,
                     trackers=["lap"], n_boot=50)
    assert any("markers only" in n for n in tra_only.notes)
    seg_row = tra_only.segmenters[0]
    assert seg_row.primary == "DET" and np.isnan(seg_row.scores["SEG"])
    assert seg_row.scores["DET"] > 0.8
    assert tra_only.pipelines and tra_only.pipelines[0].scores["TRA"] > 0.8

    seg_only = bench(sim.movie, _gt(sim, tra=False), deep=False, quick=True, n_boot=50)
    assert not seg_only.pipelines
    assert any("no TRA markers" in n for n in seg_only.notes)
    assert seg_only.best_config.tracker == "lap"
    assert np.isnan(seg_only.segmenters[0].scores["DET"])


def test_markers_for_the_first_frames_only(movie_gt):
    _, sim = movie_gt
    table = sim.table[sim.table["begin"] <= 4].copy()
    table["end"] = table["end"].clip(upper=4)
    gt = GroundTruth(sim.labels[:5], table, {1: sim.labels[1]})
    result = bench(sim.movie, gt, deep=False, quick=True, trackers=["lap"], n_boot=50)
    assert any("cover frames 0..4 of 8" in n for n in result.notes)
    assert result.pipelines[0].scores["TRA"] > 0.8


def test_inconsistent_ground_truth_is_one_line(movie_gt, tmp_path):
    root, sim = movie_gt
    with pytest.raises(InputError, match="own size"):
        check_ground_truth(GroundTruth(None, None, {1: sim.labels[1][:40]}), sim.labels.shape)
    with pytest.raises(InputError, match="frames 0..7"):
        check_ground_truth(GroundTruth(None, None, {9: sim.labels[1]}), sim.labels.shape)
    # a GT folder of another size, through the command line
    from celldyn.io import write_ctc_gt

    write_ctc_gt(tmp_path / "GT_small", sim.labels[:, :40, :40],
                 _crop_table(sim.labels[:, :40, :40]), seg_frames=[1])
    r = invoke("bench", root / "movie.ome.tif", "--gt", tmp_path / "GT_small", "-o",
               tmp_path / "o1", "--no-deep", "--no-progress")
    assert_user_error(r, "40x40 px", "72x72")
    assert not (tmp_path / "o1").exists()
    # a TRA frame missing inside the folder
    gt = tmp_path / "GT_gap"
    shutil.copytree(root / "GT", gt)
    (gt / "TRA" / "man_track003.tif").unlink()
    r = invoke("bench", root / "movie.ome.tif", "--gt", gt, "-o", tmp_path / "o2",
               "--no-deep", "--no-progress")
    assert_user_error(r)
    # neither TRA nor SEG
    (tmp_path / "empty").mkdir()
    r = invoke("bench", root / "movie.ome.tif", "--gt", tmp_path / "empty", "-o",
               tmp_path / "o3", "--no-deep", "--no-progress")
    assert_user_error(r, "neither TRA")


def _crop_table(labels):
    """A CTC table for a cropped label movie: one track per label, its frame range."""
    rows = []
    for lab in np.unique(labels[labels > 0]):
        t = np.flatnonzero((labels == lab).any(axis=(1, 2)))
        if t.size == t[-1] - t[0] + 1:
            rows.append([int(lab), int(t[0]), int(t[-1]), 0])
        else:
            labels[labels == lab] = 0
    return pd.DataFrame(rows, columns=["label", "begin", "end", "parent"])


def test_tracker_rows_repair_the_segmentation_as_run_does(monkeypatch):
    """Two cells the segmenter draws as one blob for a frame: `celldyn run` splits the
    blob again (temporal repair), so the bench's tracker row must too, or it ranks a
    pipeline that reports a false division the run would not make."""
    import celldyn.segment as segment_pkg
    from celldyn.movie import Movie

    yy, xx = np.mgrid[:64, :72]
    gt = np.zeros((7, 64, 72), np.uint16)
    seg = np.zeros_like(gt)
    for t in range(7):
        a = (yy - 30) ** 2 + (xx - 22 - t) ** 2 <= 49
        b = (yy - 30) ** 2 + (xx - 38 - t) ** 2 <= 49
        gt[t][a], gt[t][b] = 1, 2
        seg[t][a], seg[t][b] = 1, 2
        if t == 3:  # drawn as one blob, the gap between them filled
            seg[t][(yy >= 24) & (yy <= 36) & (xx >= 22 + t) & (xx <= 38 + t)] = 1
            seg[t][a | b] = 1
    movie = Movie((gt > 0).astype(np.float32) * 200 + 10, axes="TYX")
    table = pd.DataFrame({"label": [1, 2], "begin": [0, 0], "end": [6, 6], "parent": [0, 0]})
    monkeypatch.setattr(segment_pkg, "segment_movie", lambda *a, **k: seg.copy())
    result = bench(movie, GroundTruth(gt, table, {}), deep=False, quick=True,
                   trackers=["lap"], n_boot=20)
    row = result.pipelines[0]
    assert row.scores["TRA"] == pytest.approx(1.0)
    assert np.isnan(row.scores["div_F1"])       # no division found where there is none
    assert any(n.startswith("temporal repairs") for n in result.notes)


def test_a_ground_truth_path_that_is_not_a_folder_says_which(tmp_path):
    from celldyn.bench import read_ground_truth
    from celldyn.errors import InputError

    from celldyn.errors import FileFormatError

    masks = tmp_path / "masks.tif"
    masks.write_bytes(b"II*\x00")      # a label movie cut short: one line, not a traceback
    with pytest.raises(FileFormatError, match="masks.tif is not a readable TIFF"):
        read_ground_truth(masks)
    with pytest.raises(InputError, match="does not exist"):
        read_ground_truth(tmp_path / "nowhere")


def test_label_movie_and_mask_folder_are_segmentation_ground_truth(movie_gt, tmp_path):
    """A label movie (a frame with no object: not annotated) or a folder of label images
    named by frame (sparse) is segmentation ground truth; the bench ranks segmenters on
    it and says that tracking is not scored."""
    import imageio.v3 as iio
    import tifffile

    from celldyn.bench import read_ground_truth

    root, sim = movie_gt
    movie = np.zeros_like(sim.labels)
    movie[[1, 4]] = sim.labels[[1, 4]]
    tifffile.imwrite(tmp_path / "labels.tif", movie.astype(np.uint16), imagej=True,
                     metadata={"axes": "TYX"})
    (tmp_path / "masks").mkdir()
    for t in (1, 4):
        iio.imwrite(tmp_path / "masks" / f"frame_{t:03d}_masks.png",
                    sim.labels[t].astype(np.uint16))
    for gt in (read_ground_truth(tmp_path / "labels.tif"),
               read_ground_truth(tmp_path / "masks")):
        assert gt.tra is None and sorted(gt.seg) == [1, 4]
        np.testing.assert_array_equal(gt.seg[4], sim.labels[4])
        assert "no tracking ground truth" in gt.notes[0]
    r = invoke("bench", root / "movie.ome.tif", "--gt", tmp_path / "masks", "-o",
               tmp_path / "out", "--no-deep", "--quick", "--no-progress")
    assert r.exit_code == 0, (r.output, r.stderr)
    ranked = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert any("no tracking ground truth" in n for n in ranked["notes"])
    (tmp_path / "nonum").mkdir()
    for name in ("a.png", "b.png"):
        iio.imwrite(tmp_path / "nonum" / name, sim.labels[1].astype(np.uint16))
    with pytest.raises(InputError, match="name them by frame"):
        read_ground_truth(tmp_path / "nonum")


def test_a_tie_goes_to_the_fastest_or_among_equally_fast_to_the_defaults():
    """best_config.json among tied leaders: a much faster pipeline wins; pipelines
    about as fast as the fastest (within SAME_SPEED) go to celldyn run's defaults."""
    from celldyn.bench import SAME_SPEED, Row, _pick

    def row(name, tracker, secs, auto=False):
        return Row(name, {}, tracker, {}, secs, rank="1=", auto=auto)

    deep = [row("deep generalist2d (auto)", t, s, auto=True)
            for t, s in (("learned", 0.124), ("lap", 0.128), ("global", 0.129))]
    assert _pick(deep).tracker == "lap"                    # the timings do not differ
    fast = row("watershed", "learned", 0.128 / (2 * SAME_SPEED))
    assert _pick([*deep, fast]) is fast                    # twice as fast: it wins
    seg_only = [row("watershed", None, 0.03), row("deep generalist2d (auto)", None, 0.035,
                                                  auto=True)]
    assert _pick(seg_only).auto                            # as fast: the automatic choice
