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
from ..candidates import candidate_links
from ..costs import costs_from_probabilities
from .network import (
    _MODEL_DIR,
    DEFAULT_MAX_DISTANCE_FACTOR,
    FEATURES,
    AssociationNet,
    _competitor_pairs,
    candidate_features,
)

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "the learned tracker needs PyTorch; install the extra: pip install 'celldyn[deep]'"
    ) from None

__all__ = ["LearnedAssociation", "track_learned"]


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
        from ..lap import track_lap

        graph = track_lap(objects, **kwargs)
    else:
        from ..solve_global import track_global

        graph = track_global(objects, **kwargs)
    graph.graph["link_model"] = "learned"
    return graph


# --------------------------------------------------------------------------- scoring


