"""`--frames START:STOP[:STEP]`: a run of some frames of a movie (e.g. to try settings on
part of a long one), recorded in run.json only when set; `celldyn evaluate` cuts the
ground truth to the same frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.config import RunConfig
from celldyn.errors import ConfigError, InputError
from celldyn.movie import Movie, frame_range
from celldyn.pipeline import run
from celldyn.simulate import simulate_movie


def test_frames_select_cut_the_labels_and_scale_the_interval():
    sim = simulate_movie(ndim=2, n_frames=8, shape=(64, 64), n_objects=4, rng=3)
    movie = sim.movie.with_metadata(frame_interval=30.0)
    part = movie.frames("1:7:2")
    assert part.n_frames == 3 and part.frame_interval == 60.0
    np.testing.assert_array_equal(part.data, np.asarray(movie.data)[1:7:2])
    assert part.metadata["frame_selection"] == [1, 7, 2]
    result = run(movie, labels=sim.labels, config=RunConfig(frames="1:7:2"))
    assert np.asarray(result.labels).shape[0] == 3        # the labels cut alike
    assert result.movie.frame_interval == 60.0
    assert sorted(result.objects["t"].unique()) == [0, 1, 2]
    with pytest.raises(InputError, match="selects no frame"):
        movie.frames("20:")
    for bad in ("5-9", "1:2:0", "-3:", "a:b", "1:2:3:4", "\u00b2:5"):
        with pytest.raises(ConfigError, match="START:STOP"):
            RunConfig(frames=bad)
    assert list(frame_range("::3", 7)) == [0, 3, 6]
    assert "frames" not in RunConfig().to_options(recorded=True)   # old folders unchanged


def test_evaluate_cuts_the_ground_truth_to_the_run_frames(tmp_path):
    from celldyn.io import write_ctc_gt, write_tiff

    sim = simulate_movie(ndim=2, n_frames=8, shape=(64, 64), n_objects=4, rng=3)
    write_tiff(tmp_path / "movie.tif", sim.movie)
    write_tiff(tmp_path / "labels.tif", Movie(sim.labels, "TYX"))
    gt = tmp_path / "GT"
    write_ctc_gt(gt, sim.labels, sim.table, seg_frames=range(8))
    out = tmp_path / "part"
    res = CliRunner().invoke(main, ["run", str(tmp_path / "movie.tif"), "--labels",
                                    str(tmp_path / "labels.tif"), "--frames", "2:6", "-o",
                                    str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["frames"] == "2:6" and record["movie"]["shape"][0] == 4
    res = CliRunner().invoke(main, ["evaluate", str(out), "--gt", str(gt)])
    assert res.exit_code == 0, res.output
    scores = json.loads((out / "evaluation.json").read_text())
    assert scores["SEG"] == pytest.approx(1.0) and scores["DET"] == pytest.approx(1.0)
    # segmentation-only ground truth (SEG/ alone) is cut alike: frames 2..5 -> 0..3
    import shutil

    shutil.copytree(gt / "SEG", tmp_path / "seg_only" / "SEG")
    res = CliRunner().invoke(main, ["evaluate", str(out), "--gt", str(tmp_path / "seg_only")])
    assert res.exit_code == 0, res.output
    seg_only = json.loads((out / "evaluation.json").read_text())
    assert seg_only["frames_scored"] == [0, 1, 2, 3] and seg_only["SEG"] == pytest.approx(1.0)
    # the same results scored against the whole ground truth: one line, not a score
    record["config"].pop("frames")
    (out / "run.json").write_text(json.dumps(record))
    res = CliRunner().invoke(main, ["evaluate", str(out), "--gt", str(gt)])
    assert res.exit_code == 2 and "same frames" in res.output


def test_ground_truth_frames_cuts_markers_table_and_masks():
    import pandas as pd

    from celldyn.bench import GroundTruth, ground_truth_frames

    tra = np.zeros((6, 8, 8), np.int32)
    tra[:, 2:4, 2:4] = 1                                   # one track over 6 frames
    table = pd.DataFrame({"label": [1], "begin": [0], "end": [5], "parent": [0]})
    mask = np.ones((8, 8), np.int32)
    gt = GroundTruth(tra, table, {1: mask, 2: mask, 4: mask}, partial_seg={1})
    cut = ground_truth_frames(gt, "1:6:2")                 # frames 1, 3, 5 -> 0, 1, 2
    assert cut.tra.shape[0] == 3 and cut.table[["begin", "end"]].values.tolist() == [[0, 2]]
    assert sorted(cut.seg) == [0] and cut.partial_seg == {0}
    seg_only = ground_truth_frames(GroundTruth(None, None, {1: mask, 4: mask}), "2:")
    assert sorted(seg_only.seg) == [2]                      # frame 4 -> 2
    with pytest.raises(InputError, match="none of which"):
        ground_truth_frames(gt, "10:")
