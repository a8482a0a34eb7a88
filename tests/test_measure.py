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


def _random_shapes(seed: int, n: int):
    """3D boolean images of 1-3 ellipsoids, some flat (one plane) or cut by the box."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(int(v) for v in rng.integers([1, 5, 5], [12, 30, 30]))
        zz, yy, xx = np.mgrid[:shape[0], :shape[1], :shape[2]]
        img = np.zeros(shape, bool)
        for _ in range(int(rng.integers(1, 4))):
            c = rng.uniform([0, 0, 0], shape)
            r = rng.uniform([0.6, 1.0, 1.0], [4.0, 9.0, 9.0])
            img |= (((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2
                    + ((xx - c[2]) / r[2]) ** 2) <= 1
        if img.any():
            yield img


def test_hull_voxel_count_equals_scikit_image_convex_hull():
    import warnings

    from skimage.morphology import convex_hull_image

    from celldyn.measure.hull import hull_voxel_count

    n = 0
    for img in _random_shapes(0, 80):
        with warnings.catch_warnings():   # flat objects: qhull fails, empty hull
            warnings.simplefilter("ignore")
            expected = int(convex_hull_image(img).sum())
        assert hull_voxel_count(img) == expected
        n += 1
    assert n > 60


def test_3d_solidity_equals_regionprops_with_and_without_spacing():
    import warnings

    lab = np.zeros((1, 8, 40, 40), np.int32)
    for k, img in enumerate(_random_shapes(1, 6), start=1):
        z, y, x = img.shape
        oy, ox = 6 * (k - 1) % 20, 3 * k
        view = lab[0, :z, oy:oy + y, ox:ox + x]
        view[img[:view.shape[0], :view.shape[1], :view.shape[2]] & (view == 0)] = k
    for spacing in (None, (2.0, 0.3, 0.4)):
        got = measure_objects(lab, spacing=spacing)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            ref = regionprops_table(lab[0], properties=["label", "solidity"],
                                    spacing=spacing)
        want = np.asarray(ref["solidity"], float)
        want = np.where(np.isfinite(want) & (want <= 1.0 + 1e-9), want, np.nan)
        np.testing.assert_array_equal(got["solidity"].to_numpy(), want)
        assert list(got.columns).index("solidity") == list(got.columns).index("bbox-5") + 1
