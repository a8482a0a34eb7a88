"""Old home of the tracker's training examples: use :mod:`celldyn.training`."""

from __future__ import annotations

from .training.real import crop_ctc, ctc_examples, train_tracker, validation_loss
from .training.simulated import colony_examples, simulated_examples, simulated_movie

__all__ = ["colony_examples", "crop_ctc", "ctc_examples", "simulated_examples",
           "simulated_movie", "train_tracker", "validation_loss"]
