"""CTC metrics on hand-built movies whose AOGM counts are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.errors import InputError
from celldyn.evaluate import (
    aogm_counts,
    det_score,
    evaluate_ctc,
    lnk_score,
    seg_score,
    tra_score,
)

# Ground truth: track 1 (frames 0-1) divides into 2 and 3 (frames 2-3); track 4
# lives in frames 0-3. 10 vertices; 6 track links + 2 parent links = 8 edges.
GT_TABLE = [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 3, 0]]
N_V, N_E = 10, 8
AOGM_0 = 10 * N_V + 1.5 * N_E

BOXES = {  # label -> (y0, y1, x0, x1) in a 24 x 24 frame
    1: (2, 8, 2, 8),
    2: (2, 6, 2, 6),
    3: (6, 10, 6, 10),
    4: (14, 20, 14, 20),
}


def _gt() -> np.ndarray:
    labels = np.zeros((4, 24, 24), dtype=np.uint16)
    for lab, b, e, _ in GT_TABLE:
        y0, y1, x0, x1 = BOXES[lab]
        labels[b : e + 1, y0:y1, x0:x1] = lab
    return labels


def _counts(res, res_table, gt=None, gt_table=GT_TABLE):
    gt = _gt() if gt is None else gt
    return aogm_counts(gt, gt_table, res, res_table).as_dict()


def _expect(**nonzero):
    out = {k: 0 for k in ("NS", "FN", "FP", "ED", "EA", "EC")}
    out.update(nonzero)
    out.update(gt_vertices=N_V, gt_edges=N_E)
    return out


def test_identical_scores_one():
    gt = _gt()
    scores = evaluate_ctc(
        gt, GT_TABLE, gt, GT_TABLE, gt_seg={t: gt[t] for t in range(4)}
    )
    for key in ("SEG", "DET", "TRA", "LNK"):
        assert scores[key] == 1.0
    assert scores["AOGM"] == 0 and scores["AOGM_0"] == AOGM_0
    assert _counts(gt, GT_TABLE) == _expect()


def test_missing_object_is_fn_and_missing_edge():
    res = _gt()
    res[3][res[3] == 4] = 0
    table = [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 2, 0]]
    assert _counts(res, table) == _expect(FN=1, EA=1)
    assert tra_score(_gt(), GT_TABLE, res, table) == pytest.approx(1 - 11.5 / AOGM_0)
    assert det_score(_gt(), res) == pytest.approx(1 - 10 / (10 * N_V))
    assert lnk_score(_gt(), GT_TABLE, res, table) == pytest.approx(
        1 - 1.5 / (1.5 * N_E)
    )


def test_extra_object_is_fp():
    res = _gt()
    res[1, 20:23, 1:4] = 9
    table = GT_TABLE + [[9, 1, 1, 0]]
    assert _counts(res, table) == _expect(FP=1)
    assert tra_score(_gt(), GT_TABLE, res, table) == pytest.approx(1 - 1 / AOGM_0)


def test_object_cut_unevenly_leaves_one_match_and_one_fp():
    res = _gt()
    res[2, 14:20, 18:20] = 10  # a third of object 4 in frame 2 becomes object 10
    table = GT_TABLE + [[10, 2, 2, 0]]
    assert _counts(res, table) == _expect(FP=1)


def test_object_cut_in_halves_matches_neither():
    res = _gt()
    res[2, 14:20, 14:17] = 11  # object 4 in frame 2 cut into exact halves 11 and 10:
    res[2, 14:20, 17:20] = 10  # "more than half" fails for both
    res[3][res[3] == 4] = 5
    table = [
        [1, 0, 1, 0],
        [2, 2, 3, 1],
        [3, 2, 3, 1],
        [4, 0, 1, 0],
        [5, 3, 3, 4],
        [10, 2, 2, 0],
        [11, 2, 2, 4],
    ]
    # GT 4@2 unmatched (FN), the halves unmatched (2 FP); GT edges 4@1->4@2 and
    # 4@2->4@3 missing (EA 2); the result's parent link across the gap, 4@1 -> 5@3,
    # is no GT edge (ED 1); the link 4@1 -> 11@2 ends at an unmatched vertex.
    assert _counts(res, table) == _expect(FN=1, FP=2, EA=2, ED=1)


def test_merged_daughters_need_a_split():
    res = _gt()
    res[3][res[3] == 3] = 2  # 2 covers both daughters in frame 3
    table = [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 2, 1], [4, 0, 3, 0]]
    # One split; the edges into the merged vertex are not carried over.
    assert _counts(res, table) == _expect(NS=1, EA=2)
    scores = evaluate_ctc(_gt(), GT_TABLE, res, table)
    assert scores["TRA"] == pytest.approx(1 - (5 + 3) / AOGM_0)
    assert scores["DET"] == pytest.approx(1 - 5 / 100)


def test_swapped_daughters_in_last_frame():
    res = _gt()
    two, three = res[3] == 2, res[3] == 3
    res[3][two], res[3][three] = 3, 2
    assert _counts(res, GT_TABLE) == _expect(ED=2, EA=2)
    assert tra_score(_gt(), GT_TABLE, res, GT_TABLE) == pytest.approx(1 - 5 / AOGM_0)


def test_broken_track_with_and_without_parent():
    res = _gt()
    res[2:][res[2:] == 4] = 5
    no_parent = [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 1, 0], [5, 2, 3, 0]]
    with_parent = no_parent[:-1] + [[5, 2, 3, 4]]
    assert _counts(res, no_parent) == _expect(EA=1)
    # A parent link where the truth has a track link: right edge, wrong semantic.
    assert _counts(res, with_parent) == _expect(EC=1)


def test_invariant_to_result_label_permutation():
    rng = np.random.default_rng(0)
    res = _gt()
    res[3][res[3] == 4] = 0
    res[1, 20:23, 1:4] = 9
    table = np.array(
        [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 2, 0], [9, 1, 1, 0]]
    )
    new_ids = rng.permutation(np.arange(100, 1000))[:10]
    lut = np.zeros(10, dtype=np.int64)
    lut[1:] = new_ids[1:]
    perm_res = lut[res]
    perm_table = table.copy()
    perm_table[:, 0] = lut[table[:, 0]]
    perm_table[:, 3] = lut[table[:, 3]]
    a = evaluate_ctc(_gt(), GT_TABLE, res, table, gt_seg={0: _gt()[0]})
    b = evaluate_ctc(_gt(), GT_TABLE, perm_res, perm_table, gt_seg={0: _gt()[0]})
    assert a == b
    assert a["FN"] == 1 and a["FP"] == 1


def test_large_label_ids_and_dataframe_tables():
    res = _gt().astype(np.int64)
    res[res == 4] = 2**40
    table = pd.DataFrame(GT_TABLE, columns=["label", "begin", "end", "parent"])
    table.loc[3, "label"] = 2**40
    assert _counts(res, table) == _expect()


def test_dask_input():
    da = pytest.importorskip("dask.array")
    gt = _gt()
    lazy = da.from_array(gt, chunks=(1, 24, 24))
    assert tra_score(lazy, GT_TABLE, lazy, GT_TABLE) == 1.0


def test_seg_known_values():
    res = np.zeros((2, 10, 10), dtype=np.int32)
    gt = np.zeros((10, 10), dtype=np.uint16)
    gt[0:4, 0:4] = 1  # 16 px; the result covers 12 of them and nothing else
    res[1, 0:3, 0:4] = 7
    gt[6:10, 6:10] = 2  # 16 px; the result covers exactly 8: no match
    res[1, 6:8, 6:10] = 8
    gt[5, 0] = 3  # 1 px, result object of 4 px over it: IoU 1/4
    res[1, 5, 0:4] = 9
    assert seg_score({1: gt}, res) == pytest.approx((12 / 16 + 0 + 1 / 4) / 3)
    assert seg_score({0: gt}, res) == 0.0


def test_seg_3d():
    gt = np.zeros((1, 4, 8, 8), dtype=np.uint16)
    gt[0, 1:3, 2:6, 2:6] = 5  # 32 voxels
    res = np.zeros_like(gt, dtype=np.int32)
    res[0, 1:3, 2:6, 2:5] = 1  # 24 inside
    res[0, 0, 2:6, 2:6] = 1  # 16 outside -> IoU 24 / 48
    assert seg_score({0: gt[0]}, res) == pytest.approx(0.5)
    table = [[5, 0, 0, 0]]
    assert evaluate_ctc(gt, table, gt, table)["TRA"] == 1.0


def test_shape_mismatch_is_one_line_input_error():
    gt = _gt()
    with pytest.raises(
        InputError,
        match=r"ground truth has shape \(4, 24, 24\) but the "
        r"result has shape \(4, 24, 23\)",
    ) as info:
        det_score(gt, gt[..., :23])
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="shape"):
        seg_score({0: gt[0, :20]}, gt)


@pytest.mark.parametrize(
    "table, message",
    [
        ([[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 2, 0]], "disagree"),
        (
            [[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 9, 0]],
            "after the last frame",
        ),
        ([[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1]], "have no track"),
        (
            [[1, 0, 1, 0], [2, 1, 3, 1], [3, 2, 3, 1], [4, 0, 3, 0]],
            "invalid track table",
        ),
        ([[1, 0, 1]], r"\(N, 4\)"),
    ],
)
def test_bad_result_tables(table, message):
    gt = _gt()
    with pytest.raises(InputError, match=message):
        tra_score(gt, GT_TABLE, gt, table)


def test_other_bad_inputs():
    gt = _gt()
    with pytest.raises(InputError, match="integer"):
        det_score(gt, gt.astype(float))
    with pytest.raises(InputError, match="T\\(Z\\)YX"):
        det_score(gt[0], gt[0])
    with pytest.raises(InputError, match="no objects"):
        det_score(np.zeros_like(gt), gt)
    with pytest.raises(InputError, match="frames 0..3"):
        seg_score({4: gt[0]}, gt)
    with pytest.raises(InputError, match="non-empty"):
        seg_score({}, gt)
    with pytest.raises(InputError, match="negative"):
        det_score(gt.astype(np.int32), -gt.astype(np.int32))
    with pytest.raises(InputError, match="both track tables"):
        aogm_counts(gt, GT_TABLE, gt, None)
