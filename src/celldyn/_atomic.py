"""Atomic writes: write to a temporary sibling, then rename into place.

An interrupted write never leaves a half file or folder under its final name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling path; on success move it to `path`.

    Works for files and folders. On an exception the temporary is removed and an
    existing `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if path.exists() or path.is_symlink():
            if not overwrite:
                raise FileExistsError(path)
            if _exchange(tmp, path):  # one atomic step: `path` is never missing
                _remove(tmp)  # now holds the old content
            else:
                old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(path, old)
                os.replace(tmp, path)
                _remove(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            _remove(tmp)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
