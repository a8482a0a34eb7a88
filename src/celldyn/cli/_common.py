"""What every ``celldyn`` command shares: one-line user errors, warnings on stderr,
number lists, the embedded demo's folder. The bottom of the cli package: it imports
no other cli module."""

from __future__ import annotations

import functools
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import click

from ..errors import CelldynError

__all__ = ["_floats", "_show_warning", "_user_errors", "config_options", "demo_path",
           "plane_option"]


def _click_option(opt: Any, default: Any) -> click.Option:
    """The click option of a :class:`celldyn.config.Option` with its default."""
    decls = [opt.flag, opt.name]
    if opt.type is bool:
        return click.Option(decls, is_flag=True, default=default, help=opt.help)
    if opt.type is dict:
        return click.Option(decls, multiple=True, default=default, metavar=opt.metavar,
                            help=opt.help)
    if opt.choices is not None:
        kind: Any = click.Choice(list(opt.choices))
    elif opt.minimum is not None:
        kind = click.IntRange(min=opt.minimum)
    else:
        kind = opt.type
    return click.Option(decls, type=kind, default=default, metavar=opt.metavar,
                        show_default=default is not None, help=opt.help)


def config_options(cls: type | None = None):
    """Decorator: one click option per field of a RunConfig (sub)class, declared by
    the field (:func:`celldyn.config.run_options`), in field order."""
    from ..config import run_options

    params = [_click_option(opt, default) for _, opt, default in run_options(cls)]

    def decorate(f):
        # click.option decorators append in reverse; keep the fields' order on --help
        f.__click_params__ = getattr(f, "__click_params__", []) + params[::-1]
        return f

    return decorate


SERIES_HELP = ("Which image series of a multi-series TIFF or bioformats2raw OME-Zarr to "
               "read (e.g. one stage position), from 0. Default: the first.")
"""--series: the one wording for every command that reads a movie."""

series_option = click.option("--series", type=click.IntRange(min=0), help=SERIES_HELP)


class SeriesParam(click.ParamType):
    """`celldyn run --series`: a series index from 0, or 'all' (one run per series)."""

    name = "series"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if isinstance(value, int) or value == "all":
            return value
        text = str(value).strip().lower()
        if text == "all":
            return "all"
        if text.isdigit():
            return int(text)
        self.fail(f"{value!r} is not a series index (0, 1, ...) or 'all'", param, ctx)


def plane_option(what: str):
    """``celldyn run``'s ``--plane`` for another command: `what` it does to the plane.
    The value is checked as run checks it (:class:`celldyn.config.RunConfig`)."""
    def check(ctx, param, value):  # noqa: ARG001
        if value is not None:
            from ..config import RunConfig

            try:
                value = RunConfig(plane=value).plane
            except CelldynError as err:      # one line, as run says it
                raise click.BadParameter(str(err)) from None
        return value

    return click.option(
        "--plane", default=None, metavar="middle|N", callback=check,
        help=f"A z-stack (TZYX) seen as a 2D movie: {what} only this z-plane ('middle', "
             "or its index from 0), as celldyn run --plane. Default: the whole stack.")


def _user_errors(command):
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.pop("debug", False)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return command(*args, **kwargs)
            except CelldynError as err:
                if debug:
                    raise
                click.echo(f"Error: {err}", err=True)
                sys.exit(2)

    return click.option("--debug", is_flag=True, help="Show tracebacks.")(wrapper)


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    click.echo(f"Warning: {message}", err=True)


def _floats(text: str | None, name: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}",
                                 param_hint=name) from None
    if not values or not all(v > 0 for v in values):
        raise click.BadParameter(f"expected positive numbers, got {text!r}", param_hint=name)
    return values


def demo_path() -> Path:
    """Folder of the embedded demo movie (a crop of a real E. coli colony movie)."""
    return Path(str(resources.files("celldyn") / "data" / "ecoli_demo"))
