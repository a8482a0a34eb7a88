"""Optional dependencies: a one-line error naming the extra to install.

The core package (classical segmentation, LAP/global tracking, measures, reports) runs
without PyTorch; the deep segmenter, the learned tracker and the CNN classifier need
the ``deep`` extra (``pip install 'celldyn[deep]'``).
"""

from __future__ import annotations

import importlib.util

from .errors import MissingDependencyError

__all__ = ["require_torch"]


def require_torch(what: str) -> None:
    """Raise :class:`MissingDependencyError` (one line) when torch is not installed.

    Examples
    --------
    >>> require_torch("the deep segmenter") is None  # torch is installed in the tests
    True
    """
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingDependencyError(
            f"{what} needs PyTorch; install the extra: pip install 'celldyn[deep]'"
        )
