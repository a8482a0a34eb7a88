"""Training the learned tracker: examples from tracked ground truth (CTC) and from the
simulator, the training loop, and held-out scores from :mod:`celldyn.evaluate`.

Above the stages, beside :mod:`celldyn.simulate`: the runtime (:mod:`celldyn.track`)
never imports it. ``celldyn train tracker`` and benchmarks/tracker_learned.py use it.
(Segmentation and classifier training stay with their stage, in
:mod:`celldyn.segment.deep` and :mod:`celldyn.classify`: they score themselves with
their own losses and need nothing above their stage.)
"""

from __future__ import annotations

from .simulated import colony_examples, simulated_examples, simulated_movie
from .tracker import (
    LinkExample,
    examples_from_gt,
    gt_link_labels,
    held_out_scores,
    train_association,
)

__all__ = [
    "LinkExample",
    "colony_examples",
    "examples_from_gt",
    "gt_link_labels",
    "held_out_scores",
    "simulated_examples",
    "simulated_movie",
    "train_association",
]
