"""measure_objects: one row per object, equal to scikit-image's regionprops per frame."""

import numpy as np
import pandas as pd
from skimage.measure import regionprops_table

from celldyn.measure.features import measure_objects
from celldyn.simulate import simulate_movie


def test_rows_equal_regionprops_per_frame_with_empty_frames():
    sim = simulate_movie(n_frames=5, rng=1)
    labels = sim.labels.copy()
    labels[2] = 0  # an empty frame in the middle
    table = measure_objects(labels, sim.movie.data)
    assert (table["t"] == 2).sum() == 0
    for t in (0, 4):
        ref = pd.DataFrame(regionprops_table(
            labels[t], intensity_image=sim.movie.data[t],
            properties=["label", "area", "intensity_mean"]))
        got = table[table["t"] == t].reset_index(drop=True)
        np.testing.assert_array_equal(got["label"], ref["label"])
        np.testing.assert_allclose(got["area"], ref["area"])
        np.testing.assert_allclose(got["intensity_mean"], ref["intensity_mean"])
    assert table["t"].dtype == np.int64 and table["label"].dtype == np.int64


def test_anisotropic_2d_spacing_measures_without_perimeter():
    sim = simulate_movie(n_frames=2, rng=2)
    table = measure_objects(sim.labels, spacing=(0.5, 0.8))
    assert "perimeter" not in table and len(table) > 0
    plain = measure_objects(sim.labels)
    np.testing.assert_allclose(table["area"], plain["area"] * 0.4)
    np.testing.assert_allclose(table[["y", "x"]], plain[["y", "x"]])  # centroids in px
    assert "perimeter" in measure_objects(sim.labels, spacing=(0.5, 0.5))


def test_all_empty_movie_gives_empty_table():
    table = measure_objects(np.zeros((3, 16, 16), np.int32))
    assert len(table) == 0 and {"t", "label", "y", "x"} <= set(table.columns)
