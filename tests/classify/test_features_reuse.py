"""Classification features reuse the measured objects (issue 14, item 5): each object
goes through regionprops' costly properties once per run, with the same features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.classify import features as feat
from celldyn.classify import object_features
from celldyn.measure import measure_objects
from celldyn.simulate import simulate_movie


@pytest.mark.parametrize("ndim,spacing", [(2, None), (2, (0.5, 0.5)), (3, (2.0, 0.5, 0.5))])
def test_features_from_measured_objects_are_identical(ndim, spacing, monkeypatch):
    if ndim == 2:
        sim = simulate_movie(n_frames=5, shape=(64, 64), n_objects=6, division_rate=0.1,
                             rng=1)
    else:
        sim = simulate_movie(ndim=3, n_frames=3, shape=(12, 40, 40), n_objects=4, rng=2)
    labels = sim.labels.copy()
    labels[1, 0, 0] = labels.max() + 1  # a one-pixel object: no convex hull
    ref = object_features(labels, sim.movie.data, graph=sim.graph, spacing=spacing)
    objects = measure_objects(labels, sim.movie.data, spacing=spacing)
    asked = []
    real = feat.regionprops_table

    def spy(*args, **kwargs):
        asked.append(set(kwargs["properties"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(feat, "regionprops_table", spy)
    got = object_features(labels, sim.movie.data, graph=sim.graph, spacing=spacing,
                          objects=objects)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    # what measure_objects measured is not measured again (perimeter and solidity are
    # the costly ones; solidity only in the frame where measure blanked it)
    costly = {"centroid", "bbox", "area", "intensity_mean", "intensity_max"}
    assert asked and all(not (a & costly) for a in asked)
    assert sum("solidity" in a for a in asked) <= 1
    if ndim == 2 and spacing is None:
        assert not any("perimeter" in a for a in asked)


def test_objects_not_matching_the_labels_are_measured_whole():
    sim = simulate_movie(n_frames=3, shape=(48, 48), n_objects=4, rng=0)
    ref = object_features(sim.labels, sim.movie.data, graph=sim.graph)
    objects = measure_objects(sim.labels, sim.movie.data)
    partial = objects[~((objects["t"] == 1) & (objects["label"] == objects["label"].min()))]
    got = object_features(sim.labels, sim.movie.data, graph=sim.graph, objects=partial)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    no_bbox = objects.drop(columns=[c for c in objects if c.startswith("bbox")])
    got = object_features(sim.labels, sim.movie.data, graph=sim.graph, objects=no_bbox)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert np.isfinite(got["solidity"]).all()
