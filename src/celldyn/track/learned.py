"""Learned association: a small attention network that scores candidate links.

The model gives every row of the candidate table of
:func:`~celldyn.track.candidates.candidate_links` a probability that it is a true
link; ``-log p`` (:func:`~celldyn.track.costs.costs_from_probabilities`) then replaces
the hand-made link costs in either solver (``edge_costs``). The solvers, the event
costs (appear, disappear, division) and the candidate table stay as they are, so a
learned tracker is the hand-made one with better link costs.

Design
------
Features (one row per candidate, all dimensionless so that one model fits movies of
any pixel size, frame rate or cell size; see :data:`FEATURES`):
distance in median object diameters and relative to the movie's typical
nearest-candidate displacement, frames skipped, log area and intensity ratios, mask
IoU (when the label movie is given), eccentricity and solidity differences, the
candidate's distance rank and excess over the nearest among the source's outgoing and
the target's incoming candidates, how many candidates compete, the source's size
relative to the movie's median, and the local object density.

Network (:class:`AssociationNet`): an MLP embeds each candidate; then ``layers``
blocks of multi-head attention over its *competitors*, i.e. the candidates leaving
the same source and the candidates entering the same target (a transformer on the
conflict graph of the candidate table, with a residual MLP after each block), so that
a link's score depends on its alternatives. The head is a per-candidate sigmoid, not
a softmax over competitors: a division is a source with two likely outgoing links.

Training (:func:`train_association`): binary cross-entropy on ground-truth links. A
candidate ``(i, j)`` is positive when the ground-truth tracks graph
(:func:`~celldyn.track.graph.graph_from_ctc`) has the edge ``i -> j`` (consecutive
appearances of a track, across gaps too, or parent -> daughter). Examples
(:func:`examples_from_gt`) come from CTC ground truth measured with
:func:`~celldyn.measure.measure_objects`, optionally subsampled in time
(:func:`subsample_ctc`) to teach larger displacements, each movie once with and once
without the label-movie features (so the model also works from an objects table
alone). Full movies are the batches; training is deterministic for a fixed seed.

Ours: features, network, training loop, ground-truth examples and the shipped model
(``celldyn/models/tracker``: ``weights.pt`` state dict, ``config.json`` with the
sha256 of the weights, ``CARD.md``). PyTorch does the tensor work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .._weights import sha256_file
from ..errors import InputError, MissingDependencyError, ModelError
from .candidates import candidate_links, check_objects, frame_groups, physical_positions
from .costs import costs_from_probabilities, iou_of_candidates

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = [
    "FEATURES",
    "AssociationNet",
    "LearnedAssociation",
    "LinkExample",
    "candidate_features",
    "colony_examples",
    "division_f1",
    "examples_from_gt",
    "gt_link_labels",
    "object_scale",
    "simulated_examples",
    "simulated_movie",
    "subsample_ctc",
    "track_learned",
    "train_association",
]

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


@dataclass
class LinkExample:
    """One training movie: candidate features, their competitor pairs and targets."""

    name: str
    features: NDArray[np.float32]
    source: NDArray[np.int64]
    target: NDArray[np.int64]
    distance: NDArray[np.float64]
    y: NDArray[np.float32]
    recall: float = 1.0
    """Fraction of the ground-truth links that are candidates."""
    _tensors: tuple | None = field(default=None, repr=False)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._tensors is None:
            self._tensors = (
                torch.from_numpy(self.features),
                torch.from_numpy(_competitor_pairs(self.source, self.distance)),
                torch.from_numpy(_competitor_pairs(self.target, self.distance)),
                torch.from_numpy(self.y),
            )
        return self._tensors


def subsample_ctc(
    labels: NDArray, table: pd.DataFrame, step: int
) -> tuple[NDArray, pd.DataFrame]:
    """Keep every `step`-th frame of a CTC label movie and rebuild its track table.

    A track keeps the kept frames of its ``begin..end``; a track with none left is
    dropped and its daughters hang from its nearest kept ancestor.

    Returns
    -------
    labels : (ceil(T / step), ...) array
    table : DataFrame ``label, begin, end, parent`` in the new frame indices
    """
    step = int(step)
    if step < 1:
        raise InputError(f"step must be a positive integer; got {step!r}")
    sub = np.asarray(labels)[::step]
    rows = {}
    parent_of = {}
    for r in table.itertuples(index=False):
        parent_of[int(r.label)] = int(r.parent)
        b = -(-int(r.begin) // step)
        e = int(r.end) // step
        if b <= e:
            rows[int(r.label)] = [int(r.label), b, e, 0]
    for lab, row in rows.items():
        p = parent_of.get(lab, 0)
        while p and p not in rows:
            p = parent_of.get(p, 0)
        if p and rows[p][2] < row[1]:
            row[3] = p
    out = pd.DataFrame(sorted(rows.values()), columns=["label", "begin", "end", "parent"])
    keep = np.isin(sub, out["label"].to_numpy())
    sub = np.where(keep, sub, 0).astype(sub.dtype)
    return sub, out.astype(np.int64)


def gt_link_labels(
    objects: pd.DataFrame, candidates: pd.DataFrame, graph: nx.DiGraph
) -> tuple[NDArray[np.float32], float]:
    """1 for candidates that are edges of the ground-truth `graph`, else 0.

    `graph` nodes must be the rows of `objects` (as :func:`graph_from_ctc` builds
    them from the same label movie). Returns the targets and the recall of
    ground-truth edges among the candidates.
    """
    n = len(objects)
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    edges = np.array(sorted(graph.edges), np.int64).reshape(-1, 2)
    key_c = src * n + tgt
    key_e = edges[:, 0] * n + edges[:, 1]
    y = np.isin(key_c, key_e).astype(np.float32)
    recall = float(np.isin(key_e, key_c).mean()) if len(key_e) else 1.0
    return y, recall


def examples_from_gt(
    labels: NDArray,
    table: pd.DataFrame,
    *,
    movie: NDArray | None = None,
    name: str = "movie",
    step: int = 1,
    max_distance_factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
    max_gap: int = 2,
    spacing: Sequence[float] | None = None,
    with_masks: Sequence[bool] = (True, False),
) -> list[LinkExample]:
    """Training examples from a tracked ground truth (CTC labels + track table).

    The objects are measured on the (subsampled) labels; candidates use
    ``max_distance = max_distance_factor x median diameter``. One example per entry of
    `with_masks`: with the label-movie features (IoU) and without them.
    """
    from ..measure.features import measure_objects
    from .graph import graph_from_ctc

    if step > 1:
        labels, table = subsample_ctc(labels, table, step)
        movie = None if movie is None else np.asarray(movie)[::step]
    objects = measure_objects(labels, movie, spacing=spacing)
    graph = graph_from_ctc(labels, table)
    if graph.number_of_nodes() != len(objects):
        raise InputError(
            f"{name}: {len(objects)} objects but {graph.number_of_nodes()} graph nodes"
        )
    max_distance = max_distance_factor * object_scale(objects, spacing)
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    y, recall = gt_link_labels(objects, cands, graph)
    out = []
    for masks in with_masks:
        feats = candidate_features(
            objects, cands, labels=labels if masks else None, movie=movie, spacing=spacing
        )
        out.append(LinkExample(
            name=f"{name}{'' if step == 1 else f'@x{step}'}{'' if masks else ' (no masks)'}",
            features=feats, source=cands["source"].to_numpy(np.int64),
            target=cands["target"].to_numpy(np.int64),
            distance=cands["distance"].to_numpy(float), y=y, recall=recall,
        ))
    return out


def simulated_movie(k: int, *, seed: int = 0, n_frames: int = 30):
    """Movie ``k`` of :func:`simulated_examples` (a SimulatedMovie)."""
    from ..simulate import simulate_movie

    rng = np.random.default_rng(seed + k)
    return simulate_movie(
        n_frames=n_frames, shape=(160, 160), n_objects=int(rng.integers(12, 22)),
        radius=(5.0, 9.0), speed=(1.0, 3.0, 6.0)[k % 3],
        persistence=float(rng.uniform(0.3, 0.8)),
        division_rate=float(rng.uniform(0.03, 0.06)), appear_rate=0.3,
        boundary="leave" if k % 2 else "reflect", rng=rng,
    )


def simulated_examples(
    n_movies: int = 6,
    *,
    seed: int = 0,
    n_frames: int = 30,
    steps: Sequence[int] = (1,),
    max_distance_factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
    max_gap: int = 2,
) -> list[LinkExample]:
    """Training examples from :func:`celldyn.simulate.simulate_movie` movies.

    Movie ``k`` has speed ``(1, 3, 6)[k % 3]`` pixels per frame (objects of radius
    5-9 px), divisions (rate 0.03-0.06 per object and frame), objects entering and
    leaving at the borders, and seed ``seed + k``.
    """
    out: list[LinkExample] = []
    for k in range(int(n_movies)):
        sim = simulated_movie(k, seed=seed, n_frames=n_frames)
        for step in steps:
            out += examples_from_gt(
                sim.labels, sim.table, movie=sim.movie.data, name=f"simulated-{k}",
                step=step, max_distance_factor=max_distance_factor, max_gap=max_gap,
            )
    return out


def colony_examples(
    n_colonies: int = 4,
    *,
    seed: int = 0,
    n_frames: int = 40,
    shape: tuple[int, int] = (400, 400),
    steps: Sequence[int] = (1, 2, 4),
    max_distance_factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
    max_gap: int = 2,
) -> list[LinkExample]:
    """Training examples from :func:`celldyn.simulate.simulate_colony` colonies.

    Dense, dividing rod-shaped bacteria pushed apart as they grow (the only bacteria
    the model can learn from without real annotations). Colony ``k`` has seed
    ``seed + k`` and a doubling time of ``(5, 6, 8)[k % 3]`` frames, so the examples
    cover several growth rates per frame; every step of `steps` (every k-th frame)
    is used, since sparse frames are where colonies are hard.
    """
    from ..simulate import simulate_colony

    out: list[LinkExample] = []
    for k in range(int(n_colonies)):
        sim = simulate_colony(n_frames=n_frames, shape=shape,
                              doubling=(5.0, 6.0, 8.0)[k % 3], rng=seed + k)
        for step in steps:
            out += examples_from_gt(
                sim.labels, sim.table, movie=sim.movie.data, name=f"colony-{seed + k}",
                step=step, max_distance_factor=max_distance_factor, max_gap=max_gap,
            )
    return out


# --------------------------------------------------------------------------- training


def _seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def train_association(
    examples: Sequence[LinkExample],
    *,
    epochs: int = 30,
    lr: float = 3e-3,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
    threads: int | None = 1,
    log: Callable[[str], None] | None = None,
) -> tuple[LearnedAssociation, list[float]]:
    """Train an :class:`AssociationNet` on link examples (BCE, Adam, one movie a step).

    Deterministic for a fixed `seed` (``torch.use_deterministic_algorithms``, a
    seeded generator shuffles the movies each epoch).

    Returns
    -------
    model : LearnedAssociation
    history : list of float
        Mean training loss per epoch.
    """
    if not examples:
        raise InputError("no training examples")
    if threads:
        torch.set_num_threads(int(threads))
    gen = _seed_everything(seed)
    net = AssociationNet(len(FEATURES), hidden=hidden, layers=layers, heads=heads)
    allx = np.concatenate([e.features for e in examples])
    net.mean.copy_(torch.from_numpy(allx.mean(0)))
    net.std.copy_(torch.from_numpy(np.maximum(allx.std(0), 1e-3)))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    history = []
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(examples), generator=gen).tolist()
        total, weight = 0.0, 0
        for k in order:
            x, sp, tp, y = examples[k].tensors()
            if len(y) == 0:
                continue
            opt.zero_grad()
            loss = loss_fn(net(x, sp, tp), y)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(y)
            weight += len(y)
        sched.step()
        history.append(total / max(weight, 1))
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f} "
                f"({time.perf_counter() - start:.0f} s)")
    net.eval()
    config = {"hidden": hidden, "layers": layers, "heads": heads, "features": FEATURES,
              "max_distance_factor": DEFAULT_MAX_DISTANCE_FACTOR, "seed": seed,
              "epochs": epochs, "lr": lr, "final_loss": history[-1] if history else None,
              "train_seconds": round(time.perf_counter() - start, 1)}
    return LearnedAssociation(net, config), history


# --------------------------------------------------------------------------- inference


class LearnedAssociation:
    """A trained association model: scores candidate links with probabilities.

    Load the shipped model with :meth:`from_pretrained`, a saved one with
    :meth:`load`; train one with :func:`train_association` or
    ``celldyn train tracker``.
    """

    def __init__(self, net: AssociationNet, config: dict[str, Any]) -> None:
        self.net = net.eval()
        self.config = dict(config)

    @classmethod
    def from_pretrained(cls, name: str = "default") -> LearnedAssociation:
        """The model shipped with celldyn (``name="default"``: ``models/tracker``)."""
        if name != "default":
            raise ModelError(f"unknown pretrained tracker {name!r}; available: 'default'")
        return cls.load(Path(str(resources.files("celldyn") / "models" / _MODEL_DIR)))

    @classmethod
    def load(cls, folder: str | Path) -> LearnedAssociation:
        """Load ``weights.pt`` + ``config.json`` from `folder`, checking the sha256."""
        folder = Path(folder)
        cfg_path, w_path = folder / "config.json", folder / "weights.pt"
        if not cfg_path.is_file() or not w_path.is_file():
            raise ModelError(f"{folder} has no tracker model (config.json + weights.pt)")
        config = json.loads(cfg_path.read_text())
        digest = sha256_file(w_path)
        if config.get("sha256") != digest:
            raise ModelError(
                f"{w_path} does not match its config.json (sha256 {digest[:12]}..., "
                f"expected {str(config.get('sha256'))[:12]}...); retrain or restore it"
            )
        if config.get("features") != FEATURES:
            raise ModelError(
                f"{folder} was trained with other features; retrain it with this version"
            )
        net = AssociationNet(len(FEATURES), hidden=config["hidden"],
                             layers=config["layers"], heads=config["heads"])
        state = torch.load(w_path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        return cls(net, config)

    def save(self, folder: str | Path, *, card: str | None = None,
             overwrite: bool = True) -> dict[str, str]:
        """Write ``weights.pt``, ``config.json`` (with the weights' sha256), ``CARD.md``.

        Returns {file: sha256} of the weights.
        """
        from ..io._atomic import atomic_path

        with atomic_path(folder, overwrite=overwrite) as tmp:
            tmp.mkdir(parents=True)
            torch.save(self.net.state_dict(), tmp / "weights.pt")
            digest = sha256_file(tmp / "weights.pt")
            self.config["sha256"] = digest
            (tmp / "config.json").write_text(json.dumps(self.config, indent=2) + "\n")
            if card is not None:
                (tmp / "CARD.md").write_text(card)
        return {"weights.pt": digest}

    @property
    def max_distance_factor(self) -> float:
        return float(self.config.get("max_distance_factor", DEFAULT_MAX_DISTANCE_FACTOR))

    def link_probabilities(
        self,
        objects: pd.DataFrame,
        candidates: pd.DataFrame,
        *,
        labels: Any = None,
        movie: Any = None,
        spacing: Sequence[float] | None = None,
    ) -> NDArray[np.float64]:
        """Probability that each candidate row is a true link.

        Parameters
        ----------
        objects : DataFrame
            Detections, as for the solvers (``area``, ``eccentricity``, ``solidity``,
            ``intensity_mean`` are used when present).
        candidates : DataFrame
            From :func:`~celldyn.track.candidates.candidate_links` on `objects`.
        labels, movie : arrays, optional
            Label movie (for mask IoU) and intensities.
        spacing : sequence of float, optional
            Defaults to ``candidates.attrs["spacing"]``.

        Returns
        -------
        (len(candidates),) float64 array in [0, 1], aligned with the candidate rows.
        """
        missing = [c for c in ("source", "target", "dt", "distance") if c not in candidates]
        if missing:
            raise InputError(f"candidates lack columns {missing}")
        objects = objects.reset_index(drop=True)
        candidates = candidates.reset_index(drop=True)
        if len(candidates) == 0:
            return np.zeros(0)
        src = candidates["source"].to_numpy(np.int64)
        tgt = candidates["target"].to_numpy(np.int64)
        if min(src.min(), tgt.min()) < 0 or max(src.max(), tgt.max()) >= len(objects):
            raise InputError("candidates refer to rows that objects do not have")
        feats = candidate_features(objects, candidates, labels=labels, movie=movie,
                                   spacing=spacing)
        x = torch.from_numpy(feats)
        dist = candidates["distance"].to_numpy(float)
        sp = torch.from_numpy(_competitor_pairs(src, dist))
        tp = torch.from_numpy(_competitor_pairs(tgt, dist))
        with torch.no_grad():
            p = torch.sigmoid(self.net(x, sp, tp))
        return p.numpy().astype(np.float64)


def track_learned(
    objects: pd.DataFrame,
    *,
    labels: Any = None,
    movie: Any = None,
    max_distance: float,
    max_gap: int = 2,
    divisions: bool = True,
    solver: Literal["lap", "global"] = "lap",
    model: LearnedAssociation | None = None,
    spacing: Sequence[float] | None = None,
    costs: Any = None,
) -> nx.DiGraph:
    """Track detections with link costs ``-log p`` from the learned model.

    Builds :func:`~celldyn.track.candidates.candidate_links`, scores them with
    :meth:`LearnedAssociation.link_probabilities` and solves with
    :func:`~celldyn.track.lap.track_lap` or
    :func:`~celldyn.track.solve_global.track_global` (``edge_costs``).

    Parameters
    ----------
    objects : DataFrame
        Detections, columns ``t, label, [z,] y, x`` and features.
    labels, movie : arrays, optional
        Label movie (mask IoU) and intensities; the model was trained with both and
        is best with them.
    max_distance : float
        Candidate radius between consecutive frames, in units of `spacing`. The
        shipped model was trained with ``2 x`` the median object diameter
        (``2 * celldyn.track.auto_max_distance(objects)``).
    max_gap, divisions, spacing :
        As for the solvers.
    solver : {"lap", "global"}
        Frame-by-frame LAP + segment pass, or the windowed integer program.
    model : LearnedAssociation, optional
        Default: :meth:`LearnedAssociation.from_pretrained`.
    costs : LinkCosts, optional
        Event costs (appear, disappear, division); the link terms are not used.

    Returns
    -------
    graph : networkx.DiGraph
        As from the solvers; ``graph.graph["link_model"] = "learned"``.
    """
    if solver not in ("lap", "global"):
        raise InputError(f"solver must be 'lap' or 'global' (got {solver!r})")
    model = model or LearnedAssociation.from_pretrained()
    objects = objects.reset_index(drop=True)
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    p = model.link_probabilities(objects, cands, labels=labels, movie=movie,
                                 spacing=spacing)
    edge_costs = costs_from_probabilities(p)
    kwargs: dict[str, Any] = {
        "labels": labels, "max_distance": max_distance, "max_gap": max_gap, "divisions": divisions,
        "spacing": spacing, "edge_costs": edge_costs, "candidates": cands, "costs": costs,
    }
    if solver == "lap":
        from .lap import track_lap

        graph = track_lap(objects, **kwargs)
    else:
        from .solve_global import track_global

        graph = track_global(objects, **kwargs)
    graph.graph["link_model"] = "learned"
    return graph


# --------------------------------------------------------------------------- scoring


def division_f1(gt_graph: nx.DiGraph, graph: nx.DiGraph) -> dict[str, float]:
    """Division precision, recall and F1 between graphs over the same nodes.

    A predicted division (out-degree 2) is correct when the ground truth has the same
    parent node dividing into the same two daughter nodes. For tracking on
    ground-truth detections, where nodes are shared.
    """
    gt = {n: frozenset(gt_graph.successors(n)) for n in gt_graph
          if gt_graph.out_degree(n) >= 2}
    pr = {n: frozenset(graph.successors(n)) for n in graph if graph.out_degree(n) >= 2}
    tp = sum(1 for n, kids in pr.items() if gt.get(n) == kids)
    prec = tp / len(pr) if pr else float("nan") if not gt else 0.0
    rec = tp / len(gt) if gt else float("nan")
    f1 = 2 * tp / (len(pr) + len(gt)) if (pr or gt) else float("nan")
    return {"division_precision": prec, "division_recall": rec, "division_f1": f1,
            "divisions_gt": float(len(gt)), "divisions_pred": float(len(pr))}
