"""Fixtures shared by the segmentation tests."""

from __future__ import annotations

import pytest

# the Split class of a test split file (the shape of benchmarks/splits.py's)
SPLIT_HEADER = '''
from dataclasses import dataclass, field

@dataclass(frozen=True)
class Split:
    set: str
    unit: str
    train: tuple = field(default_factory=tuple)
    validation: tuple = field(default_factory=tuple)
    test: tuple = field(default_factory=tuple)
    note: str = ""
'''


@pytest.fixture(scope="session")
def split_header() -> str:
    """The top of a split file for tests: its ``Split`` dataclass."""
    return SPLIT_HEADER
