"""Let the analysis helpers take what :func:`celldyn.pipeline.run` returns."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


def is_run_result(obj: Any) -> bool:
    return hasattr(obj, "objects") and hasattr(obj, "movie") and hasattr(obj, "tracks")


def accepts_run_result(field: str = "objects") -> Callable:
    """Decorator: a RunResult as first argument becomes its `field` table, and the
    function's ``spacing`` / ``frame_interval`` default to the run's movie metadata."""

    def wrap(func: Callable) -> Callable:
        params = inspect.signature(func).parameters

        @functools.wraps(func)
        def wrapper(first: Any, *args: Any, **kwargs: Any) -> Any:
            if is_run_result(first):
                m = first.movie
                for name, value in (("spacing", m.spacing),
                                    ("frame_interval", m.frame_interval)):
                    if name in params and kwargs.get(name) is None:
                        kwargs[name] = value
                first = getattr(first, field)
            return func(first, *args, **kwargs)

        return wrapper

    return wrap
