"""Give freed heap memory back to the operating system between pipeline stages.

A stage that allocates many small objects (tables of a long movie, the tracker's
candidate arrays) leaves the C heap fragmented when it frees them: the process keeps
the pages, and the next stage's peak adds to them. glibc's ``malloc_trim`` returns the
free pages; Dask's worker memory docs recommend the same call for "unmanaged" memory.
Elsewhere (macOS, musl, Windows) this is a no-op. Ours: these few lines.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache
from typing import Any

__all__ = ["release_memory"]


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - not glibc
        return None


def release_memory() -> bool:
    """Collect garbage and trim the heap; True if the heap could be trimmed.

    Examples
    --------
    >>> isinstance(release_memory(), bool)
    True
    """
    gc.collect()
    libc = _libc()
    if libc is None:  # pragma: no cover
        return False
    libc.malloc_trim(0)
    return True
