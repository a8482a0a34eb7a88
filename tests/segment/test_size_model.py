"""The learned size model (celldyn.segment.deep.size): fitting, rules, loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from celldyn.errors import ModelError
from celldyn.segment.deep import load_segmenter
from celldyn.segment.deep.registry import save_segmenter
from celldyn.segment.deep.size import RULES, SizeModel, combine, fit_size_model, probe_features
from celldyn.segment.deep.unet import UNet


def _rows(rng, n_sets=4, per_set=30):
    """Features where one column carries log(diameter) (plus noise) and the others are
    set-specific offsets: a fit that learned 'which set' instead of scale would fail on
    a held-out set."""
    x, d, g = [], [], []
    for k in range(n_sets):
        for _ in range(per_set):
            diam = float(np.exp(rng.uniform(np.log(8), np.log(120))))
            row = rng.normal(size=6)
            row[0] = np.log(diam) + rng.normal(scale=0.05)
            row[1:3] += 3 * k           # set identity, not scale
            x.append(row)
            d.append(diam)
            g.append(f"set{k}")
    return np.asarray(x), np.asarray(d), g


def test_fit_recovers_scale_on_a_held_out_set():
    rng = np.random.default_rng(0)
    x, d, g = _rows(rng)
    held = np.asarray(g) == "set3"
    model = fit_size_model(x[~held], d[~held], groups=[s for s, h in zip(g, held) if not h])
    pred = np.array([model.predict(r) for r in x[held]])
    # within 15 % on a set it never saw, over a 15x range of sizes
    assert np.median(np.abs(np.log(pred / d[held]))) < np.log(1.15)
    assert model.meta["cv"] == "leave-one-set-out" and model.meta["n"] == int((~held).sum())
    with pytest.raises(ValueError, match="expects 6 features"):
        model.predict(np.zeros(5))


def test_size_model_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    x, d, _ = _rows(rng, n_sets=2, per_set=20)
    model = fit_size_model(x, d)            # too few groups: RidgeCV's leave-one-out
    assert model.meta["cv"] == "leave-one-out"
    model.meta["rule"] = RULES[1]
    model.save(tmp_path / "size.json")
    back = SizeModel.load(tmp_path / "size.json")
    assert back.predict(x[3]) == pytest.approx(model.predict(x[3]))
    assert back.meta["rule"] == RULES[1]


def test_combine_rules():
    assert combine("probe", 20.0, 40.0) == 20.0
    assert combine("probe", None, 40.0) == 40.0          # nothing plateaued
    assert combine("size model", 20.0, 40.0) == 40.0
    within = RULES[2]
    assert combine(within, 30.0, 40.0) == 30.0           # agree within x1.5: the probe
    assert combine(within, 10.0, 40.0) == 40.0           # disagree: the size model
    assert combine(within, float("nan"), 40.0) == 40.0
    with pytest.raises(ValueError, match="unknown size rule"):
        combine("mean", 1.0, 2.0)


def _tiny_model(tmp_path):
    torch.manual_seed(0)
    net = UNet(base=4, depth=2)
    config = {"target_diameter": 16.0, "probe_zooms": [0.5, 1.0, 2.0], "probe_crop": 64,
              "normalization": {"method": "percentile", "low": 1.0, "high": 99.8}}
    save_segmenter(tmp_path / "m", net, config, {"fg_threshold": 0.5,
                                                 "marker_threshold": 0.5, "min_size": 1})
    return tmp_path / "m"


def test_estimate_diameter_uses_the_size_model(tmp_path):
    folder = _tiny_model(tmp_path)
    seg = load_segmenter(folder)
    assert seg.size_model is None
    img = np.random.default_rng(0).random((80, 80)).astype(np.float32)
    x, found = probe_features(seg, img)
    assert found.shape == (3,)
    # bottleneck channels (4 * 2**2) + 3 probe measures, per zoom
    assert x.shape == (3 * (16 + 3),)
    # a size model that always answers 17 px: with rule 'size model' that is the answer
    const = SizeModel(np.zeros(x.size), np.ones(x.size), np.zeros(x.size), np.log(17.0),
                      {"rule": RULES[1]})
    const.save(folder / "size.json")
    seg = load_segmenter(folder)
    d = seg.estimate_diameter(img)
    if np.isfinite(found).any():
        assert d == pytest.approx(17.0)
    else:                                   # the random net found nothing at any zoom
        assert d is None
    (folder / "size.json").write_text(json.dumps({"mean": []}))
    with pytest.raises(ModelError, match="size model"):
        load_segmenter(folder)


def test_onnx_runtime_matches_pytorch_and_follows_new_weights(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from celldyn.segment.deep import tiling

    torch.manual_seed(0)
    net = UNet(base=4, depth=2).eval()
    img = np.random.default_rng(0).random((70, 90)).astype(np.float32)
    with tiling.torch_backend():
        ref = tiling.predict_logits(net, img, tile=64)
    out = tiling.predict_logits(net, img, tile=64)
    assert net in tiling._SESSIONS                      # ran through ONNX Runtime
    np.testing.assert_allclose(out, ref, atol=1e-4)
    # new weights (a training step) are never served from the old export
    with torch.no_grad():
        next(net.parameters()).add_(0.5)
    with tiling.torch_backend():
        ref2 = tiling.predict_logits(net, img, tile=64)
    assert np.abs(ref2 - ref).max() > 1e-3
    np.testing.assert_allclose(tiling.predict_logits(net, img, tile=64), ref2, atol=1e-4)
    monkeypatch.setenv("CELLDYN_ONNX", "0")
    assert tiling._ort_session(net, torch.device("cpu")) is None
