"""Old home of the simulated training examples: use :mod:`celldyn.training`."""

from __future__ import annotations

from .training.simulated import colony_examples, simulated_examples, simulated_movie

__all__ = ["colony_examples", "simulated_examples", "simulated_movie"]
