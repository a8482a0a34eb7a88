"""``celldyn models``: the shipped models (segmentation, classification, tracking) with
their cards; read from the package's ``models/`` folder, no model is loaded."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from ._common import _user_errors

__all__ = ["models_command"]

# how each shipped folder is used (the card says what it is for and how good it is)
_USE = {
    "generalist2d": ("--segmenter deep on YX movies (its default there) and --segmenter auto "
                     "(the default)"),
    "nuclei2d": "--segmenter deep --model nuclei2d",
    "nuclei3d": "--segmenter deep on ZYX movies (its default there; or --model nuclei3d)",
    "mito_em": "--segmenter deep --model mito_em (semantic EM classes)",
    "phases": "--classifier phases | phases-cnn",
    "mitosis": "--classifier mitosis | mitosis-cnn",
    "tracker": "--tracker learned",
}


def _folders() -> dict[str, Path]:
    root = Path(str(resources.files("celldyn") / "models"))
    return {p.name: p for p in sorted(root.iterdir()) if (p / "CARD.md").is_file()}


def _title(card: Path) -> str:
    for line in card.read_text(encoding="utf-8").splitlines():
        if line.strip():
            return line.lstrip("# ").strip()
    return ""


@click.command("models")
@click.argument("name", required=False)
@_user_errors
def models_command(name: str | None) -> None:
    """List the shipped models with their cards' titles (or print NAME's model card).

    Each card states the training data and split, the command and seed that made the
    weights, the held-out test scores and the limits.
    """
    from ..errors import ConfigError

    folders = _folders()
    if name is not None:
        if name not in folders:
            raise ConfigError(f"unknown model {name!r}; shipped: {', '.join(folders)}")
        click.echo(folders[name].joinpath("CARD.md").read_text(encoding="utf-8"))
        return
    for key, folder in folders.items():
        size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
        click.echo(f"{key}  ({size:.1f} MB)  {_title(folder / 'CARD.md')}")
        if key in _USE:
            click.echo(f"    use: {_USE[key]}")
    click.echo("celldyn models NAME prints a model's card.")
