"""``celldyn report`` and ``celldyn plot``: rebuild the report or one figure from a run folder."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ._common import _user_errors

__all__ = ["plot_command", "report_command"]

PLOT_KINDS = ["lineage", "tracks", "durations", "msd", "classes", "counts"]


def _warn_units(data, results: Path) -> None:
    from ..analyze.report import missing_units_message

    a = data.analysis
    message = missing_units_message(a.spacing, a.frame_interval)
    if message:  # report and plot have no unit options: say how to re-run with them
        message = message.split(" (set ")[0] + (
            f" (to set them, re-run: celldyn run --config {results / 'run.json'} "
            "--pixel-size SIZE --frame-interval TIME -o NEW_FOLDER)")
        warnings.warn(message, stacklevel=2)


@click.command("report")
@click.argument("results", type=click.Path(path_type=Path))
@_user_errors
def report_command(results: Path) -> None:
    """Rebuild dynamics.csv, population.csv and report.html in RESULTS (a run folder)."""
    from ..outputs import load_run, write_outputs

    data = load_run(results)
    _warn_units(data, results)
    written = write_outputs(results, data.analysis, data.labels, data.movie, data.record)
    for path in written.values():
        click.echo(f"  wrote {path}")


@click.command("plot")
@click.argument("results", type=click.Path(path_type=Path))
@click.argument("kind", type=click.Choice(PLOT_KINDS))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file stem (.png and .svg are written). "
              "Default: RESULTS/figures/KIND.")
@_user_errors
def plot_command(results: Path, kind: str, output: Path | None) -> None:
    """Write one figure of RESULTS as PNG and SVG: lineage, tracks, durations, msd, classes."""
    from ..outputs import load_run, write_plot

    data = load_run(results, with_movie=(kind == "tracks"))
    _warn_units(data, results)
    for path in write_plot(results, kind, output=output, data=data):
        click.echo(f"  wrote {path}")
