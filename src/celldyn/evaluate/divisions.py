"""Lineage metrics: divisions (precision, recall, F1, BC(i)), complete tracks (CT) and
cell-cycle accuracy (CCA).

One matching decides whether a result division is a ground-truth division, and every
division figure of celldyn (``celldyn evaluate``, benchmarks/tracking.py) comes from it:
:func:`match_divisions`. It follows the branching-correctness rule of the Cell Tracking
Challenge (Ulman et al., Nat. Methods 2017) as py-ctcmetrics implements it:

* objects match by the CTC rule (a result object covers more than half of a
  ground-truth object's pixels, :mod:`celldyn.evaluate.ctc`);
* a division is a track with at least two child tracks;
* a result division (mother track ``c`` ending at ``tc``) matches a ground-truth
  division (mother ``r`` ending at ``tr``) when they have as many daughters,
  ``|tr - tc| <= i``, at frame ``min(tr, tc)`` the ground-truth mother is matched by
  ``c`` and ``c`` matches no other ground-truth object there, and every ground-truth
  daughter is matched, in a frame within ``i`` of both daughters' first frames, by a
  distinct result daughter that matches no other ground-truth object there.

With ``TP`` matched pairs, ``FP`` = result divisions - TP and ``FN`` = ground-truth
divisions - TP: precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F1 their
harmonic mean. ``BC(i)`` is that F1 at tolerance ``i`` (NaN without ground-truth
divisions). The division precision / recall / F1 celldyn reports use ``i = 1``
(:data:`DIVISION_TOLERANCE`), so the division F1 is BC(1).

``CT`` (complete tracks) is ``2 T_rc / (T_r + T_c)``: ``T_rc`` counts ground-truth
tracks matched, in each of their frames, by one and the same result track that begins
and ends where they do; ``T_r``, ``T_c`` count the tracks of each table. ``CCA``
(cell-cycle accuracy) is one minus the largest difference between the cumulative
histograms of the lengths (end - begin) of complete cell cycles (tracks that are born
in a division and end in one) of result and ground truth.

What is ours: the implementation over the per-frame contingency tables of
:mod:`celldyn.evaluate.ctc`. What we follow: the definitions above, checked against
py-ctcmetrics in tests/evaluate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .ctc import (
    _as_table,
    _check_labels,
    _check_same_shape,
    _check_table_matches,
    _count,
    _FrameMatch,
    _match_movie,
)

__all__ = [
    "DIVISION_TOLERANCE",
    "cell_cycle_accuracy",
    "complete_tracks",
    "division_scores",
    "lineage_scores",
    "match_divisions",
    "tracking_scores",
]

DIVISION_TOLERANCE = 1
"""Frames a division may be early or late and still count (BC(1))."""


class _Maps:
    """Per frame: ground-truth label -> the result label matching it, and how many
    ground-truth objects each result label matches."""

    def __init__(self, matches: list[_FrameMatch]) -> None:
        self.gt_to_res: list[dict[int, int]] = []
        self.res_hits: list[dict[int, int]] = []
        for m in matches:
            g = m.gt.ids[m.gt_idx].tolist()
            r = m.res.ids[m.res_idx].tolist()
            self.gt_to_res.append(dict(zip(g, r)))
            hits: dict[int, int] = {}
            for lab in r:
                hits[lab] = hits.get(lab, 0) + 1
            self.res_hits.append(hits)

    def unique(self, t: int, gt_label: int, res_label: int) -> bool:
        """Ground-truth object `gt_label` of frame `t` is matched by `res_label`, and
        `res_label` matches no other ground-truth object there."""
        if not 0 <= t < len(self.gt_to_res):
            return False
        return (self.gt_to_res[t].get(gt_label) == res_label
                and self.res_hits[t].get(res_label, 0) == 1)


def _divisions(table: pd.DataFrame) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    """Mother label -> (her last frame, [(daughter label, its first frame), ...]) for
    every track with two or more children."""
    end = dict(zip(table["label"].tolist(), table["end"].tolist()))
    kids: dict[int, list[tuple[int, int]]] = {}
    for lab, begin, parent in zip(table["label"].tolist(), table["begin"].tolist(),
                                  table["parent"].tolist()):
        if parent > 0:
            kids.setdefault(parent, []).append((lab, begin))
    return {p: (end[p], ch) for p, ch in sorted(kids.items()) if len(ch) > 1 and p in end}


def _is_match(maps: _Maps, ref: tuple[int, tuple[int, list]], comp: tuple[int, tuple[int, list]],
              i: int) -> bool:
    r, (tr, r_kids) = ref
    c, (tc, c_kids) = comp
    if len(r_kids) != len(c_kids) or abs(tr - tc) > i:
        return False
    if not maps.unique(min(tr, tc), r, c):
        return False
    used: list[int] = []
    for g, t_g in r_kids:
        for k, t_k in c_kids:
            if abs(t_g - t_k) > i:
                continue
            t = max(t_g, t_k)
            if maps.unique(t, g, k):
                if k not in used:
                    used.append(k)
                break
    return len(used) == len(r_kids)


def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else math.nan
    return {"div_TP": tp, "div_FP": fp, "div_FN": fn, "div_precision": precision,
            "div_recall": recall, "div_F1": f1}


def match_divisions(
    gt_table: pd.DataFrame, res_table: pd.DataFrame, matches: list[_FrameMatch], *,
    tolerance: int = DIVISION_TOLERANCE,
) -> tuple[list[tuple[int, int]], int, int]:
    """The matched (ground-truth mother, result mother) pairs, and how many divisions
    each table has (the rule: module docstring).

    `matches` is the per-frame object matching of :mod:`celldyn.evaluate.ctc`
    (``_match_movie(gt_labels, res_labels)``); the public entry points are
    :func:`division_scores` and :func:`lineage_scores`.
    """
    maps = _Maps(matches)
    ref, comp = _divisions(gt_table), _divisions(res_table)
    pairs = []
    for c, c_div in comp.items():
        for r, r_div in ref.items():
            if abs(r_div[0] - c_div[0]) <= tolerance and _is_match(
                    maps, (r, r_div), (c, c_div), tolerance):
                pairs.append((r, c))
    return pairs, len(ref), len(comp)


def complete_tracks(gt_table: pd.DataFrame, res_table: pd.DataFrame,
                    matches: list[_FrameMatch]) -> float:
    """CT: ``2 T_rc / (T_r + T_c)`` (module docstring)."""
    maps = _Maps(matches)
    res_span = {lab: (b, e) for lab, b, e in zip(
        res_table["label"].tolist(), res_table["begin"].tolist(), res_table["end"].tolist())}
    correct = 0
    for lab, b, e in zip(gt_table["label"].tolist(), gt_table["begin"].tolist(),
                         gt_table["end"].tolist()):
        first = maps.gt_to_res[b].get(lab) if b < len(matches) else None
        if first is None or res_span.get(first) != (b, e):
            continue
        if all(maps.unique(t, lab, first) for t in range(b, e + 1)):
            correct += 1
    total = len(gt_table) + len(res_table)
    return 2.0 * correct / total if total else math.nan


def cell_cycle_accuracy(gt_table: pd.DataFrame, res_table: pd.DataFrame) -> float:
    """CCA (module docstring): NaN when the ground truth has no complete cell cycle,
    0 when the result has none."""

    def cycles(table: pd.DataFrame) -> np.ndarray:
        mothers = set(_divisions(table))
        keep = table["label"].isin(mothers) & table["parent"].isin(mothers)
        return (table["end"] - table["begin"]).to_numpy(np.int64)[keep.to_numpy()]

    ref, comp = cycles(gt_table), cycles(res_table)
    if ref.size == 0:
        return math.nan
    if comp.size == 0:
        return 0.0
    n = int(max(ref.max(), comp.max())) + 1
    h_ref = np.cumsum(np.bincount(ref, minlength=n) / ref.size)
    h_comp = np.cumsum(np.bincount(comp, minlength=n) / comp.size)
    return float(1.0 - np.max(np.abs(h_ref - h_comp)))


def _prepare(gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any):
    _check_labels(gt_labels, "ground truth")
    _check_labels(res_labels, "result")
    _check_same_shape(gt_labels, res_labels)
    gt_t = _as_table(gt_table, "ground-truth track table")
    res_t = _as_table(res_table, "result track table")
    matches = _match_movie(gt_labels, res_labels)
    _check_table_matches([m.gt for m in matches], gt_t, "ground-truth")
    _check_table_matches([m.res for m in matches], res_t, "result")
    return gt_t, res_t, matches


def division_scores(
    gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any, *,
    tolerance: int = DIVISION_TOLERANCE,
) -> dict[str, float]:
    """Division precision, recall and F1 of a tracking result.

    Parameters
    ----------
    gt_labels, res_labels : (T, [Z,] Y, X) int arrays
        Ground-truth markers (CTC ``TRA``) and the tracked result, same shape.
    gt_table, res_table : DataFrame or (N, 4) array
        Their track tables ``label, begin, end, parent``.
    tolerance : int
        Frames a division may be early or late (``i`` of BC(i)).

    Returns
    -------
    dict
        ``div_TP``, ``div_FP``, ``div_FN``, ``div_precision``, ``div_recall`` and
        ``div_F1`` (NaN where a ratio is 0 / 0).

    Examples
    --------
    >>> gt = np.zeros((3, 1, 4), dtype=np.uint16)
    >>> gt[0, 0, 1] = 1
    >>> gt[1:, 0, 0], gt[1:, 0, 2] = 2, 3
    >>> table = [[1, 0, 0, 0], [2, 1, 2, 1], [3, 1, 2, 1]]
    >>> s = division_scores(gt, table, gt, table)
    >>> (s["div_TP"], s["div_FP"], s["div_FN"], s["div_F1"])
    (1, 0, 0, 1.0)
    """
    gt_t, res_t, matches = _prepare(gt_labels, gt_table, res_labels, res_table)
    pairs, n_ref, n_comp = match_divisions(gt_t, res_t, matches, tolerance=tolerance)
    return _scores(len(pairs), n_comp - len(pairs), n_ref - len(pairs))


def lineage_scores(
    gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any, *,
    tolerance: int = DIVISION_TOLERANCE, max_i: int = 3,
) -> dict[str, float]:
    """Division precision / recall / F1, BC(0..max_i), CT and CCA in one matching.

    Parameters are those of :func:`division_scores`; `max_i` is the largest ``i`` of
    the BC(i) reported.

    Returns
    -------
    dict
        The keys of :func:`division_scores` (at `tolerance`), ``BC(0)`` ..
        ``BC(max_i)`` (NaN without ground-truth divisions), ``CT``, ``CCA`` (NaN
        without a complete ground-truth cell cycle) and ``gt_divisions``,
        ``res_divisions``.
    """
    gt_t, res_t, matches = _prepare(gt_labels, gt_table, res_labels, res_table)
    return _lineage(gt_t, res_t, matches, tolerance=tolerance, max_i=max_i)


def tracking_scores(
    gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any, *,
    tolerance: int = DIVISION_TOLERANCE, max_i: int = 3,
) -> dict[str, float]:
    """DET, TRA, LNK and the AOGM counts (as :func:`celldyn.evaluate.evaluate_ctc`,
    without SEG) and every key of :func:`lineage_scores`, from one object matching.

    Examples
    --------
    >>> gt = np.zeros((2, 4, 4), dtype=np.uint16)
    >>> gt[:, :2, :2] = 1
    >>> s = tracking_scores(gt, [[1, 0, 1, 0]], gt, [[1, 0, 1, 0]])
    >>> (s["TRA"], s["CT"], s["div_TP"])
    (1.0, 1.0, 0)
    """
    gt_t, res_t, matches = _prepare(gt_labels, gt_table, res_labels, res_table)
    counts = _count(matches, gt_t, res_t)
    out: dict[str, float] = {"DET": counts.det, "TRA": counts.tra, "LNK": counts.lnk,
                             "AOGM": counts.aogm, "AOGM_0": counts.aogm_0}
    out.update(counts.as_dict())
    out.update(_lineage(gt_t, res_t, matches, tolerance=tolerance, max_i=max_i))
    return out


def _lineage(gt_t: pd.DataFrame, res_t: pd.DataFrame, matches: list[_FrameMatch], *,
             tolerance: int, max_i: int) -> dict[str, float]:
    out: dict[str, float] = {}
    n_ref = n_comp = 0
    for i in sorted({*range(max_i + 1), tolerance}):
        pairs, n_ref, n_comp = match_divisions(gt_t, res_t, matches, tolerance=i)
        tp = len(pairs)
        s = _scores(tp, n_comp - tp, n_ref - tp)
        if i <= max_i:
            out[f"BC({i})"] = s["div_F1"] if n_ref else math.nan
            if n_ref and tp == 0:
                out[f"BC({i})"] = 0.0
        if i == tolerance:
            out.update(s)
    out["gt_divisions"] = n_ref
    out["res_divisions"] = n_comp
    out["CT"] = complete_tracks(gt_t, res_t, matches)
    out["CCA"] = cell_cycle_accuracy(gt_t, res_t)
    return out
