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

Training (:func:`celldyn.training.train_association`): binary cross-entropy on
ground-truth links. A candidate ``(i, j)`` is positive when the ground-truth tracks graph
(:func:`~celldyn.track.graph.graph_from_ctc`) has the edge ``i -> j`` (consecutive
appearances of a track, across gaps too, or parent -> daughter). Examples
(:func:`celldyn.training.examples_from_gt`) come from CTC ground truth measured with
:func:`~celldyn.measure.measure_objects`, optionally subsampled in time
(:func:`subsample_ctc`) to teach larger displacements, each movie once with and once
without the label-movie features (so the model also works from an objects table
alone). Full movies are the batches; training is deterministic for a fixed seed.

Ours: features, network, training loop, ground-truth examples and the shipped model
(``celldyn/models/tracker``: ``weights.pt`` state dict, ``config.json`` with the
sha256 of the weights, ``CARD.md``). PyTorch does the tensor work.

Modules: :mod:`.network` (features, :class:`AssociationNet`), :mod:`.inference`
(:class:`LearnedAssociation`, :func:`track_learned`). Training (examples from ground
truth and from the simulator, :func:`~celldyn.training.train_association`, held-out
scores) is in :mod:`celldyn.training`, above the stages.
"""

from __future__ import annotations

from ..graph import subsample_ctc
from .inference import LearnedAssociation, track_learned
from .network import (
    DEFAULT_MAX_DISTANCE_FACTOR,
    FEATURES,
    AssociationNet,
    candidate_features,
    object_scale,
)

__all__ = [
    "DEFAULT_MAX_DISTANCE_FACTOR",
    "FEATURES",
    "AssociationNet",
    "LearnedAssociation",
    "candidate_features",
    "object_scale",
    "subsample_ctc",
    "track_learned",
]
