"""Learned association, the model: candidate features and the attention network.

See :mod:`celldyn.track.learned` for the design.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ...errors import MissingDependencyError, ModelError
from ..candidates import (
    candidate_links,
    check_objects,
    frame_groups,
    physical_positions,
)
from ..costs import iou_of_candidates
from ..scale import estimate_motion_scale

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = ["DEFAULT_MAX_DISTANCE_FACTOR", "FEATURES", "AssociationNet", "candidate_features",
           "learned_candidates", "object_scale"]

FEATURES = [
    "distance",  # distance / median object diameter
    "distance_rel",  # distance / movie's median nearest-candidate distance (dt=1)
    "gap",  # dt - 1
    "log_area_ratio",  # log(area_target / area_source)
    "abs_log_area_ratio",
    "log_intensity_ratio",  # log(I_target / I_source); 0 without intensities
    "iou",  # mask IoU; 0 without labels
    "has_iou",  # 1 when the label movie was given
    "eccentricity_diff",  # |e_t - e_s|
    "solidity_diff",  # |s_t - s_s|
    "excess_source",  # (d - nearest d among the source's candidates) / diameter
    "excess_target",  # (d - nearest d among the target's candidates) / diameter
    "rank_source",  # rank of d among the source's candidates of the same dt, /5
    "rank_target",  # same among the target's candidates
    "n_source",  # log1p(number of the source's candidates)
    "n_target",  # log1p(number of the target's candidates)
    "log_size_source",  # log(area_source / median area)
    "density",  # log1p(objects within 2 diameters of the source, same frame)
    "log_motion_scale",  # log(median nearest-candidate distance / diameter), per movie
]

DEFAULT_MAX_DISTANCE_FACTOR = 1.0
"""Candidate radius: this many times the movie's measured search radius
(:func:`~celldyn.track.scale.estimate_motion_scale`, as the hand-made trackers use),
in training and at inference; never from object size (a CTC marker is far smaller
than its cell)."""

LINK_NEIGHBOURS = 6
"""A one-frame candidate is kept when it is among the source's or the target's
``LINK_NEIGHBOURS`` nearest; a gap candidate only when it is the nearest of both and one of them has no
mutual-nearest one-frame link."""

COMPETITORS = 6
"""Each candidate attends to at most this many competitors per grouping."""

_MODEL_DIR = "tracker"


# --------------------------------------------------------------------------- features


def object_scale(objects: pd.DataFrame, spacing: Sequence[float] | None = None) -> float:
    """Median object diameter in units of `spacing` (pixels when None).

    From the ``area`` column (an area in 2D, a volume in 3D, in units of `spacing`
    as :func:`~celldyn.measure.measure_objects` gives it); without it, half the
    median nearest-neighbour distance within frames.
    """
    axes = check_objects(objects)
    if "area" in objects and len(objects) and np.isfinite(objects["area"]).any():
        size = float(np.nanmedian(objects["area"].to_numpy(float)))
        if len(axes) == 3:
            return max(2 * (3 * size / (4 * np.pi)) ** (1 / 3), 1e-6)
        return max(2 * np.sqrt(size / np.pi), 1e-6)
    pos = physical_positions(objects, spacing)
    nn_d = []
    for rows in frame_groups(objects["t"].to_numpy(np.int64)).values():
        if len(rows) > 1:
            d, _ = cKDTree(pos[rows]).query(pos[rows], k=2)
            nn_d.append(d[:, 1])
    return float(0.5 * np.median(np.concatenate(nn_d))) if nn_d else 1.0


def learned_candidates(
    objects: pd.DataFrame,
    *,
    max_distance: float | None = None,
    max_gap: int = 2,
    spacing: Sequence[float] | None = None,
    factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
) -> pd.DataFrame:
    """The learned tracker's candidate links: :func:`candidate_links`, pruned.

    Parameters
    ----------
    objects : DataFrame
        Detections, as for the solvers.
    max_distance : float, optional
        Radius per frame in units of `spacing`; default `factor` x the movie's
        measured search radius (:func:`~celldyn.track.scale.estimate_motion_scale`).
    max_gap, spacing :
        As for :func:`candidate_links`.

    Returns
    -------
    DataFrame
        The candidate table (same columns and attrs), keeping a one-frame candidate
        when it is among its source's or its target's :data:`LINK_NEIGHBOURS`
        nearest, and a gap candidate (``dt > 1``) only when it is the nearest of
        both its source and its target at that ``dt`` and a one-frame link is
        unsure there (its source has no mutual-nearest one-frame successor, or its
        target no such predecessor). On the real and simulated
        training movies this keeps every ground-truth link but a few of dense
        colonies at every 4th frame (``benchmarks/tracker_learned.py --speed``
        reports the recall) and removes about half the candidates, most of them
        gap candidates; the same rule is used in training.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2],
    ...                         "y": [0.0, 1.0, 9.0], "x": [0.0, 0.0, 0.0]})
    >>> learned_candidates(objects, max_distance=20)[["source", "target"]].values.tolist()
    [[0, 1], [0, 2]]
    """
    if max_distance is None:
        max_distance = factor * estimate_motion_scale(objects, spacing=spacing).max_distance
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    cands.attrs["max_distance"] = float(max_distance)
    if len(cands) == 0:
        return cands
    src = cands["source"].to_numpy(np.int64)
    tgt = cands["target"].to_numpy(np.int64)
    dt = cands["dt"].to_numpy(np.int64)
    d = cands["distance"].to_numpy(float)
    rs = _group_rank(src * (max_gap + 2) + dt, d)
    rt = _group_rank(tgt * (max_gap + 2) + dt, d)
    one = dt == 1
    # a gap is bridged only where a one-frame link is unsure: the source has no
    # mutual-nearest successor or the target no mutual-nearest predecessor
    sure = one & (rs < 1) & (rt < 1)
    n = len(objects)
    sure_out = np.bincount(src[sure], minlength=n) > 0
    sure_in = np.bincount(tgt[sure], minlength=n) > 0
    keep = np.where(one, (rs < LINK_NEIGHBOURS) | (rt < LINK_NEIGHBOURS),
                    (rs < 1) & (rt < 1) & ~(sure_out[src] & sure_in[tgt]))
    out = cands.loc[keep].reset_index(drop=True)
    out.attrs = dict(cands.attrs, max_distance=float(max_distance))
    return out


def _group_min(key: NDArray[np.int64], value: NDArray, n: int) -> NDArray:
    out = np.full(n, np.inf)
    np.minimum.at(out, key, value)
    return out[key]


def _group_rank(key: NDArray[np.int64], value: NDArray) -> NDArray[np.float64]:
    """0-based rank of `value` within its group `key` (ties by position)."""
    order = np.lexsort((value, key))
    k = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(k)) + 1]
    sizes = np.diff(np.r_[starts, len(k)])
    ranks = np.arange(len(k)) - np.repeat(starts, sizes)
    out = np.empty(len(k), np.float64)
    out[order] = ranks
    return out


def _intensity(objects: pd.DataFrame, labels: Any, movie: Any) -> NDArray | None:
    if "intensity_mean" in objects:
        return objects["intensity_mean"].to_numpy(float)
    if labels is None or movie is None:
        return None
    t = objects["t"].to_numpy(np.int64)
    lab = objects["label"].to_numpy(np.int64)
    out = np.zeros(len(objects))
    for frame, rows in frame_groups(t).items():
        lf = np.asarray(labels[frame]).ravel().astype(np.int64)
        mf = np.asarray(movie[frame], float).ravel()
        sums = np.bincount(lf, weights=mf)
        counts = np.bincount(lf)
        ok = lab[rows] < len(sums)
        vals = np.zeros(len(rows))
        idx = lab[rows][ok]
        vals[ok] = sums[idx] / np.maximum(counts[idx], 1)
        out[rows] = vals
    return out


def candidate_features(
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    labels: Any = None,
    movie: Any = None,
    spacing: Sequence[float] | None = None,
) -> NDArray[np.float32]:
    """Per-candidate features of :data:`FEATURES`, shape ``(len(candidates), F)``.

    Parameters
    ----------
    objects : DataFrame
        Detections (row position = node id), as for the solvers.
    candidates : DataFrame
        From :func:`~celldyn.track.candidates.candidate_links`.
    labels : (T, [Z,] Y, X) int array, optional
        Label movie the objects were measured on; enables the IoU feature (and the
        intensity feature with `movie` when `objects` lack ``intensity_mean``).
    movie : array, optional
        Intensities of the same shape as `labels`.
    spacing : sequence of float, optional
        Physical pixel size; defaults to ``candidates.attrs["spacing"]``.
    """
    check_objects(objects)
    if spacing is None:
        spacing = candidates.attrs.get("spacing")
    n = len(objects)
    m = len(candidates)
    out = np.zeros((m, len(FEATURES)), np.float32)
    if m == 0:
        return out
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    dt = candidates["dt"].to_numpy(np.int64)
    d = candidates["distance"].to_numpy(float)
    scale = object_scale(objects, spacing)
    f: dict[str, NDArray] = {}
    f["distance"] = d / scale
    one = dt == 1
    near1 = _group_min(src[one], d[one], n) if one.any() else np.zeros(0)
    motion = float(np.median(np.unique(near1))) if near1.size else scale
    motion = max(motion, 0.05 * scale)
    f["distance_rel"] = d / motion
    f["log_motion_scale"] = np.full(m, np.log(motion / scale))
    f["gap"] = (dt - 1).astype(float)
    if "area" in objects:
        area = np.maximum(objects["area"].to_numpy(float), 1e-12)
        lar = np.log(area[tgt] / area[src])
        f["log_area_ratio"] = lar
        f["abs_log_area_ratio"] = np.abs(lar)
        f["log_size_source"] = np.log(area[src] / np.median(area))
    inten = _intensity(objects, labels, movie)
    if inten is not None:
        inten = np.maximum(inten, 1e-12)
        f["log_intensity_ratio"] = np.clip(np.log(inten[tgt] / inten[src]), -3, 3)
    if labels is not None:
        f["iou"] = iou_of_candidates(labels, objects, candidates)
        f["has_iou"] = np.ones(m)
    for col, name in (("eccentricity", "eccentricity_diff"), ("solidity", "solidity_diff")):
        if col in objects:
            v = objects[col].to_numpy(float)
            f[name] = np.nan_to_num(np.abs(v[tgt] - v[src]))
    f["excess_source"] = (d - _group_min(src, d, n)) / scale
    f["excess_target"] = (d - _group_min(tgt, d, n)) / scale
    f["rank_source"] = np.minimum(_group_rank(src * 8 + dt, d), 5) / 5
    f["rank_target"] = np.minimum(_group_rank(tgt * 8 + dt, d), 5) / 5
    f["n_source"] = np.log1p(np.bincount(src, minlength=n)[src])
    f["n_target"] = np.log1p(np.bincount(tgt, minlength=n)[tgt])
    pos = physical_positions(objects, spacing)
    density = np.zeros(n)
    for rows in frame_groups(objects["t"].to_numpy(np.int64)).values():
        tree = cKDTree(pos[rows])
        density[rows] = tree.query_ball_point(pos[rows], 2 * scale, return_length=True) - 1
    f["density"] = np.log1p(density[src])
    for k, name in enumerate(FEATURES):
        if name in f:
            out[:, k] = np.nan_to_num(f[name], nan=0.0, posinf=0.0, neginf=0.0)
    return out


def _competitor_pairs(
    key: NDArray[np.int64], distance: NDArray[np.float64], k: int = COMPETITORS
) -> NDArray[np.int64]:
    """Each candidate's competitors as a padded index table, shape (n, k) or (n, k + 1).

    Row ``i`` lists the `k` nearest candidates (by `distance`) of ``i``'s group
    (``key[j] == key[i]``, ``i`` itself included when it is among them), nearest
    first, padded with -1; a candidate outside its group's `k` nearest also attends
    to itself (an extra column, present only when some candidate needs it).
    Capping the competitors keeps the attention linear in the candidates, and a
    dense table lets it run as batched tensor products instead of scatters.
    """
    n = len(key)
    if n == 0:
        return np.full((0, k), -1, np.int64)
    order = np.lexsort((distance, key))
    kk = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(kk)) + 1]
    sizes = np.diff(np.r_[starts, n])
    first = np.repeat(starts, sizes)  # group start, per sorted row
    width = np.minimum(np.repeat(sizes, sizes), k)  # competitors per sorted row
    cols = np.arange(k)
    pos = np.minimum(first[:, None] + cols[None, :], n - 1)
    table = np.where(cols[None, :] < width[:, None], order[pos], -1)
    rank = np.arange(n) - first
    if (rank >= k).any():
        extra = np.where(rank >= k, order, -1)
        table = np.concatenate([table, extra[:, None]], axis=1)
    out = np.empty_like(table)
    out[order] = table
    return out


# --------------------------------------------------------------------------- network


def _gather_plan(table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat gather indices of a competitor table and its additive mask (0 or -inf,
    shape (n, K, 1)); made once per forward and shared by the blocks."""
    pad = torch.zeros(table.shape, dtype=torch.float32).masked_fill_(table < 0, float("-inf"))
    return table.clamp_min(0).reshape(-1), pad[..., None]


class _CompetitorAttention(nn.Module):
    """Multi-head attention of each candidate over its competitors (one grouping)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.scale = (hidden // heads) ** -0.5

    def forward(self, h: torch.Tensor, table: torch.Tensor | tuple) -> torch.Tensor:
        """`table`: (n, K) competitor indices, -1 = padding (:func:`_competitor_pairs`),
        or its :func:`_gather_plan`."""
        n, width = h.shape
        heads, hd = self.heads, width // self.heads
        flat, pad = table if isinstance(table, tuple) else _gather_plan(table)
        depth = flat.numel() // max(n, 1)
        qkv = self.qkv(h)
        q = qkv[:, :width].reshape(n, 1, heads, hd)
        kv = qkv[:, width:].contiguous()
        # one row gather of keys and values for every (candidate, competitor) slot
        kv = kv.index_select(0, flat).view(n, depth, 2, heads, hd)
        logit = (kv[:, :, 0] * q).sum(-1) * self.scale + pad  # (n, depth, heads)
        w = torch.softmax(logit, dim=1)  # every row has itself: no empty row
        msg = (w[..., None] * kv[:, :, 1]).sum(1)
        return msg.reshape(n, width)


class _Block(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.out_src = _CompetitorAttention(hidden, heads)
        self.in_tgt = _CompetitorAttention(hidden, heads)
        self.mix = nn.Sequential(
            nn.Linear(3 * hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)
        )

    def forward(self, h: torch.Tensor, src_pairs: torch.Tensor, tgt_pairs: torch.Tensor):
        x = self.norm(h)
        ctx = torch.cat([x, self.out_src(x, src_pairs), self.in_tgt(x, tgt_pairs)], dim=1)
        return h + self.mix(ctx)


class AssociationNet(nn.Module):
    """Candidate embedding + attention over competing candidates + sigmoid head.

    Parameters
    ----------
    n_features : int
        Length of a feature row (``len(FEATURES)``).
    hidden : int
        Embedding width.
    layers : int
        Number of competitor-attention blocks.
    heads : int
        Attention heads (must divide `hidden`).
    """

    def __init__(self, n_features: int, hidden: int = 16, layers: int = 2, heads: int = 2):
        super().__init__()
        if hidden % heads:
            raise ModelError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.embed = nn.Sequential(
            nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, hidden)
        )
        self.blocks = nn.ModuleList(_Block(hidden, heads) for _ in range(layers))
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 1))

    def forward(
        self, x: torch.Tensor, src_pairs: torch.Tensor, tgt_pairs: torch.Tensor
    ) -> torch.Tensor:
        """Link logits, shape (n,)."""
        h = self.embed((x - self.mean) / self.std)
        src_pairs, tgt_pairs = _gather_plan(src_pairs), _gather_plan(tgt_pairs)
        for block in self.blocks:
            h = block(h, src_pairs, tgt_pairs)
        return self.head(h).squeeze(-1)


# --------------------------------------------------------------------------- examples
