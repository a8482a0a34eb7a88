"""``celldyn models``: the shipped deep segmentation models, one line each from their
cards (:data:`celldyn.segment.deep.SHIPPED`), or one model's whole card."""

from __future__ import annotations

import click

from ._common import _user_errors

__all__ = ["models_command"]


@click.command("models")
@click.argument("name", required=False)
@_user_errors
def models_command(name: str | None) -> None:
    """List the shipped segmentation models (or print NAME's model card).

    Use one with `celldyn run MOVIE --segmenter deep --model NAME`; a folder from
    `celldyn train segment` works as NAME too.
    """
    from .._optional import require_torch

    require_torch("celldyn models")
    from ..segment.deep.registry import SHIPPED, card_summary, model_folder

    if name is not None:
        card = model_folder(name) / "CARD.md"   # unknown names: a one-line ModelError
        click.echo(card.read_text() if card.is_file() else card_summary(card.parent))
        return
    width = max(len(n) for n in SHIPPED)
    for n in SHIPPED:
        click.echo(f"{n:<{width}}  {card_summary(model_folder(n))}")
