from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def divsim():
    from celldyn.simulate import simulate_movie

    return simulate_movie(n_frames=12, shape=(96, 96), n_objects=8, division_rate=0.1, rng=3)


@pytest.fixture(scope="module")
def divfeats(divsim):
    from celldyn.classify import mitosis_labels, object_features

    f = object_features(divsim.labels, divsim.movie.data, graph=divsim.graph)
    f["class"] = mitosis_labels(f, divsim.graph, window=2).to_numpy()
    return f
