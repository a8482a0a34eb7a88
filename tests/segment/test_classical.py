"""Tests of celldyn.segment.classical on simulated movies (truth known by construction)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from celldyn.errors import ConfigError, InputError
from celldyn.movie import Movie
from celldyn.segment import (
    METHODS,
    detect_spots,
    find_spots,
    segment_frame,
    segment_movie,
    segment_watershed,
)
from celldyn.simulate import simulate_movie


def iou_match(gt: np.ndarray, pred: np.ndarray, thr: float = 0.5) -> dict[str, float]:
    """One-to-one IoU matching (Hungarian); tp at IoU >= thr; F1 and mean matched IoU."""
    ng, npd = int(gt.max()), int(pred.max())
    if ng == 0 or npd == 0:
        return {"f1": float(ng == npd), "miou": 0.0}
    idx = gt.ravel().astype(np.int64) * (npd + 1) + pred.ravel()
    inter = np.bincount(idx, minlength=(ng + 1) * (npd + 1)).reshape(ng + 1, npd + 1)
    union = inter.sum(1)[:, None] + inter.sum(0)[None, :] - inter
    iou = (inter / np.maximum(union, 1))[1:, 1:]
    r, c = linear_sum_assignment(-iou)
    ok = iou[r, c] >= thr
    tp = int(ok.sum())
    return {"f1": 2 * tp / (ng + npd), "miou": float(iou[r, c][ok].mean()) if tp else 0.0}


def centre_match(gt: np.ndarray, pred: np.ndarray) -> float:
    """Detection F1: a prediction is a hit when its centre lies in a distinct GT object."""
    from scipy import ndimage as ndi

    npd, ng = int(pred.max()), len(np.unique(gt)) - 1
    if npd == 0:
        return float(ng == 0)
    cents = ndi.center_of_mass(pred > 0, pred, range(1, npd + 1))
    hits = {int(gt[tuple(np.rint(c).astype(int))]) for c in cents} - {0}
    return 2 * len(hits) / (ng + npd)


@pytest.fixture(scope="module", params=[2, 3], ids=["2d", "3d"])
def sim(request):
    """Low-noise movie, objects at least 4 px apart (separable without splitting)."""
    ndim = request.param
    spacing = None if ndim == 2 else (2.0, 1.0, 1.0)
    return simulate_movie(ndim=ndim, n_frames=3, n_objects=8, min_gap=4.0,
                          photons=400, spacing=spacing, rng=11)  # fmt: skip


CASES = {
    "threshold": {},
    "threshold:li": {},
    "threshold:local": {},
    "edges": {},
    "edges:canny": {},
    # Otsu: the simulated nuclei are dense and blurred; the default triangle level
    # keeps their rims and joins neighbours (see test_default_on_real_nuclei).
    "watershed": {"threshold_method": "otsu"},
}


@pytest.mark.parametrize("method", list(CASES))
def test_region_methods_find_objects(sim, method):
    ndim = sim.labels.ndim - 1
    if ndim == 3 and method == "threshold:li":
        pytest.skip("Li's level falls into the background of sparse 3D stacks")
    # slice-wise contours lose the caps of ellipsoids in 3D: lower bar there
    min_f1 = 0.7 if (ndim == 3 and method.startswith("edges")) else 0.85
    labels = segment_movie(sim.movie, method=method, min_size=10, **CASES[method])
    assert labels.shape == sim.labels.shape and labels.dtype == np.int32
    scores = [iou_match(g, p) for g, p in zip(sim.labels, labels)]
    f1 = np.mean([s["f1"] for s in scores])
    miou = np.mean([s["miou"] for s in scores])
    assert f1 >= min_f1, (method, f1)
    assert miou >= 0.55, (method, miou)
    for frame in labels:  # ids are consecutive
        assert sorted(np.unique(frame)) == list(range(int(frame.max()) + 1))


@pytest.mark.parametrize("method", ["log", "dog"])
def test_spots_find_objects(sim, method):
    labels = segment_movie(sim.movie, method=f"spots:{method}", sigma_min=2,
                           sigma_max=5, threshold=0.1)  # fmt: skip
    assert labels.dtype == np.int32
    f1 = np.mean([centre_match(g, p) for g, p in zip(sim.labels, labels)])
    assert f1 >= 0.9, (method, f1)


def test_find_spots_table():
    yy, xx = np.mgrid[:48, :48]
    img = np.exp(-((yy - 12) ** 2 + (xx - 30) ** 2) / (2 * 3.0**2))
    spots = find_spots(img, sigma_min=1, sigma_max=6, num_sigma=11)
    assert list(spots.columns) == ["y", "x", "sigma", "intensity"]
    assert len(spots) == 1
    assert spots.y[0] == pytest.approx(12, abs=1) and spots.x[0] == pytest.approx(30, abs=1)
    assert spots.sigma[0] == pytest.approx(3.0, abs=0.8)
    labels = detect_spots(img, sigma_min=1, sigma_max=6, num_sigma=11)
    area = (labels == 1).sum()  # disc of radius sigma * sqrt(2)
    assert np.pi * (3 * np.sqrt(2) - 1.5) ** 2 < area < np.pi * (3 * np.sqrt(2) + 1.5) ** 2


def test_watershed_splits_touching_nuclei():
    yy, xx = np.mgrid[:48, :72]
    img = ((yy - 24) ** 2 + (xx - 24) ** 2 < 144) | ((yy - 24) ** 2 + (xx - 44) ** 2 < 144)
    assert segment_frame(img.astype(np.uint8) * 200, "threshold").max() == 1
    labels = segment_watershed(img.astype(np.uint8) * 200)
    assert labels.max() == 2
    assert labels[24, 20] != labels[24, 48]


def test_watershed_splits_touching_simulated_nuclei():
    """Objects 1 px apart, blurred: only the watershed separates them."""
    sim = simulate_movie(n_frames=2, n_objects=10, min_gap=1.0, photons=400, rng=2)
    labels = segment_movie(sim.movie.data, method="watershed", min_size=10,
                           threshold_method="otsu")
    assert np.mean([iou_match(g, p)["f1"] for g, p in zip(sim.labels, labels)]) >= 0.9


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_dtypes_and_constant_frames(method, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for shape in [(32, 32), (4, 32, 32)]:
            for value in (0, 7):
                frame = np.full(shape, value, dtype=dtype)
                labels = segment_frame(frame, method)
                assert labels.dtype == np.int32 and labels.shape == shape
                assert labels.max() == 0
        img = np.zeros((40, 40), dtype=dtype)
        img[8:20, 8:20] = 100
        labels = segment_frame(img, method, **({"sigma_max": 8} if method == "spots" else {}))
        assert labels.max() == 1 and labels[14, 14] == 1


def test_segment_movie_inputs():
    sim = simulate_movie(n_frames=3, rng=0)
    a = segment_movie(sim.movie, method="threshold", min_size=10)
    b = segment_movie(sim.movie.data, method="threshold", min_size=10, progress=True)
    assert np.array_equal(a, b)
    two_ch = Movie(np.stack([sim.movie.data] * 2, axis=1), axes="TCYX")
    with pytest.raises(InputError, match="single-channel"):
        segment_movie(two_ch)
    with pytest.raises(InputError, match="TYX"):
        segment_movie(np.zeros((8, 8)))
    with pytest.raises(ConfigError, match="method must be one of"):
        segment_movie(sim.movie, method="magic")
    with pytest.raises(ConfigError, match="unknown parameters"):
        segment_frame(sim.movie.data[0], "watershed", sigma=3)
    with pytest.raises(InputError, match="YX or ZYX"):
        segment_frame(np.zeros((2, 2, 2, 2)), "threshold")


@pytest.mark.real_data
def test_default_on_real_nuclei(shared_data):
    """Fluo-N2DH-GOWT1-01 (CTC, real mouse stem-cell nuclei), SEG frames 2 and 21.

    The default watershed level (triangle) keeps the dim nuclei that Otsu's level
    misses; measured: SEG 0.77 with the default against 0.30 with Otsu.
    """
    import tifffile

    from celldyn.evaluate import seg_score

    root = shared_data / "Fluo-N2DH-GOWT1-01"
    frames = [2, 21]
    imgs = [tifffile.imread(root / f"01/t{t:03d}.tif") for t in frames]
    gt = {i: tifffile.imread(root / f"01_GT/SEG/man_seg{t:03d}.tif") for i, t in enumerate(frames)}
    default = np.stack([segment_watershed(im) for im in imgs])
    otsu = np.stack([segment_watershed(im, threshold_method="otsu") for im in imgs])
    assert seg_score(gt, default) > 0.7
    assert seg_score(gt, default) > seg_score(gt, otsu) + 0.3
