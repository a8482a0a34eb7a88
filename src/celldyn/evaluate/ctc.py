"""Cell Tracking Challenge metrics: SEG, DET, TRA and LNK.

The metrics compare a result (a tracked label movie and its CTC track table
``label, begin, end, parent``) with ground truth in the same form, in memory: reading
CTC folders is :mod:`celldyn.io`'s job.

What is ours: the implementation, which works frame by frame on contingency tables
of label pairs (numpy ``bincount``), so numpy and dask movies alike are read one frame
at a time. What we follow: the definitions of the Cell Tracking Challenge, as
implemented by the reference tool py-ctcmetrics, against which the tests check
agreement.

Conventions
-----------
* **Matching.** A result object matches a ground-truth object of the same frame when
  it covers more than half of the ground-truth object's pixels
  (``2 * |R ∩ G| > |G|``). A ground-truth object therefore matches at most one
  result object; a result object may match several (a merge in the result).
* **Vertices.** Every object of every frame is a vertex. A ground-truth vertex with
  no match is a false negative (FN); a result vertex with no match a false positive
  (FP); a result vertex matching k > 1 ground-truth vertices needs k - 1 splits (NS).
* **Edges.** Each graph has *track links* (the same label in frames t and t + 1,
  semantic 0) and *parent links* (from a track's last object to its child track's
  first object, semantic 1, also when the child has no sibling, as CTC encodes a
  gap). Result edges whose two ends each match exactly one ground-truth vertex are
  carried over to the ground-truth vertices; those that are no ground-truth edge are
  redundant (ED), ground-truth edges that no carried edge covers are missing (EA),
  and carried edges that are ground-truth edges of the other semantic are wrong
  (EC). Result edges touching an unmatched or merged vertex are neither.
* **Scores.** AOGM is the weighted sum of the operations (NS 5, FN 10, FP 1, ED 1,
  EA 1.5, EC 1) and AOGM_0 the cost of building the ground truth from nothing
  (10 per vertex, 1.5 per edge). DET uses the vertex terms only, LNK the edge terms
  only, TRA both: ``score = 1 - min(AOGM, AOGM_0) / AOGM_0``.
* **SEG** is the mean, over every ground-truth object of the annotated frames, of
  the Jaccard index with its matched result object (0 when unmatched).

References
----------
.. [1] Matula P. et al., Cell tracking accuracy measurement based on comparison of
   acyclic oriented graphs, PLoS ONE 10(12):e0144959 (2015).
.. [2] Ulman V. et al., An objective comparison of cell-tracking algorithms,
   Nature Methods 14:1141-1152 (2017).
.. [3] Kaiser T., py-ctcmetrics 1.3.3 (PyPI), the reference implementation used
   in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..track.graph import CTC_COLUMNS, check_ctc_table

__all__ = [
    "AOGMCounts",
    "aogm_counts",
    "det_score",
    "evaluate_ctc",
    "lnk_score",
    "seg_score",
    "tra_score",
]

# Weights of the AOGM operations (Matula et al. 2015; CTC DET / TRA).
W_NS, W_FN, W_FP, W_ED, W_EA, W_EC = 5.0, 10.0, 1.0, 1.0, 1.5, 1.0

# Above this many label-pair cells a frame's contingency table is built by sorting
# the overlapping pixels instead of with a dense bincount.
_DENSE_PAIRS = 1 << 22
# Labels up to this value are compacted with a lookup table, larger ones by sorting.
_LUT_MAX = 1 << 20

IntArray = NDArray[np.int64]
ArrayLike4 = Any  # an (N, 4) array-like of ints: label, begin, end, parent


# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class AOGMCounts:
    """Graph operations that turn the result's graph into the ground truth's.

    Attributes
    ----------
    ns, fn, fp : int
        Vertex splits, false-negative and false-positive vertices.
    ed, ea, ec : int
        Redundant, missing and wrong-semantic edges (zero when edges were not
        counted, as for DET).
    gt_vertices, gt_edges : int
        Size of the ground-truth graph (``gt_edges`` is 0 when edges were not counted).
    """

    ns: int
    fn: int
    fp: int
    ed: int
    ea: int
    ec: int
    gt_vertices: int
    gt_edges: int

    @property
    def aogm_det(self) -> float:
        """Weighted vertex operations (AOGM-D)."""
        return W_NS * self.ns + W_FN * self.fn + W_FP * self.fp

    @property
    def aogm_lnk(self) -> float:
        """Weighted edge operations (AOGM-A)."""
        return W_ED * self.ed + W_EA * self.ea + W_EC * self.ec

    @property
    def aogm(self) -> float:
        """Weighted vertex and edge operations (AOGM)."""
        return self.aogm_det + self.aogm_lnk

    @property
    def aogm_0(self) -> float:
        """Cost of building the ground-truth graph from nothing (TRA's AOGM_0)."""
        return W_FN * self.gt_vertices + W_EA * self.gt_edges

    @property
    def det(self) -> float:
        """DET score in [0, 1]."""
        return _normalise(self.aogm_det, W_FN * self.gt_vertices)

    @property
    def tra(self) -> float:
        """TRA score in [0, 1]."""
        return _normalise(self.aogm, self.aogm_0)

    @property
    def lnk(self) -> float:
        """LNK score in [0, 1]; NaN when the ground truth has no edge."""
        return _normalise(self.aogm_lnk, W_EA * self.gt_edges)

    def as_dict(self) -> dict[str, int]:
        """The counts as ``{"NS": ..., "FN": ..., ...}`` (CTC spelling)."""
        return {
            "NS": self.ns,
            "FN": self.fn,
            "FP": self.fp,
            "ED": self.ed,
            "EA": self.ea,
            "EC": self.ec,
            "gt_vertices": self.gt_vertices,
            "gt_edges": self.gt_edges,
        }


def _normalise(cost: float, cost_0: float) -> float:
    if cost_0 <= 0:
        return float("nan")
    return float(1.0 - min(cost, cost_0) / cost_0)


# ------------------------------------------------------------------ validation


def _check_labels(labels: Any, name: str) -> None:
    shape = getattr(labels, "shape", None)
    dtype = getattr(labels, "dtype", None)
    if shape is None or dtype is None or not np.issubdtype(dtype, np.integer):
        raise InputError(
            f"{name} must be an integer label array with axes T(Z)YX; got "
            f"{type(labels).__name__} of dtype {dtype}"
        )
    if len(shape) not in (3, 4) or shape[0] == 0:
        raise InputError(
            f"{name} must be an integer label array with axes T(Z)YX; got "
            f"{dtype} with shape {tuple(shape)}"
        )


def _check_same_shape(gt: Any, res: Any) -> None:
    if tuple(gt.shape) != tuple(res.shape):
        raise InputError(
            f"ground truth has shape {tuple(gt.shape)} but the result has shape "
            f"{tuple(res.shape)}; both must be T(Z)YX label movies of the same "
            "frames and size"
        )


def _as_table(table: Any, name: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        arr = np.asarray(table)
        if arr.size == 0:
            arr = arr.reshape(0, 4)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise InputError(
                f"{name} must be a DataFrame with columns {CTC_COLUMNS} or an (N, 4) "
                f"array; got shape {arr.shape}"
            )
        table = pd.DataFrame(arr, columns=CTC_COLUMNS)
    try:
        return check_ctc_table(table)
    except InputError as err:
        raise InputError(f"{name}: {err}") from None


def _check_table_matches(
    frames: list[_Objects], table: pd.DataFrame, name: str
) -> None:
    """Every track's label is present exactly in frames begin..end (CTC rule)."""
    n_frames = len(frames)
    problems: list[str] = []
    beyond = table[table["end"] >= n_frames]
    if len(beyond):
        r = beyond.iloc[0]
        problems.append(
            f"{len(beyond)} track(s) end after the last frame {n_frames - 1} "
            f"(e.g. track {r.label} ends at {r.end})"
        )
    table = table[table["end"] < n_frames]
    lengths = (table["end"] - table["begin"] + 1).to_numpy()
    exp_t = np.repeat(table["begin"].to_numpy(), lengths) + _ranges(lengths)
    exp_l = np.repeat(table["label"].to_numpy(), lengths)
    got_t = np.concatenate([np.full(f.ids.size, t) for t, f in enumerate(frames)])
    got_l = np.concatenate([f.ids for f in frames])
    big = int(max(exp_l.max(initial=0), got_l.max(initial=0))) + 1
    exp = exp_t.astype(np.int64) * big + exp_l
    got = got_t.astype(np.int64) * big + got_l
    missing = np.setdiff1d(exp, got)
    extra = np.setdiff1d(got, exp)
    if missing.size:
        t, lab = divmod(int(missing[0]), big)
        problems.append(
            f"{missing.size} object(s) listed in the table are absent from the masks "
            f"(e.g. label {lab} in frame {t})"
        )
    if extra.size:
        t, lab = divmod(int(extra[0]), big)
        problems.append(
            f"{extra.size} object(s) in the masks are outside their track's "
            f"begin..end or have no track (e.g. label {lab} in frame {t})"
        )
    if problems:
        raise InputError(
            f"{name} labels and track table disagree: " + "; ".join(problems)
        )


def _ranges(lengths: NDArray[Any]) -> IntArray:
    """Concatenated ``arange(n)`` for each n in `lengths`."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    out: IntArray = np.arange(total, dtype=np.int64) - starts
    return out


# -------------------------------------------------------------- per-frame matching


@dataclass
class _Objects:
    """Objects of one frame: sorted ids and pixel counts."""

    ids: IntArray
    areas: IntArray


@dataclass
class _FrameMatch:
    gt: _Objects
    res: _Objects
    gt_idx: IntArray  # matched pairs, positions into gt.ids ...
    res_idx: IntArray  # ... and res.ids
    inter: IntArray  # pixels in common of each pair


def _compact(frame: NDArray[Any], name: str) -> tuple[_Objects, IntArray]:
    """Ids and areas of a label frame, and its pixels as 0 (bg) or 1 + id position."""
    flat = frame.ravel()
    if flat.size and flat.min() < 0:
        raise InputError(f"{name} must not contain negative labels; found {flat.min()}")
    top = int(flat.max()) if flat.size else 0
    if top < _LUT_MAX:
        flat = flat.astype(np.intp, copy=False)
        counts = np.bincount(flat, minlength=1)
        ids = np.flatnonzero(counts)
        ids = ids[ids > 0]
        lut = np.zeros(top + 1, dtype=np.int64)
        lut[ids] = np.arange(1, ids.size + 1)
        return _Objects(ids.astype(np.int64), counts[ids].astype(np.int64)), lut[flat]
    uniq, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    if uniq[0] != 0:  # no background: shift so that position 0 stays background
        return (
            _Objects(uniq.astype(np.int64), counts.astype(np.int64)),
            inverse.astype(np.int64) + 1,
        )
    return (
        _Objects(uniq[1:].astype(np.int64), counts[1:].astype(np.int64)),
        inverse.astype(np.int64),
    )


def _match_frame(
    gt_frame: NDArray[Any], res_frame: NDArray[Any], gt_name: str, res_name: str
) -> _FrameMatch:
    gt, g = _compact(gt_frame, gt_name)
    res, r = _compact(res_frame, res_name)
    ng, nr = gt.ids.size + 1, res.ids.size + 1
    if ng * nr <= _DENSE_PAIRS:
        table = np.bincount(g * nr + r, minlength=ng * nr).reshape(ng, nr)
        gi, ri = np.nonzero(table[1:, 1:])
        inter = table[1:, 1:][gi, ri]
    else:
        both = (g > 0) & (r > 0)
        keys, inter = np.unique(g[both] * nr + r[both], return_counts=True)
        gi, ri = np.divmod(keys, nr)
        gi, ri = gi - 1, ri - 1
    ok = 2 * inter > gt.areas[gi]
    return _FrameMatch(
        gt,
        res,
        gi[ok].astype(np.int64),
        ri[ok].astype(np.int64),
        inter[ok].astype(np.int64),
    )


def _match_movie(gt_labels: Any, res_labels: Any) -> list[_FrameMatch]:
    return [
        _match_frame(
            np.asarray(gt_labels[t]),
            np.asarray(res_labels[t]),
            "ground truth",
            "result",
        )
        for t in range(gt_labels.shape[0])
    ]


# ------------------------------------------------------------------------- graphs


def _vertex_offsets(frames: list[_Objects]) -> IntArray:
    return np.cumsum([0] + [f.ids.size for f in frames]).astype(np.int64)


def _vertex_index(
    frames: list[_Objects], offsets: IntArray, t: IntArray, lab: IntArray
) -> IntArray:
    """Global vertex index of objects (t, label), which must exist."""
    out = np.empty(t.size, dtype=np.int64)
    for tt in np.unique(t):
        sel = t == tt
        out[sel] = offsets[tt] + np.searchsorted(frames[tt].ids, lab[sel])
    return out


def _edges(
    frames: list[_Objects], table: pd.DataFrame
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges (source, target, semantic) between global vertex indices."""
    offsets = _vertex_offsets(frames)
    src, dst = [], []
    for t in range(len(frames) - 1):
        _, ia, ib = np.intersect1d(
            frames[t].ids, frames[t + 1].ids, assume_unique=True, return_indices=True
        )
        src.append(offsets[t] + ia)
        dst.append(offsets[t + 1] + ib)
    n_track = sum(s.size for s in src)
    children = table[table["parent"] > 0]
    end_of = dict(zip(table["label"], table["end"], strict=True))
    p_lab = children["parent"].to_numpy(dtype=np.int64)
    p_t = np.array([end_of[p] for p in p_lab], dtype=np.int64)
    c_lab = children["label"].to_numpy(dtype=np.int64)
    c_t = children["begin"].to_numpy(dtype=np.int64)
    src.append(_vertex_index(frames, offsets, p_t, p_lab))
    dst.append(_vertex_index(frames, offsets, c_t, c_lab))
    semantic = np.zeros(n_track + p_lab.size, dtype=np.int64)
    semantic[n_track:] = 1
    return np.concatenate(src), np.concatenate(dst), semantic


def _count(
    matches: list[_FrameMatch],
    gt_table: pd.DataFrame | None,
    res_table: pd.DataFrame | None,
) -> AOGMCounts:
    n_gt = sum(m.gt.ids.size for m in matches)
    if n_gt == 0:
        raise InputError("ground truth has no objects; DET and TRA are undefined")
    ns = fn = fp = 0
    # Result vertex -> ground-truth vertex for result vertices matching exactly one.
    n_res = sum(m.res.ids.size for m in matches)
    res_to_gt = np.full(n_res, -1, dtype=np.int64)
    gt_off = res_off = 0
    for m in matches:
        hits = np.bincount(m.res_idx, minlength=m.res.ids.size)
        fn += m.gt.ids.size - m.gt_idx.size
        fp += int(np.count_nonzero(hits == 0))
        ns += int(np.maximum(hits - 1, 0).sum())
        unique = hits[m.res_idx] == 1
        res_to_gt[res_off + m.res_idx[unique]] = gt_off + m.gt_idx[unique]
        gt_off += m.gt.ids.size
        res_off += m.res.ids.size
    if gt_table is None or res_table is None:
        return AOGMCounts(ns, fn, fp, 0, 0, 0, n_gt, 0)

    g_src, g_dst, g_sem = _edges([m.gt for m in matches], gt_table)
    r_src, r_dst, r_sem = _edges([m.res for m in matches], res_table)
    r_src, r_dst = res_to_gt[r_src], res_to_gt[r_dst]
    kept = (r_src >= 0) & (r_dst >= 0)
    r_key = r_src[kept] * n_gt + r_dst[kept]
    g_key = g_src * n_gt + g_dst
    _, ig, ir = np.intersect1d(g_key, r_key, assume_unique=True, return_indices=True)
    ed = int(r_key.size - ir.size)
    ea = int(g_key.size - ig.size)
    ec = int(np.count_nonzero(g_sem[ig] != r_sem[kept][ir]))
    return AOGMCounts(ns, fn, fp, ed, ea, ec, n_gt, int(g_key.size))


# --------------------------------------------------------------------- public API


def aogm_counts(
    gt_labels: Any,
    gt_table: pd.DataFrame | ArrayLike4 | None,
    res_labels: Any,
    res_table: pd.DataFrame | ArrayLike4 | None,
) -> AOGMCounts:
    """Count the AOGM graph operations between a result and the ground truth.

    Parameters
    ----------
    gt_labels : (T, [Z,] Y, X) int array, numpy or dask
        Ground-truth tracking markers (CTC ``TRA/man_track*.tif``); the id of an
        object is its track label.
    gt_table : DataFrame or (N, 4) array, or None
        Ground-truth track table ``label, begin, end, parent`` (``man_track.txt``).
        With None (and `res_table` None) edges are not counted, as for DET.
    res_labels : (T, [Z,] Y, X) int array, numpy or dask
        Tracked result label movie, same shape as `gt_labels`.
    res_table : DataFrame or (N, 4) array, or None
        Result track table (``res_track.txt``).

    Returns
    -------
    AOGMCounts
        Counts (NS, FN, FP, ED, EA, EC), the ground-truth graph size, and DET, TRA
        and LNK as properties.

    Raises
    ------
    InputError
        On non-integer or differently shaped movies, an invalid track table, a table
        that disagrees with its masks (a label present outside its track's
        begin..end, or absent inside it), or a ground truth without objects.

    Notes
    -----
    See the module docstring for the matching and counting conventions; they follow
    the Cell Tracking Challenge and py-ctcmetrics.

    Examples
    --------
    >>> gt = np.zeros((2, 4, 4), dtype=np.uint16)
    >>> gt[:, :2, :2] = 1
    >>> table = [[1, 0, 1, 0]]
    >>> c = aogm_counts(gt, table, gt, table)
    >>> (c.fn, c.fp, c.ea, c.tra)
    (0, 0, 0, 1.0)
    """
    _check_labels(gt_labels, "ground truth")
    _check_labels(res_labels, "result")
    _check_same_shape(gt_labels, res_labels)
    if (gt_table is None) != (res_table is None):
        raise InputError(
            "give both track tables (for TRA/LNK) or neither (for DET); got only the "
            + ("result's" if gt_table is None else "ground truth's")
        )
    gt_t = None if gt_table is None else _as_table(gt_table, "ground-truth track table")
    res_t = None if res_table is None else _as_table(res_table, "result track table")
    matches = _match_movie(gt_labels, res_labels)
    if gt_t is not None and res_t is not None:
        _check_table_matches([m.gt for m in matches], gt_t, "ground-truth")
        _check_table_matches([m.res for m in matches], res_t, "result")
    return _count(matches, gt_t, res_t)


def det_score(gt_labels: Any, res_labels: Any) -> float:
    """CTC detection accuracy DET: AOGM-D normalised, in [0, 1].

    Parameters
    ----------
    gt_labels, res_labels : (T, [Z,] Y, X) int arrays, numpy or dask
        Ground-truth markers and result labels of the same shape.

    Returns
    -------
    float
        ``1 - min(AOGM_D, AOGM_D0) / AOGM_D0`` with ``AOGM_D = 5 NS + 10 FN + FP``
        and ``AOGM_D0 = 10 * (number of ground-truth objects)``.

    Raises
    ------
    InputError
        On non-integer or differently shaped movies, or a ground truth without
        objects.

    Examples
    --------
    >>> gt = np.zeros((1, 4, 4), dtype=np.uint16)
    >>> gt[0, :2, :2], gt[0, 2:, 2:] = 1, 2
    >>> res = gt.copy()
    >>> res[0, 2:, 2:] = 0  # one object missed: AOGM_D = 10 of 20
    >>> det_score(gt, res)
    0.5
    """
    return aogm_counts(gt_labels, None, res_labels, None).det


def tra_score(gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any) -> float:
    """CTC tracking accuracy TRA: AOGM normalised, in [0, 1].

    Parameters are those of :func:`aogm_counts`, both tables required.

    Returns
    -------
    float
        ``1 - min(AOGM, AOGM_0) / AOGM_0``.

    Examples
    --------
    >>> gt = np.zeros((2, 4, 4), dtype=np.uint16)
    >>> gt[:, :2, :2] = 1
    >>> res = gt.copy()
    >>> res[1][res[1] == 1] = 2  # the link is lost: EA = 1
    >>> tra_score(gt, [[1, 0, 1, 0]], res, [[1, 0, 0, 0], [2, 1, 1, 0]])
    0.9302325581395349
    """
    if gt_table is None or res_table is None:
        raise InputError(
            "tra_score needs both track tables; use det_score without them"
        )
    return aogm_counts(gt_labels, gt_table, res_labels, res_table).tra


def lnk_score(gt_labels: Any, gt_table: Any, res_labels: Any, res_table: Any) -> float:
    """CTC linking accuracy LNK: the edge part of AOGM normalised, in [0, 1].

    Parameters are those of :func:`tra_score`. Returns NaN when the ground truth has
    no edge.
    """
    if gt_table is None or res_table is None:
        raise InputError("lnk_score needs both track tables")
    return aogm_counts(gt_labels, gt_table, res_labels, res_table).lnk


def _seg_frames(gt_seg: Mapping[int, Any], res_labels: Any) -> list[tuple[int, Any]]:
    _check_labels(res_labels, "result")
    if not isinstance(gt_seg, Mapping) or len(gt_seg) == 0:
        raise InputError(
            "gt_seg must be a non-empty dict mapping frame index -> ground-truth "
            f"label image; got {type(gt_seg).__name__} {gt_seg!r:.60}"
        )
    n_frames, frame_shape = res_labels.shape[0], tuple(res_labels.shape[1:])
    out = []
    for t in sorted(gt_seg):
        frame = gt_seg[t]
        if not isinstance(t, (int, np.integer)) or not 0 <= t < n_frames:
            raise InputError(
                f"gt_seg has frame {t!r} but the result has frames 0..{n_frames - 1}"
            )
        if tuple(np.shape(frame)) != frame_shape:
            raise InputError(
                f"ground truth has shape {tuple(np.shape(frame))} in SEG frame {t} but "
                f"the result frames have shape {frame_shape}; both must be the same "
                "(Z)YX size"
            )
        if not np.issubdtype(np.asarray(frame).dtype, np.integer):
            raise InputError(
                f"gt_seg frame {t} must be an integer label image; got "
                f"{np.asarray(frame).dtype}"
            )
        out.append((int(t), frame))
    return out


def _seg_sums(gt_seg: Mapping[int, Any], res_labels: Any) -> tuple[float, int]:
    total, n = 0.0, 0
    for t, frame in _seg_frames(gt_seg, res_labels):
        m = _match_frame(
            np.asarray(frame), np.asarray(res_labels[t]), "ground truth", "result"
        )
        union = m.gt.areas[m.gt_idx] + m.res.areas[m.res_idx] - m.inter
        total += float(np.sum(m.inter / union))
        n += m.gt.ids.size
    return total, n


def seg_score(gt_seg: Mapping[int, Any], res_labels: Any) -> float:
    """CTC segmentation accuracy SEG: mean Jaccard index over ground-truth objects.

    Parameters
    ----------
    gt_seg : dict of int -> ([Z,] Y, X) int array
        Ground-truth segmentation of some frames (CTC ``SEG/man_segTTT.tif``), keyed
        by frame index into `res_labels`.
    res_labels : (T, [Z,] Y, X) int array, numpy or dask
        Result label movie.

    Returns
    -------
    float
        For every ground-truth object of the given frames, the Jaccard index
        ``|R ∩ G| / |R ∪ G|`` with the result object R covering more than half of
        it, or 0 when there is none; averaged.

    Raises
    ------
    InputError
        On an empty `gt_seg`, a frame index outside the movie, a frame of another
        size, or no ground-truth object at all.

    Examples
    --------
    >>> res = np.zeros((3, 4, 4), dtype=np.int32)
    >>> res[1, :2, :2] = 5
    >>> gt = np.zeros((4, 4), dtype=np.uint16)
    >>> gt[:2, :] = 1  # res covers half of it only: not matched
    >>> gt[3, 3] = 2
    >>> seg_score({1: gt}, res)
    0.0
    """
    total, n = _seg_sums(gt_seg, res_labels)
    if n == 0:
        raise InputError("gt_seg has no objects; SEG is undefined")
    return total / n


def evaluate_ctc(
    gt_tra_labels: Any,
    gt_table: Any,
    res_labels: Any,
    res_table: Any,
    gt_seg: Mapping[int, Any] | None = None,
) -> dict[str, float]:
    """All CTC technical metrics of a tracking result at once.

    Parameters
    ----------
    gt_tra_labels : (T, [Z,] Y, X) int array, numpy or dask
        Ground-truth tracking markers (CTC ``TRA``).
    gt_table : DataFrame or (N, 4) array
        Ground-truth track table ``label, begin, end, parent``.
    res_labels : (T, [Z,] Y, X) int array, numpy or dask
        Tracked result label movie.
    res_table : DataFrame or (N, 4) array
        Result track table.
    gt_seg : dict of int -> ([Z,] Y, X) int array, optional
        Ground-truth segmentation of some frames (CTC ``SEG``), for SEG.

    Returns
    -------
    dict
        ``SEG`` (NaN without `gt_seg`), ``DET``, ``TRA``, ``LNK``, ``AOGM``,
        ``AOGM_0``, the counts ``NS, FN, FP, ED, EA, EC`` and the ground-truth graph
        size ``gt_vertices, gt_edges``.

    Raises
    ------
    InputError
        As :func:`aogm_counts` and :func:`seg_score`.

    Examples
    --------
    >>> gt = np.zeros((2, 4, 4), dtype=np.uint16)
    >>> gt[:, :2, :2] = 1
    >>> scores = evaluate_ctc(gt, [[1, 0, 1, 0]], gt, [[1, 0, 1, 0]], gt_seg={0: gt[0]})
    >>> [scores[k] for k in ("SEG", "DET", "TRA", "LNK")]
    [1.0, 1.0, 1.0, 1.0]
    """
    if gt_table is None or res_table is None:
        raise InputError(
            "evaluate_ctc needs both track tables; use det_score without them"
        )
    counts = aogm_counts(gt_tra_labels, gt_table, res_labels, res_table)
    seg = float("nan") if gt_seg is None else seg_score(gt_seg, res_labels)
    out: dict[str, float] = {
        "SEG": seg,
        "DET": counts.det,
        "TRA": counts.tra,
        "LNK": counts.lnk,
        "AOGM": counts.aogm,
        "AOGM_0": counts.aogm_0,
    }
    out.update(counts.as_dict())
    return out
