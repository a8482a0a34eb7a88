"""Learned association, inference: the trained model and the tracker that uses it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..._atomic import atomic_path
from ..._weights import sha256_file
from ...errors import InputError, MissingDependencyError, ModelError
from ..costs import costs_from_probabilities
from .network import (
    _MODEL_DIR,
    DEFAULT_MAX_DISTANCE_FACTOR,
    FEATURES,
    AssociationNet,
    _competitor_pairs,
    candidate_features,
    learned_candidates,
)

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = ["LearnedAssociation", "learned_links", "track_learned"]


class LearnedAssociation:
    """A trained association model: scores candidate links with probabilities.

    Load the shipped model with :meth:`from_pretrained`, a saved one with
    :meth:`load`; train one with :func:`celldyn.training.train_association` or
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
    max_distance: float | None = None,
    max_gap: int = 2,
    divisions: bool = True,
    solver: Literal["lap", "global"] = "lap",
    model: LearnedAssociation | None = None,
    spacing: Sequence[float] | None = None,
    costs: Any = None,
) -> nx.DiGraph:
    """Track detections with link costs ``-log p`` from the learned model.

    Builds the candidates (:func:`~celldyn.track.learned.network.learned_candidates`:
    :func:`~celldyn.track.candidates.candidate_links`, pruned), scores them with
    :meth:`LearnedAssociation.link_probabilities` and solves with
    :func:`~celldyn.track.lap.track_lap` or
    :func:`~celldyn.track.solve_global.track_global` (``edge_costs``);
    :func:`learned_links` returns the same links without the graph.

    Parameters
    ----------
    objects : DataFrame
        Detections, columns ``t, label, [z,] y, x`` and features.
    labels, movie : arrays, optional
        Label movie (mask IoU) and intensities; the model was trained with both and
        is best with them.
    max_distance : float, optional
        Candidate radius between consecutive frames, in units of `spacing`. Default
        (and the shipped model's training convention): the movie's measured search
        radius (:func:`~celldyn.track.scale.estimate_motion_scale`), as the
        hand-made trackers use.
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
    from ..candidates import graph_from_links

    edges = learned_links(objects, labels=labels, movie=movie, max_distance=max_distance,
                          max_gap=max_gap, divisions=divisions, solver=solver, model=model,
                          spacing=spacing, costs=costs)
    graph = graph_from_links(objects.reset_index(drop=True), edges)
    graph.graph.update(tracker=solver, link_model="learned")
    return graph


def learned_links(
    objects: pd.DataFrame,
    *,
    labels: Any = None,
    movie: Any = None,
    max_distance: float | None = None,
    max_gap: int = 2,
    divisions: bool = True,
    solver: Literal["lap", "global"] = "lap",
    model: LearnedAssociation | None = None,
    spacing: Sequence[float] | None = None,
    costs: Any = None,
) -> NDArray[np.int64]:
    """:func:`track_learned`'s links as an ``(E, 2)`` array of rows of `objects`.

    Same parameters; no networkx graph is built (``track_objects(...,
    tracker="learned")`` uses it; :func:`track_learned` builds its graph from it).
    """
    if solver not in ("lap", "global"):
        raise InputError(f"solver must be 'lap' or 'global' (got {solver!r})")
    model = model or LearnedAssociation.from_pretrained()
    objects = objects.reset_index(drop=True)
    cands = learned_candidates(objects, max_distance=max_distance, max_gap=max_gap,
                               spacing=spacing, factor=model.max_distance_factor)
    max_distance = cands.attrs["max_distance"]
    p = model.link_probabilities(objects, cands, labels=labels, movie=movie,
                                 spacing=spacing)
    kwargs: dict[str, Any] = {
        "labels": labels, "max_distance": max_distance, "max_gap": max_gap,
        "divisions": divisions, "spacing": spacing,
        "edge_costs": costs_from_probabilities(p), "candidates": cands, "costs": costs,
    }
    if solver == "lap":
        from ..lap import lap_links

        return lap_links(objects, **kwargs)
    from ..solve_global import global_links

    return global_links(objects, **kwargs)


# --------------------------------------------------------------------------- scoring


