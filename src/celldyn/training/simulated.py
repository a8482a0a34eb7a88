"""Training examples for the learned tracker from simulated movies.

Above the stages: it imports the simulator, which the runtime (segment, track, ...)
never does. Used by ``celldyn train tracker`` and the tracker benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..track.learned.network import DEFAULT_MAX_DISTANCE_FACTOR
from .tracker import LinkExample, examples_from_gt

__all__ = ["colony_examples", "simulated_examples", "simulated_movie"]


def simulated_movie(k: int, *, seed: int = 0, n_frames: int = 30):
    """Movie ``k`` of :func:`simulated_examples` (a SimulatedMovie)."""
    from ..simulate import simulate_movie

    rng = np.random.default_rng(seed + k)
    return simulate_movie(
        n_frames=n_frames, shape=(160, 160), n_objects=int(rng.integers(12, 22)),
        radius=(5.0, 9.0), speed=(1.0, 3.0, 6.0)[k % 3],
        persistence=float(rng.uniform(0.3, 0.8)),
        division_rate=float(rng.uniform(0.03, 0.06)), appear_rate=0.3,
        boundary="leave" if k % 2 else "reflect", rng=rng,
    )


def simulated_examples(
    n_movies: int = 6,
    *,
    seed: int = 0,
    n_frames: int = 30,
    steps: Sequence[int] = (1,),
    max_distance_factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
    max_gap: int = 2,
) -> list[LinkExample]:
    """Training examples from :func:`celldyn.simulate.simulate_movie` movies.

    Movie ``k`` has speed ``(1, 3, 6)[k % 3]`` pixels per frame (objects of radius
    5-9 px), divisions (rate 0.03-0.06 per object and frame), objects entering and
    leaving at the borders, and seed ``seed + k``.
    """
    out: list[LinkExample] = []
    for k in range(int(n_movies)):
        sim = simulated_movie(k, seed=seed, n_frames=n_frames)
        for step in steps:
            out += examples_from_gt(
                sim.labels, sim.table, movie=sim.movie.data, name=f"simulated-{k}",
                step=step, max_distance_factor=max_distance_factor, max_gap=max_gap,
            )
    return out


def colony_examples(
    n_colonies: int = 4,
    *,
    seed: int = 0,
    n_frames: int = 40,
    shape: tuple[int, int] = (400, 400),
    steps: Sequence[int] = (1, 2, 4),
    max_distance_factor: float = DEFAULT_MAX_DISTANCE_FACTOR,
    max_gap: int = 2,
) -> list[LinkExample]:
    """Training examples from :func:`celldyn.simulate.simulate_colony` colonies.

    Dense, dividing rod-shaped bacteria pushed apart as they grow (the only bacteria
    the model can learn from without real annotations). Colony ``k`` has seed
    ``seed + k`` and a doubling time of ``(5, 6, 8)[k % 3]`` frames, so the examples
    cover several growth rates per frame; every step of `steps` (every k-th frame)
    is used, since sparse frames are where colonies are hard.
    """
    from ..simulate import simulate_colony

    out: list[LinkExample] = []
    for k in range(int(n_colonies)):
        sim = simulate_colony(n_frames=n_frames, shape=shape,
                              doubling=(5.0, 6.0, 8.0)[k % 3], rng=seed + k)
        for step in steps:
            out += examples_from_gt(
                sim.labels, sim.table, movie=sim.movie.data, name=f"colony-{seed + k}",
                step=step, max_distance_factor=max_distance_factor, max_gap=max_gap,
            )
    return out
