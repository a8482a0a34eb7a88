"""Import a script of benchmarks/ (not a package) in a test.

A module of its own, not conftest.py: pytest's rootdir-relative imports would resolve
``conftest`` to whichever conftest.py of tests/ was imported first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """Import benchmarks/<name>.py (not a package) as module ``bench_<name>``."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))      # for its own `from _results import ...`
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod                 # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod
