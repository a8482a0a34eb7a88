"""Real-data phase models: run-time crops match the training crops' scale and contrast;
phase-ordered smoothing; smoothing strength chosen on validation tracks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from celldyn.classify import (
    choose_strength,
    fit_transition,
    phase_transition,
    smooth_tracks,
)
from celldyn.classify.phases import (
    PHASES,
    cell_crops,
    crop_features,
    reference_diameter,
    training_crops,
)

CC = Path(__file__).resolve().parents[3] / "shared" / "data" / "class-CellCognition-H2B-HeLa"


def _nucleus_crop(rng, side=64, radius=22.0):
    """A CellCognition-like training crop: a textured nucleus, contrast-stretched."""
    from scipy import ndimage as ndi

    yy, xx = np.mgrid[0:side, 0:side] - (side - 1) / 2
    body = ((yy / radius) ** 2 + (xx / (0.8 * radius)) ** 2 <= 1).astype(float)
    grain = ndi.gaussian_filter(rng.random((side, side)), 1.5)
    img = ndi.gaussian_filter(body, 1.0) * (0.6 + 2 * (grain - grain.mean()))
    img = np.clip(img, 0, None) + 0.03 * rng.random((side, side))
    return (255 * img / img.max()).astype(np.uint8)


def _frame_with(crop, scale, rng):
    """A frame of mirrored copies of the crop (3 x 3, so the median nucleus is this
    one's size and the surroundings have no artificial edge), magnified by `scale`,
    intensities through a non-linear camera map plus noise; returns the frame and the
    centre of the middle copy's nucleus."""
    from scipy import ndimage as ndi

    side = crop.shape[0]
    tiled = np.pad(crop.astype(float), side, mode="symmetric")
    big = ndi.zoom(tiled, scale, order=1)
    raw = (100 + 4.0 * big ** 1.3 + rng.normal(0, 2, big.shape)).astype(np.float32)
    c = (side + (side - 1) / 2) * (big.shape[0] - 1) / (tiled.shape[0] - 1)
    return raw, (c, c)


def _runtime_crop(crop, scale, ref, rng):
    from celldyn.segment import segment_movie

    raw, (cy, cx) = _frame_with(crop, scale, rng)
    movie = raw[None]
    labels = np.asarray(segment_movie(movie))
    objects = pd.DataFrame({"t": [0], "y": [cy], "x": [cx]})
    return cell_crops(labels, movie, objects, reference_diameter=ref, size=48)[0]


def _check_match(crop, ref, rng):
    train = training_crops(crop[None], size=48)[0]
    run = _runtime_crop(crop, 1.7, ref, rng)
    r = np.corrcoef(train[0].ravel(), run[0].ravel())[0, 1]
    a, b = train[1] > 0.75, run[1] > 0.75
    iou = (a & b).sum() / max((a | b).sum(), 1)
    f_train, f_run = crop_features(train[None]).iloc[0], crop_features(run[None]).iloc[0]
    return r, iou, f_train, f_run


def test_runtime_crop_matches_training_crop():
    """A nucleus cut out of a magnified frame with a non-linear intensity map through
    the run-time path (celldyn's own segmentation -> cell_crops) equals the training
    preprocessing of the original crop; with the wrong scale it does not."""
    rng = np.random.default_rng(0)
    crop = _nucleus_crop(rng)
    ref = reference_diameter(training_crops(crop[None], size=48))
    r, iou, f_train, f_run = _check_match(crop, ref, np.random.default_rng(1))
    assert r > 0.9 and iou > 0.85
    assert abs(f_run["c_area"] / f_train["c_area"] - 1) < 0.1
    # control: with a reference size half the true one the window is twice as wide and
    # the nucleus looks half as wide: the check sees it
    r_bad, iou_bad, _, f_bad = _check_match(crop, ref / 2, np.random.default_rng(1))
    assert r_bad < r - 0.2 and iou_bad < 0.5 and f_bad["c_area"] < 0.5 * f_train["c_area"]


@pytest.mark.real_data
def test_runtime_crop_matches_real_training_crop():
    if not CC.is_dir():
        pytest.skip("../shared/data/class-CellCognition-H2B-HeLa is absent")
    import tifffile

    from celldyn.classify import load_classifier

    crops = tifffile.imread(CC / "crops.tif")[:, 0]
    table = pd.read_csv(CC / "labels.csv")
    inter = np.flatnonzero(table["class_name"].to_numpy() == "interphase")
    ref = reference_diameter(training_crops(crops[inter], size=48))
    from celldyn.classify.registry import SHIPPED

    if "phases" in SHIPPED:  # the shipped model's scale is the training crops' scale
        stored = load_classifier("phases").meta["crops"]["reference_diameter"]
        assert stored == pytest.approx(ref, rel=0.03)
    for i in inter[:3]:
        r, iou, _, _ = _check_match(crops[i], ref, np.random.default_rng(i))
        assert r > 0.85 and iou > 0.8, i


def test_phase_transition_follows_the_phase_order():
    A = phase_transition(PHASES, enter=0.1, stay_mitosis=0.4)
    assert np.allclose(A.sum(axis=1), 1)
    k = {c: i for i, c in enumerate(PHASES)}
    assert A[k["interphase"], k["prophase"]] == pytest.approx(0.1)
    assert A[k["interphase"], k["metaphase"]] == 0  # mitosis begins with prophase
    assert A[k["metaphase"], k["prophase"]] == 0  # never backwards
    assert A[k["telophase"], k["interphase"]] > 0
    assert A[k["apoptosis"], k["apoptosis"]] == 1
    # a noisy track: prophase .. telophase with one flicker back to prophase
    seq = ["interphase", "prophase", "metaphase", "prophase", "late_anaphase",
           "telophase", "interphase"]
    proba = np.full((len(seq), 8), 0.05)
    for i, c in enumerate(seq):
        proba[i, k[c]] = 0.65
    proba[3, k["metaphase"]] = 0.3
    obj = pd.DataFrame({"t": range(len(seq)), "label": 1})
    states, _ = smooth_tracks(obj, proba / proba.sum(1, keepdims=True), transition=A)
    out = [PHASES[s] for s in states]
    assert out[3] != "prophase" and out[0] == "interphase" and out[-1] == "interphase"


def test_fit_transition_counts_steps_within_tracks():
    obj = pd.DataFrame({"t": [0, 1, 2, 0, 1, 5], "label": [1, 1, 1, 2, 2, 2],
                        "class": ["i", "m", "m", "i", "i", "m"]})
    A = fit_transition(obj, ["i", "m"], pseudo=0)
    # steps: 1: i->m, m->m; 2: i->i (t 1 -> 5 is not a step)
    assert A.tolist() == [[0.5, 0.5], [0.0, 1.0]]


def test_choose_strength_switches_smoothing_off_when_it_hurts():
    A = np.array([[0.9, 0.1], [0.1, 0.9]])
    # truth flickers every frame: smoothing can only hurt
    truth = np.tile([0, 1], 20)
    proba = np.where(truth[:, None] == np.arange(2), 0.6, 0.4)
    obj = pd.DataFrame({"t": np.arange(40), "label": 1})
    s, scores = choose_strength(obj, proba, truth, transition=A)
    assert s == 0.0 and scores[0.0] == 1.0 and min(scores.values()) < 1.0
    # long runs with noisy frames: smoothing helps and is switched on
    truth = np.repeat([0, 1, 0, 1], 10)
    noisy = truth.copy()
    noisy[2::5] ^= 1  # isolated errors, one frame in five
    proba = np.where(noisy[:, None] == np.arange(2), 0.7, 0.3)
    s, scores = choose_strength(obj, proba, truth, transition=A)
    assert s > 0 and scores[s] > scores[0.0]


def _splits():
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "splits.py"
    spec = importlib.util.spec_from_file_location("_cls_splits", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_cell_group_split_keeps_a_cell_on_one_side():
    sp = _splits()
    # two cells: one seen at frames 1, 3, 7 (moving a little), one far away at frame 2
    table = pd.DataFrame({"index": [0, 1, 2, 3], "position": [1, 1, 1, 1],
                          "t": [1, 3, 7, 2], "x": [100, 110, 125, 500],
                          "y": [100, 105, 100, 500]})
    groups = sp.cell_groups(table)
    assert groups == [0, 0, 0, 3]
    parts = sp.cell_group_part(groups)
    assert len(set(parts[:3])) == 1
    assert sp.split("Fluo-N2DL-HeLa-01", "classification").unit == "lineage"
    hela = sp.CLASSIFICATION["Fluo-N2DL-HeLa-01"]
    assert not set(hela.train) & set(hela.test)


@pytest.mark.real_data
def test_cellcognition_split_has_no_cell_on_two_sides():
    if not CC.is_dir():
        pytest.skip("../shared/data/class-CellCognition-H2B-HeLa is absent")
    sp = _splits()
    table = pd.read_csv(CC / "labels.csv")
    table["part"] = sp.cell_group_part(sp.cell_groups(table))
    # CellCognition's own object groups (one cell at one time) never straddle parts
    assert (table.groupby("object_group")["part"].nunique() == 1).all()
    assert set(table["part"]) == {"train", "validation", "test"}
    assert set(table.loc[table["part"] == "test", "class_name"]) == set(PHASES)
