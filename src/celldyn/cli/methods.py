"""``celldyn methods``: every segmentation method and its parameters (name, default,
meaning), from :func:`celldyn.segment.methods`."""

from __future__ import annotations

import click

from ._common import _user_errors

__all__ = ["methods_command"]


@click.command("methods")
@click.argument("method", required=False)
@_user_errors
def methods_command(method: str | None) -> None:
    """List the segmentation methods (or one METHOD) and their parameters.

    Give a parameter to `celldyn run` with --param NAME=VALUE; `deep` is
    --segmenter deep.
    """
    from ..errors import ConfigError
    from ..segment import methods

    table = methods()
    if method is not None:
        name = method.partition(":")[0]
        if name not in table:
            raise ConfigError(f"unknown method {method!r}; one of {sorted(table)}")
        table = {name: table[name]}
    for name, params in table.items():
        click.echo(name if name == "deep" else f"{name}  (--method {name})")
        for p in params:
            click.echo(f"  {p.name:<18} default {p.default!r:<12} {p.meaning}")
