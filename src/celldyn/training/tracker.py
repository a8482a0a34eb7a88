"""Training the learned tracker (:mod:`celldyn.track.learned`): ground-truth examples
and the training loop; examples from the simulator are in
:mod:`celldyn.training.simulated`.

Above the stages (the runtime, :mod:`celldyn.track`, never imports it), so that what
scores a trained tracker comes from :mod:`celldyn.evaluate`: divisions are matched by
:func:`celldyn.evaluate.match_divisions` (:func:`held_out_scores`), the one rule of
every division figure of celldyn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError, MissingDependencyError
from ..track.candidates import candidate_links
from ..track.graph import subsample_ctc
from ..track.learned.inference import LearnedAssociation
from ..track.learned.network import (
    DEFAULT_MAX_DISTANCE_FACTOR,
    FEATURES,
    AssociationNet,
    _competitor_pairs,
    candidate_features,
    object_scale,
)

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = ["LinkExample", "examples_from_gt", "gt_link_labels", "held_out_scores",
           "train_association"]

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
    from ..track.graph import graph_from_ctc

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


# --------------------------------------------------------------------------- scoring


def held_out_scores(
    labels: NDArray, table: pd.DataFrame, *, movie: NDArray | None = None,
    tracker: str = "learned", model: LearnedAssociation | None = None,
    max_distance: float | None = None, max_gap: int = 2, step: int = 1,
    solver: str = "lap",
) -> dict[str, float]:
    """Track the ground-truth detections of a CTC movie and score the result.

    The objects are measured on the (every `step`-th frame) ground-truth labels,
    tracked with `tracker` (``"learned"`` with `model`, default the shipped one, or
    ``"lap"``: the hand-made costs) within `max_distance` (default twice the median
    object diameter, the learned model's training convention; the learned tracker
    solves with `solver`, ``"lap"`` or ``"global"``) and scored with
    :func:`celldyn.evaluate.tracking_scores`: TRA, LNK and the divisions matched by
    :func:`celldyn.evaluate.match_divisions`.

    Returns
    -------
    dict
        Every key of :func:`~celldyn.evaluate.tracking_scores` and
        ``candidate_recall``, the fraction of ground-truth links among the candidates.
    """
    from ..evaluate import tracking_scores
    from ..measure.features import measure_objects
    from ..track.graph import ctc_table, graph_from_ctc, relabel_by_tracklet, tracklet_ids
    from ..track.lap import lap_links
    from ..track.learned.inference import track_learned

    labels, table = subsample_ctc(labels, table, step)
    movie = None if movie is None else np.asarray(movie)[::step]
    objects = measure_objects(labels, movie)
    md = max_distance or DEFAULT_MAX_DISTANCE_FACTOR * object_scale(objects)
    cands = candidate_links(objects, max_distance=md, max_gap=max_gap)
    _, recall = gt_link_labels(objects, cands, graph_from_ctc(labels, table))
    if tracker == "learned":
        graph = track_learned(objects, labels=labels, movie=movie, max_distance=md,
                              max_gap=max_gap, model=model, solver=solver)
        edges = np.array(sorted(graph.edges), np.int64).reshape(-1, 2)
    else:
        edges = lap_links(objects, labels=labels, max_distance=md, max_gap=max_gap)
    t = objects["t"].to_numpy(np.int64)
    seg = objects["label"].to_numpy(np.int64)
    tid = tracklet_ids(t, seg, edges)
    res = relabel_by_tracklet(labels, nodes=(t, seg, tid))
    scores = tracking_scores(labels, table, res, ctc_table(t, tid, edges))
    scores["candidate_recall"] = recall
    return scores
