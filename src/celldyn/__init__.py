"""celldyn: segment, classify and track cells in microscopy movies and measure their dynamics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    CelldynError,
    ConfigError,
    FileFormatError,
    InputError,
    MissingDependencyError,
    ModelError,
)
from .movie import Movie

try:
    __version__ = version("celldyn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Movie",
    "CelldynError",
    "ConfigError",
    "FileFormatError",
    "InputError",
    "MissingDependencyError",
    "ModelError",
    "__version__",
]
