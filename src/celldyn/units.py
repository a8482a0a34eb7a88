"""Physical units as people type them: ``0.24um``, ``0.24 µm``, ``30min``, ``1.5 h``.

Lengths are returned in µm and durations in seconds, the units the rest of celldyn
uses; a plain number keeps meaning µm or s. A small parser rather than pint: the CLI
needs two quantities (a length, a duration) and a dozen unit names; pint would be a new
dependency (with its own: flexcache, flexparser, platformdirs) and builds its unit
registry at every command start, for nothing we use.

:class:`LengthParam` and :class:`DurationParam` are click parameter types, so a bad
value is a one-line usage error. :func:`time_unit_for` and :func:`format_duration`
choose the unit a person would read (minutes for a 5-minute interval, hours for a day).
"""

from __future__ import annotations

import re

import click

__all__ = [
    "with_units",
    "DurationParam",
    "LengthParam",
    "format_duration",
    "parse_duration",
    "parse_length",
    "parse_lengths",
    "time_unit_for",
    "SECONDS",
]

# µm per unit
_LENGTH = {
    "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3,
    "um": 1.0, "µm": 1.0, "μm": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "micrometers": 1.0, "micrometres": 1.0,
    "mm": 1e3, "millimeter": 1e3, "millimetre": 1e3,
}
# seconds per unit
SECONDS = {
    "ms": 1e-3, "msec": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "m": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([^\d\s].*?)?\s*$")


def _parse(text: str | float, table: dict[str, float], what: str, default: str) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), None
    else:
        match = _QUANTITY.match(str(text))
        if not match:
            raise ValueError(f"expected a {what} such as 0.24{default} or 30min, got {text!r}")
        value, unit = float(match.group(1)), match.group(2)
    factor = 1.0
    if unit:
        key = unit.strip().replace("μ", "µ")
        factor = table.get(key, table.get(key.lower()))  # type: ignore[assignment]
        if factor is None:
            names = ", ".join(sorted({k for k in table if len(k) <= 3}))
            raise ValueError(f"unknown unit {unit!r} in {text!r}; use one of {names}")
    if not (value > 0 and value * factor < float("inf")):
        raise ValueError(f"expected a positive {what}, got {text!r}")
    return value * factor


def parse_length(text: str | float) -> float:
    """A length in µm from ``0.24``, ``0.24um``, ``240 nm`` or ``0.24 µm``.

    Examples
    --------
    >>> parse_length("0.24um"), parse_length("240 nm"), parse_length(0.5)
    (0.24, 0.24, 0.5)
    """
    return _parse(text, _LENGTH, "length", "um")


def parse_lengths(text: str | float) -> tuple[float, ...]:
    """One length, or Z,Y,X lengths (``1,0.24,0.24um``, ``1x0.24x0.24 µm``), in µm.

    A unit written once, after the last value, applies to all values.

    Examples
    --------
    >>> parse_lengths("2,0.5,0.5um")
    (2.0, 0.5, 0.5)
    >>> parse_lengths("0.5 x 0.5 µm")
    (0.5, 0.5)
    """
    if isinstance(text, (int, float)):
        return (parse_length(text),)
    parts = [p.strip() for p in re.split(r"[,x×]\s*(?=[\d.+-])", str(text).strip())]
    unit_match = _QUANTITY.match(parts[-1]) if parts else None
    unit = (unit_match.group(2) or "") if unit_match else ""
    out = []
    for p in parts:
        m = _QUANTITY.match(p)
        out.append(parse_length(p if (m and m.group(2)) or not unit else f"{p}{unit}"))
    return tuple(out)


def parse_duration(text: str | float) -> float:
    """A duration in seconds from ``300``, ``300s``, ``5min``, ``5 min`` or ``1.5h``.

    Examples
    --------
    >>> parse_duration("30min"), parse_duration("1.5 h"), parse_duration("300")
    (1800.0, 5400.0, 300.0)
    """
    return _parse(text, SECONDS, "duration", "s")


class LengthParam(click.ParamType):
    """Click type: pixel size as one length or Z,Y,X lengths, returned as a tuple in µm."""

    name = "length"

    def convert(self, value, param, ctx):  # noqa: ANN001
        if isinstance(value, tuple):
            return value
        try:
            return parse_lengths(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


class DurationParam(click.ParamType):
    """Click type: a duration, returned in seconds."""

    name = "duration"

    def convert(self, value, param, ctx):  # noqa: ANN001
        try:
            return parse_duration(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


def time_unit_for(frame_interval: float | None, n_frames: int = 1) -> tuple[str, float]:
    """The unit a person would read times of this movie in, and its length in seconds.

    Chosen from the frame interval and the movie's span: seconds for fast movies,
    minutes when frames are a minute or more apart (or the movie spans over 20 min),
    hours when frames are an hour apart or the movie spans over 10 hours. Without a
    frame interval: ``("frame", 1.0)``.

    Examples
    --------
    >>> time_unit_for(300, 40), time_unit_for(1800, 100), time_unit_for(2, 50)
    (('min', 60.0), ('h', 3600.0), ('s', 1.0))
    """
    if not frame_interval:
        return "frame", 1.0
    span = frame_interval * max(n_frames - 1, 1)
    if frame_interval >= 3600 or span > 10 * 3600:
        return "h", 3600.0
    if frame_interval >= 60 or span > 20 * 60:
        return "min", 60.0
    return "s", 1.0


def format_duration(seconds: float) -> str:
    """``300`` -> ``'5 min'``, ``5400`` -> ``'1.5 h'``, ``0.5`` -> ``'0.5 s'``.

    Examples
    --------
    >>> format_duration(300), format_duration(5400), format_duration(0.5)
    ('5 min', '1.5 h', '0.5 s')
    """
    for unit, size in (("d", 2 * 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / (86400.0 if unit == 'd' else size):.3g} {unit}"
    return f"{seconds:.3g} s"


def with_units(movie, pixel_size=None, frame_interval=None):
    """`movie` (a :class:`~celldyn.movie.Movie`) with the pixel size and frame interval
    given as numbers (µm, s) or text with units (``"0.24um"``, ``"5min"``); one pixel
    size applies to every spatial axis. A bad value is a one-line InputError."""
    from .errors import InputError

    try:
        if pixel_size is None:
            spacing = None
        elif isinstance(pixel_size, (list, tuple)) or hasattr(pixel_size, "shape"):
            spacing = tuple(parse_length(v) for v in pixel_size)
        else:
            spacing = parse_lengths(pixel_size)
        if spacing is not None and len(spacing) == 1:
            spacing = spacing * movie.n_spatial
        interval = None if frame_interval is None else parse_duration(frame_interval)
    except ValueError as err:
        raise InputError(str(err)) from None
    return movie.with_metadata(spacing=spacing, frame_interval=interval)
