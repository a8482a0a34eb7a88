"""Instance-segmentation scores: object matching at IoU thresholds and AP.

``AP@τ = TP / (TP + FP + FN)`` (the 2018 Data Science Bowl / StarDist definition),
where a predicted and a true object match when their IoU is at least τ, one to one
(Hungarian assignment on IoU; for τ >= 0.5 matches are unique anyway). Counts are
summed over frames before the ratio (a dataset-level AP, not a mean of per-frame APs).

Partial annotations (CTC SEG of Fluo-N2DH-GOWT1 annotates only some nuclei): with
``ignore_unannotated=True`` a predicted object that overlaps no annotated object is
ignored instead of counted as a false positive, the CTC SEG convention.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["average_precision", "match_counts"]


def _iou(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.unique(gt[gt > 0])
    p = np.unique(pred[pred > 0])
    gi = np.searchsorted(g, gt.ravel())
    pi = np.searchsorted(p, pred.ravel())
    gi = np.where(gt.ravel() > 0, gi + 1, 0)
    pi = np.where(pred.ravel() > 0, pi + 1, 0)
    n_g, n_p = g.size + 1, p.size + 1
    inter = np.bincount(gi * n_p + pi, minlength=n_g * n_p).reshape(n_g, n_p)
    area_g = inter.sum(axis=1)
    area_p = inter.sum(axis=0)
    inter = inter[1:, 1:].astype(np.float64)
    union = area_g[1:, None] + area_p[None, 1:] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou, inter, area_p[1:]


def match_counts(
    gt: np.ndarray,
    pred: np.ndarray,
    thresholds: Sequence[float] = (0.5, 0.75),
    *,
    ignore_unannotated: bool = False,
) -> dict[float, tuple[int, int, int]]:
    """``{τ: (TP, FP, FN)}`` for one frame."""
    iou, inter, _ = _iou(np.asarray(gt), np.asarray(pred))
    n_g, n_p = iou.shape
    counted = np.ones(n_p, dtype=bool)
    if ignore_unannotated and n_g:
        counted = inter.sum(axis=0) > 0
    elif ignore_unannotated:
        counted = np.zeros(n_p, dtype=bool)
    out = {}
    for t in thresholds:
        tp = 0
        if n_g and n_p:
            score = np.where(iou >= t, iou, 0.0)
            r, c = linear_sum_assignment(-score)
            tp = int(np.sum(score[r, c] >= t) if t > 0 else 0)
        out[float(t)] = (tp, int(counted.sum()) - tp, n_g - tp)
    return out


def average_precision(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    thresholds: Sequence[float] = (0.5, 0.75),
    *,
    ignore_unannotated: bool = False,
) -> dict[float, float]:
    """Dataset AP per threshold over ``(gt, pred)`` frame pairs (counts summed)."""
    tot = {float(t): np.zeros(3, dtype=np.int64) for t in thresholds}
    for gt, pred in pairs:
        for t, c in match_counts(gt, pred, thresholds,
                                 ignore_unannotated=ignore_unannotated).items():
            tot[t] += c
    return {t: float(c[0] / max(1, c.sum())) for t, c in tot.items()}
