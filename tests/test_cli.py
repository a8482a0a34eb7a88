"""The command line: the demo, a full run, evaluate, and every user mistake of issue 3.

Each bad input must give one line on stderr naming the problem and the fix, exit code 2,
no traceback and no results folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from celldyn.cli import main


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def invoke(*args: str):
    return _runner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_user_error(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def sim_tiff(tmp_path_factory):
    from celldyn.io import write_ctc_gt, write_tiff
    from celldyn.simulate import simulate_movie

    root = tmp_path_factory.mktemp("sim")
    sim = simulate_movie(ndim=2, n_frames=6, shape=(64, 64), n_objects=5, rng=3)
    write_tiff(root / "movie.ome.tif", sim.movie)
    tifffile.imwrite(root / "labels.tif", sim.labels.astype(np.uint16))
    write_ctc_gt(root / "GT", sim.labels, sim.table, seg_frames=range(sim.labels.shape[0]))
    return root, sim


def test_run_writes_the_run_folder(sim_tiff, tmp_path):
    root, sim = sim_tiff
    out = tmp_path / "res"
    r = invoke("run", root / "movie.ome.tif", "-o", out, "--no-progress")
    assert r.exit_code == 0, r.stderr
    for name in ("labels.ome.zarr", "objects.parquet", "tracks.geff", "ctc", "run.json"):
        assert (out / name).exists(), name
    assert (out / "ctc" / "res_track.txt").exists()
    record = json.loads((out / "run.json").read_text())
    assert record["movie"]["shape"] == list(sim.movie.data.shape)
    assert record["seed"] == 0
    assert "tracks" in r.output and "time: segment" in r.output
    # no temporary siblings are left behind
    assert [p.name for p in tmp_path.iterdir()] == ["res"]
    # the graph (GEFF), the CTC table and the objects table tell one story
    from celldyn.io import read_ctc_result, read_geff, read_parquet
    from celldyn.track.graph import ctc_table_from_graph

    graph = read_geff(out / "tracks.geff")
    objects = read_parquet(out / "objects.parquet")
    assert graph.number_of_nodes() == len(objects) > 0
    assert [(d["t"], d["tracklet"]) for _, d in sorted(graph.nodes(data=True))] == list(
        zip(objects["t"], objects["label"]))
    _, tracks = read_ctc_result(out / "ctc")
    assert ctc_table_from_graph(graph).equals(tracks)

    r = invoke("evaluate", out, "--gt", root / "GT")
    assert r.exit_code == 0, r.stderr
    scores = json.loads((out / "evaluation.json").read_text())
    assert 0.5 < scores["DET"] <= 1 and 0.5 < scores["TRA"] <= 1 and 0 < scores["SEG"] <= 1
    # the run's report now shows the scores (issue 16, item 5)
    page = (out / "report.html").read_text()
    assert "Evaluation against ground truth" in page
    assert f"{scores['TRA']:.4f}" in page and "divisions (±1 frame)" in page


def test_run_with_user_labels_skips_segmentation(sim_tiff, tmp_path):
    root, sim = sim_tiff
    out = tmp_path / "res"
    r = invoke("run", root / "movie.ome.tif", "--labels", root / "labels.tif", "-o", out,
               "--no-progress")
    assert r.exit_code == 0, r.stderr
    r = invoke("evaluate", out, "--gt", root / "GT")
    scores = json.loads((out / "evaluation.json").read_text())
    # ground-truth masks in, so segmentation and detection are perfect
    assert scores["SEG"] == pytest.approx(1.0) and scores["DET"] == pytest.approx(1.0)
    # lineage scores beside them (issue 16): printed and written
    for key in ("LNK", "BC(1)", "CT", "CCA", "div_precision", "div_recall", "div_F1"):
        assert key in scores
    assert "divisions  precision" in r.stdout and "CT" in r.stdout
    # a ground truth of markers only (TRA/, no SEG/) scores the tracking, SEG n/a
    import shutil

    shutil.copytree(root / "GT" / "TRA", tmp_path / "TRA_only" / "TRA")
    r = invoke("evaluate", out, "--gt", tmp_path / "TRA_only")
    assert r.exit_code == 0, r.stderr
    assert "SEG    n/a (TRA_only has no SEG/ masks" in r.stdout
    only = json.loads((out / "evaluation.json").read_text())
    assert only["TRA"] == scores["TRA"] and only["SEG"] != only["SEG"]   # NaN


def test_refuses_to_overwrite(sim_tiff, tmp_path):
    root, _ = sim_tiff
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = invoke("run", root / "movie.ome.tif", "-o", out, "--no-progress")
    assert_user_error(r, "already exists", "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def _bad_inputs(tmp: Path, sim_root: Path) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    good = tifffile.imread(sim_root / "movie.ome.tif")
    (tmp / "empty.tif").write_bytes(b"")
    data = (sim_root / "movie.ome.tif").read_bytes()
    (tmp / "truncated.tif").write_bytes(data[: len(data) // 3])
    (tmp / "garbage.tif").write_bytes(b"this is not a tiff" * 10)
    tifffile.imwrite(tmp / "plain3d.tif", good)  # no axes metadata: T or Z?
    tifffile.imwrite(tmp / "zero.tif", np.zeros((0, 8, 8), np.uint8), metadata={"axes": "TYX"})
    nan = good.astype(np.float32)
    nan[2] = np.nan
    tifffile.imwrite(tmp / "nan.ome.tif", nan, metadata={"axes": "TYX"})
    tifffile.imwrite(tmp / "const.ome.tif", np.full((4, 16, 16), 7, np.uint16),
                     metadata={"axes": "TYX"})
    tifffile.imwrite(tmp / "floatlabels.tif", np.zeros(good.shape, np.float32))
    tifffile.imwrite(tmp / "wrongshape.tif", np.zeros((good.shape[0], 10, 10), np.uint16))
    movie = sim_root / "movie.ome.tif"
    return {
        "missing": (["run", tmp / "nope.tif"], ("nope.tif", "exist")),
        "zero-byte": (["run", tmp / "empty.tif"], ("empty.tif",)),
        "truncated": (["run", tmp / "truncated.tif"], ("truncated.tif",)),
        "not-a-tiff": (["run", tmp / "garbage.tif"], ("garbage.tif",)),
        "ambiguous-axes": (["run", tmp / "plain3d.tif"], ("--axes",)),
        "wrong-axes": (["run", movie, "--axes", "TZYX"], ("axes",)),
        "zero-frames": (["run", tmp / "zero.tif"], ("frame",)),
        "nan-frame": (["run", tmp / "nan.ome.tif"], ("nan", "frame 2")),
        "constant": (["run", tmp / "const.ome.tif"], ("constant",)),
        "float-labels": (["run", movie, "--labels", tmp / "floatlabels.tif"], ("integer",)),
        "labels-shape": (["run", movie, "--labels", tmp / "wrongshape.tif"], ("shape",)),
        "bad-pixel-size": (["run", movie, "--pixel-size", "-1"], ("positive",)),
        "bad-method": (["run", movie, "--method", "magic"], ("method",)),
    }


CASES = [
    "missing", "zero-byte", "truncated", "not-a-tiff", "ambiguous-axes", "wrong-axes",
    "zero-frames", "nan-frame", "constant", "float-labels", "labels-shape",
    "bad-pixel-size", "bad-method",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_and_no_output(case, sim_tiff, tmp_path):
    root, _ = sim_tiff
    args, words = _bad_inputs(tmp_path, root)[case]
    out = tmp_path / "out"
    r = invoke(*args, "-o", out, "--no-progress")
    assert_user_error(r, *words)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_evaluate_gt_of_another_shape(sim_tiff, tmp_path):
    from celldyn.io import write_ctc_gt
    from celldyn.simulate import simulate_movie

    root, _ = sim_tiff
    out = tmp_path / "res"
    assert invoke("run", root / "movie.ome.tif", "-o", out, "--no-progress").exit_code == 0
    other = simulate_movie(ndim=2, n_frames=6, shape=(48, 48), n_objects=3, rng=0)
    write_ctc_gt(tmp_path / "GT2", other.labels, other.table)
    r = invoke("evaluate", out, "--gt", tmp_path / "GT2")
    assert_user_error(r, "shape")
    assert not (out / "evaluation.json").exists()


def test_evaluate_against_a_label_movie_gives_the_ctc_seg(sim_tiff, tmp_path):
    """Segmentation ground truth without a CTC folder (a label movie; label images named
    by frame, only some frames): SEG as from the CTC SEG/ folder of the same masks."""
    import imageio.v3 as iio

    root, sim = sim_tiff
    out = tmp_path / "res"
    assert invoke("run", root / "movie.ome.tif", "-o", out, "--no-progress").exit_code == 0
    assert invoke("evaluate", out, "--gt", root / "GT").exit_code == 0
    ctc = json.loads((out / "evaluation.json").read_text())
    r = invoke("evaluate", out, "--gt", root / "labels.tif")
    assert r.exit_code == 0, r.stderr
    movie = json.loads((out / "evaluation.json").read_text())
    assert movie["SEG"] == pytest.approx(ctc["SEG"]) and "6 annotated" in r.output
    assert "report updated" in r.output
    assert f"{movie['SEG']:.4f}" in (out / "report.html").read_text()
    assert "TRA" not in movie and "n/a" in r.output
    import shutil

    shutil.copytree(root / "GT" / "SEG", tmp_path / "seg_only" / "SEG")
    assert invoke("evaluate", out, "--gt", tmp_path / "seg_only").exit_code == 0
    seg_only = json.loads((out / "evaluation.json").read_text())
    assert seg_only["SEG"] == pytest.approx(ctc["SEG"])
    (tmp_path / "masks").mkdir()
    for t in (2, 4):
        iio.imwrite(tmp_path / "masks" / f"mask_{t:03d}.png", sim.labels[t].astype(np.uint16))
    r = invoke("evaluate", out, "--gt", tmp_path / "masks")
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "evaluation.json").read_text())["frames_scored"] == [2, 4]


def test_evaluate_missing_gt(sim_tiff, tmp_path):
    root, _ = sim_tiff
    r = invoke("evaluate", tmp_path, "--gt", tmp_path / "noGT")
    assert_user_error(r, "noGT")


def test_demo_runs_and_scores(tmp_path):
    """The embedded demo (real E. coli crop) runs end to end and is scored against its GT."""
    out = tmp_path / "demo"
    r = invoke("demo", "-o", out, "--no-progress")
    assert r.exit_code == 0, r.stderr
    scores = json.loads((out / "evaluation.json").read_text())
    assert 0 < scores["DET"] <= 1 and 0 < scores["TRA"] <= 1
    # issue 15: the automatic choice runs the shipped generalist on this phase-contrast
    # crop (the E. coli colony's test part: never trained or tuned on), and says so;
    # floors a little under what it scores (SEG 0.847, TRA 0.927 on 2026-12-06, with
    # cells cut by the crop's edge kept from 60 px; 0.815 / 0.908 before)
    summary = json.loads((out / "run.json").read_text())["summary"]
    assert summary["segmentation"].startswith("auto: deep generalist2d")
    assert scores["SEG"] >= 0.75 and scores["TRA"] >= 0.88
    # issue 16: divisions of a dense colony from its own segmentation. With the IoU term
    # (union-judged divisions) division F1 0.626 on 2026-12-04; 0.281 without it; 0.736
    # with joined sisters split a frame before they part (2026-12-06; 0.608 without);
    # 0.730 with the IoU measured where the local flow carries each cell (2026-12-06);
    # 0.699 with the generalist's min_size_edge (2026-12-06); 0.683 with the
    # size-alike gate on own segmentation (2026-12-07).
    # The tracking defaults saw the colony's first 30 frames: a training figure, pinned
    # here as behaviour, not as a quality claim
    assert scores["div_F1"] >= 0.65
    assert "sisters drawn joined split" in summary["segmentation"]
    # the demo states no units; the warning says so without naming an option that
    # `celldyn demo` does not have
    assert "Warning" in r.stderr and "not stated" in r.stderr
    assert "--pixel-size" not in r.stderr


@pytest.mark.real_data
def test_real_ctc_folder_with_gt_masks(shared_data, tmp_path):
    """Fluo-N2DH-SIM+-01 (CTC, simulated HL60 nuclei, full GT): the movie as a CTC folder,
    its own TRA masks as `--labels`, then `evaluate` against 01_GT. With ground-truth
    masks, detection is perfect and only linking can lose points."""
    root = shared_data / "Fluo-N2DH-SIM+-01"
    out = tmp_path / "res"
    r = invoke("run", root / "01", "--labels", root / "01_GT" / "TRA", "-o", out,
               "--pixel-size", "0.125", "--frame-interval", "1740", "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert "Warning" not in r.stderr  # units were given
    r = invoke("evaluate", out, "--gt", root / "01_GT")
    assert r.exit_code == 0, r.stderr
    scores = json.loads((out / "evaluation.json").read_text())
    assert scores["DET"] == pytest.approx(1.0)
    assert scores["SEG"] == pytest.approx(1.0)
    assert scores["TRA"] > 0.98  # linking with divisions and gap closing


@pytest.mark.parametrize("name", ["mitosis", "phases"])
def test_run_with_shipped_classifier(sim_tiff, tmp_path, name):
    import pandas as pd

    from celldyn.classify import PHASES

    root, _ = sim_tiff
    out = tmp_path / "res"
    r = invoke("run", root / "movie.ome.tif", "-o", out, "--classifier", name,
               "--no-progress")
    assert r.exit_code == 0, r.stderr
    objects = pd.read_parquet(out / "objects.parquet")
    assert {"class", "class_proba"} <= set(objects.columns)
    want = set(PHASES) if name == "phases" else {"interphase", "mitosis"}
    assert set(objects["class"]) <= want and objects["class"].notna().all()
    assert objects["class_proba"].between(0, 1).all()


def test_unknown_classifier_is_one_line(sim_tiff, tmp_path):
    root, _ = sim_tiff
    r = invoke("run", root / "movie.ome.tif", "-o", tmp_path / "o", "--classifier", "nope",
               "--no-progress")
    assert_user_error(r, "nope")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("tracker", ["lap", "global", "learned"])
def test_trackers_recover_divisions_from_gt_masks(tracker, tmp_path):
    from celldyn.io import read_track_table, write_ctc_gt, write_tiff
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=12, shape=(96, 96), n_objects=6,
                         division_rate=0.08, rng=7)
    assert (sim.table.parent > 0).sum() >= 2  # the movie has divisions
    write_tiff(tmp_path / "m.ome.tif", sim.movie)
    tifffile.imwrite(tmp_path / "l.tif", sim.labels.astype(np.uint16))
    write_ctc_gt(tmp_path / "GT", sim.labels, sim.table)
    out = tmp_path / "res"
    r = invoke("run", tmp_path / "m.ome.tif", "--labels", tmp_path / "l.tif", "-o", out,
               "--tracker", tracker, "--no-progress")
    assert r.exit_code == 0, r.stderr
    table = read_track_table(out / "ctc" / "res_track.txt")
    assert (table.parent > 0).sum() == (sim.table.parent > 0).sum()
    assert invoke("evaluate", out, "--gt", tmp_path / "GT").exit_code == 0
    assert json.loads((out / "evaluation.json").read_text())["TRA"] > 0.99
