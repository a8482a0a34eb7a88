"""Evaluate: Cell Tracking Challenge metrics (SEG, DET, TRA, LNK) vs ground truth."""

from .ctc import (
    AOGMCounts,
    aogm_counts,
    det_score,
    evaluate_ctc,
    lnk_score,
    seg_score,
    tra_score,
)

__all__ = [
    "AOGMCounts",
    "aogm_counts",
    "det_score",
    "evaluate_ctc",
    "lnk_score",
    "seg_score",
    "tra_score",
]
