"""User-facing errors.

Every error a user can cause (bad file, bad axes, bad parameter) is a
:class:`CelldynError`. The CLI turns these into one line on stderr and exit code 2;
any other exception is a bug and keeps its traceback.
Each child also subclasses the matching builtin so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "CelldynError",
    "InputError",
    "FileFormatError",
    "ConfigError",
    "ModelError",
    "MissingDependencyError",
]


class CelldynError(Exception):
    """Base class of every error celldyn raises for a user mistake."""


class InputError(CelldynError, ValueError):
    """Array input with wrong axes, dtype, shape or values (NaN, empty movie)."""


class FileFormatError(CelldynError, ValueError):
    """A file or folder that is missing, unreadable, corrupt or not in the expected layout."""


class ConfigError(CelldynError, ValueError):
    """An invalid parameter or configuration value."""


class ModelError(CelldynError, RuntimeError):
    """Missing or inconsistent model weights."""


class MissingDependencyError(CelldynError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra."""
