import numpy as np
import pytest

from celldyn.classify import feature_columns, object_features
from celldyn.errors import InputError


def test_features_2d(sim2d):
    f = object_features(sim2d.labels, sim2d.movie.data, graph=sim2d.graph)
    n = sum(len(np.unique(fr)) - 1 for fr in sim2d.labels)
    assert len(f) == n
    cols = feature_columns(2)
    assert np.isfinite(f[cols].to_numpy()).all()
    assert f["rel_area"].median() == pytest.approx(1.0, rel=0.2)
    # first appearance of a track has no change; later ones do
    first = f.groupby("label")["t"].transform("min") == f["t"]
    assert (f.loc[first, "d_area"] == 0).all()


def test_features_3d(sim3d):
    f = object_features(sim3d.labels, sim3d.movie.data, graph=sim3d.graph)
    assert {"z", "y", "x"} <= set(f.columns)
    assert set(feature_columns(3)) <= set(f.columns)
    assert "eccentricity" not in feature_columns(3)


def test_since_division_and_mitosis_labels(divsim, divfeats):
    born = divfeats[divfeats["since_division"] >= 0]
    assert len(born) > 0 and (born["since_division"] == born["t"] - born.groupby("label")["t"].transform("min")).all()
    m = divfeats[divfeats["class"] == "mitosis"]
    parents = set(divsim.table.loc[divsim.table["parent"] > 0, "parent"])
    assert len(m) > 0 and set(m["label"]) <= parents


def test_features_bad_input(sim2d):
    with pytest.raises(InputError, match="movie must have"):
        object_features(sim2d.labels, sim2d.movie.data[:, :10])
