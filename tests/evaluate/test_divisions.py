"""Division precision / recall / F1, BC(i), CT and CCA (celldyn.evaluate.divisions).

Hand-made cases pin the matching rule; simulated movies with every kind of error (the
perturbations of test_ctc_agreement) check agreement with py-ctcmetrics' BC(0..3), CT
and CCA, exactly.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pandas as pd
import pytest
from test_ctc_agreement import _perturb, _simulate, _write_ctc

from celldyn.evaluate import division_scores, lineage_scores


def _division_movie(late: int = 0):
    """Track 1 (frames 0-2) divides into 2 and 3 (frames 3-5) in the GT; the result's
    division is `late` frames late (its mother keeps going as one object)."""
    gt = np.zeros((6, 1, 9), np.uint16)
    gt[0:3, 0, 4] = 1
    gt[3:, 0, 1], gt[3:, 0, 7] = 2, 3
    table = pd.DataFrame([[1, 0, 2, 0], [2, 3, 5, 1], [3, 3, 5, 1]],
                         columns=["label", "begin", "end", "parent"])
    res = np.zeros_like(gt)
    res[0:3 + late, 0, 4] = 1
    if late:
        res[3:3 + late, 0, 1] = 1  # the mother follows one daughter
        res[3:3 + late, 0, 4] = 0
        res[3:3 + late, 0, 7] = 9  # the other appears on its own
    res[3 + late:, 0, 1], res[3 + late:, 0, 7] = 2, 3
    rows = [[1, 0, 2 + late, 0], [2, 3 + late, 5, 1], [3, 3 + late, 5, 1]]
    if late:
        rows.append([9, 3, 2 + late, 0])
        rows[2][3] = 1
    return gt, table, res, pd.DataFrame(rows, columns=["label", "begin", "end", "parent"])


def test_exact_division_matches():
    gt, table, res, res_table = _division_movie()
    s = lineage_scores(gt, table, res, res_table)
    assert (s["div_TP"], s["div_FP"], s["div_FN"]) == (1, 0, 0)
    assert s["div_F1"] == s["BC(0)"] == s["BC(1)"] == 1.0
    assert s["CT"] == 1.0


def test_one_frame_late_counts_at_tolerance_one_only():
    gt, table, res, res_table = _division_movie(late=1)
    s = lineage_scores(gt, table, res, res_table)
    assert s["BC(0)"] == 0.0 and s["BC(1)"] == 1.0
    assert division_scores(gt, table, res, res_table, tolerance=0)["div_TP"] == 0


def test_missed_and_false_divisions():
    gt, table, res, res_table = _division_movie()
    flat = res.copy()
    flat[3:][flat[3:] == 2] = 1  # daughter 2 continues the mother: no division
    flat_table = pd.DataFrame([[1, 0, 5, 0], [3, 3, 5, 0]],
                              columns=["label", "begin", "end", "parent"])
    s = division_scores(gt, table, flat, flat_table)
    assert (s["div_TP"], s["div_FP"], s["div_FN"]) == (0, 0, 1)
    assert math.isnan(s["div_precision"]) and s["div_recall"] == 0.0
    # the GT itself as a result without divisions of the GT: all false
    s = division_scores(flat, flat_table, res, res_table)
    assert (s["div_TP"], s["div_FP"], s["div_FN"]) == (0, 1, 0)
    assert math.isnan(lineage_scores(flat, flat_table, res, res_table)["BC(1)"])


def _reference(tmp_path, gt, gt_table, res, res_table) -> dict:
    evaluate = pytest.importorskip("ctc_metrics.scripts.evaluate")
    gt_dir, res_dir = _write_ctc(tmp_path, gt, gt_table, {}, res, res_table)
    with contextlib.redirect_stdout(io.StringIO()):
        return evaluate.evaluate_sequence(str(res_dir), str(gt_dir),
                                          metrics=["BC", "CT", "CCA"], threads=1)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_agrees_with_ctcmetrics(tmp_path, seed):
    rng = np.random.default_rng(seed)
    gt, gt_table = _simulate(rng, n_frames=12, n_cells=8)
    res, res_table = _perturb(gt, gt_table, rng, p=0.05)
    ours = lineage_scores(gt, gt_table, res, res_table)
    ref = _reference(tmp_path, gt, gt_table, res, res_table)
    for i in range(4):
        if ref[f"BC({i})"] is None:
            assert math.isnan(ours[f"BC({i})"])
        else:
            assert ours[f"BC({i})"] == pytest.approx(ref[f"BC({i})"], abs=1e-9), i
    tp, fp, fn = ref["tp_div(1)"], ref["fp_div(1)"], ref["fn_div(1)"]
    assert (ours["div_TP"], ours["div_FP"], ours["div_FN"]) == (tp, fp, fn)
    assert ours["CT"] == pytest.approx(ref["CT"], abs=1e-9)
    if ref["CCA"] is None:
        assert math.isnan(ours["CCA"])
    else:
        assert ours["CCA"] == pytest.approx(ref["CCA"], abs=1e-9)
