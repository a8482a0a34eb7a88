"""``celldyn train``: the command group of the model families (classifier, segment,
tracker), each registered here explicitly."""

from __future__ import annotations

import click

from .classify import train_classifier_command
from .train_segment import train_segment
from .train_tracker import train_tracker_command

__all__ = ["train"]


@click.group("train")
def train() -> None:
    """Train models on your data (classifier, segment, tracker)."""


for _command in (train_classifier_command, train_segment, train_tracker_command):
    train.add_command(_command)
