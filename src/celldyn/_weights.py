"""Checking model weights files (ours): one sha256 helper for every model registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import ModelError

__all__ = ["sha256_file", "verified_weights"]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified_weights(path: str | Path, expected: str | None) -> Path:
    """Return `path` after checking it exists and has the `expected` sha256.

    Raises
    ------
    ModelError
        If the file is missing or its sha256 differs (corrupt or changed weights).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file {path} is missing")
    digest = sha256_file(path)
    if digest != expected:
        raise ModelError(
            f"{path} has sha256 {digest[:12]}... but {expected!s:.12}... is expected; "
            "the file is corrupt or was changed; reinstall celldyn or retrain the model"
        )
    return path
