"""Atomic writes (kept here for old imports; the helper lives in :mod:`celldyn._atomic`,
below every package, so that stages can save models without importing io)."""

from .._atomic import atomic_path

__all__ = ["atomic_path"]
