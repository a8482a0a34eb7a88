"""Shared fixtures: simulated movies (celldyn.simulate) and the real data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (see its README.md); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sim2d():
    from celldyn.simulate import simulate_movie

    return simulate_movie(ndim=2, n_frames=8, shape=(64, 64), n_objects=6, rng=1)


@pytest.fixture(scope="session")
def sim3d():
    from celldyn.simulate import simulate_movie

    return simulate_movie(ndim=3, n_frames=5, shape=(16, 48, 48), n_objects=4, rng=2)
