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
from ..candidates import check_objects, frame_groups, physical_positions
from ..costs import iou_of_candidates

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = ["DEFAULT_MAX_DISTANCE_FACTOR", "FEATURES", "AssociationNet", "candidate_features",
           "object_scale"]

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

DEFAULT_MAX_DISTANCE_FACTOR = 2.0
"""Candidate radius used for training: this many median object diameters."""

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
        density[rows] = [len(x) - 1 for x in tree.query_ball_point(pos[rows], 2 * scale)]
    f["density"] = np.log1p(density[src])
    for k, name in enumerate(FEATURES):
        if name in f:
            out[:, k] = np.nan_to_num(f[name], nan=0.0, posinf=0.0, neginf=0.0)
    return out


def _competitor_pairs(
    key: NDArray[np.int64], distance: NDArray[np.float64], k: int = 8
) -> NDArray[np.int64]:
    """Pairs (i, j) with ``key[i] == key[j]`` and ``j`` among the `k` nearest of the
    group by `distance` (i == j included when ``i`` is), shape (2, P).

    Capping the competitors keeps the attention linear in the candidates.
    """
    order = np.lexsort((distance, key))
    kk = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(kk)) + 1]
    sizes = np.diff(np.r_[starts, len(kk)])
    first = np.repeat(starts, sizes)  # group start, per sorted row
    width = np.minimum(np.repeat(sizes, sizes), k)  # competitors per sorted row
    i_loc = np.repeat(np.arange(len(kk)), width)
    offs = np.arange(len(i_loc)) - np.repeat(np.cumsum(width) - width, width)
    j_loc = np.repeat(first, width) + offs
    pairs = np.stack([order[i_loc], order[j_loc]])
    rank = np.arange(len(kk)) - first
    # a candidate outside its group's k nearest still attends to itself
    extra = order[rank >= k]
    return np.concatenate([pairs, np.stack([extra, extra])], axis=1)


# --------------------------------------------------------------------------- network


class _CompetitorAttention(nn.Module):
    """Multi-head attention of each candidate over its competitors (one grouping)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.scale = (hidden // heads) ** -0.5

    def forward(self, h: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        n, width = h.shape
        hd = width // self.heads
        q, k, v = self.qkv(h).view(n, 3, self.heads, hd).unbind(1)
        i, j = pairs[0], pairs[1]
        logit = (q[i] * k[j]).sum(-1) * self.scale  # (P, heads)
        idx = i[:, None].expand_as(logit)
        top = torch.full((n, self.heads), -1e9, dtype=h.dtype).scatter_reduce(
            0, idx, logit, reduce="amax", include_self=True
        )
        w = torch.exp(logit - top[i])
        denom = torch.zeros((n, self.heads), dtype=h.dtype).index_add(0, i, w)
        w = w / denom[i].clamp_min(1e-12)
        msg = torch.zeros((n, self.heads, hd), dtype=h.dtype).index_add(
            0, i, w[..., None] * v[j]
        )
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

    def __init__(self, n_features: int, hidden: int = 32, layers: int = 2, heads: int = 4):
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
        for block in self.blocks:
            h = block(h, src_pairs, tgt_pairs)
        return self.head(h).squeeze(-1)


# --------------------------------------------------------------------------- examples
