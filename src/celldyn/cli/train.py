"""``celldyn train``: a command group that model families add their commands to.

Add a command with ``from .train import train`` and ``@train.command("name")``; the
group is registered on ``celldyn`` by whichever module first imports it.
"""

from __future__ import annotations

import click

__all__ = ["train"]


@click.group("train")
def train() -> None:
    """Train models on your data (classifier, ...)."""


from . import train_segment as _train_segment  # noqa: F401  (celldyn train segment)
from . import train_tracker as _train_tracker  # noqa: E402,F401  (celldyn train tracker)
