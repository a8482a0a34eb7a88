"""Evaluate: Cell Tracking Challenge metrics vs ground truth: SEG, DET, TRA, LNK
(:mod:`~celldyn.evaluate.ctc`) and the lineage metrics BC(i), CT, CCA and division
precision / recall / F1 (:mod:`~celldyn.evaluate.divisions`)."""

from .ctc import (
    AOGMCounts,
    aogm_counts,
    det_score,
    evaluate_ctc,
    lnk_score,
    seg_score,
    tra_score,
)
from .divisions import (
    DIVISION_TOLERANCE,
    cell_cycle_accuracy,
    complete_tracks,
    division_scores,
    lineage_scores,
    match_divisions,
    tracking_scores,
)

__all__ = [
    "AOGMCounts",
    "DIVISION_TOLERANCE",
    "cell_cycle_accuracy",
    "complete_tracks",
    "division_scores",
    "lineage_scores",
    "match_divisions",
    "tracking_scores",
    "aogm_counts",
    "det_score",
    "evaluate_ctc",
    "lnk_score",
    "seg_score",
    "tra_score",
]
